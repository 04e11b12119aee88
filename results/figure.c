/* results/figure.c — building figures and writing them with the CSV of their numbers (see
 * figure.h); the drawing is figure_plplot.c's. */
#include "results/figure.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void figure_init(Figure *f, const char *stem, const char *title) {
    memset(f, 0, sizeof *f);
    snprintf(f->stem, sizeof f->stem, "%s", stem);
    snprintf(f->title, sizeof f->title, "%s", title);
}

void figure_free(Figure *f) {
    for (int i = 0; i < f->n_panels; i++) {
        FigPanel *p = &f->p[i];
        for (int s = 0; s < p->n_series; s++) free(p->s[s].x), free(p->s[s].y), free(p->s[s].err);
        free(p->s);
        for (int g = 0; g < p->n_groups; g++) free(p->group[g]);
        free(p->group);
    }
    memset(f, 0, sizeof *f);
}

int figure_panel(Figure *f, PanelKind kind, const char *title, const char *xlabel, const char *ylabel) {
    if (f->n_panels >= FIG_MAX_PANELS) cg_fatal("figure %s: more than %d panels", f->stem, FIG_MAX_PANELS);
    FigPanel *p = &f->p[f->n_panels];
    memset(p, 0, sizeof *p);
    p->kind = kind;
    snprintf(p->title, sizeof p->title, "%s", title);
    snprintf(p->xlabel, sizeof p->xlabel, "%s", xlabel);
    snprintf(p->ylabel, sizeof p->ylabel, "%s", ylabel);
    return f->n_panels++;
}

void panel_set_groups(FigPanel *p, char **names, int n) {
    p->group = cg_calloc((size_t)(n ? n : 1), sizeof(char *));
    for (int i = 0; i < n; i++) p->group[i] = cg_strdup(names[i]);
    p->n_groups = n;
}

FigSeries *panel_series(FigPanel *p, const char *name, int n) {
    p->s = cg_realloc(p->s, (size_t)(p->n_series + 1) * sizeof(FigSeries));
    FigSeries *s = &p->s[p->n_series];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->n = n;
    size_t k = (size_t)(n ? n : 1);
    s->x = cg_malloc(k * sizeof(double)), s->y = cg_malloc(k * sizeof(double));
    s->err = cg_malloc(k * sizeof(double));
    for (int i = 0; i < n; i++) s->x[i] = i, s->y[i] = NAN, s->err[i] = NAN;
    p->n_series++;
    return s;
}

void figure_caption(Figure *f, const char *fmt, ...) {
    size_t len = strlen(f->caption);
    if (len + 1 >= sizeof f->caption) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->caption + len, sizeof f->caption - len, fmt, ap);
    va_end(ap);
}

static void csv_field(FILE *o, const char *s) {
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, o);
        return;
    }
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"') fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

static void csv_num(FILE *o, double v) {
    if (isfinite(v)) fprintf(o, ",%.6f", v);
    else fputc(',', o);
}

int figure_write_csv(const Figure *f, const char *path) {
    FILE *o = fopen(path, "w");
    if (!o) return cg_error_set("%s: cannot write (%s)", path, strerror(errno)), -1;
    fputs("panel,series,x,group,value,spread\n", o);
    for (int i = 0; i < f->n_panels; i++) {
        const FigPanel *p = &f->p[i];
        for (int s = 0; s < p->n_series; s++)
            for (int k = 0; k < p->s[s].n; k++) {
                const FigSeries *z = &p->s[s];
                if (!isfinite(z->y[k])) continue;
                csv_field(o, p->title);
                fputc(',', o);
                csv_field(o, z->name);
                csv_num(o, z->x[k]);
                fputc(',', o);
                if (p->kind == PANEL_BARS && k < p->n_groups) csv_field(o, p->group[k]);
                csv_num(o, z->y[k]);
                csv_num(o, z->err[k]);
                fputc('\n', o);
            }
    }
    if (fclose(o) != 0) return cg_error_set("%s: write failed", path), -1;
    return 0;
}

int figure_write(const Figure *f, const char *dir, const char *formats) {
    static const char *const EXT[3] = {"png", "svg", "pdf"}, *const DEV[3] = {"pngcairo", "svgcairo", "pdfcairo"};
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.csv", dir, f->stem);
    if (figure_write_csv(f, path) != 0) return -1;
    for (int k = 0; k < 3; k++) {
        if (!strstr(formats, EXT[k])) continue;
        snprintf(path, sizeof path, "%s/%s.%s", dir, f->stem, EXT[k]);
        if (figure_render(f, DEV[k], path) != 0) return -1;
    }
    return 0;
}
