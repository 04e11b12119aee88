/* results/table_model.c — building the format-neutral table (see table_model.h). */
#include "results/table_model.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void table_init(Table *t, const char *setting, const char *title) {
    memset(t, 0, sizeof *t);
    snprintf(t->setting, sizeof t->setting, "%s", setting);
    snprintf(t->title, sizeof t->title, "%s", title);
}

void table_free(Table *t) {
    free(t->cells);
    free(t->block_start);
    memset(t, 0, sizeof *t);
}

int table_add_col(Table *t, const char *name, const char *key, ColKind kind) {
    if (t->n_cols >= TM_MAX_COLS) cg_fatal("table: more than %d columns", TM_MAX_COLS);
    int c = t->n_cols++;
    snprintf(t->col[c], sizeof t->col[c], "%s", name);
    snprintf(t->col_key[c], sizeof t->col_key[c], "%s", key);
    t->kind[c] = kind;
    return c;
}

int table_add_row(Table *t, int block_start) {
    if (t->n_rows == t->cap_rows) {
        t->cap_rows = t->cap_rows ? 2 * t->cap_rows : 16;
        t->cells = cg_realloc(t->cells, (size_t)t->cap_rows * TM_MAX_COLS * sizeof(TableCell));
        t->block_start = cg_realloc(t->block_start, (size_t)t->cap_rows * sizeof(int));
    }
    int r = t->n_rows++;
    memset(t->cells + (size_t)r * TM_MAX_COLS, 0, TM_MAX_COLS * sizeof(TableCell));
    t->block_start[r] = block_start;
    return r;
}

TableCell *table_cell(Table *t, int row, int col) {
    return &t->cells[(size_t)row * TM_MAX_COLS + (size_t)col];
}

void table_set_text(Table *t, int row, int col, const char *text) {
    TableCell *c = table_cell(t, row, col);
    c->kind = CELL_TEXT;
    snprintf(c->text, sizeof c->text, "%s", text);
}

void table_set_stat(Table *t, int row, int col, double mean, double std, int n) {
    TableCell *c = table_cell(t, row, col);
    c->kind = CELL_STAT, c->mean = mean, c->std = std, c->n = n;
}

void table_set_value(Table *t, int row, int col, double v) {
    TableCell *c = table_cell(t, row, col);
    c->kind = CELL_VALUE, c->mean = v, c->std = 0, c->n = 0;
}

void table_note(Table *t, const char *fmt, ...) {
    if (t->n_notes >= TM_MAX_NOTES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->notes[t->n_notes++], sizeof t->notes[0], fmt, ap);
    va_end(ap);
}
