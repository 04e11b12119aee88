/* results/table_html.c — a table as an HTML <table> for `clipgrid report`: the title as its
 * <caption>, numbers as "mean ± spread" with 2 decimals (as Markdown), "–" for missing cells, a
 * class on the first row of each block (dataset, average) for a rule above it, notes as a list.
 * Text is escaped; the page around it is results/report.c's. */
#include <math.h>
#include <stdio.h>

#include "results/table_model.h"

void html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void cell(FILE *f, const Table *t, const TableCell *c, int num) {
    fputs(num ? "<td class=\"num\">" : "<td>", f);
    switch (c->kind) {
    case CELL_TEXT: html_escape(f, c->text); break;
    case CELL_STAT:
        if (t->mean_only || c->n < 2 || !isfinite(c->std)) fprintf(f, "%.2f", c->mean);
        else fprintf(f, "%.2f ± %.2f", c->mean, c->std);
        break;
    case CELL_VALUE: fprintf(f, "%.2f", c->mean); break;
    default: fputs("–", f);
    }
    fputs("</td>", f);
}

void table_print_html(FILE *f, const Table *t) {
    fputs("<table>\n<caption>", f);
    html_escape(f, t->title);
    fputs("</caption>\n<thead><tr>", f);
    for (int c = 0; c < t->n_cols; c++) {
        fputs(t->kind[c] == COL_STAT ? "<th class=\"num\">" : "<th>", f);
        html_escape(f, t->col[c]);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int r = 0; r < t->n_rows; r++) {
        fputs(t->block_start[r] && r ? "<tr class=\"block\">" : "<tr>", f);
        for (int c = 0; c < t->n_cols; c++)
            cell(f, t, &t->cells[(size_t)r * TM_MAX_COLS + c], t->kind[c] == COL_STAT);
        fputs("</tr>\n", f);
    }
    fputs("</tbody>\n</table>\n", f);
    if (t->n_notes) {
        fputs("<ul class=\"notes\">\n", f);
        for (int i = 0; i < t->n_notes; i++) {
            fputs("<li>", f);
            html_escape(f, t->notes[i]);
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
}
