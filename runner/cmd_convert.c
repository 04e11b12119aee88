/* runner/cmd_convert.c — `clipgrid convert IN OUT.safetensors`: the tensors of a PyTorch
 * checkpoint (torch.save state dict, open_clip checkpoint, TorchScript archive such as OpenAI's
 * ViT-B-16.pt), read without executing anything (core/model/torch_checkpoint.h), written unchanged
 * (same names, dtypes, shapes and bytes) as safetensors. */
#include <stdio.h>
#include <string.h>

#include "core/model/safetensors.h"
#include "core/model/torch_checkpoint.h"
#include "base/util.h"
#include "runner/cli.h"

static void convert_usage(FILE *f) {
    fprintf(f, "usage: clipgrid convert IN OUT.safetensors\n\n"
               "Writes every tensor of IN (a PyTorch checkpoint: torch.save state dict, open_clip\n"
               "checkpoint with a state_dict entry, or a TorchScript archive such as OpenAI's\n"
               "ViT-B-16.pt; or a safetensors file) to OUT unchanged: same names (TorchScript\n"
               "modules flattened to their state-dict names), dtypes, shapes and bytes. The\n"
               "pickle inside IN is read by an allow-list reader that imports and runs nothing.\n"
               "model.weights in a sweep accepts such .pt files directly as well.\n");
}

int cmd_convert(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
        return convert_usage(stdout), 0;
    if (argc != 3) return convert_usage(stderr), 2;
    SafeTensors *st = weights_open(argv[1]);
    if (!st) {
        fprintf(stderr, "clipgrid convert: %s\n", cg_error());
        return 1;
    }
    StWriter *w = st_writer_new();
    st_writer_set_metadata(w, "format", "pt");
    st_writer_set_metadata(w, "converted_by", "clipgrid convert");
    int rc = 0;
    for (int i = 0; i < st_count(st) && !rc; i++) {
        const StTensor *t = st_get(st, i);
        rc = st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data);
    }
    if (!rc) rc = st_writer_write(w, argv[2]);
    if (rc) fprintf(stderr, "clipgrid convert: %s\n", cg_error());
    else printf("%s: %d tensors from %s\n", argv[2], st_count(st), argv[1]);
    st_writer_free(w);
    st_close(st);
    return rc ? 1 : 0;
}
