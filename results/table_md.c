/* results/table_md.c — a table as Markdown (GitHub pipe table, columns padded for terminals):
 * a "###" title, numbers as "mean ± std" with 2 decimals (mean only for one seed, for single
 * values, and with mean_only), missing cells as "–", then the notes as a list. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results/table_model.h"

/* display width of UTF-8 text: code points, not bytes */
static int utf8_width(const char *s) {
    int w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

static void render(const Table *t, const TableCell *c, char *buf, size_t cap) {
    switch (c->kind) {
    case CELL_TEXT: snprintf(buf, cap, "%s", c->text); break;
    case CELL_STAT:
        if (t->mean_only || c->n < 2 || !isfinite(c->std)) snprintf(buf, cap, "%.2f", c->mean);
        else snprintf(buf, cap, "%.2f ± %.2f", c->mean, c->std);
        break;
    case CELL_VALUE: snprintf(buf, cap, "%.2f", c->mean); break;
    default: snprintf(buf, cap, "–");
    }
}

static void pad_cell(FILE *f, const char *s, int width, int right) {
    int pad = width - utf8_width(s);
    if (right) fprintf(f, " %*s%s |", pad > 0 ? pad : 0, "", s);
    else fprintf(f, " %s%*s |", s, pad > 0 ? pad : 0, "");
}

void table_print_md(FILE *f, const Table *t) {
    int w[TM_MAX_COLS];
    char buf[160];
    for (int c = 0; c < t->n_cols; c++) {
        w[c] = utf8_width(t->col[c]);
        if (w[c] < 3) w[c] = 3;
        for (int r = 0; r < t->n_rows; r++) {
            render(t, &t->cells[(size_t)r * TM_MAX_COLS + c], buf, sizeof buf);
            if (utf8_width(buf) > w[c]) w[c] = utf8_width(buf);
        }
    }
    fprintf(f, "### %s\n\n|", t->title);
    for (int c = 0; c < t->n_cols; c++) pad_cell(f, t->col[c], w[c], 0);
    fprintf(f, "\n|");
    for (int c = 0; c < t->n_cols; c++) {
        int right = t->kind[c] == COL_STAT;
        fputc(' ', f);
        for (int i = 0; i < w[c] - 1; i++) fputc('-', f);
        fprintf(f, "%c |", right ? ':' : '-');
    }
    fputc('\n', f);
    for (int r = 0; r < t->n_rows; r++) {
        fputc('|', f);
        for (int c = 0; c < t->n_cols; c++) {
            render(t, &t->cells[(size_t)r * TM_MAX_COLS + c], buf, sizeof buf);
            pad_cell(f, buf, w[c], t->kind[c] == COL_STAT);
        }
        fputc('\n', f);
    }
    if (t->n_notes) fputc('\n', f);
    for (int i = 0; i < t->n_notes; i++) fprintf(f, "- %s\n", t->notes[i]);
}
