/* core/text/tokenizer.c — loading the BPE vocabulary (OpenAI .txt.gz or HF vocab.json + merges.txt),
 * pre-tokenization with PCRE2 and rank-ordered byte-pair merges (clip.md §9.1–9.6). The text
 * cleaning is in core/text/tokenizer_clean.c. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/text/tokenizer.h"

#include <jansson.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "base/util.h"

#define OPENAI_HEADER "\"bpe_simple_vocab_16e6.txt#version: 0.2"
#define OPENAI_LINES 262145

struct Tokenizer {
    int n_vocab, n_merges;
    char *strings;        /* all symbol strings, NUL-separated */
    size_t *str_off;      /* [n_vocab] offset of each id's string */
    int byte_id[256];     /* id of the single-byte symbol */
    int byte_id_end[256]; /* id of the single-byte symbol + "</w>" */
    int (*merge_pair)[2]; /* [n_merges] the two symbols of merge r */
    int *merge_out;       /* [n_merges] the id of the merged symbol */
    uint64_t *mkeys;      /* open-addressing table (a, b) -> rank; key 0 = empty */
    int *mrank;
    size_t mmask;
    pcre2_code *re;
};

/* ------------------------------------------------------------------------------------------- */
/* byte <-> character map (§9.1)                                                               */

/* order[i] = the byte whose symbol has id i (0..255); cp[b] = the character byte b maps to */
static void byte_map(int order[256], uint32_t cp[256]) {
    int n = 0, extra = 0;
    for (int b = 33; b <= 126; b++) order[n++] = b;
    for (int b = 161; b <= 172; b++) order[n++] = b;
    for (int b = 174; b <= 255; b++) order[n++] = b;
    for (int b = 0; b < 256; b++) cp[b] = (uint32_t)b;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        if (!printable) {
            order[n++] = b;
            cp[b] = 256u + (uint32_t)extra++;
        }
    }
}

static size_t put_utf8(uint32_t c, char *o) {
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    o[0] = (char)(0xC0 | (c >> 6)); /* every mapped character is below U+0800 */
    o[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

/* ------------------------------------------------------------------------------------------- */
/* string -> id table used while loading                                                       */

typedef struct {
    const char **key;
    int *val;
    size_t mask;
} StrMap;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void strmap_init(StrMap *m, size_t n) {
    size_t cap = 1;
    while (cap < 2 * n) cap <<= 1;
    m->key = cg_calloc(cap, sizeof *m->key);
    m->val = cg_calloc(cap, sizeof *m->val);
    m->mask = cap - 1;
}

/* insert or overwrite (later wins, as Python's dict(zip(vocab, range(...))) does) */
static void strmap_put(StrMap *m, const char *k, int v) {
    size_t i = hash_str(k) & m->mask;
    while (m->key[i] && strcmp(m->key[i], k)) i = (i + 1) & m->mask;
    m->key[i] = k;
    m->val[i] = v;
}

static int strmap_get(const StrMap *m, const char *k) {
    size_t i = hash_str(k) & m->mask;
    while (m->key[i]) {
        if (!strcmp(m->key[i], k)) return m->val[i];
        i = (i + 1) & m->mask;
    }
    return -1;
}

static void strmap_free(StrMap *m) {
    free(m->key);
    free(m->val);
}

/* ------------------------------------------------------------------------------------------- */
/* merge-rank table (a, b) -> rank                                                             */

static uint64_t pair_key(int a, int b) { return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1; }

static size_t pair_slot(uint64_t k, size_t mask) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & mask;
}

static void merges_index(Tokenizer *t) {
    size_t cap = 1;
    while (cap < 2 * (size_t)t->n_merges + 2) cap <<= 1;
    t->mkeys = cg_calloc(cap, sizeof *t->mkeys);
    t->mrank = cg_calloc(cap, sizeof *t->mrank);
    t->mmask = cap - 1;
    for (int r = 0; r < t->n_merges; r++) {
        uint64_t k = pair_key(t->merge_pair[r][0], t->merge_pair[r][1]);
        size_t i = pair_slot(k, t->mmask);
        while (t->mkeys[i] && t->mkeys[i] != k) i = (i + 1) & t->mmask;
        t->mkeys[i] = k;
        t->mrank[i] = r; /* a repeated pair keeps its last rank, as Python's dict does */
    }
}

static int pair_rank(const Tokenizer *t, int a, int b) {
    uint64_t k = pair_key(a, b);
    size_t i = pair_slot(k, t->mmask);
    while (t->mkeys[i]) {
        if (t->mkeys[i] == k) return t->mrank[i];
        i = (i + 1) & t->mmask;
    }
    return -1;
}

/* ------------------------------------------------------------------------------------------- */
/* loading                                                                                     */

static const char *PRETOKEN_PATTERN =
    "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|"
    /* [^\s\p{L}\p{N}]+ with \s spelled out as Unicode White_Space: PCRE2's \s would also take
     * U+180E, which Python does not treat as a space. U+0345 (combining ypogegrammeni) is left
     * out too: under IGNORECASE Python's `regex` folds it to ι, a letter, so CLIP's negated
     * class never matches it, nor does [\p{L}]+ (it is Mn): CLIP drops it between words. */
    "[^\\t\\n\\x0b\\f\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}"
    "\\x{205f}\\x{3000}\\x{345}\\p{L}\\p{N}]+";

static int compile_pattern(Tokenizer *t) {
    int err;
    PCRE2_SIZE off;
    t->re = pcre2_compile((PCRE2_SPTR)PRETOKEN_PATTERN, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &err, &off, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        cg_error_set("tokenizer: cannot compile the pre-tokenizer pattern at %zu: %s", (size_t)off,
                     (const char *)msg);
        return -1;
    }
    pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* optional: the interpreter is used otherwise */
    return 0;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    free(t->strings);
    free(t->str_off);
    free(t->merge_pair);
    free(t->merge_out);
    free(t->mkeys);
    free(t->mrank);
    if (t->re) pcre2_code_free(t->re);
    free(t);
}

/* split buf into lines in place ('\n' -> NUL); a last line without '\n' counts */
static char **split_lines(char *buf, size_t len, int *n_out) {
    int n = 0, cap = 1024;
    char **lines = cg_malloc((size_t)cap * sizeof *lines);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len && start == len) break;
        if (i == len || buf[i] == '\n') {
            if (n == cap) lines = cg_realloc(lines, (size_t)(cap *= 2) * sizeof *lines);
            buf[i] = 0;
            lines[n++] = buf + start;
            start = i + 1;
        }
    }
    *n_out = n;
    return lines;
}

/* "A B" with exactly one space and two non-empty parts; returns the position of the space */
static int parse_merge(const char *line, size_t *space) {
    const char *sp = strchr(line, ' ');
    if (!sp || sp == line || !sp[1] || strchr(sp + 1, ' ') || strchr(line, '\r') ||
        strchr(line, '\t'))
        return -1;
    *space = (size_t)(sp - line);
    return 0;
}

/* lines[1..n] are merge lines "A B": split each in place into ma[r], mb[r]. Returns 0, or −1
 * with an error naming `path` and the 1-based line number. */
static int split_merges(char **lines, int n, const char *path, char **ma, char **mb) {
    for (int r = 0; r < n; r++) {
        char *line = lines[1 + r];
        size_t sp;
        if (parse_merge(line, &sp)) {
            cg_error_set("%s: bad merge line %d: \"%.60s\" (expected two symbols separated by one "
                         "space)",
                         path, r + 2, line);
            return -1;
        }
        line[sp] = 0;
        ma[r] = line;
        mb[r] = line + sp + 1;
    }
    return 0;
}

/* shared tail of both loaders: strings[] hold every id's symbol; merges given as (A, B) strings */
static Tokenizer *finish(Tokenizer *t, const char *what, char **ma, char **mb, int first_line,
                         const StrMap *vocab) {
    int order[256];
    uint32_t cp[256];
    byte_map(order, cp);
    for (int b = 0; b < 256; b++) {
        char s[8];
        size_t n = put_utf8(cp[b], s);
        s[n] = 0;
        t->byte_id[b] = strmap_get(vocab, s);
        memcpy(s + n, "</w>", 5);
        t->byte_id_end[b] = strmap_get(vocab, s);
        if (t->byte_id[b] < 0 || t->byte_id_end[b] < 0) {
            cg_error_set("%s: the vocabulary lacks the symbol of byte %d (\"%s\")", what, b, s);
            return NULL;
        }
    }
    t->merge_pair = cg_malloc((size_t)t->n_merges * sizeof *t->merge_pair);
    t->merge_out = cg_malloc((size_t)t->n_merges * sizeof *t->merge_out);
    size_t cat_cap = 64;
    char *cat = cg_malloc(cat_cap);
    for (int r = 0; r < t->n_merges; r++) {
        int a = strmap_get(vocab, ma[r]), b = strmap_get(vocab, mb[r]);
        size_t la = strlen(ma[r]), lb = strlen(mb[r]);
        if (la + lb + 1 > cat_cap) cat = cg_realloc(cat, cat_cap = 2 * (la + lb + 1));
        memcpy(cat, ma[r], la);
        memcpy(cat + la, mb[r], lb + 1);
        int ab = strmap_get(vocab, cat);
        if (a < 0 || b < 0 || ab < 0) {
            cg_error_set("%s: bad merge line %d: \"%s\" is not in the vocabulary", what,
                         first_line + r, a < 0 ? ma[r] : b < 0 ? mb[r] : cat);
            free(cat);
            return NULL;
        }
        t->merge_pair[r][0] = a;
        t->merge_pair[r][1] = b;
        t->merge_out[r] = ab;
    }
    free(cat);
    merges_index(t);
    if (compile_pattern(t)) return NULL;
    return t;
}

/* zlib's gzread reports a gzip stream that ends early (or lacks its CRC trailer) as a plain end
 * of file, so a gzip file is inflated once more here and must end with complete members */
static int gz_verify(const char *path) {
    size_t len;
    unsigned char *raw = (unsigned char *)cg_read_file(path, &len);
    if (!raw) return -1;
    if (len < 2 || raw[0] != 0x1f || raw[1] != 0x8b) { /* not gzip: read as plain text */
        free(raw);
        return 0;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    unsigned char out[1 << 16];
    int rc = inflateInit2(&z, 15 + 16);
    z.next_in = raw;
    z.avail_in = (uInt)len;
    while (rc == Z_OK) {
        z.next_out = out;
        z.avail_out = sizeof out;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && z.avail_in > 0) rc = inflateReset(&z); /* next member */
        if (rc == Z_BUF_ERROR && z.avail_out != 0) break; /* input ended inside a member */
        if (rc == Z_BUF_ERROR) rc = Z_OK;
    }
    inflateEnd(&z);
    free(raw);
    if (rc != Z_STREAM_END) {
        cg_error_set("%s: corrupt or truncated gzip data (%s)", path,
                     rc == Z_DATA_ERROR ? "bad compressed data or checksum" : "unexpected end of file");
        return -1;
    }
    return 0;
}

Tokenizer *tokenizer_load(const char *path) {
    size_t len;
    char *buf = cg_read_gz(path, &len);
    if (!buf) return NULL; /* message set by cg_read_gz, with the path */
    if (gz_verify(path)) {
        free(buf);
        return NULL;
    }
    if (memchr(buf, 0, len)) {
        cg_error_set("%s: not a BPE merges file (contains NUL bytes)", path);
        free(buf);
        return NULL;
    }
    int n_lines;
    char **lines = split_lines(buf, len, &n_lines);
    Tokenizer *t = cg_calloc(1, sizeof *t);
    Tokenizer *ok = NULL;
    StrMap vocab = {0};
    char **ma = NULL, **mb = NULL;

    if (n_lines == 0 || !strstr(lines[0], "#version")) {
        cg_error_set("%s: line 1 is not a BPE merges header such as '%s'", path, OPENAI_HEADER);
        goto done;
    }
    if (n_lines < 1 + TOKENIZER_MERGES) {
        cg_error_set("%s: %d lines, expected %d (header + %d merges used + the unused rest): "
                     "truncated or not the CLIP vocabulary",
                     path, n_lines, OPENAI_LINES, TOKENIZER_MERGES);
        goto done;
    }
    if (!strcmp(lines[0], OPENAI_HEADER) && n_lines != OPENAI_LINES) {
        cg_error_set("%s: %d lines, expected %d: truncated or corrupt copy of the OpenAI file", path,
                     n_lines, OPENAI_LINES);
        goto done;
    }
    t->n_merges = TOKENIZER_MERGES;
    t->n_vocab = 512 + t->n_merges + 2;
    ma = cg_malloc((size_t)t->n_merges * sizeof *ma);
    mb = cg_malloc((size_t)t->n_merges * sizeof *mb);
    if (split_merges(lines, t->n_merges, path, ma, mb)) goto done;
    size_t total = 0;
    for (int r = 0; r < t->n_merges; r++) total += strlen(ma[r]) + strlen(mb[r]) + 1;
    /* the vocabulary of §9.2: bytes, bytes + "</w>", the merged symbols, the two specials */
    int order[256];
    uint32_t cp[256];
    byte_map(order, cp);
    total += 256 * 3 + 256 * 7 + 64;
    t->strings = cg_malloc(total);
    t->str_off = cg_malloc((size_t)t->n_vocab * sizeof *t->str_off);
    size_t pos = 0;
    for (int i = 0; i < 512; i++) {
        t->str_off[i] = pos;
        pos += put_utf8(cp[order[i % 256]], t->strings + pos);
        if (i >= 256) {
            memcpy(t->strings + pos, "</w>", 4);
            pos += 4;
        }
        t->strings[pos++] = 0;
    }
    for (int r = 0; r < t->n_merges; r++) {
        t->str_off[512 + r] = pos;
        size_t la = strlen(ma[r]), lb = strlen(mb[r]);
        memcpy(t->strings + pos, ma[r], la);
        memcpy(t->strings + pos + la, mb[r], lb + 1);
        pos += la + lb + 1;
    }
    t->str_off[TOKENIZER_SOT] = pos;
    memcpy(t->strings + pos, "<|startoftext|>", 16);
    pos += 16;
    t->str_off[TOKENIZER_EOT] = pos;
    memcpy(t->strings + pos, "<|endoftext|>", 14);
    pos += 14;
    strmap_init(&vocab, (size_t)t->n_vocab);
    for (int i = 0; i < t->n_vocab; i++) strmap_put(&vocab, t->strings + t->str_off[i], i);
    ok = finish(t, path, ma, mb, 2, &vocab);
done:
    strmap_free(&vocab);
    free(ma);
    free(mb);
    free(lines);
    free(buf);
    if (!ok) tokenizer_free(t);
    return ok;
}

Tokenizer *tokenizer_load_hf(const char *vocab_json, const char *merges_txt) {
    json_error_t jerr;
    json_t *root = json_load_file(vocab_json, 0, &jerr);
    if (!root) {
        if (jerr.line < 1) cg_error_set("%s: cannot read: %s", vocab_json, jerr.text);
        else
            cg_error_set("%s: not valid JSON (line %d, column %d: %s)", vocab_json, jerr.line,
                         jerr.column, jerr.text);
        return NULL;
    }
    Tokenizer *t = cg_calloc(1, sizeof *t);
    Tokenizer *ok = NULL;
    StrMap vocab = {0};
    char *buf = NULL, **lines = NULL, **ma = NULL, **mb = NULL;
    if (!json_is_object(root)) {
        cg_error_set("%s: expected a JSON object mapping tokens to ids", vocab_json);
        goto done;
    }
    size_t nv = json_object_size(root);
    if (nv != TOKENIZER_VOCAB) {
        cg_error_set("%s: vocabulary size %zu, expected %d", vocab_json, nv, TOKENIZER_VOCAB);
        goto done;
    }
    t->n_vocab = TOKENIZER_VOCAB;
    t->str_off = cg_malloc((size_t)t->n_vocab * sizeof *t->str_off);
    for (int i = 0; i < t->n_vocab; i++) t->str_off[i] = (size_t)-1;
    size_t total = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) total += strlen(key) + 1;
    t->strings = cg_malloc(total);
    size_t pos = 0;
    json_object_foreach(root, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) >= TOKENIZER_VOCAB) {
            cg_error_set("%s: token \"%.40s\" has no id in 0..%d", vocab_json, key,
                         TOKENIZER_VOCAB - 1);
            goto done;
        }
        int id = (int)json_integer_value(val);
        if (t->str_off[id] != (size_t)-1) {
            cg_error_set("%s: id %d is given to two tokens (\"%.40s\" and \"%.40s\")", vocab_json,
                         id, t->strings + t->str_off[id], key);
            goto done;
        }
        size_t l = strlen(key) + 1;
        memcpy(t->strings + pos, key, l);
        t->str_off[id] = pos;
        pos += l;
    }
    if (strcmp(t->strings + t->str_off[TOKENIZER_SOT], "<|startoftext|>") ||
        strcmp(t->strings + t->str_off[TOKENIZER_EOT], "<|endoftext|>")) {
        cg_error_set("%s: ids %d and %d must be <|startoftext|> and <|endoftext|>", vocab_json,
                     TOKENIZER_SOT, TOKENIZER_EOT);
        goto done;
    }
    strmap_init(&vocab, (size_t)t->n_vocab);
    for (int i = 0; i < t->n_vocab; i++) strmap_put(&vocab, t->strings + t->str_off[i], i);

    /* merges.txt, read as HF's slow tokenizer does: strip the text, skip the first line, use
     * the next 48,894 */
    size_t len;
    buf = cg_read_file(merges_txt, &len);
    if (!buf) goto done;
    size_t a = 0;
    while (a < len && (buf[a] == ' ' || buf[a] == '\n' || buf[a] == '\t' || buf[a] == '\r')) a++;
    while (len > a && (buf[len - 1] == ' ' || buf[len - 1] == '\n' || buf[len - 1] == '\t' ||
                       buf[len - 1] == '\r'))
        len--;
    int n_lines;
    lines = split_lines(buf + a, len - a, &n_lines);
    if (n_lines < 1 + TOKENIZER_MERGES) {
        cg_error_set("%s: %d merges after the header line, expected at least %d", merges_txt,
                     n_lines > 0 ? n_lines - 1 : 0, TOKENIZER_MERGES);
        goto done;
    }
    t->n_merges = TOKENIZER_MERGES;
    ma = cg_malloc((size_t)t->n_merges * sizeof *ma);
    mb = cg_malloc((size_t)t->n_merges * sizeof *mb);
    if (split_merges(lines, t->n_merges, merges_txt, ma, mb)) goto done;
    ok = finish(t, merges_txt, ma, mb, 2, &vocab);
done:
    strmap_free(&vocab);
    free(ma);
    free(mb);
    free(lines);
    free(buf);
    json_decref(root);
    if (!ok) tokenizer_free(t);
    return ok;
}

/* ------------------------------------------------------------------------------------------- */
/* encoding                                                                                    */

typedef struct {
    int *v;
    size_t n, cap;
} Ids;

static void ids_push(Ids *b, int id) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->v = cg_realloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = id;
}

/* §9.5 on one pre-token of n bytes; sym is scratch space for n ids */
static void bpe(const Tokenizer *t, const unsigned char *p, size_t n, int *sym, Ids *out) {
    for (size_t i = 0; i + 1 < n; i++) sym[i] = t->byte_id[p[i]];
    sym[n - 1] = t->byte_id_end[p[n - 1]];
    while (n > 1) {
        int best = -1;
        for (size_t i = 0; i + 1 < n; i++) {
            int r = pair_rank(t, sym[i], sym[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) best = r;
        }
        if (best < 0) break;
        int a = t->merge_pair[best][0], b = t->merge_pair[best][1], ab = t->merge_out[best];
        size_t w = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && sym[i] == a && sym[i + 1] == b) {
                sym[w++] = ab;
                i += 2;
            } else {
                sym[w++] = sym[i++];
            }
        }
        n = w;
    }
    for (size_t i = 0; i < n; i++) ids_push(out, sym[i]);
}

/* all ids of a text; returns 0, or -1 with a message */
static int encode_all(const Tokenizer *t, const char *text, Ids *out) {
    char *clean = tokenizer_clean(text);
    size_t len = strlen(clean);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(t->re, NULL);
    int *sym = cg_malloc((len + 1) * sizeof *sym);
    int rc = 0;
    PCRE2_SIZE off = 0;
    out->n = 0;
    while (off < len) {
        int m = pcre2_match(t->re, (PCRE2_SPTR)clean, len, off, PCRE2_NO_UTF_CHECK, md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(m, msg, sizeof msg);
            cg_error_set("tokenizer: pre-tokenizer match failed: %s", (const char *)msg);
            rc = -1;
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        if (e <= s) { /* cannot happen: no alternative matches the empty string */
            off = s + 1;
            continue;
        }
        if (e - s == 15 && !strncasecmp(clean + s, "<|startoftext|>", 15)) ids_push(out, TOKENIZER_SOT);
        else if (e - s == 13 && !strncasecmp(clean + s, "<|endoftext|>", 13))
            ids_push(out, TOKENIZER_EOT);
        else bpe(t, (const unsigned char *)clean + s, e - s, sym, out);
        off = e;
    }
    free(sym);
    pcre2_match_data_free(md);
    free(clean);
    return rc;
}

/* the start of a text for messages: up to 48 bytes, cut at a character boundary, controls as
 * spaces, "..." when cut */
static void quote_start(const char *text, char *q, size_t cap) {
    size_t n = strlen(text), lim = 48;
    if (lim > cap - 4) lim = cap - 4;
    size_t k = n <= lim ? n : lim;
    while (k < n && k > 0 && ((unsigned char)text[k] & 0xC0) == 0x80) k--;
    for (size_t i = 0; i < k; i++) q[i] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
    if (k < n) memcpy(q + k, "...", 4);
    else q[k] = 0;
}

int tokenizer_encode(const Tokenizer *t, const char *text, int *ids, int max_ids) {
    Ids all = {0};
    if (encode_all(t, text, &all)) {
        free(all.v);
        return -1;
    }
    if (all.n > (size_t)(max_ids < 0 ? 0 : max_ids)) {
        char q[64];
        quote_start(text, q, sizeof q);
        cg_error_set("text \"%s\" has %zu tokens, more than the %d that fit", q, all.n, max_ids);
        free(all.v);
        return -1;
    }
    if (all.n) memcpy(ids, all.v, all.n * sizeof *ids);
    free(all.v);
    return (int)all.n;
}

int tokenizer_tokenize77(const Tokenizer *t, const char *text, int *row, int context) {
    Ids all = {0};
    if (encode_all(t, text, &all)) {
        free(all.v);
        return -1;
    }
    if (context < 2 || all.n + 2 > (size_t)context) {
        char q[64];
        quote_start(text, q, sizeof q);
        cg_error_set("text \"%s\" is too long: %zu tokens with SOT and EOT, the context length is "
                     "%d (it is not truncated)",
                     q, all.n + 2, context);
        free(all.v);
        return -1;
    }
    row[0] = TOKENIZER_SOT;
    for (size_t i = 0; i < all.n; i++) row[1 + i] = all.v[i];
    row[all.n + 1] = TOKENIZER_EOT;
    for (int i = (int)all.n + 2; i < context; i++) row[i] = 0;
    free(all.v);
    return (int)all.n + 2;
}

const char *tokenizer_token_string(const Tokenizer *t, int id) {
    if (!t || id < 0 || id >= t->n_vocab) return NULL;
    return t->strings + t->str_off[id];
}

int tokenizer_vocab_size(const Tokenizer *t) { return t->n_vocab; }
int tokenizer_merge_count(const Tokenizer *t) { return t->n_merges; }

int tokenizer_merge(const Tokenizer *t, int rank, int *a, int *b) {
    if (rank < 0 || rank >= t->n_merges) return -1;
    if (a) *a = t->merge_pair[rank][0];
    if (b) *b = t->merge_pair[rank][1];
    return t->merge_out[rank];
}
