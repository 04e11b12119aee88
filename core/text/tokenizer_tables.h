/* core/text/tokenizer_tables.h — Unicode and HTML tables for the tokenizer's text cleaner, generated
 * from Python's standard library by tests/reference/gen_tokenizer_tables.py into
 * core/text/tokenizer_tables.c. All arrays are sorted by their first column. */
#ifndef CLIPGRID_CORE_TOKENIZER_TABLES_H
#define CLIPGRID_CORE_TOKENIZER_TABLES_H

#include <stdint.h>

typedef struct { uint32_t cp; const char *s; } TTStrMap;        /* code point -> UTF-8 */
typedef struct { const char *name; const char *value; } TTEntity; /* entity name -> UTF-8 */

extern const char tt_unicode_version[];

/* str.lower(): single code point mappings (U+0130 -> "i\u0307" is handled in code) */
extern const uint32_t tt_lower[][2];
extern const int tt_lower_n;
/* Final_Sigma context classes as Python's str.lower() sees them: [first, last] ranges */
extern const uint32_t tt_case_ignorable[][2];
extern const int tt_case_ignorable_n;
extern const uint32_t tt_cased[][2]; /* cased and not case-ignorable */
extern const int tt_cased_n;
/* str.isspace() */
extern const uint32_t tt_space[];
extern const int tt_space_n;
/* general category Nd */
extern const uint32_t tt_decimal[][2];
extern const int tt_decimal_n;

/* NFC: combining classes [first, last, ccc]; full canonical decompositions [cp, offset, len]
 * into tt_decomp_pool (Hangul syllables excluded: algorithmic); primary composites
 * [first, second, composite] */
extern const uint32_t tt_ccc[][3];
extern const int tt_ccc_n;
extern const uint32_t tt_decomp[][3];
extern const int tt_decomp_n;
extern const uint32_t tt_decomp_pool[];
extern const uint32_t tt_comp[][3];
extern const int tt_comp_n;

/* ftfy 6: halfwidth/fullwidth forms -> standard width; C1 controls 0x80..0x9F as Windows-1252 */
extern const TTStrMap tt_width[];
extern const int tt_width_n;
extern const uint32_t tt_cp1252_c1[32];

/* html.unescape: HTML5 named references (names as in html.entities.html5, with or without the
 * trailing ';'), sorted by strcmp; numeric references remapped [number, code point]; numeric
 * references that decode to nothing [first, last] */
extern const TTEntity tt_html5[];
extern const int tt_html5_n;
extern const uint32_t tt_html_charref_fix[][2];
extern const int tt_html_charref_fix_n;
extern const uint32_t tt_html_dropped[][2];
extern const int tt_html_dropped_n;
/* ftfy's extra all-caps names ("EACUTE;" -> "É"), sorted by strcmp */
extern const TTEntity tt_ftfy_upper[];
extern const int tt_ftfy_upper_n;

#endif
