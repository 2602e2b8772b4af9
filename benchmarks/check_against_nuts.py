"""Check the project's Hawkes sampler against NumPyro's NUTS on the same model, prior and data.

One script for the whole check (data, likelihood check, both samplers' runs, comparison,
report); the jax side, the model written again and its NUTS fit, is ``hawkes_jax.py``, the only
module that imports jax.

An independent validity check of ``HawkesProcessModel.fit`` (the hand-written sampler of
``hawkes_sampler.py``): the discrete-time Hawkes model with one shared beta, no background and
no alpha mask is written again in jax.numpy (``benchmarks/hawkes_jax.py``) from its equations
(module docstring of ``hawkes_model.py``)::

    lambda_i[k] = mu_i + sum_j alpha[i,j] sum_{m>=1} g(m) y_j[k-m] / dt,
    g(m) = (1 - exp(-beta dt)) exp(-beta dt (m-1)),
    log L = sum_{i,k} ( y_i[k] log(1 - exp(-lambda_i[k] dt)) - (1 - y_i[k]) lambda_i[k] dt ),

every trial starting with an empty history, with the prior's numbers taken from the model
(``HawkesProcessModel._resolve_prior``): ``mu_i ~ Gamma(mu_shape, rate=mu_rate)``,
``alpha_ij ~ Gamma(alpha_shape, rate=alpha_rate)``, ``log beta ~ Normal(log_beta_mean,
log_beta_sd)``. Before sampling, this likelihood is checked against
``HawkesProcessModel.log_likelihood`` at several parameter points (relative difference below
``LOGLIK_RTOL``, else the script stops), so both samplers target one posterior.

The data are the discrete standard problem of ``bench_hawkes.py`` (13 neurons, 30 trials x 100
steps of 1 ms, simulated with ``--seed``). Both samplers run 4 chains with the same warm-up;
the project's sampler keeps ``OURS_SAMPLES_FACTOR`` times as many draws as NUTS (they are
cheap). For every parameter (13 mu, 169 alpha, beta) the posterior means are compared by
``z = (mean_ours - mean_nuts) / sqrt(mcse_ours^2 + mcse_nuts^2)`` with ``mcse = sd / sqrt(bulk
ESS)`` (``mcmc_diagnostics.ess_bulk``), and the posterior sds by ``sd_ours / sd_nuts``.

Prints: machine and versions, settings, the likelihood check, a summary per parameter group
(mu, alpha on true edges, absent alpha, beta), how the z-scores are spread (about N(0, 1) when
the samplers agree), the parameters of largest |z|, both samplers' wall time, max R-hat, min
bulk ESS and min ESS per second, NUTS divergences, and a verdict: PASS if every |z| <
``Z_LIMIT`` and every sd ratio lies in ``SD_RATIO_RANGE``, else FAIL with the counts. It
reports and does not assert: the exit status is 0 either way (1 without NumPyro/JAX).
``compare_samplers`` returns the numbers for other code.

Reads:  nothing (all data are simulated with ``--seed``).
Writes: nothing; prints plain text and markdown tables.
Needs:  numpyro and jax, ``pip install -r requirements-bench.txt`` in a separate venv.
Command, from the repository root (several minutes on 2 cores, most of it NUTS):
    .venv-bench/bin/python -m benchmarks.check_against_nuts
Short smoke test:
    .venv-bench/bin/python -m benchmarks.check_against_nuts --quick
The sampler's option, checked the same way (section nuts-conjugate):
    .venv-bench/bin/python -m benchmarks.check_against_nuts --conjugate-columns 3
The signed model's sampler, checked the same way: ``check_signed_against_nuts.py``.
"""

import argparse
import os
import platform
import shlex
import sys
from time import perf_counter

import numpy as np

from benchmarks import hawkes_jax
from benchmarks.bench_hawkes import (
    DISC_DT,
    DISC_N_STEPS,
    DISC_N_TRIALS,
    discrete_truth,
    format_table,
    simulate_trials,
)
from benchmarks.mcmc_efficiency import parameter_names
from benchmarks.report import printed_section
from cli_types import int_at_least
from hawkes_model import HawkesProcessModel
from mcmc_diagnostics import MIN_SAMPLES, ess_bulk, split_rhat
from spike_file import events_to_raster

# The problem: bench_hawkes.py's discrete standard network (1 input, 10 hidden, 2 output).
N_DIMS = 13
N_TRIALS = DISC_N_TRIALS
# Chains; NUTS draws and warm-up per chain (full run and --quick). The project's sampler has
# the same warm-up and OURS_SAMPLES_FACTOR times the draws: they cost it far less than NUTS,
# and more of them shrink its share of the Monte Carlo noise in z and in the sd ratios.
N_CHAINS = 4
N_SAMPLES = 2000
N_WARMUP = 500
N_SAMPLES_QUICK = 200
N_WARMUP_QUICK = 200
OURS_SAMPLES_FACTOR = 4
# Likelihood check: points (the truth, the prior median, draws from the prior) and tolerance.
N_PRIOR_POINTS = 3
LOGLIK_RTOL = 1e-8
# Verdict: every |z| below Z_LIMIT and every sd ratio inside SD_RATIO_RANGE.
Z_LIMIT = 4.0
SD_RATIO_RANGE = (0.9, 1.1)
N_WORST = 10  # parameters of largest |z| printed
Z_REFERENCE = 2.0  # share of |z| above it printed (4.6% for N(0, 1))
INSTALL_HINT = (
    "check_against_nuts.py needs numpyro and jax: pip install -r "
    "requirements-bench.txt in a separate venv (e.g. python3 -m venv .venv-bench)"
)


# ----------------------------------------------------------------------------- checks and fits
def check_points(truth, prior, rng):
    """Parameter points of the likelihood check: the truth, the prior median, prior draws.

    Returns
    -------
    list of (label, mu (D,), alpha (D, D), beta float)
    """
    mu_true, alpha_true, beta_true = truth
    d = len(mu_true)
    points = [
        ("truth", mu_true, alpha_true, beta_true),
        (
            "prior median",
            np.full(d, prior.mu_shape / prior.mu_rate),
            np.full((d, d), prior.alpha_shape / prior.alpha_rate),
            np.exp(prior.log_beta_mean),
        ),
    ]
    for n in range(N_PRIOR_POINTS):
        points.append(
            (
                f"prior draw {n + 1}",
                rng.gamma(prior.mu_shape, 1.0 / prior.mu_rate, d),
                rng.gamma(prior.alpha_shape, 1.0 / prior.alpha_rate, (d, d)),
                float(np.exp(rng.normal(prior.log_beta_mean, prior.log_beta_sd))),
            )
        )
    return points


def fit_ours(events, end_time, n_samples, n_warmup, seed, conjugate_columns=0):
    """Fit with ``HawkesProcessModel.fit`` (``conjugate_columns``: its option) and time it.

    Returns
    -------
    draws : ndarray, shape (C, S, P)
        ``mu`` (D), ``alpha`` row-major (D * D), ``beta`` (1) per draw.
    info : dict
        ``wall_s``, ``n_samples`` and ``acceptance`` (move name -> mean rate over chains).
    """
    model = HawkesProcessModel(N_DIMS, time="discrete", dt=DISC_DT, beta="shared")
    start = perf_counter()
    post = model.fit(
        events,
        end_time,
        n_samples=n_samples,
        n_warmup=n_warmup,
        n_chains=N_CHAINS,
        seed=seed,
        progress=False,
        conjugate_columns=conjugate_columns,
    )
    wall = perf_counter() - start
    c, s = post.beta.shape
    draws = np.concatenate([post.mu, post.alpha.reshape(c, s, -1), post.beta[:, :, None]], axis=2)
    acceptance = {k: float(np.mean(v)) for k, v in post.acceptance.items()}  # NaN: nothing moved
    return draws, {"wall_s": wall, "n_samples": n_samples, "acceptance": acceptance}


# ----------------------------------------------------------------------------- comparison
def posterior_moments(draws):
    """Mean, sd, Monte Carlo standard error of the mean, bulk ESS and split R-hat per parameter.

    Parameters
    ----------
    draws : ndarray, shape (C, S, P)

    Returns
    -------
    dict of ndarray, each shape (P,)
        ``mean``, ``sd`` (pooled, ddof 1), ``ess`` (bulk), ``mcse`` (``sd / sqrt(ess)``),
        ``rhat``.
    """
    pooled = draws.reshape(-1, draws.shape[2])
    sd = pooled.std(axis=0, ddof=1)
    ess = np.asarray(ess_bulk(draws))
    return {
        "mean": pooled.mean(axis=0),
        "sd": sd,
        "ess": ess,
        "mcse": sd / np.sqrt(ess),
        "rhat": np.asarray(split_rhat(draws)),
    }


def compare_moments(ours, nuts):
    """z-scores of the difference of posterior means and ratios of posterior sds.

    Parameters
    ----------
    ours, nuts : dict
        ``posterior_moments`` of each sampler (arrays of shape (P,)).

    Returns
    -------
    z : ndarray, shape (P,)
        ``(mean_ours - mean_nuts) / sqrt(mcse_ours^2 + mcse_nuts^2)``.
    sd_ratio : ndarray, shape (P,)
        ``sd_ours / sd_nuts``.
    """
    z = (ours["mean"] - nuts["mean"]) / np.sqrt(ours["mcse"] ** 2 + nuts["mcse"] ** 2)
    return z, ours["sd"] / nuts["sd"]


def parameter_groups(alpha_true):
    """Masks over the flattened parameters (mu, alpha row-major, beta) of each group.

    Returns
    -------
    dict of str -> ndarray of bool, shape (P,)
    """
    d = len(alpha_true)
    kind = np.concatenate([np.zeros(d), np.where(alpha_true.ravel() > 0, 1, 2), [3]])
    return {"mu": kind == 0, "alpha, true edges": kind == 1, "alpha, absent": kind == 2, "beta": kind == 3}


def verdict(z, sd_ratio):
    """PASS if every |z| < Z_LIMIT and every sd ratio lies in SD_RATIO_RANGE, else FAIL.

    Returns
    -------
    passed : bool
    text : str
        One line with the counts.
    """
    n_z = int(np.sum(~(np.abs(z) < Z_LIMIT)))
    low, high = SD_RATIO_RANGE
    n_sd = int(np.sum(~((sd_ratio >= low) & (sd_ratio <= high))))
    passed = n_z == 0 and n_sd == 0
    if passed:
        return True, (f"PASS: all {z.size} |z| < {Z_LIMIT:g} and all sd ratios in [{low:g}, {high:g}]")
    return False, (
        f"FAIL: {n_z} of {z.size} parameters with |z| >= {Z_LIMIT:g}, {n_sd} of "
        f"{z.size} sd ratios outside [{low:g}, {high:g}]"
    )


def require_same_model(check, reference):
    """Stop unless every relative difference of the likelihood check is below ``LOGLIK_RTOL``.

    ``check``: rows ``(label, ours, jax, relative difference)``; ``reference``: the function checked."""
    worst = max(row[3] for row in check)
    if not worst < LOGLIK_RTOL:
        raise RuntimeError(
            f"the jax likelihood differs from {reference} by {worst:.2e} (relative) > {LOGLIK_RTOL:g}: "
            "not the same model"
        )


def comparison(ours_draws, ours_info, nuts_draws, nuts_info):
    """Both samplers' ``posterior_moments`` (with their fits' info), the z-scores, sd ratios and
    verdict: the keys ``ours``, ``nuts``, ``z``, ``sd_ratio``, ``passed`` and ``verdict``."""
    ours = {**posterior_moments(ours_draws), **ours_info}
    nuts = {**posterior_moments(nuts_draws), **nuts_info}
    z, sd_ratio = compare_moments(ours, nuts)
    passed, text = verdict(z, sd_ratio)
    return {"ours": ours, "nuts": nuts, "z": z, "sd_ratio": sd_ratio, "passed": passed, "verdict": text}


def compare_samplers(
    seed=0, n_samples=N_SAMPLES, n_warmup=N_WARMUP, ours_factor=OURS_SAMPLES_FACTOR, conjugate_columns=0
):
    """Simulate the data, check the likelihoods agree, fit with both samplers and compare.

    Parameters
    ----------
    seed : int
        Seed of the data (trial ``r`` uses ``seed + r``), of both samplers and of the check
        points.
    n_samples, n_warmup : int
        NUTS draws kept and warm-up iterations per chain (the same warm-up for ours).
    ours_factor : int
        The project's sampler keeps ``ours_factor * n_samples`` draws per chain.
    conjugate_columns : int
        Its conjugate proposals on this many columns a sweep (0: off, the default sampler).

    Returns
    -------
    dict
        ``names`` (P,), ``truth`` (P,), ``groups`` (name -> mask), ``n_spikes``, ``prior``
        (PriorRates), ``loglik_check`` (rows of ``hawkes_jax.check_likelihood``), ``ours`` and ``nuts``
        (``posterior_moments`` plus the fit's info), ``z`` (P,), ``sd_ratio`` (P,), ``passed``
        and ``verdict``.
    """
    truth = discrete_truth()
    end_time = DISC_N_STEPS * DISC_DT
    events = simulate_trials(*truth, end_time, N_TRIALS, seed, "discrete", DISC_DT)
    # (R, K, D) floats 0/1: the jax model scans over steps, with the neurons last.
    y = events_to_raster(events, DISC_N_STEPS, DISC_DT).transpose(0, 2, 1).astype(float)
    model = HawkesProcessModel(N_DIMS, time="discrete", dt=DISC_DT, beta="shared")
    prior = model._resolve_prior(model._prepare(events, end_time))

    check = hawkes_jax.check_likelihood(
        model, events, end_time, y, check_points(truth, prior, np.random.default_rng(seed))
    )
    require_same_model(check, "HawkesProcessModel.log_likelihood")

    ours_draws, ours_info = fit_ours(events, end_time, ours_factor * n_samples, n_warmup, seed, conjugate_columns)
    nuts_draws, nuts_info = hawkes_jax.fit_nuts(y, DISC_DT, prior, n_samples, n_warmup, N_CHAINS, seed)
    return {
        "names": parameter_names(truth[1], "shared"),
        "truth": np.concatenate([truth[0], truth[1].ravel(), [truth[2]]]),
        "groups": parameter_groups(truth[1]),
        "n_spikes": int(y.sum()),
        "prior": prior,
        "loglik_check": check,
        **comparison(ours_draws, ours_info, nuts_draws, nuts_info),
    }


# ----------------------------------------------------------------------------- report
def machine_line():
    """One line: platform, Python, numpy, jax, numpyro, CPU count and load average."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {platform.platform()}, Python {platform.python_version()}, numpy "
        f"{np.__version__}, jax {hawkes_jax.jax.__version__}, numpyro {hawkes_jax.numpyro.__version__}, "
        f"{os.cpu_count()} CPUs, load average (1, 5, 15 min) {load}"
    )


def group_rows(result):
    """(group, n, max |z|, min sd ratio, max sd ratio, min ESS ours, min ESS NUTS) rows."""
    rows = []
    for name, mask in result["groups"].items():
        z, ratio = result["z"][mask], result["sd_ratio"][mask]
        rows.append(
            (
                name,
                int(mask.sum()),
                f"{np.max(np.abs(z)):.2f}",
                f"{ratio.min():.3f}",
                f"{ratio.max():.3f}",
                f"{result['ours']['ess'][mask].min():.0f}",
                f"{result['nuts']['ess'][mask].min():.0f}",
            )
        )
    return rows


def worst_rows(result, n=N_WORST):
    """Rows of the ``n`` parameters of largest |z|."""
    ours, nuts, z = result["ours"], result["nuts"], result["z"]
    order = np.argsort(-np.abs(z))[:n]
    return [
        (
            result["names"][p],
            f"{result['truth'][p]:.4g}",
            f"{ours['mean'][p]:.5g}",
            f"{nuts['mean'][p]:.5g}",
            f"{ours['sd'][p]:.4g}",
            f"{nuts['sd'][p]:.4g}",
            f"{z[p]:+.2f}",
            f"{result['sd_ratio'][p]:.3f}",
        )
        for p in order
    ]


def sampler_rows(result):
    """(quantity, ours, NUTS) rows: wall time, R-hat, ESS, ESS per second, extras."""
    ours, nuts = result["ours"], result["nuts"]
    acceptance = ", ".join(f"{k} {v:.2f}" for k, v in ours["acceptance"].items())
    return [
        ("wall time (s)", f"{ours['wall_s']:.1f}", f"{nuts['wall_s']:.1f} (jit included)"),
        ("max split R-hat", f"{ours['rhat'].max():.4f}", f"{nuts['rhat'].max():.4f}"),
        ("min bulk ESS", f"{ours['ess'].min():.0f}", f"{nuts['ess'].min():.0f}"),
        (
            "min bulk ESS per second",
            f"{ours['ess'].min() / ours['wall_s']:.1f}",
            f"{nuts['ess'].min() / nuts['wall_s']:.1f}",
        ),
        ("median bulk ESS", f"{np.median(ours['ess']):.0f}", f"{np.median(nuts['ess']):.0f}"),
        ("acceptance / divergences", acceptance, f"{nuts['divergences']} divergent transitions"),
        ("leapfrog steps per draw (mean, max)", "-", f"{nuts['mean_steps']:.1f}, {nuts['max_steps']}"),
    ]


def print_comparison(result, reference, ours_name):
    """Print the likelihood check against ``reference`` (the function checked) and the comparison
    of ``ours_name``'s draws with NUTS's: per group, z spread, worst parameters, samplers, verdict."""
    print(f"\n### Likelihood check: jax model against {reference}\n")
    print(
        format_table(
            ("point", "ours", "jax", "rel. diff."),
            [(label, f"{a:.10f}", f"{b:.10f}", f"{r:.1e}") for label, a, b, r in result["loglik_check"]],
        )
    )
    print(f"\nmax relative difference {max(r[3] for r in result['loglik_check']):.2e} (tolerance {LOGLIK_RTOL:g})")
    print("\n### Per group (z: difference of means in MCSEs; sd ratio: ours / NUTS)\n")
    print(
        format_table(
            ("group", "n", "max |z|", "min sd ratio", "max sd ratio", "min ESS ours", "min ESS NUTS"),
            group_rows(result),
        )
    )
    z = result["z"]
    print(
        f"\nz over all {z.size} parameters: mean {z.mean():+.2f}, sd {z.std(ddof=1):.2f}, "
        f"|z| > {Z_REFERENCE:g} for {np.mean(np.abs(z) > Z_REFERENCE):.1%} (N(0, 1): 4.6%)"
    )
    print(f"\n### The {N_WORST} parameters of largest |z|\n")
    print(
        format_table(
            ("parameter", "truth", "mean ours", "mean NUTS", "sd ours", "sd NUTS", "z", "sd ratio"), worst_rows(result)
        )
    )
    print("\n### Samplers\n")
    print(format_table(("quantity", f"ours ({ours_name})", "NumPyro NUTS"), sampler_rows(result)))
    print(f"\n{result['verdict']}")


def settings_line(result, seed, n_samples, n_warmup, model="", ours_option=""):
    """The settings line of either check: ``model`` names a model other than the linear one (e.g.
    ``"signed model, "``), ``ours_option`` an option of our sampler (e.g. ``", conjugate ..."``)."""
    return (
        f"settings: seed {seed}; {model}data {N_DIMS} neurons x {N_TRIALS} trials x {DISC_N_STEPS} steps of "
        f"{DISC_DT} s, {result['n_spikes']} spikes; {N_CHAINS} chains each; ours {result['ours']['n_samples']} "
        f"draws after {n_warmup} warm-up{ours_option}; NUTS {n_samples} draws after {n_warmup} warm-up, "
        f"{hawkes_jax.NUTS_CHAIN_METHOD} chains, diagonal mass matrix, target acceptance "
        f"{hawkes_jax.NUTS_TARGET_ACCEPT}, init_to_median"
    )


def print_report(result, args, n_samples, n_warmup):
    """Print the sections described in the module docstring."""
    p = result["prior"]
    conjugate = args.conjugate_columns
    option = f", conjugate proposals on {conjugate} columns a sweep" if conjugate else ""
    print(settings_line(result, args.seed, n_samples, n_warmup, ours_option=option))
    print(
        f"prior: mu ~ Gamma({p.mu_shape:g}, rate {p.mu_rate:.6g}), alpha ~ Gamma("
        f"{p.alpha_shape:g}, rate {p.alpha_rate:g}), log beta ~ Normal({p.log_beta_mean:.6g}, "
        f"{p.log_beta_sd:g})"
    )
    print_comparison(result, "HawkesProcessModel.log_likelihood", "hawkes_sampler")


# ----------------------------------------------------------------------------- CLI
def argument_parser(description):
    """The options both checks share: ``--seed``, ``--n-samples``, ``--n-warmup``, ``--quick``,
    ``--no-report``."""
    parser = argparse.ArgumentParser(allow_abbrev=False, description=description)
    parser.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of the simulated data and of both samplers (default 0)"
    )
    parser.add_argument(
        "--n-samples",
        type=int_at_least(MIN_SAMPLES),
        default=None,
        help=f"NUTS draws kept per chain; ours keeps {OURS_SAMPLES_FACTOR} times "
        f"as many (default {N_SAMPLES}, quick {N_SAMPLES_QUICK})",
    )
    parser.add_argument(
        "--n-warmup",
        type=int_at_least(0),
        default=None,
        help=f"warm-up iterations per chain, both samplers (default {N_WARMUP}, quick {N_WARMUP_QUICK})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {N_WARMUP_QUICK} warm-up + {N_SAMPLES_QUICK} NUTS draws per chain",
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    return parser


def parse_args(argv=None):
    parser = argument_parser(__doc__.split("\n")[0])
    parser.add_argument(
        "--conjugate-columns",
        type=int_at_least(0),
        default=0,
        help="our sampler with its conjugate proposals on this many columns a sweep (default 0: off); "
        "written as its own section",
    )
    return parser.parse_args(argv)


def draw_counts(args):
    """NUTS draws and warm-up per chain, (n_samples, n_warmup), from the options; exits with the
    install hint when jax or NumPyro does not import."""
    if hawkes_jax.jax is None:
        print(INSTALL_HINT)
        sys.exit(1)
    n_samples = args.n_samples if args.n_samples is not None else (N_SAMPLES_QUICK if args.quick else N_SAMPLES)
    n_warmup = args.n_warmup if args.n_warmup is not None else (N_WARMUP_QUICK if args.quick else N_WARMUP)
    return n_samples, n_warmup


def run(args):
    """The benchmark itself, printing its tables."""
    n_samples, n_warmup = draw_counts(args)
    print(machine_line())
    result = compare_samplers(args.seed, n_samples, n_warmup, conjugate_columns=args.conjugate_columns)
    print_report(result, args, n_samples, n_warmup)
    return result


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.check_against_nuts", *(sys.argv[1:] if argv is None else argv)])
    conjugate = args.conjugate_columns
    with printed_section(
        "nuts" + ("-conjugate" if conjugate else ""),
        "The sampler against NumPyro's NUTS, same model and prior"
        + (f", conjugate proposals on {conjugate} columns a sweep" if conjugate else ""),
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
