/* tests/test_pyrandom.c — core/base/pyrandom.c against CPython 3.11's `random`: for several seeds
 * (0, negative, above 2^32, 2^63−1) the raw 32-bit outputs, getrandbits(k) for k up to 64,
 * random(), _randbelow and random.sample in both regimes (pool and set), and values after the
 * state has been twisted again; reference values in tests/data/pyrandom_ref.txt
 * (tests/reference/fewshot_ref.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/pyrandom.h"
#include "tests/testlib.h"

static const char *ref_path(void) {
    const char *p = getenv("CLIPGRID_TEST_DATA");
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/pyrandom_ref.txt", p ? p : "tests/data");
    return buf;
}

int main(void) {
    FILE *f = fopen(ref_path(), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", ref_path());
        return 1;
    }
    static char line[1 << 16];
    PyRandom r;
    long long seed = 0;
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        char *save, *tok = strtok_r(line, " \n", &save);
        if (!tok) continue;
        lines++;
        if (!strcmp(tok, "seed")) {
            seed = strtoll(strtok_r(NULL, " \n", &save), NULL, 10);
            pyrandom_seed(&r, seed);
        } else if (!strcmp(tok, "u32") || !strcmp(tok, "late")) {
            if (!strcmp(tok, "late"))
                for (int i = 0; i < 700; i++) pyrandom_u32(&r);
            while ((tok = strtok_r(NULL, " \n", &save))) {
                unsigned long long want = strtoull(tok, NULL, 10), got = pyrandom_u32(&r);
                CHECK(got == want, "seed %lld u32: %llu != %llu", seed, got, want);
            }
        } else if (!strcmp(tok, "bits")) {
            static const int ks[] = {1, 5, 17, 31, 33, 48, 64};
            for (int i = 0; i < 7 && (tok = strtok_r(NULL, " \n", &save)); i++) {
                unsigned long long want = strtoull(tok, NULL, 10);
                unsigned long long got = pyrandom_getrandbits(&r, ks[i]);
                CHECK(got == want, "seed %lld getrandbits(%d): %llu != %llu", seed, ks[i], got, want);
            }
        } else if (!strcmp(tok, "random")) {
            while ((tok = strtok_r(NULL, " \n", &save))) {
                double want = strtod(tok, NULL), got = pyrandom_random(&r);
                CHECK(got == want, "seed %lld random(): %.17g != %.17g", seed, got, want);
            }
        } else if (!strcmp(tok, "below")) {
            static const unsigned long long ns[] = {1, 2, 3, 7, 100, 1000, 2147483649ull,
                                                     1000000000000ull};
            for (int i = 0; i < 8 && (tok = strtok_r(NULL, " \n", &save)); i++) {
                unsigned long long want = strtoull(tok, NULL, 10);
                unsigned long long got = pyrandom_randbelow(&r, ns[i]);
                CHECK(got == want, "seed %lld randbelow(%llu): %llu != %llu", seed, ns[i], got, want);
            }
        } else if (!strcmp(tok, "sample")) {
            int n = atoi(strtok_r(NULL, " \n", &save)), k = atoi(strtok_r(NULL, " \n", &save));
            int *got = malloc(sizeof(int) * (size_t)(k + 1));
            CHECK(pyrandom_sample(&r, n, k, got) == 0, "sample(%d, %d) refused", n, k);
            int i = 0, ok = 1;
            while ((tok = strtok_r(NULL, " \n", &save))) {
                if (i >= k || got[i] != atoi(tok)) ok = 0;
                i++;
            }
            CHECK(ok && i == k, "seed %lld sample(range(%d), %d) differs from Python's", seed, n, k);
            free(got);
        }
    }
    fclose(f);
    CHECK(lines > 100, "only %d reference lines read", lines);
    int dummy[4];
    CHECK(pyrandom_sample(&r, 3, 4, dummy) == -1, "sample larger than population accepted");
    return test_finish("test_pyrandom");
}
