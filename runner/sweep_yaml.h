/* runner/sweep_yaml.h — the YAML layer of the sweep parser: a libyaml document with helpers that
 * read typed scalars, mappings and sequences and report errors as "file:line:column: what". */
#ifndef CLIPGRID_RUNNER_SWEEP_YAML_H
#define CLIPGRID_RUNNER_SWEEP_YAML_H

#include <stddef.h>
#include <yaml.h>

#include "base/util.h"
#include "runner/sweep.h"

typedef struct SweepDoc {
    const char *path;
    yaml_document_t doc;
    int loaded;
} SweepDoc;

/* load the one document of a file; −1 with cg_error (syntax errors with libyaml's position) */
int ydoc_load(SweepDoc *d, const char *path);
void ydoc_free(SweepDoc *d);
yaml_node_t *ydoc_root(SweepDoc *d);
yaml_node_t *ynode(SweepDoc *d, int id);

SweepPos ypos(const yaml_node_t *n);
/* cg_error "file:line:col: what" at node n; returns −1 */
int yerr(const SweepDoc *d, const yaml_node_t *n, const char *fmt, ...) CG_PRINTF(3, 4);

/* "a mapping", "a list", "the string 'x'", "the number 3", "null" — for messages */
const char *ydescribe(const yaml_node_t *n, char *buf, size_t len);
int yis_null(const yaml_node_t *n);

/* typed scalars; −1 with cg_error naming `what` (e.g. "seeds") and what was found */
int yint(const SweepDoc *d, const yaml_node_t *n, const char *what, long lo, long hi, int *out);
int yu64(const SweepDoc *d, const yaml_node_t *n, const char *what, uint64_t *out);
int ydouble(const SweepDoc *d, const yaml_node_t *n, const char *what, double *out);
int ybool(const SweepDoc *d, const yaml_node_t *n, const char *what, int *out);
/* a scalar that is not null; copies into buf (error when longer than len − 1) */
int ystring(const SweepDoc *d, const yaml_node_t *n, const char *what, char *buf, size_t len);
/* the same, allocated */
int ystrdup(const SweepDoc *d, const yaml_node_t *n, const char *what, char **out);

/* a mapping (−1 otherwise) whose keys are plain scalars, none repeated; an explicit null value
 * is accepted as an empty mapping when allow_null */
int ymap(const SweepDoc *d, const yaml_node_t *n, const char *what, int allow_null);
/* key and value nodes of the i-th pair of a mapping */
int ymap_len(const yaml_node_t *n);
yaml_node_t *ymap_key(SweepDoc *d, const yaml_node_t *n, int i);
yaml_node_t *ymap_val(SweepDoc *d, const yaml_node_t *n, int i);
const char *ykey(const yaml_node_t *k);

/* a value or a list of values: the item nodes (a scalar counts as a list of one); −1 when it is
 * a mapping, a list of lists, or has more than max items; *n may be 0 (an empty list) */
int yitems(SweepDoc *d, yaml_node_t *n, const char *what, int max, yaml_node_t **items,
           int *count);

/* "did you mean 'x'?" suggestion among names (NULL-terminated) within edit distance 2, or "" */
const char *ysuggest(const char *word, const char *const *names, char *buf, size_t len);

/* a string method key's value is one of its allowed values (optim, class_token_position,
 * precision; any value for the other keys); −1 with the choices otherwise */
int sweep_key_one_of(SweepDoc *d, yaml_node_t *v, const char *key, const char *s);

/* a block of method keys (and ranks) for the methods of `mask`: unknown keys, keys of other
 * methods, wrong types and values out of range are errors at their position */
int sweep_keys_read(SweepDoc *d, yaml_node_t *map, const char *what, unsigned mask,
                    SweepKeys *k);

#endif
