/* runner/feature_cache.c — the frozen-feature files of an OUT, their key, claim and atomic
 * write (feature_cache.h). */
#include "runner/feature_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "results/claim.h"
#include "runner/digest.h"

static const char MAGIC[8] = {'C', 'G', 'F', 'E', 'A', 'T', '0', '1'};

/* the key of evaluation set `set`: weights, precision, batch, resolution, dataset and images */
static void key_(const FeatureCache *fc, int set, char key[24]) {
    const EvalSet *es = &fc->data->evals[set];
    Digest *g = digest_new();
    char line[256];
    snprintf(line, sizeof line, "features 1 %s %s tb %d res %d %s %s", fc->weights_digest,
             fc->precision[0] ? fc->precision : "fp32", fc->test_batch, fc->image_res,
             es->dataset, es->ds.dir ? es->ds.dir : "");
    digest_add_str(g, line);
    for (int i = 0; i < es->ds.test.n; i++) digest_add_str(g, es->ds.test.items[i].path);
    char hex[DIGEST_HEX];
    digest_end(g, hex);
    snprintf(key, 24, "%.20s", hex);
}

static char *path_(const char *out, const char *key, const char *ext) {
    size_t n = strlen(out) + strlen(key) + strlen(ext) + 16;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/features/%s%s", out, key, ext);
    return p;
}

/* 1 read into rows, 0 absent or not matching */
static int read_(const char *path, float *rows, size_t n, int E) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char head[24];
    uint64_t fn = 0;
    uint32_t fe = 0;
    int ok = fread(head, 1, 24, f) == 24 && !memcmp(head, MAGIC, 8);
    if (ok) memcpy(&fn, head + 8, 8), memcpy(&fe, head + 16, 4);
    ok = ok && fn == n && fe == (uint32_t)E && fread(rows, sizeof(float), n * E, f) == n * E;
    fclose(f);
    return ok;
}

float *feature_cache_get(FeatureCache *fc, int set, size_t n, int E, int *have) {
    char key[24];
    key_(fc, set, key);
    char *dir = cg_path_join(fc->out, "features");
    mkdir(dir, 0755);
    free(dir);
    char *file = path_(fc->out, key, ".f32"), *claim = path_(fc->out, key, ".claim");
    float *rows = cg_malloc((n ? n : 1) * (size_t)E * sizeof(float));
    *have = 0;
    for (;;) {
        if (read_(file, rows, n, E)) {
            *have = 1, fc->hits++;
            break;
        }
        ClaimResult c = claim_try(claim, NULL, NULL, 0);
        if (c == CLAIM_TAKEN) {
            if (read_(file, rows, n, E)) {  /* written meanwhile */
                claim_release(claim);
                *have = 1, fc->hits++;
            } else snprintf(fc->claimed[set], sizeof fc->claimed[set], "%s", key), fc->misses++;
            break;
        }
        if (c == CLAIM_ERROR) {  /* cannot claim (a full disk): compute without the cache */
            free(rows), rows = NULL;
            break;
        }
        if (fc->stop && *fc->stop) {  /* stopping: compute without the cache */
            free(rows), rows = NULL;
            break;
        }
        usleep(100000);  /* another process computes it: wait for the file */
    }
    free(file);
    free(claim);
    return rows;
}

void feature_cache_put(FeatureCache *fc, int set, const float *rows, size_t n, int E) {
    if (!fc->claimed[set][0]) return;
    char *file = path_(fc->out, fc->claimed[set], ".f32");
    char *claim = path_(fc->out, fc->claimed[set], ".claim");
    char *tmp = path_(fc->out, fc->claimed[set], ".f32.tmp");
    if (rows) {
        FILE *f = fopen(tmp, "wb");
        char head[24] = {0};
        uint64_t n64 = n;
        uint32_t e32 = (uint32_t)E;
        memcpy(head, MAGIC, 8), memcpy(head + 8, &n64, 8), memcpy(head + 16, &e32, 4);
        int ok = f && fwrite(head, 1, 24, f) == 24 && fwrite(rows, sizeof(float), n * E, f) == n * E;
        if (f && fclose(f)) ok = 0;
        if (ok) rename(tmp, file);
        else unlink(tmp);
    }
    claim_release(claim);
    fc->claimed[set][0] = 0;
    free(file), free(claim), free(tmp);
}

void feature_cache_release(FeatureCache *fc) {
    for (int s = 0; s < CG_MAX_EVALS; s++)
        if (fc->claimed[s][0]) feature_cache_put(fc, s, NULL, 0, 0);
}
