/* tests/test_tokenizer.c — the CLIP BPE tokenizer against the Python reference
 * (tests/reference/tokenizer_ref.py → tests/data/tokenizer_*.txt), the test vectors of clip.md
 * §9.7 and protocol.md §1.2, the id layout, the ftfy subset, the cleaning tables, error handling
 * for bad vocabulary files, HF vocab.json + merges.txt loading, threads and speed.
 * Run from the repository root. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "core/text/tokenizer.h"
#include "base/util.h"
#include "tests/testlib.h"

#define VOCAB_PATH "data/clip/bpe_simple_vocab_16e6.txt.gz"

/* ------------------------------------------------------------------------------------------- */
/* data files                                                                                  */

typedef struct {
    char **line;
    int n;
} Lines;

static Lines read_lines(const char *path) {
    Lines L = {0};
    size_t len;
    char *buf = cg_read_file(path, &len);
    if (!buf) {
        fprintf(stderr, "cannot read %s: %s\n", path, cg_error());
        return L;
    }
    int cap = 1024;
    L.line = malloc((size_t)cap * sizeof *L.line);
    char *p = buf;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        if (L.n == cap) L.line = realloc(L.line, (size_t)(cap *= 2) * sizeof *L.line);
        L.line[L.n++] = strdup(p);
        if (!nl) break;
        p = nl + 1;
    }
    free(buf);
    return L;
}

static void free_lines(Lines *L) {
    for (int i = 0; i < L->n; i++) free(L->line[i]);
    free(L->line);
}

/* the escapes of tokenizer_ref.py: \\ \n \t \r \u{HEX} */
static char *unescape(const char *s) {
    char *out = malloc(4 * strlen(s) + 1), *o = out;
    while (*s) {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        s++;
        switch (*s) {
        case 'n': *o++ = '\n'; s++; break;
        case 't': *o++ = '\t'; s++; break;
        case 'r': *o++ = '\r'; s++; break;
        case '\\': *o++ = '\\'; s++; break;
        case 'u': {
            unsigned long c = strtoul(s + 2, NULL, 16); /* "u{HEX}" */
            s = strchr(s, '}') + 1;
            if (c < 0x80) *o++ = (char)c;
            else if (c < 0x800) {
                *o++ = (char)(0xC0 | (c >> 6));
                *o++ = (char)(0x80 | (c & 0x3F));
            } else if (c < 0x10000) {
                *o++ = (char)(0xE0 | (c >> 12));
                *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
                *o++ = (char)(0x80 | (c & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (c >> 18));
                *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
                *o++ = (char)(0x80 | (c & 0x3F));
            }
            break;
        }
        default: *o++ = '\\'; break;
        }
    }
    *o = 0;
    return out;
}

static int parse_ids(const char *s, int *ids, int cap) {
    int n = 0;
    char *end;
    for (;;) {
        long v = strtol(s, &end, 10);
        if (end == s) break;
        if (n < cap) ids[n] = (int)v;
        n++;
        s = end;
    }
    return n;
}

static void print_ids(const char *label, const int *ids, int n) {
    fprintf(stderr, "  %s:", label);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------------------------------- */

#define MAXIDS 4096

/* SOT + encode + EOT, unlimited (compared with the reference's tokenize()) */
static int full_ids(const Tokenizer *tok, const char *text, int *ids) {
    int n = tokenizer_encode(tok, text, ids + 1, MAXIDS - 2);
    if (n < 0) return -1;
    ids[0] = TOKENIZER_SOT;
    ids[n + 1] = TOKENIZER_EOT;
    return n + 2;
}

static int same_ids(const int *a, int na, const int *b, int nb) {
    return na == nb && !memcmp(a, b, (size_t)na * sizeof *a);
}

static void check_vector(const Tokenizer *tok, const char *text, const int *want, int nwant) {
    int row[TOKENIZER_CONTEXT];
    int n = tokenizer_tokenize77(tok, text, row, TOKENIZER_CONTEXT);
    int ok = n == nwant && !memcmp(row, want, (size_t)nwant * sizeof *want);
    for (int i = n > 0 ? n : 0; ok && i < TOKENIZER_CONTEXT; i++) ok = row[i] == 0;
    CHECK(ok, "§9.7 vector \"%s\": got %d ids", text, n);
    if (!ok && n > 0) print_ids("got", row, n), print_ids("want", want, nwant);
}

static void test_spec_vectors(const Tokenizer *tok) {
#define V(text, ...)                                                                   \
    do {                                                                               \
        static const int w_[] = {__VA_ARGS__};                                         \
        check_vector(tok, text, w_, (int)(sizeof w_ / sizeof w_[0]));                  \
    } while (0)
    V("a photo of a cat", 49406, 320, 1125, 539, 320, 2368, 49407);
    V("a photo of a cat.", 49406, 320, 1125, 539, 320, 2368, 269, 49407);
    V("a photo of a dog", 49406, 320, 1125, 539, 320, 1929, 49407);
    V("A PHOTO of  a Cat!", 49406, 320, 1125, 539, 320, 2368, 256, 49407);
    V("Hello, world!", 49406, 3306, 267, 1002, 256, 49407);
    V("don't stop 42 times", 49406, 847, 713, 1691, 275, 273, 1661, 49407);
    V("cafe uber naive", 49406, 4979, 10668, 43362, 49407);
    V("hello-world, 3.14 (test)", 49406, 3306, 268, 1002, 267, 274, 269, 272, 275, 263, 1628, 264, 49407);
    V("caf\xc3\xa9 \xc3\xbc" "ber na\xc3\xafve", 49406, 15304, 6522, 1516, 1097, 35689, 563, 49407);
    V("  spaced   out  ", 49406, 10336, 538, 620, 49407);
    V("cat", 49406, 2368, 49407);
    /* U+0345: CLIP (issue 14: "a\u0345b" -> 320 321) drops it and splits the word there */
    V("a\xcd\x85" "b", 49406, 320, 321, 49407);
    V("\xcd\x85", 49406, 49407);
    V("car", 49406, 1615, 49407);
    V("beach", 49406, 2117, 49407);
    V("sunset", 49406, 3424, 49407);
    V("X X X X a photo of a cat.", 49406, 343, 343, 343, 343, 320, 1125, 539, 320, 2368, 269, 49407);
    V("a photo of a Boeing 737-200, a type of aircraft.", 49406, 320, 1125, 539, 320, 11857, 278, 274,
      278, 268, 273, 271, 271, 267, 320, 3877, 539, 7706, 269, 49407);
    V("a bad photo of the   tench.", 49406, 320, 2103, 1125, 539, 518, 1149, 634, 269, 49407);
    V("a centered satellite photo of AnnualCrop.", 49406, 320, 24584, 10316, 1125, 539, 21698, 526,
      9955, 269, 49407);
    V("it's a test", 49406, 585, 568, 320, 1628, 49407);
    V("a 'sand' dune", 49406, 320, 568, 537, 262, 28208, 49407);
    V("rock'n'roll", 49406, 2172, 262, 333, 262, 3341, 49407);
    V("hello...world", 49406, 3306, 678, 1002, 49407);
    V("aaaaaaaaaaaaaaaaaa", 49406, 23126, 23126, 3894, 49407);
    V("\xf0\x9f\x90\xb1", 49406, 22979, 49407);
    V("\xf0\x9f\x90\xb1\xf0\x9f\x90\xb6!!", 49406, 35710, 14466, 748, 49407);
    V("", 49406, 49407);
    V("a photo of a cat&amp;dog", 49406, 320, 1125, 539, 320, 2368, 261, 1929, 49407);
    /* ＡＢＣ: with the ftfy subset it is "abc" (without ftfy it would be 171 121 223 …) */
    V("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", 49406, 5334, 49407);
    /* protocol.md §1.2 */
    V("a photo of a face.", 49406, 320, 1125, 539, 320, 1710, 269, 49407);
    V("a photo of a Annual Crop Land.", 49406, 320, 1125, 539, 320, 2906, 9955, 973, 269, 49407);
    V("X X X X X X X X X X X X X X X X airplane.", 49406, 343, 343, 343, 343, 343, 343, 343, 343, 343,
      343, 343, 343, 343, 343, 343, 343, 16451, 269, 49407);
#undef V
    static const struct {
        const char *text;
        int n;
    } counts[] = {{"airplane", 1}, {"Annual Crop Land", 3}, {"Apply Eye Makeup", 3},
                  {"2012 Audi S4 Sedan", 8}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        int ids[64];
        int n = tokenizer_encode(tok, counts[i].text, ids, 64);
        CHECK(n == counts[i].n, "\"%s\": %d tokens, want %d", counts[i].text, n, counts[i].n);
    }
}

static void test_layout(const Tokenizer *tok) {
    CHECK(tokenizer_vocab_size(tok) == 49408, "vocab size %d", tokenizer_vocab_size(tok));
    CHECK(tokenizer_merge_count(tok) == 48894, "merge count %d", tokenizer_merge_count(tok));
    static const struct {
        int id;
        const char *s;
    } want[] = {{0, "!"},       {93, "~"},          {94, "\xc2\xa1"},  {187, "\xc3\xbf"},
                {188, "\xc4\x80"}, {220, "\xc4\xa0"}, {255, "\xc5\x83"}, {256, "!</w>"},
                {261, "&</w>"},  {262, "'</w>"},      {267, ",</w>"},    {269, ".</w>"},
                {271, "0</w>"},  {280, "9</w>"},      {320, "a</w>"},    {343, "x</w>"},
                {518, "the</w>"}, {539, "of</w>"},    {1125, "photo</w>"}, {512, "in"},
                {49405, "jekyll</w>"}, {49406, "<|startoftext|>"}, {49407, "<|endoftext|>"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *s = tokenizer_token_string(tok, want[i].id);
        CHECK(s && !strcmp(s, want[i].s), "id %d is \"%s\", want \"%s\"", want[i].id, s ? s : "(null)",
              want[i].s);
    }
    CHECK(tokenizer_token_string(tok, -1) == NULL && tokenizer_token_string(tok, 49408) == NULL,
          "out-of-range ids must give NULL");
    int a, b;
    CHECK(tokenizer_merge(tok, 0, &a, &b) == 512 && !strcmp(tokenizer_token_string(tok, a), "i") &&
              !strcmp(tokenizer_token_string(tok, b), "n"),
          "merge 0 must be \"i n\" -> 512");
    CHECK(tokenizer_merge(tok, 48893, &a, &b) == 49405 &&
              !strcmp(tokenizer_token_string(tok, a), "jeky") &&
              !strcmp(tokenizer_token_string(tok, b), "ll</w>"),
          "the last merge must be \"jeky ll</w>\" -> 49405");
    CHECK(tokenizer_merge(tok, 48894, NULL, NULL) == -1, "merge rank out of range");
    for (int r = 0; r < 48894; r++) {
        if (tokenizer_merge(tok, r, NULL, NULL) != 512 + r) {
            CHECK(0, "merge %d gives id %d, want %d", r, tokenizer_merge(tok, r, NULL, NULL), 512 + r);
            break;
        }
    }
}

/* every reference case; returns the number of cases */
static int test_reference(const Tokenizer *tok, const char *which) {
    Lines cases = read_lines("tests/data/tokenizer_cases.txt");
    Lines exp = read_lines("tests/data/tokenizer_expected.txt");
    CHECK(cases.n >= 300 && cases.n == exp.n, "%s: %d cases, %d expected lines", which, cases.n,
          exp.n);
    int *want = malloc(MAXIDS * sizeof *want), *got = malloc(MAXIDS * sizeof *got);
    int bad = 0, long_ones = 0;
    for (int i = 0; i < cases.n && i < exp.n; i++) {
        char *text = unescape(cases.line[i]);
        int nw = parse_ids(exp.line[i], want, MAXIDS);
        int ng = full_ids(tok, text, got);
        int ok = same_ids(got, ng, want, nw);
        int row[TOKENIZER_CONTEXT];
        int nr = tokenizer_tokenize77(tok, text, row, TOKENIZER_CONTEXT);
        if (nw <= TOKENIZER_CONTEXT) {
            ok = ok && nr == nw && !memcmp(row, want, (size_t)nw * sizeof *want);
            for (int k = nw; ok && k < TOKENIZER_CONTEXT; k++) ok = row[k] == 0;
        } else {
            long_ones++;
            char count[32];
            snprintf(count, sizeof count, "%d tokens", nw);
            ok = ok && nr == -1 && strstr(cg_error(), count) && strstr(cg_error(), "77");
        }
        if (!ok && bad++ < 10) {
            CHECK(0, "%s case %d \"%s\"", which, i + 1, cases.line[i]);
            print_ids("got ", got, ng > 0 ? ng : 0);
            print_ids("want", want, nw);
        }
        free(text);
    }
    CHECK(bad == 0, "%s: %d of %d reference cases differ", which, bad, cases.n);
    CHECK(long_ones >= 2, "the reference cases should include texts longer than 77 tokens");
    int n = cases.n;
    free(want);
    free(got);
    free_lines(&cases);
    free_lines(&exp);
    return n;
}

static void test_ftfy(const Tokenizer *tok) {
    Lines cases = read_lines("tests/data/tokenizer_ftfy_cases.txt");
    Lines exp = read_lines("tests/data/tokenizer_ftfy_expected.txt");
    CHECK(cases.n > 0 && cases.n == exp.n, "ftfy: %d cases, %d expected lines", cases.n, exp.n);
    int want[256], got[256], fixed_ids[256];
    for (int i = 0; i < cases.n && i < exp.n; i++) {
        char *tab = strchr(cases.line[i], '\t');
        if (!tab) {
            CHECK(0, "ftfy case %d has no TAB", i + 1);
            continue;
        }
        *tab = 0;
        char *in = unescape(cases.line[i]), *fixed = unescape(tab + 1);
        int nw = parse_ids(exp.line[i], want, 256);
        int ng = full_ids(tok, in, got);
        int nf = full_ids(tok, fixed, fixed_ids);
        CHECK(same_ids(got, ng, want, nw) && same_ids(fixed_ids, nf, want, nw),
              "ftfy case %d \"%s\" (fixed: \"%s\")", i + 1, cases.line[i], tab + 1);
        if (!same_ids(got, ng, want, nw)) {
            print_ids("got ", got, ng > 0 ? ng : 0);
            print_ids("want", want, nw);
            char *c = tokenizer_clean(in);
            fprintf(stderr, "  cleaned: \"%s\"\n", c);
            free(c);
        }
        free(in);
        free(fixed);
    }
    free_lines(&cases);
    free_lines(&exp);
}

static void test_clean(void) {
    Lines cases = read_lines("tests/data/tokenizer_clean_cases.txt");
    CHECK(cases.n > 100, "cleaning cases: %d", cases.n);
    int bad = 0;
    for (int i = 0; i < cases.n; i++) {
        char *tab = strchr(cases.line[i], '\t');
        if (!tab) {
            CHECK(0, "cleaning case %d has no TAB", i + 1);
            continue;
        }
        *tab = 0;
        char *in = unescape(cases.line[i]), *want = unescape(tab + 1);
        char *got = tokenizer_clean(in);
        if (strcmp(got, want) && bad++ < 10) {
            CHECK(0, "cleaning case %d: \"%s\"", i + 1, cases.line[i]);
            fprintf(stderr, "  got  \"%s\"\n  want \"%s\"\n", got, want);
        }
        free(in);
        free(want);
        free(got);
    }
    CHECK(bad == 0, "%d of %d cleaning cases differ", bad, cases.n);
    /* invalid UTF-8 becomes U+FFFD, one per byte, and never crashes */
    char *c = tokenizer_clean("a\xff" "b\xc3" "c\xe2\x82" "d\xed\xa0\x80" "e");
    CHECK(!strcmp(c, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e"),
          "invalid UTF-8: \"%s\"", c);
    free(c);
    free_lines(&cases);
}

static void test_too_long(const Tokenizer *tok) {
    char text[1024] = "";
    for (int i = 0; i < 15; i++) strcat(text, i ? " a photo of a cat" : "a photo of a cat");
    int row[TOKENIZER_CONTEXT];
    CHECK(tokenizer_tokenize77(tok, text, row, TOKENIZER_CONTEXT) == 77 && row[76] == TOKENIZER_EOT,
          "a 75-token text fills the 77 context exactly");
    strcat(text, " dog");
    int n = tokenizer_tokenize77(tok, text, row, TOKENIZER_CONTEXT);
    const char *msg = cg_error();
    CHECK(n == -1, "a 76-token text must not fit: %d", n);
    CHECK(strstr(msg, "a photo of a cat a photo") && strstr(msg, "78 tokens") && strstr(msg, "77"),
          "too-long message: %s", msg);
    int ids[10];
    CHECK(tokenizer_encode(tok, text, ids, 10) == -1 && strstr(cg_error(), "76 tokens"),
          "encode beyond max_ids: %s", cg_error());
    CHECK(tokenizer_tokenize77(tok, "a photo of a cat", row, 7) == 7, "context 7 fits 5 tokens");
    CHECK(tokenizer_tokenize77(tok, "a photo of a cat", row, 6) == -1, "context 6 does not");
}

/* ------------------------------------------------------------------------------------------- */
/* bad files                                                                                   */

static char tmpdir[64];

static char *tmp_path(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static void write_gz(const char *path, const char *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    gzwrite(g, data, (unsigned)n);
    gzclose(g);
}

static void expect_fail(Tokenizer *t, const char *what, const char *path, const char *also) {
    const char *msg = cg_error();
    CHECK(t == NULL, "%s: loading must fail", what);
    CHECK(strstr(msg, path) != NULL, "%s: message should name %s: %s", what, path, msg);
    if (also) CHECK(strstr(msg, also) != NULL, "%s: message should say \"%s\": %s", what, also, msg);
    if (t) tokenizer_free(t);
    printf("  %-32s -> %s\n", what, msg);
}

static void test_bad_files(void) {
    const char *p;
    p = tmp_path("missing.txt.gz");
    expect_fail(tokenizer_load(p), "missing file", p, NULL);

    size_t gzlen, len;
    char *gz = cg_read_file(VOCAB_PATH, &gzlen);
    char *txt = cg_read_gz(VOCAB_PATH, &len);
    if (!gz || !txt) {
        CHECK(0, "cannot read %s", VOCAB_PATH);
        return;
    }
    p = tmp_path("trunc_small.txt.gz");
    write_bytes(p, gz, 100000);
    expect_fail(tokenizer_load(p), "gzip truncated early", p, NULL);
    p = tmp_path("trunc_late.txt.gz");
    write_bytes(p, gz, gzlen * 2 / 3);
    expect_fail(tokenizer_load(p), "gzip truncated late", p, NULL);
    p = tmp_path("trunc_crc.txt.gz");
    write_bytes(p, gz, gzlen - 5);
    expect_fail(tokenizer_load(p), "gzip missing its trailer", p, NULL);

    char *junk = malloc(1 << 20);
    uint32_t x = 12345;
    for (int i = 0; i < 1 << 20; i++) {
        x = x * 1664525u + 1013904223u;
        junk[i] = (char)(32 + (x >> 24) % 95);
        if ((x >> 8) % 40 == 0) junk[i] = '\n';
    }
    p = tmp_path("garbage.txt.gz");
    write_gz(p, junk, 1 << 20);
    expect_fail(tokenizer_load(p), "gzip of garbage text", p, NULL);
    p = tmp_path("garbage_raw.bin");
    for (int i = 0; i < 4096; i++) junk[i] = (char)(i * 7919 % 256);
    write_bytes(p, junk, 4096);
    expect_fail(tokenizer_load(p), "binary garbage", p, NULL);
    p = tmp_path("empty.txt.gz");
    write_gz(p, "", 0);
    expect_fail(tokenizer_load(p), "empty file", p, NULL);

    /* the real text with merge line 100 damaged */
    char *copy = malloc(len + 1);
    memcpy(copy, txt, len + 1);
    char *l = copy;
    for (int i = 1; i < 100; i++) l = strchr(l, '\n') + 1;
    char *sp = strchr(l, ' ');
    *sp = '_';
    p = tmp_path("badline.txt.gz");
    write_gz(p, copy, len);
    expect_fail(tokenizer_load(p), "malformed merge line", p, "line 100");
    /* a merge symbol that is not in the vocabulary */
    memcpy(copy, txt, len + 1);
    l = copy;
    for (int i = 1; i < 7; i++) l = strchr(l, '\n') + 1;
    l[0] = '\x01';
    p = tmp_path("badsym.txt.gz");
    write_gz(p, copy, len);
    expect_fail(tokenizer_load(p), "unknown merge symbol", p, "line 7");
    /* header + merges only (no unused rest) with a different header: accepted */
    memcpy(copy, txt, len + 1);
    l = copy;
    for (int i = 0; i < 48895; i++) l = strchr(l, '\n') + 1;
    p = tmp_path("short_ok.txt");
    const char *hdr = "#version: 0.2\n";
    char *first = strchr(copy, '\n') + 1;
    FILE *f = fopen(p, "wb");
    fwrite(hdr, 1, strlen(hdr), f);
    fwrite(first, 1, (size_t)(l - first), f);
    fclose(f);
    Tokenizer *t = tokenizer_load(p);
    CHECK(t != NULL, "a plain-text header + 48,894 merges file should load: %s", cg_error());
    if (t) {
        int ids[16];
        CHECK(tokenizer_encode(t, "a photo of a cat", ids, 16) == 5 && ids[1] == 1125, "short file");
        tokenizer_free(t);
    }
    free(copy);
    free(junk);
    free(gz);
    free(txt);
}

/* ------------------------------------------------------------------------------------------- */
/* HF files                                                                                    */

static int write_hf(const Tokenizer *tok, const char *vocab_path, const char *merges_path,
                    int drop_entry) {
    json_t *obj = json_object();
    for (int id = 0; id < tokenizer_vocab_size(tok); id++) {
        if (id == drop_entry) continue;
        json_object_set_new(obj, tokenizer_token_string(tok, id), json_integer(id));
    }
    int rc = json_dump_file(obj, vocab_path, JSON_COMPACT);
    json_decref(obj);
    FILE *f = fopen(merges_path, "w");
    if (!f) return -1;
    fprintf(f, "#version: 0.2\n");
    for (int r = 0; r < tokenizer_merge_count(tok); r++) {
        int a, b;
        tokenizer_merge(tok, r, &a, &b);
        fprintf(f, "%s %s\n", tokenizer_token_string(tok, a), tokenizer_token_string(tok, b));
    }
    fclose(f);
    return rc;
}

static void test_hf(const Tokenizer *tok) {
    char *vj = strdup(tmp_path("vocab.json")), *mt = strdup(tmp_path("merges.txt"));
    CHECK(write_hf(tok, vj, mt, -1) == 0, "writing HF files");
    Tokenizer *hf = tokenizer_load_hf(vj, mt);
    CHECK(hf != NULL, "loading HF files: %s", cg_error());
    if (hf) {
        int n = test_reference(hf, "HF");
        printf("  HF vocab.json + merges.txt: %d reference cases checked\n", n);
        /* identical ids to the OpenAI loader on every case */
        Lines cases = read_lines("tests/data/tokenizer_cases.txt");
        int *a = malloc(MAXIDS * sizeof *a), *b = malloc(MAXIDS * sizeof *b), diff = 0;
        for (int i = 0; i < cases.n; i++) {
            char *text = unescape(cases.line[i]);
            int na = full_ids(tok, text, a), nb = full_ids(hf, text, b);
            diff += !same_ids(a, na, b, nb);
            free(text);
        }
        CHECK(diff == 0, "OpenAI and HF loaders differ on %d cases", diff);
        free(a);
        free(b);
        free_lines(&cases);
        tokenizer_free(hf);
    }
    /* wrong vocabulary size */
    char *vj2 = strdup(tmp_path("vocab_small.json"));
    write_hf(tok, vj2, mt, 1000);
    expect_fail(tokenizer_load_hf(vj2, mt), "HF vocab of 49,407 entries", vj2, "49407");
    /* malformed JSON */
    char *vj3 = strdup(tmp_path("vocab_bad.json"));
    write_bytes(vj3, "{\"a</w>\": 320, \"b\": ", 20);
    expect_fail(tokenizer_load_hf(vj3, mt), "HF malformed JSON", vj3, NULL);
    write_bytes(vj3, "[1, 2, 3]", 9);
    expect_fail(tokenizer_load_hf(vj3, mt), "HF JSON not an object", vj3, NULL);
    expect_fail(tokenizer_load_hf(tmp_path("none.json"), mt), "HF missing vocab.json",
                tmp_path("none.json"), NULL);
    expect_fail(tokenizer_load_hf(vj, tmp_path("none.txt")), "HF missing merges.txt",
                tmp_path("none.txt"), NULL);
    /* malformed and short merges */
    char *mt2 = strdup(tmp_path("merges_bad.txt"));
    size_t len;
    char *m = cg_read_file(mt, &len);
    char *l = m;
    for (int i = 1; i < 50; i++) l = strchr(l, '\n') + 1;
    *strchr(l, ' ') = '\t';
    write_bytes(mt2, m, len);
    expect_fail(tokenizer_load_hf(vj, mt2), "HF malformed merge line", mt2, "line 50");
    write_bytes(mt2, m, (size_t)(l - m));
    expect_fail(tokenizer_load_hf(vj, mt2), "HF merges.txt too short", mt2, "48894");
    free(m);
    free(vj);
    free(mt);
    free(vj2);
    free(vj3);
    free(mt2);
}

/* ------------------------------------------------------------------------------------------- */

static void test_threads_and_speed(const Tokenizer *tok) {
    Lines cases = read_lines("tests/data/tokenizer_cases.txt");
    int nshort = 0;
    char **texts = malloc((size_t)cases.n * sizeof *texts);
    for (int i = 0; i < cases.n; i++) {
        char *t = unescape(cases.line[i]);
        if (strlen(t) <= 80) texts[nshort++] = t;
        else free(t);
    }
    /* threads: the same ids as a serial run */
    int *serial = calloc((size_t)nshort * TOKENIZER_CONTEXT, sizeof *serial);
    int *par = calloc((size_t)nshort * TOKENIZER_CONTEXT, sizeof *par);
    for (int i = 0; i < nshort; i++)
        tokenizer_tokenize77(tok, texts[i], serial + (size_t)i * TOKENIZER_CONTEXT, TOKENIZER_CONTEXT);
#pragma omp parallel for schedule(dynamic, 8)
    for (int i = 0; i < nshort; i++)
        tokenizer_tokenize77(tok, texts[i], par + (size_t)i * TOKENIZER_CONTEXT, TOKENIZER_CONTEXT);
    CHECK(!memcmp(serial, par, (size_t)nshort * TOKENIZER_CONTEXT * sizeof *par),
          "parallel tokenization differs from serial");
    /* speed: 10,000 short prompts, one thread */
    int row[TOKENIZER_CONTEXT];
    double t0 = cg_now();
    long tokens = 0;
    for (int i = 0; i < 10000; i++) tokens += tokenizer_tokenize77(tok, texts[i % nshort], row, 77);
    double dt = cg_now() - t0;
    printf("  speed: 10,000 prompts in %.3f s = %.0f prompts/s (%.1f tokens each)\n", dt, 10000 / dt,
           tokens / 10000.0);
    CHECK(dt < 2.0, "10,000 prompts took %.2f s", dt);
    for (int i = 0; i < nshort; i++) free(texts[i]);
    free(texts);
    free(serial);
    free(par);
    free_lines(&cases);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cg_tokenizer_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    double t0 = cg_now();
    Tokenizer *tok = tokenizer_load(VOCAB_PATH);
    printf("  load %s: %.3f s\n", VOCAB_PATH, cg_now() - t0);
    CHECK(tok != NULL, "loading %s: %s", VOCAB_PATH, cg_error());
    if (!tok) return test_finish("test_tokenizer");
    test_layout(tok);
    test_spec_vectors(tok);
    int n = test_reference(tok, "OpenAI");
    printf("  %d reference cases checked\n", n);
    test_ftfy(tok);
    test_clean();
    test_too_long(tok);
    test_bad_files();
    test_hf(tok);
    test_threads_and_speed(tok);
    tokenizer_free(tok);
    /* remove the temporary files */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_finish("test_tokenizer");
}
