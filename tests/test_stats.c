/* tests/test_stats.c — the statistics behind tables, figures and compare (results/stats.h), on
 * hand-made values:
 *   - Student-t 97.5 % quantiles from the incomplete beta function against the published table
 *     (df 1, 2, 3, 4, 5, 10, 30 to 10 digits; df 5 also checked against the closed form of the
 *     odd-df CDF) and the normal limit; I_x(a, b) identities;
 *   - population vs sample std and z vs t half-widths of {90, 92, 94};
 *   - the option parser: values, and the contradictions that are errors.
 * `test_stats --write-compare A B` writes two OUTs whose differences are known (tests/cli_compare.sh);
 * `test_stats --write-gaps DIR` an OUT with failed runs and missing seeds (tests/cli_plot.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "results/run_file.h"
#include "results/stats.h"
#include "testlib.h"

/* ---- writers of hand-made OUTs ----------------------------------------------------------------- */

static int write_run(const char *out, const char *setting, const char *dataset, const char *method,
                     int seed, int shots, const char *const *labels, const double *acc, int n,
                     const char *error) {
    RunMeta m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%s/%s/%s/shots%d/seed%d", setting, method, dataset, shots, seed);
    snprintf(m.sweep, sizeof m.sweep, "hand");
    snprintf(m.setting, sizeof m.setting, "%s", setting);
    snprintf(m.dataset, sizeof m.dataset, "%s", dataset);
    snprintf(m.method, sizeof m.method, "%s", method);
    snprintf(m.host, sizeof m.host, "node01");
    snprintf(m.device, sizeof m.device, "cpu (1 thread)");
    m.seed = seed, m.shots = shots, m.ranks = 1;
    m.config_json = "{\"weights\": \"models/hand.safetensors\", \"data_root\": \"data\"}";
    m.start_time = 1700000000.0 + seed, m.end_time = m.start_time + 36;
    TrainResult r;
    memset(&r, 0, sizeof r);
    r.status = error ? TRAIN_FAILED : TRAIN_DONE;
    if (error) snprintf(r.error, sizeof r.error, "%s", error);
    double loss[2] = {1.5, 1.0}, tacc[2] = {40, 60}, lr[2] = {0.002, 0.001}, t[2] = {1, 1};
    r.epochs = 2, r.loss_curve = loss, r.acc_curve = tacc, r.lr_curve = lr, r.time_curve = t;
    static char *names[2] = {"red circle", "blue star"};
    double pc[CG_MAX_EVALS][2];
    r.n_evals = error ? 0 : n;
    for (int i = 0; i < r.n_evals; i++) {
        EvalResult *e = &r.evals[i];
        snprintf(e->label, sizeof e->label, "%s", labels[i]);
        snprintf(e->dataset, sizeof e->dataset, "%s", dataset);
        e->accuracy = acc[i], e->total = 100, e->correct = (long)acc[i], e->macro_f1 = acc[i];
        e->n_classes = 2, pc[i][0] = acc[i], pc[i][1] = acc[i] / 2;
        e->per_class = pc[i], e->class_names = names;
    }
    int rc = run_file_write(out, &m, &r);
    if (rc) fprintf(stderr, "run_file_write: %s\n", cg_error());
    return rc;
}

static const char *const BN[2] = {"base", "new"}, *const TEST[1] = {"test"};

/* A and B differ beyond seed noise exactly in: base2new dtd coop base (+5 each seed), base2new
 * dtd coop HM (per-seed HM +1.6…1.8), fewshot eurosat coop 1 shot (+30, unpaired: other seeds) */
static int write_compare(const char *a, const char *b) {
    const double dA[2][3] = {{80, 81, 82}, {50, 52, 54}}, dB[2][3] = {{85, 86, 87}, {50.5, 52.2, 54.1}};
    const double cA[2][3] = {{90, 92, 94}, {60, 71, 85}}, cB[2][3] = {{94, 89, 96}, {60, 71, 85}};
    int rc = 0;
    for (int s = 0; s < 3; s++) {
        double x[2];
        x[0] = dA[0][s], x[1] = dA[1][s], rc |= write_run(a, "base2new", "dtd", "coop", s + 1, 16, BN, x, 2, NULL);
        x[0] = dB[0][s], x[1] = dB[1][s], rc |= write_run(b, "base2new", "dtd", "coop", s + 1, 16, BN, x, 2, NULL);
        x[0] = cA[0][s], x[1] = cA[1][s], rc |= write_run(a, "base2new", "caltech101", "coop", s + 1, 16, BN, x, 2, NULL);
        x[0] = cB[0][s], x[1] = cB[1][s], rc |= write_run(b, "base2new", "caltech101", "coop", s + 1, 16, BN, x, 2, NULL);
    }
    const double eA[2] = {50, 50.5}, eB[2] = {80, 80.5}, tA[2] = {40, 44}, tB[2] = {41, 43};
    for (int s = 0; s < 2; s++) {
        rc |= write_run(a, "fewshot", "eurosat", "coop", s + 1, 1, TEST, &eA[s], 1, NULL);
        rc |= write_run(b, "fewshot", "eurosat", "coop", s + 3, 1, TEST, &eB[s], 1, NULL);
        rc |= write_run(a, "fewshot", "dtd", "coop", s + 1, 1, TEST, &tA[s], 1, NULL);
        rc |= write_run(b, "fewshot", "dtd", "coop", s + 1, 1, TEST, &tB[s], 1, NULL);
    }
    if (!rc) rc = results_aggregate(a) | results_aggregate(b);
    return rc;
}

/* base2new: dtd coop seeds 1–3; caltech101 coop seeds 1 and 3 (seed 2 failed); caltech101 maple
 * seed 1 only; a fewshot run that failed before evaluating */
static int write_gaps(const char *out) {
    int rc = 0;
    for (int s = 1; s <= 3; s++) {
        double x[2] = {70 + s, 50 + s};
        rc |= write_run(out, "base2new", "dtd", "coop", s, 16, BN, x, 2, NULL);
        if (s != 2) rc |= write_run(out, "base2new", "caltech101", "coop", s, 16, BN, x, 2, NULL);
    }
    double x[2] = {88, 77};
    rc |= write_run(out, "base2new", "caltech101", "coop", 2, 16, BN, x, 2, "bad image file caltech101/x.jpg");
    rc |= write_run(out, "base2new", "caltech101", "maple", 1, 16, BN, x, 2, NULL);
    rc |= write_run(out, "fewshot", "eurosat", "coop", 1, 4, TEST, x, 1, "NaN loss at epoch 1 (step 3)");
    if (!rc) rc = results_aggregate(out);
    return rc;
}

/* ---- checks -------------------------------------------------------------------------------------- */

static void test_t_quantiles(void) {
    printf("-- t(0.975, df) from the incomplete beta function vs the published table\n");
    static const struct { double df, q; } T[] = {{1, 12.7062047362}, {2, 4.3026527297}, {3, 3.1824463053},
                                                {4, 2.7764451052}, {5, 2.5705818356}, {10, 2.2281388520},
                                                {30, 2.0422724563}};
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        double q = stats_t_quantile(0.975, T[i].df);
        printf("  df %4g: %.10f (table %.10f)\n", T[i].df, q, T[i].q);
        CHECK(fabs(q - T[i].q) < 1e-8, "t quantile df %g: %.12f, expected %.12f", T[i].df, q, T[i].q);
    }
    double big = stats_t_quantile(0.975, 1e7);
    CHECK(fabs(big - 1.959963985) < 1e-5, "t(0.975, 1e7) → normal 1.95996: %.9f", big);
    CHECK(fabs(stats_t_quantile(0.025, 3) + 3.1824463053) < 1e-8, "lower tail symmetric");
    CHECK(fabs(stats_t_cdf(0, 7) - 0.5) < 1e-15, "t cdf at 0");
    CHECK(fabs(stats_incbeta(2.5, 2.5, 0.5) - 0.5) < 1e-13, "I_0.5(a, a) = 1/2");
    CHECK(fabs(stats_incbeta(3, 1, 0.3) - 0.027) < 1e-13, "I_x(a, 1) = x^a");
    CHECK(fabs(stats_incbeta(1, 1, 0.37) - 0.37) < 1e-13, "I_x(1, 1) = x");
}

static void test_spreads(void) {
    printf("-- population vs sample std, z vs t half-widths on {90, 92, 94}\n");
    const double v[3] = {90, 92, 94};
    StatOptions pop = {0}, smp = {STD_SAMPLE, 0, 0}, z = {0, CI_Z, 0}, zs = {STD_SAMPLE, CI_Z, 0}, t = {0, CI_T, 0};
    StatOptions *all[5] = {&pop, &smp, &z, &zs, &t};
    for (int i = 0; i < 5; i++) CHECK(stats_check(all[i]) == 0, "check %d: %s", i, cg_error());
    double e_pop = sqrt(8.0 / 3), e_smp = 2.0;
    CHECK(fabs(stats_spread(&pop, v, 3) - e_pop) < 1e-12, "population std %.6f", stats_spread(&pop, v, 3));
    CHECK(fabs(stats_spread(&smp, v, 3) - e_smp) < 1e-12, "sample std %.6f", stats_spread(&smp, v, 3));
    CHECK(fabs(stats_spread(&z, v, 3) - 1.96 * e_pop / sqrt(3)) < 1e-12, "z CI, population std");
    CHECK(fabs(stats_spread(&zs, v, 3) - 1.96 * e_smp / sqrt(3)) < 1e-12, "z CI, sample std");
    double tt = stats_spread(&t, v, 3);
    printf("  pop %.4f  sample %.4f  z %.4f  z(sample) %.4f  t %.4f\n", e_pop, e_smp,
           stats_spread(&z, v, 3), stats_spread(&zs, v, 3), tt);
    CHECK(fabs(tt - 4.3026527297 * 2 / sqrt(3)) < 1e-8, "t CI = t(0.975, 2)·s/√3 = 4.9683: %.6f", tt);
    CHECK(t.std == STD_SAMPLE && pop.std == STD_POPULATION, "defaults resolved: t → sample, else population");
    CHECK(isnan(stats_spread(&smp, v, 1)) && isnan(stats_spread(&t, v, 1)), "one value: no sample std, no CI");
    CHECK(stats_spread(&pop, v, 1) == 0, "one value: population std 0");
    CHECK(!strcmp(stats_caption(&pop), "population std (ddof 0)"), "caption: %s", stats_caption(&pop));
    CHECK(strstr(stats_caption(&t), "t(0.975, n−1)") != NULL, "t caption: %s", stats_caption(&t));
}

static int parse(StatOptions *o, const char *a, const char *b) {
    char *argv[3] = {"x", (char *)a, (char *)b};
    int argc = b ? 3 : 2, i = 1, rc = stats_parse_arg(o, argc, argv, &i);
    return rc < 0 ? -1 : rc == 0 ? 0 : stats_check(o);
}

static void test_options(void) {
    printf("-- options and contradictions\n");
    StatOptions o = {0};
    CHECK(parse(&o, "--std", "sample") == 0 && o.std == STD_SAMPLE, "--std sample");
    o = (StatOptions){0};
    CHECK(parse(&o, "--ci=t", NULL) == 0 && o.ci == CI_T && o.std == STD_SAMPLE, "--ci=t");
    o = (StatOptions){0};
    CHECK(parse(&o, "--std", "median") == -1 && strstr(cg_error(), "median"), "bad --std value: %s", cg_error());
    o = (StatOptions){0};
    CHECK(parse(&o, "--ci", "bootstrap") == -1, "bad --ci value");
    o = (StatOptions){.mean_only = 1};
    CHECK(parse(&o, "--std", "sample") == -1 && strstr(cg_error(), "--mean-only"), "--mean-only with --std: %s", cg_error());
    o = (StatOptions){.mean_only = 1};
    CHECK(parse(&o, "--ci", "z") == -1, "--mean-only with --ci");
    o = (StatOptions){.std = STD_POPULATION};
    CHECK(parse(&o, "--ci", "t") == -1 && strstr(cg_error(), "sample std"), "--ci t with --std population: %s", cg_error());
    o = (StatOptions){.ci = CI_T};
    CHECK(parse(&o, "--ci95", NULL) == -1, "--ci t then --ci95 (z)");
    o = (StatOptions){0};
    CHECK(parse(&o, "--format", "md") == 0 && !o.ci && !o.std, "other options are not consumed");
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--write-compare")) {
        if (write_compare(argv[2], argv[3]) == 0) return 0;
        fprintf(stderr, "test_stats --write-compare: %s\n", cg_error());
        return 1;
    }
    if (argc == 3 && !strcmp(argv[1], "--write-gaps")) {
        if (write_gaps(argv[2]) == 0) return 0;
        fprintf(stderr, "test_stats --write-gaps: %s\n", cg_error());
        return 1;
    }
    test_t_quantiles();
    test_spreads();
    test_options();
    return test_finish("test_stats");
}
