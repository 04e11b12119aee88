/* results/table_model.h — a table as the layouts build it and the formatters print it: column
 * names and kinds, rows of cells (text, mean ± std, or a single value), block separators, a
 * title and notes. Internal to results/table*.c. */
#ifndef CLIPGRID_RESULTS_TABLE_MODEL_H
#define CLIPGRID_RESULTS_TABLE_MODEL_H

#include <stdio.h>

#define TM_MAX_COLS 40
#define TM_MAX_NOTES 8

typedef enum { COL_TEXT, COL_STAT } ColKind;  /* COL_STAT: numbers (CSV: name_mean, name_std) */
typedef enum { CELL_EMPTY = 0, CELL_TEXT, CELL_STAT, CELL_VALUE } CellKind;

typedef struct {
    CellKind kind;
    char text[96];      /* CELL_TEXT */
    double mean, std;   /* CELL_STAT: mean ± std over n seeds; CELL_VALUE: mean only */
    int n;
} TableCell;

typedef struct {
    char title[256];
    char setting[32];
    int n_cols;
    char col[TM_MAX_COLS][64];
    char col_key[TM_MAX_COLS][64];  /* CSV header name (snake_case) */
    ColKind kind[TM_MAX_COLS];
    int n_rows, cap_rows;
    TableCell *cells;   /* [n_rows][TM_MAX_COLS] */
    int *block_start;   /* [n_rows]: 1 when a new block (dataset, average) starts at the row */
    int n_notes;
    char notes[TM_MAX_NOTES][256];
    int mean_only;
    int ci95;           /* the ± of CELL_STAT cells is a 95 % CI half-width (set by the layouts) */
    char spread[128];   /* what the ± is, for the title ("population std (ddof 0)", …) */
} Table;

void table_init(Table *t, const char *setting, const char *title);
void table_free(Table *t);
int table_add_col(Table *t, const char *name, const char *key, ColKind kind);
int table_add_row(Table *t, int block_start);  /* the new row's index; cells start empty */
TableCell *table_cell(Table *t, int row, int col);
void table_set_text(Table *t, int row, int col, const char *text);
void table_set_stat(Table *t, int row, int col, double mean, double std, int n);
void table_set_value(Table *t, int row, int col, double v);
void table_note(Table *t, const char *fmt, ...);

void table_print_md(FILE *f, const Table *t);
void table_print_csv(FILE *f, const Table *t);
void table_print_tex(FILE *f, const Table *t);
void table_print_html(FILE *f, const Table *t);
void html_escape(FILE *f, const char *s);  /* < > & " as entities */

#endif
