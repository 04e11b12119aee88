/* results/stats.c — spreads over seeds, the statistics options, and Student-t quantiles from
 * the regularised incomplete beta function (see stats.h). */
#include "results/stats.h"

#include <math.h>
#include <string.h>

#include "base/util.h"

/* ---- options ------------------------------------------------------------------------------- */

static int set_std(StatOptions *o, const char *v) {
    if (!strcmp(v, "sample")) o->std = STD_SAMPLE;
    else if (!strcmp(v, "population")) o->std = STD_POPULATION;
    else return cg_error_set("--std: '%s' is neither sample nor population", v), -1;
    return 1;
}

static int set_ci(StatOptions *o, CiKind k, const char *opt) {
    if (o->ci && o->ci != k) return cg_error_set("%s contradicts the CI asked for before (z vs t)", opt), -1;
    o->ci = k;
    return 1;
}

static int parse_ci(StatOptions *o, const char *v) {
    if (!strcmp(v, "t")) return set_ci(o, CI_T, "--ci t");
    if (!strcmp(v, "z")) return set_ci(o, CI_Z, "--ci z");
    return cg_error_set("--ci: '%s' is neither t nor z", v), -1;
}

int stats_parse_arg(StatOptions *o, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--mean-only")) return o->mean_only = 1, 1;
    if (!strcmp(a, "--ci95")) return set_ci(o, CI_Z, "--ci95");
    if (!strncmp(a, "--std=", 6)) return set_std(o, a + 6);
    if (!strncmp(a, "--ci=", 5)) return parse_ci(o, a + 5);
    int is_std = !strcmp(a, "--std"), is_ci = !strcmp(a, "--ci");
    if (!is_std && !is_ci) return 0;
    if (*i + 1 >= argc) return cg_error_set("%s needs a value (%s)", a, is_std ? "sample|population" : "t|z"), -1;
    ++*i;
    return is_std ? set_std(o, argv[*i]) : parse_ci(o, argv[*i]);
}

int stats_check(StatOptions *o) {
    if (o->mean_only && (o->std || o->ci))
        return cg_error_set("--mean-only contradicts --%s: a mean alone has no spread",
                            o->std ? "std" : "ci/--ci95"), -1;
    if (o->ci == CI_T && o->std == STD_POPULATION)
        return cg_error_set("--ci t contradicts --std population: the t interval is built on the "
                            "sample std (ddof 1); use --ci z for the population std"), -1;
    if (!o->std && !o->mean_only) o->std = o->ci == CI_T ? STD_SAMPLE : STD_POPULATION;
    return 0;
}

/* ---- spreads ------------------------------------------------------------------------------- */

double stats_mean(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n > 0 ? s / n : NAN;
}

double stats_std(const double *v, int n, int sample) {
    if (n <= sample || n <= 0) return NAN;
    double m = stats_mean(v, n), ss = 0;
    for (int i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    return sqrt(ss / (n - sample));
}

double stats_halfwidth(const StatOptions *o, double s, int n) {
    if (o->mean_only || n < 1) return NAN;
    if (o->ci == CI_NONE) return s;
    if (n < 2) return NAN;
    double q = o->ci == CI_T ? stats_t_quantile(0.975, n - 1) : 1.96;
    return q * s / sqrt((double)n);
}

double stats_spread(const StatOptions *o, const double *v, int n) {
    int sample = o->std == STD_SAMPLE || (o->std == STD_DEFAULT && o->ci == CI_T);
    return stats_halfwidth(o, stats_std(v, n, sample), n);
}

const char *stats_caption(const StatOptions *o) {
    int sample = o->std == STD_SAMPLE || (o->std == STD_DEFAULT && o->ci == CI_T);
    if (o->mean_only) return "";
    if (o->ci == CI_T) return "95% CI, t(0.975, n−1)·s/√n with the sample std s (ddof 1)";
    if (o->ci == CI_Z) return sample ? "95% CI, z: 1.96·s/√n with the sample std s (ddof 1)"
                                     : "95% CI, z: 1.96·std/√n with the population std (ddof 0)";
    return sample ? "sample std (ddof 1)" : "population std (ddof 0)";
}

const char *stats_suffix(const StatOptions *o) {
    return o->ci ? "ci95" : "std";
}

/* ---- incomplete beta and Student t ---------------------------------------------------------- */

/* the continued fraction of I_x(a, b), modified Lentz */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        double m2 = 2.0 * m;
        double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + num * d, c = 1 + num / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d, h *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + num * d, c = 1 + num / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

double stats_incbeta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double stats_t_cdf(double t, double df) {
    double tail = 0.5 * stats_incbeta(df / 2, 0.5, df / (df + t * t));
    return t > 0 ? 1 - tail : tail;
}

double stats_t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df > 0)) return NAN;
    if (p < 0.5) return -stats_t_quantile(1 - p, df);
    double lo = 0, hi = 1;
    while (stats_t_cdf(hi, df) < p && hi < 1e12) lo = hi, hi *= 2;
    for (int it = 0; it < 200 && hi - lo > 1e-12 * (1 + hi); it++) {
        double mid = 0.5 * (lo + hi);
        if (stats_t_cdf(mid, df) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}
