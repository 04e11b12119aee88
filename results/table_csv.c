/* results/table_csv.c — a table as CSV (RFC 4180): a header line of snake_case names (a number
 * column becomes <name>_mean and <name>_std, or <name>_ci95 with a CI; <name>_mean alone with
 * --mean-only), the setting as the first column, numbers with 4 decimals, empty fields for
 * missing values and for an undefined spread (single values, one seed); no title, no
 * notes, so the output loads as it is (pandas.read_csv, spreadsheets). */
#include <math.h>
#include <string.h>

#include "results/table_model.h"

static void field(FILE *f, const char *s) {
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

void table_print_csv(FILE *f, const Table *t) {
    fputs("setting", f);
    for (int c = 0; c < t->n_cols; c++) {
        if (t->kind[c] == COL_STAT && t->mean_only) fprintf(f, ",%s_mean", t->col_key[c]);
        else if (t->kind[c] == COL_STAT)
            fprintf(f, ",%s_mean,%s_%s", t->col_key[c], t->col_key[c], t->ci95 ? "ci95" : "std");
        else fprintf(f, ",%s", t->col_key[c]);
    }
    fputc('\n', f);
    for (int r = 0; r < t->n_rows; r++) {
        field(f, t->setting);
        for (int c = 0; c < t->n_cols; c++) {
            const TableCell *x = &t->cells[(size_t)r * TM_MAX_COLS + c];
            fputc(',', f);
            if (t->kind[c] == COL_STAT) {
                if (x->kind == CELL_STAT || x->kind == CELL_VALUE) fprintf(f, "%.4f", x->mean);
                if (!t->mean_only) fputc(',', f);
                if (!t->mean_only && x->kind == CELL_STAT && isfinite(x->std)) fprintf(f, "%.4f", x->std);
            } else if (x->kind == CELL_TEXT) {
                field(f, x->text);
            }
        }
        fputc('\n', f);
    }
}
