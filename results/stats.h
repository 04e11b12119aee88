/* results/stats.h — the spread shown next to a seed mean, as the user asked for it:
 * population std (ddof 0, CoOp's parse_test_res.py: the default), sample std (ddof 1), or a 95 %
 * confidence half-width, z-based (1.96·s/√n, parse_test_res.py --ci95) or Student-t based
 * (t(0.975, n−1)·s/√n with the sample std); the option parser shared by table, plot and compare;
 * and the t quantile, computed from the regularised incomplete beta function. */
#ifndef CLIPGRID_RESULTS_STATS_H
#define CLIPGRID_RESULTS_STATS_H

typedef enum { STD_DEFAULT = 0, STD_POPULATION, STD_SAMPLE } StdKind;
typedef enum { CI_NONE = 0, CI_Z, CI_T } CiKind;

typedef struct {
    StdKind std;     /* STD_DEFAULT: population, except for CI_T (sample) */
    CiKind ci;
    int mean_only;   /* no spread at all */
} StatOptions;

/* parse one statistics option at argv[*i] (--std S, --std=S, --ci K, --ci=K, --ci95,
 * --mean-only), advancing *i past a separate value; 1 when consumed, 0 when not a statistics
 * option, −1 with cg_error on a bad value */
int stats_parse_arg(StatOptions *o, int argc, char **argv, int *i);
/* −1 with cg_error when the options contradict each other (--mean-only with --std or --ci;
 * --ci t with --std population), else 0 and the defaults resolved */
int stats_check(StatOptions *o);

double stats_mean(const double *v, int n);
/* ddof 0 (population) or 1 (sample); NaN when n ≤ ddof */
double stats_std(const double *v, int n, int sample);
/* the spread of o for v: std, or the 95 % half-width; NaN when undefined (n < 2 for sample
 * std and CIs) or with mean_only */
double stats_spread(const StatOptions *o, const double *v, int n);
/* the same from a known std s (of the kind o asks for) over n values */
double stats_halfwidth(const StatOptions *o, double s, int n);
/* "population std (ddof 0)", "sample std (ddof 1)", "95% CI, z: 1.96·std/√n (population std)",
 * "95% CI, t(0.975, n−1)·s/√n (sample std)", or "" with mean_only */
const char *stats_caption(const StatOptions *o);
/* CSV suffix of the spread column: "std", "ci95" */
const char *stats_suffix(const StatOptions *o);

/* regularised incomplete beta I_x(a, b) (continued fraction, Numerical-Recipes-style Lentz) */
double stats_incbeta(double a, double b, double x);
/* Student-t CDF with df degrees of freedom, and its inverse (bisection on the CDF to 1e-12) */
double stats_t_cdf(double t, double df);
double stats_t_quantile(double p, double df);

#endif
