/* runner/sweep.h — sweep files (design.md §4): the YAML format, its validation and the grid it
 * expands to. Every key is known and type-checked; errors are one line "file:line:column: what"
 * (the CLI exits with status 2). Relative paths in a sweep are taken from the current directory.
 *
 *   name: base2new                      sweep name (letters, digits, '-', '_', '.')
 *   model: {weights: FILE, vocab: FILE} vocab optional (default: the bundled CLIP BPE file);
 *          optional activation: quick_gelu|gelu, heads: N, text_heads: N, head_width: N
 *          (core/model/clip_meta.h: what the weights' shapes cannot tell)
 *   data: {root: DIR, fewshot_dir: DIR} fewshot_dir optional: Dassl's split_fewshot caches
 *          (core/data/fewshot_cache.h); each dataset's own DIR/split_fewshot is looked in anyway;
 *          folders: {NAME: {path: DIR, template: "a photo of a {}."}} users' datasets of kind
 *          folder (core/data/dataset.h), DIR relative to root unless absolute; NAME then usable in
 *          datasets
 *   data: {root: DIR}                   the datasets' parent folder
 *   output: DIR                         optional (default out/<name>; `run -o` overrides)
 *   setting: base2new                   or a list of settings
 *   shots: 16                           or a list (fewshot: [1, 2, 4, 8, 16])
 *   seeds: [1, 2, 3]
 *   datasets: [imagenet, caltech101, …]
 *   methods: {coop: {n_ctx: 4, …}, mmrl: {}}   keys of core/methods/registry.h method_keys(), plus ranks;
 *        "coop@ctx16: {n_ctx: 16}" adds a variant of a method (its own runs and table rows)
 *   overrides: [{when: {dataset: imagenet}, set: {ranks: 4}}]
 *        when: setting, dataset, method, seed, shots (a value or a list; all must match)
 *        set:  method keys (applied to the matched methods they belong to) and ranks
 *   ranks: 1            ranks of a run's group (default for every cell)
 *   threads: 0          CPU threads per rank (0: the node's cores split among its local ranks)
 *   loader_threads: 2   image decoding threads per rank
 *   sweep_seed: 0       mixed into every run's random streams (0: the run seed alone)
 *   precision: fp32     the products of every method (fp32 | tf32 | bf16 | fp16); a method,
 *                       variant or override may set its own (method key `precision`)
 *
 * A cell's configuration: method_config_defaults(method, setting, dataset), the sweep's
 * precision, then the method's keys, then every matching override in file order. */
#ifndef CLIPGRID_RUNNER_SWEEP_H
#define CLIPGRID_RUNNER_SWEEP_H

#include <stdint.h>

#include "core/methods/registry.h"
#include "core/model/clip_meta.h"
#include "core/methods/method.h"

#define SWEEP_MAX_ITEMS 64   /* settings, shots, seeds, datasets per sweep */
#define SWEEP_MAX_KEYS 96    /* method_keys() entries */
#define SWEEP_MAX_METHODS 32 /* method entries (variants included) */
#define SWEEP_MAX_CELLS 100000 /* runs of one sweep: the lists above allow millions (gigabytes
                                  of cells), which is always a mistake */

typedef struct {
    int line, col;           /* 1-based; 0 when not from the file */
} SweepPos;

/* a set of method keys given in the file, with their values */
typedef struct {
    unsigned char given[SWEEP_MAX_KEYS];
    SweepPos pos[SWEEP_MAX_KEYS];
    MethodConfig vals;
    int ranks;               /* 0: not given */
} SweepKeys;

typedef struct {
    MethodKind kind;
    char variant[48];        /* "coop@ctx16": "ctx16"; "" for the plain method name */
    SweepPos pos;
    SweepKeys keys;
} SweepMethod;

typedef struct {
    SweepPos pos;
    /* when: empty lists match anything */
    int n_settings, n_datasets, n_methods, n_seeds, n_shots;
    char settings[4][32];
    char datasets[SWEEP_MAX_ITEMS][32];
    MethodKind methods[METHOD_COUNT];
    int seeds[SWEEP_MAX_ITEMS], shots[SWEEP_MAX_ITEMS];
    SweepKeys set;
} SweepOverride;

typedef struct {
    char id[160];            /* "<setting>/<method>[@variant]/<dataset>/shots<k>/seed<s>" */
    char setting[32], dataset[32];
    MethodKind method;
    char variant[48];
    int seed, shots, ranks;
    uint64_t run_seed;       /* the key of the run's random streams (see sweep_run_seed) */
    MethodConfig mc;
    double cost;             /* estimated seconds on one rank (runner/grid.h) */
    double flops;
    /* set by run_keys_compute (runner/run_key.h) */
    char key[24];            /* the run key: RUN_KEY_LEN hex digits */
    char train_digest[65], eval_digest[65]; /* the item lists' digests */
    int n_train;             /* training images actually used (0 for zero-shot) */
    int short_classes;       /* classes with fewer than `shots` training images */
    int first;               /* the first cell with the same key (itself when unique) */
    char tkey[24];           /* the training's key (the run key without the setting and the
                                evaluation items; "" for zero-shot): cells with one tkey and
                                different keys train once (cross-dataset and DG on ImageNet) */
    double cost_alone;       /* the estimate without shared work (runner/grid.c) */
    double train_cost;       /* the training part of cost_alone */
} SweepCell;

typedef struct {
    char *path;              /* the sweep file */
    char name[64];
    char *weights, *vocab, *data_root, *output;
    char *fewshot_dir;         /* data.fewshot_dir: Dassl caches <dir>/<dataset folder>/… or NULL */
    ClipArchHints arch_hints;  /* model.activation / heads / text_heads / head_width */
    SweepPos model_pos, weights_pos, vocab_pos, data_pos;
    int n_settings, n_shots, n_seeds, n_datasets, n_methods, n_overrides;
    char settings[4][32];
    int shots[SWEEP_MAX_ITEMS], seeds[SWEEP_MAX_ITEMS];
    char datasets[SWEEP_MAX_ITEMS][32];
    SweepPos dataset_pos[SWEEP_MAX_ITEMS], datasets_pos, seeds_pos, shots_pos, methods_pos;
    SweepMethod methods[SWEEP_MAX_METHODS];
    SweepOverride *overrides;
    int ranks, threads, loader_threads;
    uint64_t sweep_seed;
    char precision[8];       /* "": not given (the methods' default, fp32) */
    int n_cells;
    SweepCell *cells;
    char weights_digest[65], vocab_digest[65]; /* SHA-256 of the files (run_keys_compute) */
    /* the folder datasets listed beside imagenet in a cross_dataset or domain_generalization
     * sweep: extra evaluation targets of its cells (not cells of their own), NULL-terminated */
    const char *extra_targets[SWEEP_MAX_ITEMS + 1];
} Sweep;

/* the settings a sweep may name */
extern const char *const SWEEP_SETTINGS[];

/* Parse and validate a sweep file and expand its grid (cells in file order: setting, dataset,
 * method, shots, seed). 0, or −1 with cg_error "file:line:column: what". */
int sweep_load(Sweep *s, const char *path);
void sweep_free(Sweep *s);

/* checks that need the file system: the weights file (and vocab) exist and are readable.
 * 0, or −1 with cg_error at the key's position */
int sweep_check_files(const Sweep *s);
/* every dataset folder exists under data.root; 0, or −1 with cg_error at the dataset's position */
int sweep_check_data(const Sweep *s);

/* the random-stream key of a run: the run seed alone when sweep_seed is 0, else
 * cg_rng_key(sweep_seed, seed, "run") */
uint64_t sweep_run_seed(uint64_t sweep_seed, int seed);

/* the resolved configuration of a cell as JSON text (every method key); caller frees */
char *sweep_cell_config_json(const Sweep *s, const SweepCell *c);
/* the method options that apply to the cell's method, compact JSON with sorted keys and reals
 * to 17 digits (what the run key hashes); caller frees */
char *sweep_cell_options_json(const SweepCell *c);

/* ---- internals shared by the sweep_*.c files ---------------------------------------------- */

struct SweepDoc;
/* index of a method_keys() entry by name, −1 when unknown */
int sweep_method_key(const char *name);
int sweep_key_count(void);
/* apply the given keys to a configuration of method `kind` (only keys that apply to it) */
void sweep_keys_apply(const SweepKeys *k, MethodKind kind, MethodConfig *mc, int *ranks);
int sweep_expand(Sweep *s);

#endif
