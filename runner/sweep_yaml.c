/* runner/sweep_yaml.c — the YAML layer of the sweep parser: loading one document with libyaml,
 * typed scalars with positions, mappings without repeated keys, scalar-or-list values. */
#include "runner/sweep_yaml.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int syntax_error_(const char *path, const yaml_parser_t *p) {
    const yaml_mark_t *m = &p->problem_mark;
    char ctx[256] = "";
    if (p->context)
        snprintf(ctx, sizeof ctx, " (%s at line %zu column %zu)", p->context,
                 p->context_mark.line + 1, p->context_mark.column + 1);
    cg_error_set("%s:%zu:%zu: YAML syntax error: %s%s", path, m->line + 1, m->column + 1,
                 p->problem ? p->problem : "unknown problem", ctx);
    return -1;
}

int ydoc_load(SweepDoc *d, const char *path) {
    memset(d, 0, sizeof *d);
    d->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        cg_error_set("%s: cannot open sweep file: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = 0;
    if (!yaml_parser_load(&p, &d->doc)) rc = syntax_error_(path, &p);
    else {
        d->loaded = 1;
        yaml_node_t *root = yaml_document_get_root_node(&d->doc);
        if (!root) {
            cg_error_set("%s:1:1: the sweep file is empty", path);
            rc = -1;
        } else {
            yaml_document_t next;
            if (!yaml_parser_load(&p, &next)) rc = syntax_error_(path, &p);
            else {
                yaml_node_t *r2 = yaml_document_get_root_node(&next);
                if (r2)
                    rc = yerr(d, r2, "a second YAML document: a sweep file holds exactly one");
                yaml_document_delete(&next);
            }
        }
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

void ydoc_free(SweepDoc *d) {
    if (d->loaded) yaml_document_delete(&d->doc);
    d->loaded = 0;
}

yaml_node_t *ydoc_root(SweepDoc *d) { return yaml_document_get_root_node(&d->doc); }
yaml_node_t *ynode(SweepDoc *d, int id) { return yaml_document_get_node(&d->doc, id); }

SweepPos ypos(const yaml_node_t *n) {
    return (SweepPos){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

int yerr(const SweepDoc *d, const yaml_node_t *n, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    SweepPos p = ypos(n);
    cg_error_set("%s:%d:%d: %s", d->path, p.line, p.col, msg);
    return -1;
}

static const char *sval_(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }
static int plain_(const yaml_node_t *n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

int yis_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || !plain_(n)) return 0;
    const char *s = sval_(n);
    return !*s || !strcmp(s, "~") || !strcasecmp(s, "null");
}

const char *ydescribe(const yaml_node_t *n, char *buf, size_t len) {
    if (n->type == YAML_MAPPING_NODE) snprintf(buf, len, "a mapping");
    else if (n->type == YAML_SEQUENCE_NODE) snprintf(buf, len, "a list");
    else if (yis_null(n)) snprintf(buf, len, "nothing (null)");
    else if (!plain_(n)) snprintf(buf, len, "the quoted string \"%.60s\"", sval_(n));
    else snprintf(buf, len, "'%.60s'", sval_(n));
    return buf;
}

static int want_scalar_(const SweepDoc *d, const yaml_node_t *n, const char *what,
                        const char *type) {
    char b[96];
    if (n->type == YAML_SCALAR_NODE && !yis_null(n)) return 0;
    return yerr(d, n, "%s: expected %s, found %s", what, type, ydescribe(n, b, sizeof b));
}

int yint(const SweepDoc *d, const yaml_node_t *n, const char *what, long lo, long hi, int *out) {
    char b[96];
    if (want_scalar_(d, n, what, "an integer")) return -1;
    const char *s = sval_(n);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!plain_(n) || errno || end == s || *end)
        return yerr(d, n, "%s: expected an integer, found %s", what, ydescribe(n, b, sizeof b));
    if (v < lo || v > hi) {
        if (hi == INT_MAX)
            return yerr(d, n, "%s: expected an integer >= %ld, found %ld", what, lo, v);
        return yerr(d, n, "%s: expected an integer from %ld to %ld, found %ld", what, lo, hi, v);
    }
    *out = (int)v;
    return 0;
}

int yu64(const SweepDoc *d, const yaml_node_t *n, const char *what, uint64_t *out) {
    char b[96];
    if (want_scalar_(d, n, what, "an unsigned integer")) return -1;
    const char *s = sval_(n);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!plain_(n) || errno || end == s || *end || s[0] == '-')
        return yerr(d, n, "%s: expected an unsigned integer, found %s", what,
                    ydescribe(n, b, sizeof b));
    *out = (uint64_t)v;
    return 0;
}

int ydouble(const SweepDoc *d, const yaml_node_t *n, const char *what, double *out) {
    char b[96];
    if (want_scalar_(d, n, what, "a number")) return -1;
    const char *s = sval_(n);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!plain_(n) || errno || end == s || *end || !isfinite(v))
        return yerr(d, n, "%s: expected a number, found %s", what, ydescribe(n, b, sizeof b));
    *out = v;
    return 0;
}

int ybool(const SweepDoc *d, const yaml_node_t *n, const char *what, int *out) {
    char b[96];
    static const char *yes[] = {"true", "yes", "on"}, *no[] = {"false", "no", "off"};
    if (want_scalar_(d, n, what, "true or false")) return -1;
    for (int i = 0; plain_(n) && i < 3; i++) {
        if (!strcasecmp(sval_(n), yes[i])) return *out = 1, 0;
        if (!strcasecmp(sval_(n), no[i])) return *out = 0, 0;
    }
    return yerr(d, n, "%s: expected true or false, found %s", what, ydescribe(n, b, sizeof b));
}

int ystring(const SweepDoc *d, const yaml_node_t *n, const char *what, char *buf, size_t len) {
    if (want_scalar_(d, n, what, "a string")) return -1;
    size_t k = strlen(sval_(n));
    if (k >= len)
        return yerr(d, n, "%s: too long (%zu characters, at most %zu)", what, k, len - 1);
    memcpy(buf, sval_(n), k + 1);
    return 0;
}

int ystrdup(const SweepDoc *d, const yaml_node_t *n, const char *what, char **out) {
    if (want_scalar_(d, n, what, "a string")) return -1;
    *out = cg_strdup(sval_(n));
    return 0;
}

int ymap_len(const yaml_node_t *n) {
    return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}
yaml_node_t *ymap_key(SweepDoc *d, const yaml_node_t *n, int i) {
    return ynode(d, n->data.mapping.pairs.start[i].key);
}
yaml_node_t *ymap_val(SweepDoc *d, const yaml_node_t *n, int i) {
    return ynode(d, n->data.mapping.pairs.start[i].value);
}
const char *ykey(const yaml_node_t *k) { return sval_(k); }

int ymap(const SweepDoc *d, const yaml_node_t *n, const char *what, int allow_null) {
    char b[96];
    if (allow_null && yis_null(n)) return 0;
    if (n->type != YAML_MAPPING_NODE)
        return yerr(d, n, "%s: expected a mapping (key: value lines or {…}), found %s", what,
                    ydescribe(n, b, sizeof b));
    SweepDoc *dd = (SweepDoc *)d;
    int len = ymap_len(n);
    for (int i = 0; i < len; i++) {
        yaml_node_t *k = ymap_key(dd, n, i);
        if (k->type != YAML_SCALAR_NODE || yis_null(k))
            return yerr(d, k, "%s: keys must be names, found %s", what,
                        ydescribe(k, b, sizeof b));
        for (int j = 0; j < i; j++) {
            yaml_node_t *p = ymap_key(dd, n, j);
            if (!strcmp(ykey(p), ykey(k)))
                return yerr(d, k, "%s: duplicate key '%s' (first given at line %d)", what,
                            ykey(k), ypos(p).line);
        }
    }
    return 0;
}

int yitems(SweepDoc *d, yaml_node_t *n, const char *what, int max, yaml_node_t **items,
           int *count) {
    char b[96];
    if (n->type == YAML_MAPPING_NODE || yis_null(n))
        return yerr(d, n, "%s: expected a value or a list of values, found %s", what,
                    ydescribe(n, b, sizeof b));
    if (n->type == YAML_SCALAR_NODE) {
        items[0] = n;
        *count = 1;
        return 0;
    }
    int len = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (len > max) return yerr(d, n, "%s: too many values (%d, at most %d)", what, len, max);
    for (int i = 0; i < len; i++) {
        items[i] = ynode(d, n->data.sequence.items.start[i]);
        if (items[i]->type != YAML_SCALAR_NODE)
            return yerr(d, items[i], "%s: list items must be single values, found %s", what,
                        ydescribe(items[i], b, sizeof b));
    }
    *count = len;
    return 0;
}

static int edit_distance_(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int row[64];
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            prev = cur;
        }
    }
    return row[lb];
}

const char *ysuggest(const char *word, const char *const *names, char *buf, size_t len) {
    int best = 3;
    const char *pick = NULL;
    for (int i = 0; names[i]; i++) {
        int dist = edit_distance_(word, names[i]);
        if (dist < best) best = dist, pick = names[i];
    }
    if (pick) snprintf(buf, len, " (did you mean '%s'?)", pick);
    else if (len) buf[0] = 0;
    return buf;
}
