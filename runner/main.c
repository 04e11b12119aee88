/* runner/main.c — the clipgrid program: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "runner/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "clipgrid — CLIP prompt-learning experiments in C\n\n"
            "usage: clipgrid COMMAND [ARGS]   (clipgrid COMMAND --help for details)\n\n"
            "  tokenize TEXT...           print the CLIP BPE token ids of each text\n"
            "  golden FIXTURE.h5...       check the towers against official PyTorch fixtures\n"
            "  make-model OUT.safetensors write a random CLIP (any size) for tests and demos\n"
            "  model-info FILE            print the architecture inferred from a weight file\n"
            "  table OUT/results.h5       paper-style tables (Markdown, CSV, LaTeX) of a results file\n"
            "  status OUT/results.h5      done, running, failed and pending runs, time left\n"
            "  data DIR --dataset NAME    print a dataset's classes, sizes and few-shot picks\n"
            "  synth DATA_ROOT            write synthetic datasets in the real datasets' layouts\n"
            "  plan SWEEP.yaml            list a sweep's runs, cost estimates and rank placement\n"
            "  run SWEEP.yaml [-o OUT]    run or resume a sweep (alone or under mpirun / srun)\n"
            "  pretrain OUT.safetensors   pretrain a small CLIP on synthetic image-caption pairs\n"
            "  demo                       tiny model + synthetic data: run sweeps/demo.yaml, print the table\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "golden")) return cmd_golden(argc - 1, argv + 1);
    if (!strcmp(cmd, "make-model")) return cmd_make_model(argc - 1, argv + 1);
    if (!strcmp(cmd, "model-info")) return cmd_model_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "table")) return cmd_table(argc - 1, argv + 1);
    if (!strcmp(cmd, "status")) return cmd_status(argc - 1, argv + 1);
    if (!strcmp(cmd, "data")) return cmd_data(argc - 1, argv + 1);
    if (!strcmp(cmd, "synth")) return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan")) return cmd_plan(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) return cmd_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "pretrain")) return cmd_pretrain(argc - 1, argv + 1);
    fprintf(stderr, "clipgrid: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
