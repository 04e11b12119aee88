/* results/figure.h — a figure as `clipgrid plot` builds it and PLplot draws it: one to three
 * panels stacked vertically, each a bar chart (groups of bars with error bars, vertical or
 * horizontal) or a line chart (series of points with error bars, optional level lines, a log2 x
 * axis for shots), a legend per panel. figure_write draws it to STEM.png, STEM.svg and STEM.pdf
 * (PLplot's cairo devices) and writes STEM.csv beside it: every plotted number, one row per
 * point, so the figure can be checked against the table. */
#ifndef CLIPGRID_RESULTS_FIGURE_H
#define CLIPGRID_RESULTS_FIGURE_H

#define FIG_MAX_PANELS 3

typedef enum { PANEL_BARS, PANEL_LINES } PanelKind;

typedef struct {
    char name[96];      /* legend text */
    int n;              /* points: bars have one per group (NaN value = no bar) */
    double *x, *y, *err;/* err: ± drawn as an error bar (NaN: none) */
    int level;          /* a level line (dashed, across the panel; y[0]) */
} FigSeries;

typedef struct {
    PanelKind kind;
    char title[200], xlabel[96], ylabel[96];
    int n_groups;       /* bars: the categories */
    char **group;
    int horizontal;     /* bars: categories down the y axis (long class lists) */
    int log2x;          /* lines: x on a log2 scale, ticks at the points' x values */
    int n_series;
    FigSeries *s;
} FigPanel;

typedef struct {
    char stem[160];     /* file name without extension */
    char title[256];
    char caption[512];  /* what is shown and what is missing (the report prints it) */
    int n_panels;
    FigPanel p[FIG_MAX_PANELS];
} Figure;

void figure_init(Figure *f, const char *stem, const char *title);
void figure_free(Figure *f);
/* a new panel (index) */
int figure_panel(Figure *f, PanelKind kind, const char *title, const char *xlabel, const char *ylabel);
void panel_set_groups(FigPanel *p, char **names, int n);   /* copies */
/* a new series of n points, x = 0, 1, …, values NaN; valid until the next panel_series */
FigSeries *panel_series(FigPanel *p, const char *name, int n);
void figure_caption(Figure *f, const char *fmt, ...);       /* appends */

/* DIR/STEM.{png,svg,pdf,csv} for each format in formats ("png,svg,pdf"); 0, or −1 with cg_error */
int figure_write(const Figure *f, const char *dir, const char *formats);
int figure_write_csv(const Figure *f, const char *path);
/* the PLplot drawing of one file (device pngcairo, svgcairo or pdfcairo) */
int figure_render(const Figure *f, const char *device, const char *path);

#endif
