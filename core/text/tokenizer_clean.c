/* core/text/tokenizer_clean.c — the text cleaning that CLIP applies before BPE (clip.md §9.3):
 *
 *   ftfy.fix_text (subset, below) → html.unescape twice → strip → collapse whitespace runs to one
 *   space → strip → str.lower()
 *
 * Everything except mojibake repair is reproduced exactly as Python 3.11 / ftfy 6 do it, with
 * Unicode 14.0.0 tables generated from Python's standard library (core/text/tokenizer_tables.c).
 *
 * ftfy 6 fix_text, default configuration — what this file DOES (in ftfy's order, repeated per
 * line segment until nothing changes, as ftfy's fix_and_explain loop does):
 *   - unescape_html="auto": ftfy's own entity pass (only "&name;" / "&#…;" forms ending in ';',
 *     all HTML5 names plus ftfy's all-caps variants such as "&EACUTE;"), skipped for the segment
 *     that contains a '<' and for every later segment;
 *   - fix_c1_controls: U+0080..U+009F decoded as (sloppy) Windows-1252, e.g. U+0093 → “;
 *   - fix_latin_ligatures: Ĳ ĳ ŉ Ǳ ǲ ǳ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ → letters;
 *   - fix_character_width: U+FF01..U+FFEF (full-width ASCII, half-width katakana/Hangul, …) to
 *     their NFKC forms, U+3000 → space;
 *   - uncurl_quotes: U+02BC, U+2018..U+201B → "'", U+201C..U+201F → '"';
 *   - fix_line_breaks: CRLF, CR, U+2028, U+2029, U+0085 → "\n";
 *   - remove_terminal_escapes: ESC '[' (digits|';')* letter;
 *   - remove_control_chars: U+0000..0008, 000B, 000E..001F, 007F, 206A..206F, FEFF, FFF9..FFFC;
 *   - normalization="NFC": full canonical decomposition, reordering and composition.
 *
 * ftfy repairs NOT done (text that needs them tokenizes differently from the Python reference):
 *   - fix_encoding: mojibake detection and repair (UTF-8 decoded as Latin-1 / Windows-125x /
 *     MacRoman / cp437, e.g. "cafÃ©" → "café", "â€œ" → “), including its sub-steps
 *     restore_byte_a0, replace_lossy_sequences and decode_inconsistent_utf8;
 *   - fix_surrogates: not applicable — input is UTF-8 bytes, and invalid UTF-8 (including
 *     encoded surrogates) is replaced by U+FFFD, one per invalid byte;
 *   - max_decode_length: lines longer than 1,000,000 characters are still fixed as one segment.
 * (ftfy's explain/plan machinery has no effect on the text and is not needed.)
 *
 * The HTML unescape is Python's html.unescape exactly: all 2,231 HTML5 named references,
 * including the legacy ones without ';' and the longest-prefix rule ("&notit;" → "¬it;"),
 * decimal and hex numeric references with the WHATWG remapping of 0x80..0x9F, 0x00, 0x0D and the
 * dropped code points. Lowercasing is str.lower(): full Unicode, "İ" → "i̇", and Greek final
 * sigma by Python's context rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/text/tokenizer.h"
#include "core/text/tokenizer_tables.h"
#include "base/util.h"

/* ------------------------------------------------------------------------------------------- */
/* code point buffers                                                                          */

typedef struct {
    uint32_t *v;
    size_t n, cap;
} Cps;

static void cps_push(Cps *b, uint32_t c) {
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->v = cg_realloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = c;
}

static void cps_push_utf8(Cps *b, const char *s);

static void cps_swap(Cps *a, Cps *b) {
    Cps t = *a;
    *a = *b;
    *b = t;
}

static int cps_equal(const Cps *a, const Cps *b) {
    return a->n == b->n && (a->n == 0 || !memcmp(a->v, b->v, a->n * sizeof *a->v));
}

/* UTF-8 → code points; each byte of an invalid sequence (bad lead, missing continuation,
 * overlong form, surrogate, > U+10FFFF) becomes U+FFFD. */
static void utf8_decode(const unsigned char *s, size_t len, Cps *out) {
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            cps_push(out, c);
            i++;
            continue;
        }
        int need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) need = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) need = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) need = 3, cp = c & 0x07, min = 0x10000;
        else {
            cps_push(out, 0xFFFD);
            i++;
            continue;
        }
        int ok = i + (size_t)need < len; /* all continuation bytes present */
        for (int k = 1; ok && k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) ok = 0;
            else cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = 0;
        if (!ok) {
            cps_push(out, 0xFFFD);
            i++;
            continue;
        }
        cps_push(out, cp);
        i += (size_t)need + 1;
    }
}

static size_t utf8_put(uint32_t c, char *o) {
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

static char *utf8_encode(const Cps *b) {
    char *s = cg_malloc(4 * b->n + 1), *o = s;
    for (size_t i = 0; i < b->n; i++) o += utf8_put(b->v[i], o);
    *o = 0;
    return s;
}

static void cps_push_utf8(Cps *b, const char *s) {
    utf8_decode((const unsigned char *)s, strlen(s), b);
}

/* ------------------------------------------------------------------------------------------- */
/* table look-ups                                                                              */

static int in_ranges(const uint32_t (*r)[2], int n, uint32_t c) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < r[mid][0]) hi = mid - 1;
        else if (c > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int is_space(uint32_t c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    for (int i = 0; i < tt_space_n; i++)
        if (tt_space[i] == c) return 1;
    return 0;
}

static int ccc_of(uint32_t c) {
    if (c < 0x300) return 0;
    int lo = 0, hi = tt_ccc_n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < tt_ccc[mid][0]) hi = mid - 1;
        else if (c > tt_ccc[mid][1]) lo = mid + 1;
        else return (int)tt_ccc[mid][2];
    }
    return 0;
}

static uint32_t lower_of(uint32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    int lo = 0, hi = tt_lower_n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < tt_lower[mid][0]) hi = mid - 1;
        else if (c > tt_lower[mid][0]) lo = mid + 1;
        else return tt_lower[mid][1];
    }
    return c;
}

static const char *width_of(uint32_t c) {
    if (c != 0x3000 && (c < 0xFF01 || c > 0xFFEF)) return NULL;
    int lo = 0, hi = tt_width_n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (c < tt_width[mid].cp) hi = mid - 1;
        else if (c > tt_width[mid].cp) lo = mid + 1;
        else return tt_width[mid].s;
    }
    return NULL;
}

static const char *entity_lookup(const TTEntity *t, int n, const char *name) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(name, t[mid].name);
        if (c < 0) hi = mid - 1;
        else if (c > 0) lo = mid + 1;
        else return t[mid].value;
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------- */
/* html.unescape (Python 3.11), on code points                                                 */

static int is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_ascii_hex(uint32_t c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_ascii_alnum(uint32_t c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* the character a numeric reference decodes to; returns 0 when it decodes to nothing */
static int charref_value(uint32_t num, uint32_t *out) {
    for (int i = 0; i < tt_html_charref_fix_n; i++)
        if (tt_html_charref_fix[i][0] == num) {
            *out = tt_html_charref_fix[i][1];
            return 1;
        }
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        *out = 0xFFFD;
        return 1;
    }
    if (in_ranges(tt_html_dropped, tt_html_dropped_n, num)) return 0;
    *out = num;
    return 1;
}

/* Python's _charref: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?) starting at v[i]
 * == '&'. Appends the replacement to out and returns the number of code points consumed, or 0
 * when nothing matches at i. */
static size_t charref_at(const uint32_t *v, size_t n, size_t i, Cps *out) {
    size_t j = i + 1;
    if (j < n && v[j] == '#') {
        int hex = 0;
        size_t k = j + 1;
        if (k < n && is_ascii_digit(v[k])) hex = 0;
        else if (k + 1 < n && (v[k] == 'x' || v[k] == 'X') && is_ascii_hex(v[k + 1])) hex = 1, k++;
        else return 0;
        uint32_t num = 0;
        while (k < n && (hex ? is_ascii_hex(v[k]) : is_ascii_digit(v[k]))) {
            uint32_t d = is_ascii_digit(v[k]) ? v[k] - '0' : (v[k] | 0x20) - 'a' + 10;
            if (num <= 0x10FFFF) num = num * (hex ? 16 : 10) + d; /* saturates above U+10FFFF */
            k++;
        }
        if (k < n && v[k] == ';') k++;
        uint32_t c;
        if (charref_value(num, &c)) cps_push(out, c);
        return k - i;
    }
    /* named reference */
    size_t k = j;
    while (k < n && k - j < 32) {
        uint32_t c = v[k];
        if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' ||
            c == ';')
            break;
        k++;
    }
    if (k == j) return 0;
    int semi = k < n && v[k] == ';';
    size_t len = k - j + (size_t)semi; /* characters in the name, with its ';' */
    char name[40];
    size_t ascii = 0; /* length of the leading all-ASCII part of the name */
    while (ascii < len && v[j + ascii] < 0x80) {
        name[ascii] = (char)v[j + ascii];
        ascii++;
    }
    if (ascii == len) {
        name[len] = 0;
        const char *val = entity_lookup(tt_html5, tt_html5_n, name);
        if (val) {
            cps_push_utf8(out, val);
            return 1 + len;
        }
    }
    /* longest proper prefix (at least 2 characters) that is a name: value + rest of the text */
    for (size_t x = len - 1; x >= 2; x--) {
        if (x > ascii) continue;
        name[x] = 0;
        const char *val = entity_lookup(tt_html5, tt_html5_n, name);
        if (val) {
            cps_push_utf8(out, val);
            for (size_t q = x; q < len; q++) cps_push(out, v[j + q]);
            return 1 + len;
        }
    }
    return 0; /* '&' + name unchanged: emitting '&' and moving on gives the same text */
}

static void html_unescape(const Cps *in, Cps *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n;) {
        if (in->v[i] == '&') {
            size_t used = charref_at(in->v, in->n, i, out);
            if (used) {
                i += used;
                continue;
            }
        }
        cps_push(out, in->v[i++]);
    }
}

/* ------------------------------------------------------------------------------------------- */
/* ftfy 6 fixes                                                                                */

/* ftfy.fixes.unescape_html: &#?[0-9A-Za-z]{1,24}; → HTML5 name (with ';') or ftfy's all-caps
 * variant, or a numeric reference that html.unescape decodes completely */
static void ftfy_unescape_html(const Cps *in, Cps *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n;) {
        const uint32_t *v = in->v;
        if (v[i] == '&') {
            size_t j = i + 1;
            if (j < in->n && v[j] == '#') j++;
            size_t k = j;
            while (k < in->n && is_ascii_alnum(v[k])) k++;
            if (k > j && k - j <= 24 && k < in->n && v[k] == ';') {
                size_t len = k + 1 - i; /* the whole "&…;" */
                char name[32];
                for (size_t q = 1; q < len; q++) name[q - 1] = (char)v[i + q];
                name[len - 1] = 0;
                const char *val = NULL;
                if (name[0] != '#') {
                    val = entity_lookup(tt_html5, tt_html5_n, name);
                    if (!val) val = entity_lookup(tt_ftfy_upper, tt_ftfy_upper_n, name);
                }
                if (val) {
                    cps_push_utf8(out, val);
                    i += len;
                    continue;
                }
                if (name[0] == '#') {
                    Cps whole = {(uint32_t *)v + i, len, len}, dec = {0};
                    html_unescape(&whole, &dec);
                    int has_semi = 0;
                    for (size_t q = 0; q < dec.n; q++) has_semi |= dec.v[q] == ';';
                    if (!has_semi) {
                        for (size_t q = 0; q < dec.n; q++) cps_push(out, dec.v[q]);
                        free(dec.v);
                        i += len;
                        continue;
                    }
                    free(dec.v);
                }
            }
        }
        cps_push(out, in->v[i++]);
    }
}

static const struct {
    uint32_t cp;
    const char *s;
} ligatures[] = {
    {0x0132, "IJ"}, {0x0133, "ij"}, {0x0149, "\xca\xbcn"}, {0x01C4, "D\xc5\xbd"},
    {0x01C5, "D\xc5\xbe"}, {0x01C6, "d\xc5\xbe"}, {0x01C7, "LJ"}, {0x01C8, "Lj"},
    {0x01C9, "lj"}, {0x01CA, "NJ"}, {0x01CB, "Nj"}, {0x01CC, "nj"},
    {0x01F1, "DZ"}, {0x01F2, "Dz"}, {0x01F3, "dz"}, {0xFB00, "ff"},
    {0xFB01, "fi"}, {0xFB02, "fl"}, {0xFB03, "ffi"}, {0xFB04, "ffl"},
    {0xFB05, "\xc5\xbft"}, {0xFB06, "st"},
};

static const char *ligature_of(uint32_t c) {
    if (c < 0x132 || (c > 0x1F3 && c < 0xFB00) || c > 0xFB06) return NULL;
    for (size_t i = 0; i < sizeof ligatures / sizeof ligatures[0]; i++)
        if (ligatures[i].cp == c) return ligatures[i].s;
    return NULL;
}

static int is_removed_control(uint32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* the character-by-character fixes: C1 controls, ligatures, width, quotes (in this order; each is
 * a one-to-many map whose output is never touched again by an earlier one in the same pass, so
 * applying them one after another equals ftfy's successive str.translate calls) */
static void ftfy_charmaps(const Cps *in, Cps *out) {
    Cps a = {0}, b = {0};
    /* C1 → Windows-1252, then ligatures */
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c >= 0x80 && c <= 0x9F) c = tt_cp1252_c1[c - 0x80];
        const char *lig = ligature_of(c);
        if (lig) cps_push_utf8(&a, lig);
        else cps_push(&a, c);
    }
    for (size_t i = 0; i < a.n; i++) {
        const char *w = width_of(a.v[i]);
        if (w) cps_push_utf8(&b, w);
        else cps_push(&b, a.v[i]);
    }
    out->n = 0;
    for (size_t i = 0; i < b.n; i++) {
        uint32_t c = b.v[i];
        if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
        else if (c >= 0x201C && c <= 0x201F) c = '"';
        cps_push(out, c);
    }
    free(a.v);
    free(b.v);
}

/* fix_line_breaks, remove_terminal_escapes, remove_control_chars */
static void ftfy_breaks_escapes_controls(const Cps *in, Cps *out) {
    Cps a = {0}, b = {0};
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c == '\r') {
            cps_push(&a, '\n');
            if (i + 1 < in->n && in->v[i + 1] == '\n') i++;
        } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
            cps_push(&a, '\n');
        } else {
            cps_push(&a, c);
        }
    }
    /* ESC '[' (\d|;)* [A-Za-z], \d being any Unicode decimal digit as in Python's re */
    for (size_t i = 0; i < a.n;) {
        if (a.v[i] == 0x1B && i + 1 < a.n && a.v[i + 1] == '[') {
            size_t k = i + 2;
            while (k < a.n && (a.v[k] == ';' || in_ranges(tt_decimal, tt_decimal_n, a.v[k]))) k++;
            if (k < a.n && a.v[k] < 0x80 && ((a.v[k] | 0x20) >= 'a' && (a.v[k] | 0x20) <= 'z')) {
                i = k + 1;
                continue;
            }
        }
        cps_push(&b, a.v[i++]);
    }
    out->n = 0;
    for (size_t i = 0; i < b.n; i++)
        if (!is_removed_control(b.v[i])) cps_push(out, b.v[i]);
    free(a.v);
    free(b.v);
}

/* ------------------------------------------------------------------------------------------- */
/* NFC                                                                                         */

enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21,
       TCOUNT = 28, NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

static void decompose_push(Cps *out, uint32_t c) {
    if (c >= SBASE && c < SBASE + SCOUNT) {
        uint32_t s = c - SBASE;
        cps_push(out, LBASE + s / NCOUNT);
        cps_push(out, VBASE + (s % NCOUNT) / TCOUNT);
        if (s % TCOUNT) cps_push(out, TBASE + s % TCOUNT);
        return;
    }
    if (c >= 0xC0) {
        int lo = 0, hi = tt_decomp_n - 1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            if (c < tt_decomp[mid][0]) hi = mid - 1;
            else if (c > tt_decomp[mid][0]) lo = mid + 1;
            else {
                for (uint32_t k = 0; k < tt_decomp[mid][2]; k++)
                    cps_push(out, tt_decomp_pool[tt_decomp[mid][1] + k]);
                return;
            }
        }
    }
    cps_push(out, c);
}

/* primary composite of (a, b), or 0 */
static uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE &&
        b < TBASE + TCOUNT)
        return a + (b - TBASE);
    int lo = 0, hi = tt_comp_n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (a < tt_comp[mid][0] || (a == tt_comp[mid][0] && b < tt_comp[mid][1])) hi = mid - 1;
        else if (a > tt_comp[mid][0] || b > tt_comp[mid][1]) lo = mid + 1;
        else return tt_comp[mid][2];
    }
    return 0;
}

static void nfc(const Cps *in, Cps *out) {
    out->n = 0;
    int simple = 1; /* below U+0300 every character is a starter that NFC leaves alone */
    for (size_t i = 0; i < in->n && simple; i++) simple = in->v[i] < 0x300;
    if (simple) {
        for (size_t i = 0; i < in->n; i++) cps_push(out, in->v[i]);
        return;
    }
    Cps d = {0};
    for (size_t i = 0; i < in->n; i++) decompose_push(&d, in->v[i]);
    /* canonical ordering: stable insertion sort of every run of non-starters by class */
    for (size_t i = 1; i < d.n; i++) {
        int ci = ccc_of(d.v[i]);
        if (!ci) continue;
        size_t j = i;
        uint32_t c = d.v[i];
        while (j > 0) {
            int cj = ccc_of(d.v[j - 1]);
            if (cj <= ci) break; /* stops at starters too (class 0) */
            d.v[j] = d.v[j - 1];
            j--;
        }
        d.v[j] = c;
    }
    /* canonical composition: a character joins the last starter unless blocked by a character
     * in between of class 0 or of a class >= its own (ordering makes that the last one kept) */
    if (d.n) {
        size_t starter = 0, w = 1;
        int last = ccc_of(d.v[0]) ? 256 : 0; /* a leading non-starter composes with nothing */
        for (size_t i = 1; i < d.n; i++) {
            uint32_t c = d.v[i];
            int cc = ccc_of(c);
            if (last < cc || last == 0) {
                uint32_t comp = compose_pair(d.v[starter], c);
                if (comp) {
                    d.v[starter] = comp;
                    continue;
                }
            }
            if (cc == 0) starter = w;
            last = cc;
            d.v[w++] = c;
        }
        d.n = w;
    }
    for (size_t i = 0; i < d.n; i++) cps_push(out, d.v[i]);
    free(d.v);
}

/* ------------------------------------------------------------------------------------------- */
/* ftfy fix_text driver                                                                        */

static void ftfy_fix_segment(Cps *seg, int unescape) {
    Cps orig = {0}, tmp = {0};
    for (int iter = 0; iter < 100; iter++) {
        orig.n = 0;
        for (size_t i = 0; i < seg->n; i++) cps_push(&orig, seg->v[i]);
        if (unescape) {
            ftfy_unescape_html(seg, &tmp);
            cps_swap(seg, &tmp);
        }
        ftfy_charmaps(seg, &tmp);
        cps_swap(seg, &tmp);
        ftfy_breaks_escapes_controls(seg, &tmp);
        cps_swap(seg, &tmp);
        nfc(seg, &tmp);
        cps_swap(seg, &tmp);
        if (cps_equal(seg, &orig)) break;
    }
    free(orig.v);
    free(tmp.v);
}

/* fix_text: segments end after each "\n"; once a segment contains '<', HTML unescaping is off
 * for it and for the rest of the text */
static void ftfy_fix_text(Cps *text) {
    Cps out = {0}, seg = {0};
    int unescape = 1;
    for (size_t pos = 0; pos < text->n;) {
        size_t end = pos;
        while (end < text->n && text->v[end] != '\n') end++;
        if (end < text->n) end++;
        seg.n = 0;
        for (size_t i = pos; i < end; i++) {
            cps_push(&seg, text->v[i]);
            if (text->v[i] == '<') unescape = 0;
        }
        ftfy_fix_segment(&seg, unescape);
        for (size_t i = 0; i < seg.n; i++) cps_push(&out, seg.v[i]);
        pos = end;
    }
    free(seg.v);
    cps_swap(text, &out);
    free(out.v);
}

/* ------------------------------------------------------------------------------------------- */
/* whitespace and lowercase                                                                    */

static void collapse_whitespace(const Cps *in, Cps *out) {
    size_t a = 0, b = in->n;
    while (a < b && is_space(in->v[a])) a++;
    while (b > a && is_space(in->v[b - 1])) b--;
    out->n = 0;
    for (size_t i = a; i < b; i++) {
        if (is_space(in->v[i])) {
            while (i + 1 < b && is_space(in->v[i + 1])) i++;
            cps_push(out, ' ');
        } else {
            cps_push(out, in->v[i]);
        }
    }
}

static int is_case_ignorable(uint32_t c) {
    return in_ranges(tt_case_ignorable, tt_case_ignorable_n, c);
}

/* Python's Final_Sigma rule: after a cased letter (skipping case-ignorables) and not before one */
static int final_sigma(const Cps *s, size_t i) {
    size_t j = i;
    while (j > 0 && is_case_ignorable(s->v[j - 1])) j--;
    if (j == 0 || !in_ranges(tt_cased, tt_cased_n, s->v[j - 1])) return 0;
    j = i + 1;
    while (j < s->n && is_case_ignorable(s->v[j])) j++;
    return j == s->n || !in_ranges(tt_cased, tt_cased_n, s->v[j]);
}

static void lowercase(const Cps *in, Cps *out) {
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c == 0x130) {
            cps_push(out, 'i');
            cps_push(out, 0x307);
        } else if (c == 0x3A3) {
            cps_push(out, final_sigma(in, i) ? 0x3C2 : 0x3C3);
        } else {
            cps_push(out, lower_of(c));
        }
    }
}

/* ------------------------------------------------------------------------------------------- */

char *tokenizer_clean(const char *text) {
    Cps a = {0}, b = {0};
    utf8_decode((const unsigned char *)text, strlen(text), &a);
    ftfy_fix_text(&a);
    html_unescape(&a, &b);
    html_unescape(&b, &a);
    collapse_whitespace(&a, &b);
    lowercase(&b, &a);
    char *s = utf8_encode(&a);
    free(a.v);
    free(b.v);
    return s;
}
