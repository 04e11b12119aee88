/* core/base/torch_zip.h — the ZIP layer of PyTorch checkpoints, through libzip over a read-only
 * mapping of the file: entry names checked (one top folder, no absolute paths, no "..", no
 * backslashes), small records read whole, and the data of a stored (uncompressed) entry located
 * inside the mapping — libzip parses the headers; the offset is the one it reads the entry from,
 * confirmed by comparing bytes and by the entry's CRC-32. */
#ifndef CLIPGRID_CORE_TORCH_ZIP_H
#define CLIPGRID_CORE_TORCH_ZIP_H

#include <stddef.h>
#include <stdint.h>

typedef struct TzArchive TzArchive;

/* map/size stay the caller's. NULL with cg_error() naming `path` and the problem. */
TzArchive *tz_open(const char *path, const uint8_t *map, size_t size);
void tz_close(TzArchive *z);
/* the top folder of every entry ("archive", "ViT-B-16", …) */
const char *tz_prefix(const TzArchive *z);
/* index of "<prefix>/<rel>" or -1 */
long tz_find(TzArchive *z, const char *rel);
/* the whole entry (decompressed), at most `max` bytes; caller frees. NULL with cg_error(). */
uint8_t *tz_read(TzArchive *z, long idx, size_t max, size_t *len);
/* the data of a stored entry inside the mapping: [*off, *off + *len). -1 with cg_error() when
 * the entry is compressed or encrypted, or its CRC-32 does not match. */
int tz_stored_data(TzArchive *z, long idx, size_t *off, size_t *len);

#endif
