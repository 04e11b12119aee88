/* tests/test_dataset_folder.c — users' datasets of kind folder (core/data/dataset_folder.c) on small
 * trees made here: labels are the train/ class folders in bytewise sorted order whatever the
 * creation order, images sorted within a class, classnames.txt names, non-images skipped, the
 * template reaches zeroshot_template, and the errors (a test class not in train/, a missing
 * classnames.txt line, a built-in name, a template without {}) name what is wrong. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/data/dataset.h"
#include "base/util.h"
#include "core/methods/zeroshot.h"
#include "tests/testlib.h"

static char root[256];

static void touch_(const char *rel) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(p, 0755);
        *s = '/';
    }
    FILE *f = fopen(p, "w");
    if (!f) cg_fatal("cannot create %s", p);
    fclose(f);
}

static void write_(const char *rel, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    if (!f) cg_fatal("cannot create %s", p);
    fputs(text, f);
    fclose(f);
}

static const char *rel_(const Dataset *d, const DataItem *it) { return it->path + strlen(d->dir) + 1; }

int main(void) {
    snprintf(root, sizeof root, "/tmp/clipgrid_folder_%d", (int)getpid());
    mkdir(root, 0755);
    /* created out of order: zebra before Apple before mango; Z < a bytewise */
    touch_("train/zebra_finch/b.jpg"), touch_("train/zebra_finch/a.JPG");
    touch_("train/Apple/x.png"), touch_("train/mango/m1.jpeg"), touch_("train/mango/readme.txt");
    touch_("test/mango/t.jpg"), touch_("test/Apple/t.webp"), touch_("val/zebra_finch/v.jpg");
    CHECK(dataset_folder_register("birds", root, "a photo of a {}, a kind of thing.") == 0, "%s",
          cg_error());
    Dataset d;
    CHECK(dataset_load(&d, "birds", root) == 0, "load: %s", cg_error());
    CHECK(d.n_classes == 3 && !strcmp(d.classnames[0], "Apple") && !strcmp(d.classnames[1], "mango") &&
              !strcmp(d.classnames[2], "zebra finch"),
          "classes: %d [%s, %s, %s]", d.n_classes, d.classnames[0], d.classnames[1], d.classnames[2]);
    CHECK(d.train.n == 4 && !strcmp(rel_(&d, &d.train.items[0]), "train/Apple/x.png") &&
              d.train.items[0].label == 0 && !strcmp(rel_(&d, &d.train.items[2]), "train/zebra_finch/a.JPG") &&
              d.train.items[3].label == 2,
          "train list: %d items, first %s", d.train.n, d.train.n ? rel_(&d, &d.train.items[0]) : "");
    CHECK(d.test.n == 2 && d.test.items[0].label == 0 && d.test.items[1].label == 1 && d.val.n == 1 &&
              d.val.items[0].label == 2,
          "test %d / val %d", d.test.n, d.val.n);
    CHECK(!strcmp(zeroshot_template("birds"), "a photo of a {}, a kind of thing.") &&
              !strcmp(zeroshot_template("oxford_pets"), "a photo of a {}, a type of pet."),
          "templates: %s / %s", zeroshot_template("birds"), zeroshot_template("oxford_pets"));
    dataset_free(&d);
    /* classnames.txt renames; every folder needs a line */
    write_("classnames.txt", "Apple apple tree\nmango mango fruit\nzebra_finch zebra finch bird\n");
    CHECK(dataset_load(&d, "birds", root) == 0 && !strcmp(d.classnames[2], "zebra finch bird"),
          "classnames.txt: %s", cg_error());
    dataset_free(&d);
    write_("classnames.txt", "Apple apple tree\n");
    CHECK(dataset_load(&d, "birds", root) == -1 && strstr(cg_error(), "no line for class folder 'mango'"),
          "missing classnames line: %s", cg_error());
    unlink(strcat(strcpy((char[600]){0}, root), "/classnames.txt"));
    touch_("test/kiwi/k.jpg");
    CHECK(dataset_load(&d, "birds", root) == -1 && strstr(cg_error(), "kiwi: class folder not in"),
          "test class not in train: %s", cg_error());
    CHECK(dataset_folder_register("oxford_pets", root, NULL) == -1 && strstr(cg_error(), "built-in"),
          "built-in name accepted");
    CHECK(dataset_folder_register("x", root, "no placeholder") == -1 && strstr(cg_error(), "{}"),
          "template without {} accepted");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return test_finish("test_dataset_folder");
}
