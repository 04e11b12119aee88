/* core/data/dataset_util.c — helpers of the dataset readers: item lists, path joins and checks,
 * sorted directory listings, ImageNet's classnames.txt, final class names. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/data/dataset_internal.h"
#include "base/util.h"

void ds_split_push(DataSplit *s, int *cap, char *path, int label) {
    if (s->n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        s->items = cg_realloc(s->items, sizeof(DataItem) * (size_t)*cap);
    }
    s->items[s->n].path = path;
    s->items[s->n++].label = label;
}

void ds_split_free(DataSplit *s) {
    for (int i = 0; i < s->n; i++) free(s->items[i].path);
    free(s->items);
    s->items = NULL;
    s->n = 0;
}

void ds_split_copy(DataSplit *dst, const DataSplit *src) {
    dst->n = src->n;
    dst->items = cg_malloc(sizeof(DataItem) * (size_t)(src->n + 1));
    for (int i = 0; i < src->n; i++) {
        dst->items[i].path = cg_strdup(src->items[i].path);
        dst->items[i].label = src->items[i].label;
    }
}

char *ds_path_join2(const char *a, const char *b) {
    if (!b || !*b) return cg_strdup(a);
    if (!a || !*a) return cg_strdup(b);
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = cg_malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

char *ds_path_join3(const char *a, const char *b, const char *c) {
    char *ab = ds_path_join2(a, b), *abc = ds_path_join2(ab, c);
    free(ab);
    return abc;
}

const char *ds_relpath_problem(const char *rel) {
    if (!*rel) return "empty image path";
    if (rel[0] == '/') return "absolute image path (must be relative to the dataset folder)";
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') return "image path leaves the dataset folder (\"..\")";
        p += n;
        while (*p == '/') p++;
    }
    return NULL;
}

static int image_checks_ = 1;
void dataset_set_image_checks(int on) { image_checks_ = on; }
int ds_image_exists(const char *path) { return !image_checks_ || ds_file_exists(path); }

int ds_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ds_dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ds_list_dir_sorted(const char *dir, int dirs_only, char ***out) {
    DIR *dp = opendir(dir);
    if (!dp) {
        cg_error_set("cannot list folder %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue; /* hidden, ".", ".." (Dassl's listdir_nohidden) */
        if (dirs_only) {
            char *full = ds_path_join2(dir, e->d_name);
            int is_dir = ds_dir_exists(full);
            free(full);
            if (!is_dir) continue;
        }
        if (n == cap) names = cg_realloc(names, sizeof(char *) * (size_t)(cap = cap ? 2 * cap : 64));
        names[n++] = cg_strdup(e->d_name);
    }
    closedir(dp);
    if (n) qsort(names, (size_t)n, sizeof(char *), cmp_str);
    *out = names;
    return n;
}

void ds_free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Python's str.strip() on ASCII whitespace (the files are ASCII/UTF-8) */
static char *strip(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
                 s[n - 1] == '\v' || s[n - 1] == '\f'))
        s[--n] = 0;
    return s;
}

int ds_read_wnid_classnames(const char *path, char ***wnids, char ***names) {
    size_t len;
    char *text = cg_read_file(path, &len);
    if (!text) {
        cg_error_set("cannot read %s (the class-name file copied from the ImageNet folder, lines "
                     "\"<wnid> <class name>\")", path);
        return -1;
    }
    int n = 0, cap = 0, line_no = 0;
    char **w = NULL, **c = NULL;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *s = strip(line);
        if (!*s) continue;
        char *sp = strchr(s, ' ');
        if (!sp) {
            cg_error_set("%s line %d: expected \"<wnid> <class name>\", got \"%s\"", path, line_no, s);
            ds_free_names(w, n);
            ds_free_names(c, n);
            free(text);
            return -1;
        }
        *sp = 0;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            w = cg_realloc(w, sizeof(char *) * (size_t)cap);
            c = cg_realloc(c, sizeof(char *) * (size_t)cap);
        }
        w[n] = cg_strdup(s);
        c[n++] = cg_strdup(sp + 1);
        if (ds_find_name(w, n - 1, s) >= 0) {
            cg_error_set("%s line %d: folder name %s appears twice", path, line_no, s);
            ds_free_names(w, n);
            ds_free_names(c, n);
            free(text);
            return -1;
        }
    }
    free(text);
    if (!n) {
        cg_error_set("%s: no class names", path);
        return -1;
    }
    *wnids = w;
    *names = c;
    return n;
}

int ds_find_name(char **names, int n, const char *key) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], key)) return i;
    return -1;
}

char *ds_classname_final(const char *raw) {
    char *s = cg_strdup(raw);
    for (char *p = s; *p; p++)
        if (*p == '_') *p = ' ';
    return s;
}
