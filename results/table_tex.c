/* results/table_tex.c — a table as a LaTeX booktabs tabular: the title as a comment, numbers as
 * $mean \pm std$ (2 decimals; mean only for one seed, single values and mean_only), "--" for
 * missing cells, a \midrule between blocks (datasets, the average), a first-column text repeated
 * within a block left blank (the papers' look), notes as comments. Needs \usepackage{booktabs}. */
#include <math.h>
#include <string.h>

#include "results/table_model.h"

static void tex_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': case '%': case '$': case '#': case '_': case '{': case '}':
            fputc('\\', f), fputc(*s, f);
            break;
        case '~': fputs("\\textasciitilde{}", f); break;
        case '^': fputs("\\textasciicircum{}", f); break;
        case '\\': fputs("\\textbackslash{}", f); break;
        default: fputc(*s, f);
        }
    }
}

static void cell(FILE *f, const Table *t, const TableCell *c) {
    switch (c->kind) {
    case CELL_TEXT: tex_escape(f, c->text); break;
    case CELL_STAT:
        if (t->mean_only || c->n < 2 || !isfinite(c->std)) fprintf(f, "%.2f", c->mean);
        else fprintf(f, "$%.2f \\pm %.2f$", c->mean, c->std);
        break;
    case CELL_VALUE: fprintf(f, "%.2f", c->mean); break;
    default: fputs("--", f);
    }
}

void table_print_tex(FILE *f, const Table *t) {
    fprintf(f, "%% %s\n\\begin{tabular}{", t->title);
    for (int c = 0; c < t->n_cols; c++) fputc(t->kind[c] == COL_STAT ? 'r' : 'l', f);
    fputs("}\n\\toprule\n", f);
    for (int c = 0; c < t->n_cols; c++) {
        if (c) fputs(" & ", f);
        tex_escape(f, t->col[c]);
    }
    fputs(" \\\\\n\\midrule\n", f);
    for (int r = 0; r < t->n_rows; r++) {
        if (r > 0 && t->block_start[r]) fputs("\\midrule\n", f);
        for (int c = 0; c < t->n_cols; c++) {
            const TableCell *x = &t->cells[(size_t)r * TM_MAX_COLS + c];
            if (c) fputs(" & ", f);
            const TableCell *above = r > 0 ? &t->cells[(size_t)(r - 1) * TM_MAX_COLS + c] : NULL;
            int repeat = c == 0 && !t->block_start[r] && above && x->kind == CELL_TEXT &&
                         above->kind == CELL_TEXT && !strcmp(above->text, x->text);
            if (!repeat) cell(f, t, x);
        }
        fputs(" \\\\\n", f);
    }
    fputs("\\bottomrule\n\\end{tabular}\n", f);
    for (int i = 0; i < t->n_notes; i++) fprintf(f, "%% %s\n", t->notes[i]);
}
