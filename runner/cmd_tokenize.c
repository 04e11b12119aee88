/* runner/cmd_tokenize.c — `clipgrid tokenize [--vocab FILE | --hf-vocab J --hf-merges M] TEXT...`:
 * prints, for each TEXT, its CLIP token ids from SOT to EOT (no padding), space-separated, one
 * line per text. A text longer than the 77-token context is an error (exit status 1), never
 * silently truncated. */
#include <stdio.h>
#include <string.h>

#include "core/text/tokenizer.h"
#include "base/util.h"
#include "runner/cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: clipgrid tokenize [--vocab FILE.txt.gz | --hf-vocab vocab.json --hf-merges "
            "merges.txt] [--] TEXT...\n\n"
            "Prints the CLIP BPE token ids of each TEXT, from <|startoftext|> (49406) to\n"
            "<|endoftext|> (49407), one line per TEXT. A TEXT that does not fit the 77-token\n"
            "context is an error (exit status 1).\n\n"
            "  --vocab FILE       OpenAI bpe_simple_vocab_16e6.txt.gz (default: $CLIPGRID_VOCAB,\n"
            "                     else data/clip/bpe_simple_vocab_16e6.txt.gz here or beside the\n"
            "                     program's repository)\n"
            "  --hf-vocab FILE    HuggingFace vocab.json (with --hf-merges)\n"
            "  --hf-merges FILE   HuggingFace merges.txt (with --hf-vocab)\n"
            "  --help             this text\n");
}

int cmd_tokenize(int argc, char **argv) {
    const char *vocab = NULL, *hf_vocab = NULL, *hf_merges = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        const char **dst = !strcmp(a, "--vocab")       ? &vocab
                           : !strcmp(a, "--hf-vocab")  ? &hf_vocab
                           : !strcmp(a, "--hf-merges") ? &hf_merges
                                                       : NULL;
        if (dst) {
            if (i + 1 >= argc) {
                fprintf(stderr, "clipgrid tokenize: %s needs a file name\n", a);
                return 2;
            }
            *dst = argv[++i];
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "clipgrid tokenize: unknown option %s\n\n", a);
            usage(stderr);
            return 2;
        }
        break; /* first TEXT */
    }
    if (!!hf_vocab != !!hf_merges || (hf_vocab && vocab)) {
        fprintf(stderr, "clipgrid tokenize: give either --vocab, or both --hf-vocab and --hf-merges\n");
        return 2;
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    Tokenizer *tok = hf_vocab ? tokenizer_load_hf(hf_vocab, hf_merges)
                              : tokenizer_load(vocab ? vocab : cli_default_vocab());
    if (!tok) {
        fprintf(stderr, "clipgrid tokenize: %s\n", cg_error());
        return 1;
    }
    int status = 0;
    int row[TOKENIZER_CONTEXT];
    for (; i < argc; i++) {
        int n = tokenizer_tokenize77(tok, argv[i], row, TOKENIZER_CONTEXT);
        if (n < 0) {
            fflush(stdout);
            fprintf(stderr, "clipgrid tokenize: %s\n", cg_error());
            status = 1;
            break;
        }
        for (int k = 0; k < n; k++) printf(k ? " %d" : "%d", row[k]);
        putchar('\n');
    }
    tokenizer_free(tok);
    if (fflush(stdout) != 0) status = 1;
    return status;
}
