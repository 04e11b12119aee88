/* results/figure_plplot.c — draws a Figure with PLplot through its cairo devices (pngcairo,
 * svgcairo, pdfcairo): PLplot gives the axes, ticks, tick labels, error bars and legends, cairo
 * the anti-aliased output and the UTF-8 text. One PLplot stream per file (plinit … plend). */
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "results/figure.h"

/* a colour-blind-safe palette (Okabe–Ito) for the series; cmap0 0 = white, 1 = black, 15 = grey */
static const int PALETTE[8][3] = {{0, 114, 178}, {230, 159, 0}, {0, 158, 115}, {204, 121, 167},
                                  {86, 180, 233}, {213, 94, 0}, {240, 228, 66}, {0, 0, 0}};

static void set_palette(void) {
    plscmap0n(16);
    plscol0(0, 255, 255, 255);
    plscol0(1, 0, 0, 0);
    for (int i = 0; i < 8; i++) plscol0(2 + i, PALETTE[i][0], PALETTE[i][1], PALETTE[i][2]);
    plscol0(14, 225, 225, 225);
    plscol0(15, 150, 150, 150);
}

static int series_color(int s) {
    return 2 + s % 8;
}

/* PLplot reads '#' as its escape character: double it */
static const char *esc(const char *s, char *buf, size_t cap) {
    size_t k = 0;
    for (; *s && k + 2 < cap; s++) {
        if (*s == '#') buf[k++] = '#';
        buf[k++] = *s;
    }
    buf[k] = 0;
    return buf;
}

static void mtex(const char *side, double disp, double pos, double just, const char *text) {
    char buf[512];
    plmtex(side, disp, pos, just, esc(text, buf, sizeof buf));
}

/* the data range of a panel's non-level series (value ± err) */
static void y_range(const FigPanel *p, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int s = 0; s < p->n_series; s++)
        for (int k = 0; k < p->s[s].n; k++) {
            double y = p->s[s].y[k], e = isfinite(p->s[s].err[k]) ? p->s[s].err[k] : 0;
            if (!isfinite(y)) continue;
            if (y - e < *lo) *lo = y - e;
            if (y + e > *hi) *hi = y + e;
        }
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
}

static void legend(const FigPanel *p, int boxes) {
    int n = p->n_series;
    if (n < 1) return;
    PLINT *opt = cg_calloc((size_t)n, sizeof(PLINT)), *col = cg_calloc((size_t)n, sizeof(PLINT));
    PLINT *sty = cg_calloc((size_t)n, sizeof(PLINT)), *pat = cg_calloc((size_t)n, sizeof(PLINT));
    PLFLT *wid = cg_calloc((size_t)n, sizeof(PLFLT)), *scl = cg_calloc((size_t)n, sizeof(PLFLT));
    PLINT *tcol = cg_calloc((size_t)n, sizeof(PLINT));
    char **text = cg_calloc((size_t)n, sizeof(char *));
    for (int s = 0; s < n; s++) {
        opt[s] = boxes && !p->s[s].level ? PL_LEGEND_COLOR_BOX : PL_LEGEND_LINE;
        col[s] = p->s[s].level ? 15 : series_color(s);
        sty[s] = p->s[s].level ? 2 : 1, wid[s] = 2, scl[s] = 0.8, tcol[s] = 1;
        text[s] = cg_malloc(200);
        esc(p->s[s].name, text[s], 200);
    }
    PLFLT w, h;
    pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0.0, 0.1, 0, 1, 1, 0, 0,
             n, opt, 1.0, 0.8, 2.0, 0.0, tcol, (const char *const *)text, col, pat, scl, wid, col, sty,
             wid, NULL, NULL, NULL, NULL);
    for (int s = 0; s < n; s++) free(text[s]);
    free(text), free(opt), free(col), free(sty), free(pat), free(wid), free(scl), free(tcol);
}

/* axes in black over a light grey grid ('g' in an option string) */
static void grid_box(const char *xopt, const char *yopt) {
    plcol0(14);
    plbox(strchr(xopt, 'g') ? "g" : "", 0, 0, strchr(yopt, 'g') ? "g" : "", 0, 0);
    char x[16], y[16];
    size_t a = 0, b = 0;
    for (const char *s = xopt; *s && a < 15; s++) if (*s != 'g') x[a++] = *s;
    for (const char *s = yopt; *s && b < 15; s++) if (*s != 'g') y[b++] = *s;
    x[a] = y[b] = 0;
    plcol0(1);
    plbox(x, 0, 0, y, 0, 0);
}

static void draw_bars(const FigPanel *p) {
    int G = p->n_groups > 0 ? p->n_groups : 1, S = p->n_series > 0 ? p->n_series : 1;
    double lo, hi;
    y_range(p, &lo, &hi);
    double top = hi > 0 ? hi * 1.08 : 1, bottom = lo < 0 ? lo * 1.08 : 0, w = 0.8 / S;
    if (p->horizontal) {
        double H = 170 + 22.0 * G; /* figure_height's share of this panel, in pixels */
        if (H > 6000) H = 6000;
        plvpor(0.26, 0.70, 70 / H, 1 - 45 / H);
        plwind(bottom, top, 0, G);
        grid_box("bcnstg", "bc");
    } else {
        plvpor(0.09, 0.70, 0.18, 0.88);
        plwind(0, G, bottom, top);
        grid_box("bc", "bcnstvg");
    }
    for (int s = 0; s < p->n_series; s++)
        for (int g = 0; g < p->s[s].n && g < G; g++) {
            double y = p->s[s].y[g], e = p->s[s].err[g];
            if (!isfinite(y)) continue;
            double a = p->horizontal ? G - 1 - g + 0.1 + (S - 1 - s) * w : g + 0.1 + s * w, b = a + w;
            PLFLT bx[4] = {a, a, b, b}, by[4] = {0, y, y, 0};
            plcol0(series_color(s));
            if (p->horizontal) plfill(4, by, bx);
            else plfill(4, bx, by);
            if (!isfinite(e)) continue;
            PLFLT c = 0.5 * (a + b), l = y - e, h = y + e;
            plcol0(1);
            if (p->horizontal) plerrx(1, &l, &h, &c);
            else plerry(1, &c, &l, &h);
        }
    plcol0(1);
    for (int g = 0; g < p->n_groups; g++) {
        if (p->horizontal) mtex("lv", 0.5, (G - 1 - g + 0.5) / G, 1.0, p->group[g]);
        else mtex("b", 1.2 + (G > 6 ? 1.1 * (g % 2) : 0), (g + 0.5) / G, 0.5, p->group[g]);
    }
    if (p->horizontal) mtex("b", 3.0, 0.5, 0.5, p->ylabel);
    else {
        mtex("l", 4.5, 0.5, 0.5, p->ylabel);
        mtex("b", G > 6 ? 4.0 : 3.0, 0.5, 0.5, p->xlabel);
    }
    legend(p, 1);
}

static double tx(const FigPanel *p, double x) {
    return p->log2x ? log2(x > 0 ? x : 0.5) : x;
}

static void draw_lines(const FigPanel *p) {
    double xlo = INFINITY, xhi = -INFINITY, lo, hi;
    for (int s = 0; s < p->n_series; s++)
        for (int k = 0; !p->s[s].level && k < p->s[s].n; k++) {
            if (!isfinite(p->s[s].y[k])) continue;
            if (tx(p, p->s[s].x[k]) < xlo) xlo = tx(p, p->s[s].x[k]);
            if (tx(p, p->s[s].x[k]) > xhi) xhi = tx(p, p->s[s].x[k]);
        }
    if (!isfinite(xlo)) xlo = 0, xhi = 1;
    double pad = xhi > xlo ? 0.05 * (xhi - xlo) : 0.5;
    xlo -= pad, xhi += pad;
    y_range(p, &lo, &hi);
    double ypad = hi > lo ? 0.08 * (hi - lo) : (fabs(hi) > 0 ? 0.1 * fabs(hi) : 1);
    plvpor(0.09, 0.70, 0.16, 0.88);
    plwind(xlo, xhi, lo - ypad, hi + ypad);
    grid_box(p->log2x ? "bc" : "bcnst", "bcnstvg");
    if (p->log2x) /* ticks at the shot counts */
        for (int s = 0; s < p->n_series; s++)
            for (int k = 0; !p->s[s].level && k < p->s[s].n; k++) {
                char lab[32];
                snprintf(lab, sizeof lab, "%g", p->s[s].x[k]);
                mtex("b", 1.2, (tx(p, p->s[s].x[k]) - xlo) / (xhi - xlo), 0.5, lab);
            }
    for (int s = 0; s < p->n_series; s++) {
        const FigSeries *z = &p->s[s];
        PLFLT *x = cg_malloc((size_t)(z->n + 2) * sizeof(PLFLT)), *y = cg_malloc((size_t)(z->n + 2) * sizeof(PLFLT));
        int m = 0;
        if (z->level && z->n > 0 && isfinite(z->y[0])) {
            x[0] = xlo, x[1] = xhi, y[0] = y[1] = z->y[0], m = 2;
            plcol0(15), pllsty(2), plwidth(2), plline(m, x, y), pllsty(1);
        } else if (!z->level) {
            for (int k = 0; k < z->n; k++)
                if (isfinite(z->y[k])) x[m] = tx(p, z->x[k]), y[m] = z->y[k], m++;
            plcol0(series_color(s)), plwidth(2);
            if (m > 1) plline(m, x, y);
            if (z->n <= 40) plpoin(m, x, y, 17);
            plwidth(1);
            for (int k = 0; k < z->n; k++) {
                if (!isfinite(z->y[k]) || !isfinite(z->err[k])) continue;
                PLFLT cx = tx(p, z->x[k]), l = z->y[k] - z->err[k], h = z->y[k] + z->err[k];
                plerry(1, &cx, &l, &h);
            }
        }
        plwidth(1);
        free(x), free(y);
    }
    plcol0(1);
    mtex("l", 4.5, 0.5, 0.5, p->ylabel);
    mtex("b", 3.0, 0.5, 0.5, p->xlabel);
    legend(p, 0);
}

static int figure_height(const Figure *f) {
    int h = 0;
    for (int i = 0; i < f->n_panels; i++) {
        const FigPanel *p = &f->p[i];
        h += p->kind == PANEL_BARS && p->horizontal ? 170 + 22 * p->n_groups : 420;
    }
    return h < 200 ? 200 : h > 6000 ? 6000 : h;
}

int figure_render(const Figure *f, const char *device, const char *path) {
    char geom[64], buf[512];
    snprintf(geom, sizeof geom, "960x%d", figure_height(f));
    remove(path);
    plsdev(device);
    plsfnam(path);
    plsetopt("geometry", geom);
    set_palette();
    plssub(1, f->n_panels > 0 ? f->n_panels : 1);
    plinit();
    plschr(0, 0.75);
    for (int i = 0; i < f->n_panels; i++) {
        const FigPanel *p = &f->p[i];
        pladv(0);
        if (p->kind == PANEL_BARS) draw_bars(p);
        else draw_lines(p);
        plcol0(1);
        if (i == 0 && f->title[0]) {
            plschr(0, 0.9);
            plmtex("t", p->title[0] ? 2.4 : 1.2, 0.5, 0.5, esc(f->title, buf, sizeof buf));
            plschr(0, 0.75);
        }
        if (p->title[0]) mtex("t", 0.8, 0.5, 0.5, p->title);
    }
    plend();
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_size == 0)
        return cg_error_set("%s: PLplot (%s) wrote no figure", path, device), -1;
    return 0;
}
