/* runner/main.c — the clipgrid program: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "runner/cli.h"
#include "runner/provenance.h"
#include "runner/run_key.h"

static void usage(FILE *f) {
    fprintf(f,
            "clipgrid — CLIP prompt-learning experiments in C\n\n"
            "usage: clipgrid COMMAND [ARGS]   (clipgrid COMMAND --help for details)\n"
            "       clipgrid --version\n\n"
            "  tokenize TEXT...           print the CLIP BPE token ids of each text\n"
            "  golden FIXTURE.h5...       check the towers against official PyTorch fixtures\n"
            "  make-model OUT.safetensors write a random CLIP (any size) for tests and demos\n"
            "  model-info FILE            print the architecture inferred from a weight file\n"
            "  convert IN OUT.safetensors PyTorch .pt (state dict, TorchScript) to safetensors\n"
            "  table OUT/results.h5       paper-style tables (Markdown, CSV, LaTeX) of a results file\n"
            "  status OUT/results.h5      done, running, failed and pending runs, time left\n"
            "  plot OUT                   figures (PNG, SVG, PDF with PLplot) of a results file\n"
            "  report OUT                 one self-contained HTML page: tables, figures, failures, provenance\n"
            "  export OUT --format F      one row per run as CSV or JSON lines (per-class rows on request)\n"
            "  compare OUT_A OUT_B        differences per cell, paired over seeds, flagged beyond seed noise\n"
            "  data DIR --dataset NAME    print a dataset's classes, sizes and few-shot picks\n"
            "  synth DATA_ROOT            write synthetic datasets in the real datasets' layouts\n"
            "  plan SWEEP.yaml            list a sweep's runs, cost estimates and rank placement\n"
            "  run SWEEP.yaml [-o OUT]    run or resume a sweep (alone or under mpirun / srun)\n"
            "  gc OUT                     remove the results no sweep of OUT refers to any more\n"
            "  pretrain OUT.safetensors   pretrain a small CLIP on synthetic image-caption pairs\n"
            "  demo                       tiny model + synthetic data: run sweeps/demo.yaml, print the table\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("clipgrid %s (numerics version %d)\n", clipgrid_version(), CLIPGRID_NUMERICS_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "golden")) return cmd_golden(argc - 1, argv + 1);
    if (!strcmp(cmd, "make-model")) return cmd_make_model(argc - 1, argv + 1);
    if (!strcmp(cmd, "model-info")) return cmd_model_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "convert")) return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(cmd, "table")) return cmd_table(argc - 1, argv + 1);
    if (!strcmp(cmd, "status")) return cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot")) return cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "data")) return cmd_data(argc - 1, argv + 1);
    if (!strcmp(cmd, "synth")) return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan")) return cmd_plan(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) return cmd_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "gc")) return cmd_gc(argc - 1, argv + 1);
    if (!strcmp(cmd, "pretrain")) return cmd_pretrain(argc - 1, argv + 1);
    fprintf(stderr, "clipgrid: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
