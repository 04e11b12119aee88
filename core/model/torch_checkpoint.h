/* core/model/torch_checkpoint.h — PyTorch checkpoints read without PyTorch and without executing
 * anything: torch.save's ZIP format (state dicts, open_clip checkpoints with a "state_dict"
 * entry), TorchScript archives (torch.jit.save, OpenAI's ViT-*.pt), through libzip and the
 * allow-list pickle reader (core/base/torch_pickle.h), and torch.save's legacy (pre-1.6) format
 * (pickles of the magic number, protocol 1001, system info, the object and the storage keys,
 * then each storage's int64 element count and raw data).
 *
 * The result is an ordinary SafeTensors reader (core/model/safetensors.h): tensor names are the
 * state-dict names (TorchScript modules flattened by attribute path, a common "module." prefix
 * removed), data points into the read-only mapping of the file (ZIP storages must be stored
 * uncompressed, as torch writes them; their CRC-32 is checked), F32/F16/BF16 (and I64 buffers).
 * Tensors must be contiguous views inside their storage. Every refusal names the file, the
 * archive entry or tensor, and what was expected. */
#ifndef CLIPGRID_CORE_TORCH_CHECKPOINT_H
#define CLIPGRID_CORE_TORCH_CHECKPOINT_H

#include <stddef.h>

#include "core/model/safetensors.h"

/* 1 when the file starts like a PyTorch checkpoint (a ZIP archive or a raw pickle) */
int tc_is_torch_file(const char *path);
SafeTensors *tc_open(const char *path);

/* safetensors or PyTorch checkpoint, by the file's first bytes */
SafeTensors *weights_open(const char *path);

#endif
