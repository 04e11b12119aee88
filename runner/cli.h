/* runner/cli.h — the subcommands of the clipgrid program and what they share (backend set-up,
 * default file locations). */
#ifndef CLIPGRID_RUNNER_CLI_H
#define CLIPGRID_RUNNER_CLI_H

#include <stddef.h>

#include "core/model/clip_config.h"

int cmd_tokenize(int argc, char **argv);
int cmd_golden(int argc, char **argv);
int cmd_make_model(int argc, char **argv);
int cmd_model_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_table(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* OUT or OUT/results.h5 → the results file path (caller frees); *out_dir (may be NULL) receives
 * the OUT folder (the file's folder when a file is given; caller frees) */
char *cli_results_path(const char *path, char **out_dir);
int cmd_gc(int argc, char **argv);
int cmd_data_verify(const char *dir, const char *name);
int cmd_pretrain(int argc, char **argv);

/* the demo's tiny model: 64-pixel images in 16-pixel patches, 3 blocks per tower, width 128
 * (runner/cmd_demo.c; `clipgrid pretrain` trains this one by default) */
void cli_demo_config(ClipConfig *c);

/* CPU backend with --threads N / CLIPGRID_THREADS / all cores */
void cli_init_backend(int threads);
/* the CLIP BPE vocabulary: $CLIPGRID_VOCAB, ./data/clip/…, or next to the program's repo */
const char *cli_default_vocab(void);
/* rel if readable from here, else REPO/rel next to the program (REPO/build/clipgrid) written into
 * buf when readable, else rel */
const char *cli_repo_file(const char *rel, char *buf, size_t cap);

#endif
