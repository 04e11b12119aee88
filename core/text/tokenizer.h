/* core/text/tokenizer.h — CLIP's byte-level BPE tokenizer (clip.md §9): the OpenAI vocabulary file
 * bpe_simple_vocab_16e6.txt.gz or HuggingFace vocab.json + merges.txt, CLIP's text cleaning
 * (ftfy subset, HTML unescape, whitespace, lowercase; see core/text/tokenizer_clean.c for exactly
 * which ftfy repairs are done), the pre-tokenizer regex (PCRE2) and rank-ordered merges.
 *
 * A loaded Tokenizer is read-only: any number of threads may encode with it at once.
 * Failing calls return NULL or -1 and leave a message in cg_error(). */
#ifndef CLIPGRID_CORE_TOKENIZER_H
#define CLIPGRID_CORE_TOKENIZER_H

#define TOKENIZER_SOT 49406     /* <|startoftext|> */
#define TOKENIZER_EOT 49407     /* <|endoftext|> */
#define TOKENIZER_VOCAB 49408
#define TOKENIZER_MERGES 48894  /* merges used: 49152 - 256 - 2 */
#define TOKENIZER_CONTEXT 77

typedef struct Tokenizer Tokenizer;

/* bpe_simple_vocab_16e6.txt.gz (gzip or plain text): header line, then the merges; only the
 * first 48,894 are used. The OpenAI file must have all of its 262,145 lines. */
Tokenizer *tokenizer_load(const char *path);
/* HuggingFace CLIPTokenizer files: vocab.json (49,408 entries, token -> id) and merges.txt
 * (a header line, then at least 48,894 merges; the first 48,894 are used, as HF does). */
Tokenizer *tokenizer_load_hf(const char *vocab_json, const char *merges_txt);
void tokenizer_free(Tokenizer *tok);

/* BPE ids of the cleaned text, without SOT/EOT. Returns the count, or -1 when there are more than
 * max_ids (the message gives the count) or on an internal error. */
int tokenizer_encode(const Tokenizer *tok, const char *text, int *ids, int max_ids);

/* One row of `context` ids (77 for CLIP): SOT, the ids, EOT, then zeros. Returns the number of
 * ids before the padding (so the EOT sits at index return-1), or -1 when the text does not fit:
 * no silent truncation; the message quotes the start of the text and gives the token count. */
int tokenizer_tokenize77(const Tokenizer *tok, const char *text, int *row, int context);

/* the symbol of an id in the byte-mapped alphabet of clip.md §9.1 ("a</w>", "Ġ", …), or NULL
 * when out of range; for debugging */
const char *tokenizer_token_string(const Tokenizer *tok, int id);
int tokenizer_vocab_size(const Tokenizer *tok);
int tokenizer_merge_count(const Tokenizer *tok);
/* merge of rank r: its two symbol ids in *a and *b; returns the id of the merged symbol, or -1
 * when r is out of range */
int tokenizer_merge(const Tokenizer *tok, int rank, int *a, int *b);

/* CLIP's text cleaning alone (what the BPE sees): NUL-terminated UTF-8, caller frees */
char *tokenizer_clean(const char *text);

#endif
