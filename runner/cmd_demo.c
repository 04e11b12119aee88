/* runner/cmd_demo.c — `clipgrid demo`: the whole pipeline on a laptop in a few minutes. Puts the
 * tiny CLIP pretrained by `clipgrid pretrain` that the repository ships (demo/model/
 * tiny.safetensors; a random one when the program finds no repository) and small synthetic
 * datasets (core/gen/synth.h) in the demo folder when they are not there yet, runs
 * sweeps/demo.yaml on them with `run`'s machinery (alone or under mpirun) and prints the table
 * of the results. Running it again resumes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/gen/clip_random.h"
#include "core/model/clip_weights.h"
#include "core/data/dataset.h"
#include "core/gen/synth.h"
#include "base/util.h"
#include "results/table.h"
#include "runner/cli.h"
#include "runner/runner.h"

/* the random model's dimensions: 64-pixel images in 16-pixel patches, three blocks per tower,
 * width 128 (the shipped pretrained model is 64 wide: its command is in its metadata) */
void cli_demo_config(ClipConfig *c) {
    memset(c, 0, sizeof *c);
    c->vis.width = 128, c->vis.layers = 3, c->patch = 16, c->image_res = 64;
    c->txt.width = 128, c->txt.layers = 3, c->embed = 128;
    c->vocab = 49408, c->context = 77;
    clip_config_finish(c);
}

/* the synthetic datasets: classes and images per class (train / val / test) */
static SynthSpec demo_spec_(const char *dataset, int index) {
    static const struct { const char *name; int classes, train, val, test; } T[] = {
        {"eurosat", 10, 16, 2, 24}, {"dtd", 6, 16, 2, 24}, {"oxford_pets", 8, 16, 2, 24},
        {"caltech101", 12, 16, 2, 24}, {"ucf101", 6, 16, 2, 24},
    };
    SynthSpec s = synth_defaults();
    s.seed = 1000 + (uint64_t)index;
    s.min_side = 48, s.max_side = 96;
    for (size_t i = 0; i < sizeof T / sizeof *T; i++)
        if (!strcmp(T[i].name, dataset))
            s.classes = T[i].classes, s.train = T[i].train, s.val = T[i].val, s.test = T[i].test;
    return s;
}

static void demo_usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid demo [-o DIR] [--sweep FILE] [--threads N] [--format md|csv|tex]\n"
            "                     [--progress S]\n\n"
            "Puts the tiny pretrained CLIP the repository ships (demo/model/tiny.safetensors)\n"
            "and small synthetic datasets in DIR (default demo/), runs the sweep\n"
            "sweeps/demo.yaml on them (several methods and seeds; alone, or on every rank\n"
            "under mpirun) and prints the results table. Running it again resumes.\n\n"
            "  -o DIR        demo folder: DIR/model, DIR/data, DIR/out (default demo)\n"
            "  --sweep FILE  the sweep to run (default sweeps/demo.yaml of this repository)\n"
            "  --threads N   CPU threads per rank\n"
            "  --format F    table format (default md)\n"
            "  --progress S  seconds between progress lines (default 10)\n");
}

/* sweeps/demo.yaml here or next to the program's repository (REPO/build/clipgrid) */
static const char *default_sweep_(void) {
    static char path[PATH_MAX + 64];
    return cli_repo_file("sweeps/demo.yaml", path, sizeof path);
}

static int make_dir_(const char *p) {
    if (mkdir(p, 0755) && errno != EEXIST) {
        cg_error_set("cannot create %s: %s", p, strerror(errno));
        return -1;
    }
    return 0;
}

/* a copy of the file src at dst (written to dst.tmp, then renamed into place) */
static int copy_file_(const char *src, const char *dst) {
    size_t len;
    char *buf = cg_read_file(src, &len);
    if (!buf) return -1;
    char *tmp = cg_malloc(strlen(dst) + 8);
    snprintf(tmp, strlen(dst) + 8, "%s.tmp", dst);
    FILE *f = fopen(tmp, "wb");
    int rc = f && fwrite(buf, 1, len, f) == len ? 0 : -1;
    if (f && fclose(f)) rc = -1;
    if (!rc && rename(tmp, dst)) rc = -1;
    if (rc) {
        cg_error_set("cannot write %s: %s", dst, strerror(errno));
        unlink(tmp);
    }
    free(buf), free(tmp);
    return rc;
}

/* DIR/model/tiny.safetensors when absent: a copy of the shipped pretrained model (the program's
 * repository's demo/model/tiny.safetensors), or, when there is none, a random model */
static int make_model_(const char *weights) {
    char buf[PATH_MAX + 64];
    const char *shipped = cli_repo_file("demo/model/tiny.safetensors", buf, sizeof buf);
    if (!access(shipped, R_OK)) {
        printf("demo: copying the pretrained tiny model %s to %s\n", shipped, weights);
        return copy_file_(shipped, weights);
    }
    ClipConfig cfg;
    cli_demo_config(&cfg);
    printf("demo: no pretrained model found (demo/model/tiny.safetensors of the repository):\n"
           "      writing a RANDOM tiny model %s (%s); every method stays near chance\n",
           weights, cfg.arch);
    return clip_random_write(weights, &cfg, 7, K_F32);
}

/* rank 0: the model and the datasets the sweep names, when absent */
static int make_inputs_(const char *dir, const char *sweep_path, char **weights, char **data) {
    *weights = cg_path_join(dir, "model/tiny.safetensors");
    *data = cg_path_join(dir, "data");
    char *mdir = cg_path_join(dir, "model");
    int rc = make_dir_(dir) || make_dir_(mdir) || make_dir_(*data) ? -1 : 0;
    free(mdir);
    if (rc) return -1;
    if (access(*weights, R_OK) && make_model_(*weights)) return -1;
    Sweep s;
    if (sweep_load(&s, sweep_path)) return -1;
    for (int i = 0; i < s.n_datasets && !rc; i++) {
        char *dd = cg_path_join(*data, dataset_dirname(s.datasets[i]));
        if (access(dd, F_OK)) {
            SynthSpec spec = demo_spec_(s.datasets[i], i);
            printf("demo: writing the synthetic dataset %s (%d classes)\n", dd, spec.classes);
            rc = synth_write(*data, s.datasets[i], &spec, NULL);
        }
        free(dd);
    }
    fflush(stdout);
    sweep_free(&s);
    return rc;
}

int cmd_demo(int argc, char **argv) {
    const char *dir = "demo", *sweep = NULL, *format = "md";
    int threads = 0;
    double progress = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return demo_usage(stdout), 0;
        if (!strcmp(a, "-o") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(a, "--sweep") && i + 1 < argc) sweep = argv[++i];
        else if (!strcmp(a, "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--format") && i + 1 < argc) format = argv[++i];
        else if (!strcmp(a, "--progress") && i + 1 < argc) progress = atof(argv[++i]);
        else {
            fprintf(stderr, "clipgrid demo: unexpected argument '%s'\n\n", a);
            return demo_usage(stderr), 2;
        }
    }
    if (!sweep) sweep = default_sweep_();
    RunWorld w;
    world_init(&w, &argc, &argv);
    signals_install();
    char *weights = NULL, *data = NULL, *out = cg_path_join(dir, "out");
    int rc = 0;
    if (w.rank == 0) {
        rc = make_inputs_(dir, sweep, &weights, &data);
        if (rc) fprintf(stderr, "clipgrid demo: %s\n", cg_error());
    } else {
        weights = cg_path_join(dir, "model/tiny.safetensors");
        data = cg_path_join(dir, "data");
    }
    int status = world_bcast_int(rc) ? 1 : 0;
    if (!status) {
        RunOptions o = {.sweep_path = sweep, .out = out, .threads = threads,
                        .progress_interval = progress, .weights = weights, .data_root = data};
        status = run_sweep(&w, &o);
    }
    if (w.rank == 0 && status != 2) {
        char *res = cg_path_join(out, "results.h5");
        printf("\n");
        if (results_table_print(stdout, res, format, NULL)) {
            fprintf(stderr, "clipgrid demo: %s\n", cg_error());
            status = 1;
        } else if (!strcmp(format, "md")) {
            printf("\nfigures: clipgrid plot %s    one HTML page: clipgrid report %s\n", out, out);
        }
        free(res);
    }
    status = world_bcast_int(status);
    world_finalize(&w);
    free(weights);
    free(data);
    free(out);
    return status;
}
