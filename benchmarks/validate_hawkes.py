"""Validate the Hawkes sampler: recovery and calibration over many simulated data sets.

The study itself: its run sizes, one run per kind of data set and the command line. The known
truths it simulates (``benchmarks/hawkes_truths.py``), the independent maximum-likelihood fit
(``benchmarks/hawkes_mle.py``) and the scores with their table rows
(``benchmarks/hawkes_scores.py``) are modules of their own.

Each data set draws a sparse network (known truth), simulates it with ``simulate_hawkes`` and
fits it with ``HawkesProcessModel.fit``; its posterior is compared with the truth and with a
maximum-likelihood estimate computed by ``benchmarks/hawkes_mle.py``, independently of
``hawkes_model.py``:

- continuous data sets (sparse networks, one shared decay), discrete ones (the network's 13
  neurons, 30 trials x 100 steps of 1 ms), and dense continuous ones (every alpha > 0), whose
  coverage is free of the boundary effect of absent edges (truth 0 on the edge of the prior's
  support, where posterior mass of the many absent edges lowers mu and the true edges);
- error of the posterior mean against the error of the MLE (``scipy.optimize.minimize``,
  L-BFGS-B on the negative log-likelihood with analytic gradients, on the natural scale with
  bounds, where it is convex for fixed beta; beta profiled out on the log scale by a grid and a
  bounded Brent search; started from the data's rates, not the truth);
- simulation-based calibration: truths drawn from the prior the fit uses, with one shared
  decay and with one decay per pair, each fitted as drawn, so that every credible interval must
  cover its truth at its nominal rate;
- coverage of central 50% and 90% credible intervals, pooled over parameters and data sets,
  with a binomial standard error (parameters of one data set are correlated, so it is a
  lower bound on the real uncertainty);
- edge AUC (true edges against absent ones, scored by posterior-mean alpha, and by the MLE);
- goodness of fit: time-rescaling KS statistic per neuron at the posterior mean against the
  5% critical value, and the same for a Poisson model (alpha = 0) to show the test's power;
- the bias of a continuous fit of grid spike times against the discrete fit of the same data.

Reads:  nothing (all data are simulated with ``--seed``).
Writes: nothing, or a JSON of every data set's numbers with ``--out``.
Commands for the README tables, from the repository root:
    python -m benchmarks.validate_hawkes            (full table, several minutes on 2 cores)
    python -m benchmarks.validate_hawkes --quick    (about a minute)
    python -m benchmarks.validate_hawkes --quick --conjugate-columns 3   (the sampler's option;
        section validate-hawkes-conjugate)
"""

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from time import perf_counter

import numpy as np
import scipy

from benchmarks.bench_hawkes import end_time_for, print_table, simulate_trials
from benchmarks.hawkes_mle import (
    BETA_DT_GRID,
    BETA_GRID_CONT,
    BIAS_BETA_DT_GRID,
    continuous_statistics,
    discrete_statistics,
    fit_mle,
    rate_start,
    target_objective,
)
from benchmarks.hawkes_scores import (
    absent_alpha,
    bias_rows,
    calibration_rows,
    coverage_by_kind,
    coverage_rows,
    diagnostics_rows,
    edge_auc,
    errors,
    interval_hits,
    ks_pass_fraction,
    posterior_means,
    recovery_rows,
)
from benchmarks.hawkes_truths import DT, EDGE_PROB, draw_continuous_truth, draw_discrete_truth, saturated_truth
from benchmarks.report import printed_section
from cli_types import int_at_least
from hawkes_model import HawkesPrior, HawkesProcessModel, simulate_hawkes
from safe_files import atomic_write
from spike_file import events_to_raster

# Discrete data sets: N_TRIALS trials of N_STEPS steps of DT seconds each.
N_TRIALS = 30
N_STEPS = 100
# Run sizes: data sets (continuous, discrete, discrete also fitted in continuous time, dense
# continuous), D and events of the continuous ones, warm-up and draws per chain.
FULL = dict(
    n_calib=100, n_cont=4, n_disc=8, n_bias=1, n_dense=4, n_dims=8, n_events=20_000, n_warmup=1000, n_samples=1000
)
QUICK = dict(n_calib=20, n_cont=2, n_disc=2, n_bias=1, n_dense=1, n_dims=4, n_events=2_000, n_warmup=300, n_samples=300)
# Dense continuous truths (every alpha > 0): coverage without the boundary at alpha = 0.
# Simulation-based calibration: truths drawn from this fixed prior (discrete time), so the
# posterior's intervals must cover them at exactly their nominal rate if the sampler is right.
CALIB_PRIOR = dict(mu_mean=30.0, alpha_mean=0.15, beta_median=1.0 / DT, beta_log_sd=0.5)
CALIB_N_DIMS = 3
DENSE_N_DIMS = 4
DENSE_N_EVENTS = 5_000
N_CHAINS = 4


# ----------------------------------------------------------------------------- one data set
def validate_one(model, events, end_time, truth, statistics_for, beta_grid, dt, settings, seed):
    """Fit one data set and compute every score against its truth.

    Returns
    -------
    dict
        Fit time, R-hat and ESS, errors of the posterior mean and MLE, interval hits, AUCs,
        KS pass fractions, and the log-likelihood cross-check (ours vs ``hawkes_mle``'s).
    """
    mu_t, alpha_t, beta_t = truth
    n_dims = len(mu_t)
    counts = np.array([sum(len(trial[i]) for trial in events) for i in range(n_dims)])
    exposure = end_time * len(events)
    # cross-check of the two implementations at the truth
    ours = model.log_likelihood(events, end_time, mu_t, alpha_t, beta_t)
    features, compensators = statistics_for(beta_t)
    mine = -sum(
        target_objective(np.concatenate([[mu_t[i]], alpha_t[i]]), f, c, dt)[0]
        for i, (f, c) in enumerate(zip(features, compensators))
    )
    start = perf_counter()
    post = model.fit(
        events,
        end_time,
        n_samples=settings["n_samples"],
        n_warmup=settings["n_warmup"],
        n_chains=N_CHAINS,
        seed=seed,
        progress=False,
        conjugate_columns=settings["conjugate_columns"],
    )
    fit_s = perf_counter() - start
    mu_p, alpha_p, beta_p = posterior_means(post)
    mu_m, alpha_m, beta_m = fit_mle(statistics_for, beta_grid, dt, rate_start(counts, exposure, n_dims))
    ks_truth = model.goodness_of_fit(events, end_time, mu_t, alpha_t, beta_t)
    ks_fit = model.goodness_of_fit(events, end_time, mu_p, alpha_p, beta_p)
    ks_poisson = model.goodness_of_fit(events, end_time, counts / exposure, np.zeros_like(alpha_t), beta_p)
    return {
        "n_events": int(counts.sum()),
        "fit_s": fit_s,
        "max_rhat": float(post.max_rhat),
        "min_ess": float(post.min_ess_bulk),
        "loglik_rel_diff": abs(ours - mine) / abs(mine),
        "posterior": errors(mu_p, alpha_p, beta_p, truth),
        "mle": errors(mu_m, alpha_m, beta_m, truth),
        "hits50": {k: v.tolist() for k, v in coverage_by_kind(post, truth, 0.5).items()},
        "hits90": {k: v.tolist() for k, v in coverage_by_kind(post, truth, 0.9).items()},
        "auc_posterior": edge_auc(alpha_p, alpha_t),
        "auc_mle": edge_auc(alpha_m, alpha_t),
        "ks_pass_truth": ks_pass_fraction(ks_truth, counts),
        "ks_pass_fit": ks_pass_fraction(ks_fit, counts),
        "ks_pass_poisson": ks_pass_fraction(ks_poisson, counts),
        "ks_mean_fit": float(np.nanmean(ks_fit)),
        "ks_mean_poisson": float(np.nanmean(ks_poisson)),
        "absent_mean_q95": absent_alpha(post, alpha_t),
        "absent_mle_mean": (float(alpha_m[alpha_t == 0].mean()) if np.any(alpha_t == 0) else float("nan")),
    }


def run_continuous(seed_seq, settings, n_dims, n_events, edge_prob=EDGE_PROB):
    """Validate on one continuous data set drawn from ``seed_seq``."""
    rng = np.random.default_rng(seed_seq)
    truth = draw_continuous_truth(rng, n_dims, edge_prob)
    end_time = end_time_for(truth[0], truth[1], n_events)
    sim_seed, fit_seed = (int(s) for s in rng.integers(0, 2**31, 2))
    events = [simulate_hawkes(*truth, end_time, seed=sim_seed)]
    model = HawkesProcessModel(n_dims, time="continuous", beta="shared")
    return validate_one(
        model,
        events,
        end_time,
        truth,
        lambda b: continuous_statistics(events, [end_time], b),
        BETA_GRID_CONT,
        None,
        settings,
        fit_seed,
    )


def run_discrete(seed_seq, settings):
    """Validate on one discrete data set drawn from ``seed_seq``; returns (record, data)."""
    rng = np.random.default_rng(seed_seq)
    truth = draw_discrete_truth(rng)
    sim_seed, fit_seed = (int(s) for s in rng.integers(0, 2**31, 2))
    events = simulate_trials(*truth, N_STEPS * DT, N_TRIALS, sim_seed, "discrete", DT)
    raster = events_to_raster(events, N_STEPS, DT)
    model = HawkesProcessModel(len(truth[0]), time="discrete", dt=DT, beta="shared")
    record = validate_one(
        model,
        events,
        N_STEPS * DT,
        truth,
        lambda b: discrete_statistics(raster, b, DT),
        BETA_DT_GRID / DT,
        DT,
        settings,
        fit_seed,
    )
    return record, (events, truth, fit_seed)


def run_calibration(seed_seq, settings, beta_kind="shared"):
    """One simulation-based calibration draw: truth from the prior, data from the truth.

    With the truth drawn from the same prior the sampler uses, every central credible
    interval covers it with exactly its nominal probability, whatever the data say; a
    shortfall can only come from the sampler (or from too few effective draws).
    ``beta_kind``: one decay for the network (``"shared"``) or one per pair (``"pair"``),
    drawn and fitted so.

    Returns
    -------
    dict
        ``hits50``, ``hits90``: lists of bools over all mu, alpha and beta.
    """
    truth_rng, data_seed, fit_seed = (np.random.default_rng(s) for s in seed_seq.spawn(3))
    prior = HawkesPrior(**CALIB_PRIOR)
    d = CALIB_N_DIMS
    mu = truth_rng.gamma(prior.mu_shape, prior.mu_mean / prior.mu_shape, d)
    alpha = truth_rng.gamma(prior.alpha_shape, prior.alpha_mean / prior.alpha_shape, (d, d))
    beta = np.exp(
        truth_rng.normal(np.log(prior.beta_median), prior.beta_log_sd, () if beta_kind == "shared" else (d, d))
    )
    events = [
        simulate_hawkes(mu, alpha, beta, N_STEPS * DT, seed=data_seed, time="discrete", dt=DT) for _ in range(N_TRIALS)
    ]
    model = HawkesProcessModel(d, time="discrete", dt=DT, beta=beta_kind, prior=prior)
    post = model.fit(
        events,
        N_STEPS * DT,
        n_samples=settings["n_samples"],
        n_warmup=settings["n_warmup"],
        n_chains=N_CHAINS,
        seed=fit_seed,
        progress=False,
        conjugate_columns=settings["conjugate_columns"],
    )
    hits = {}
    for level in (0.5, 0.9):
        hits[f"hits{round(level * 100)}"] = np.concatenate(
            [
                interval_hits(post.mu, mu, level).ravel(),
                interval_hits(post.alpha, alpha, level).ravel(),
                np.ravel(interval_hits(post.beta, beta, level)),
            ]
        ).tolist()
    return hits


def grid_bias(events, truth, fit_seed, settings):
    """Fit the same grid data with the discrete and the continuous model, Bayes and MLE.

    Returns
    -------
    dict
        Per model (``discrete``, ``continuous``): ``alpha_scale`` (sum of posterior-mean alpha
        over true edges / sum of true alpha there), ``mle_alpha_scale`` (the same for the
        MLE), ``auc``, ``beta_dt`` (posterior-mean beta * dt) and ``max_rhat``.
    """
    mu_t, alpha_t, _ = truth
    n_dims = len(mu_t)
    edge = alpha_t > 0
    raster = events_to_raster(events, N_STEPS, DT)
    start = rate_start(raster.sum(axis=(0, 2)), N_TRIALS * N_STEPS * DT, n_dims)
    statistics = {
        "discrete": lambda b: discrete_statistics(raster, b, DT),
        "continuous": lambda b: continuous_statistics(events, [N_STEPS * DT] * len(events), b),
    }
    out = {}
    for mode in ("discrete", "continuous"):
        model = HawkesProcessModel(n_dims, time=mode, dt=DT, beta="shared")
        post = model.fit(
            events,
            N_STEPS * DT,
            n_samples=settings["n_samples"],
            n_warmup=settings["n_warmup"],
            n_chains=N_CHAINS,
            seed=fit_seed,
            progress=False,
            conjugate_columns=settings["conjugate_columns"],
        )
        _, alpha_p, beta_p = posterior_means(post)
        alpha_m = fit_mle(statistics[mode], BIAS_BETA_DT_GRID / DT, DT if mode == "discrete" else None, start)[1]
        out[mode] = {
            "alpha_scale": float(alpha_p[edge].sum() / alpha_t[edge].sum()),
            "mle_alpha_scale": float(alpha_m[edge].sum() / alpha_t[edge].sum()),
            "auc": edge_auc(alpha_p, alpha_t),
            "beta_dt": float(beta_p * DT),
            "max_rhat": float(post.max_rhat),
        }
    return out


# ----------------------------------------------------------------------------- tables
def print_summary(title, records):
    print_table(
        f"{title}: recovery ({len(records)} data sets; mean over data sets)",
        ("error", "posterior mean", "MLE", "posterior / MLE", "share of sets posterior <= MLE"),
        recovery_rows(records),
    )
    print_table(
        f"{title}: coverage of central credible intervals (pooled)",
        ("parameters", "50% intervals", "90% intervals", "n"),
        coverage_rows(records),
    )
    print_table(f"{title}: edges, goodness of fit, convergence", ("quantity", "value"), diagnostics_rows(records))


# ----------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"about a minute: {QUICK['n_cont']} continuous (D = "
        f"{QUICK['n_dims']}, {QUICK['n_events']} events) and "
        f"{QUICK['n_disc']} discrete data sets, "
        f"{QUICK['n_warmup']}+{QUICK['n_samples']} iterations per chain",
    )
    parser.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of truths, simulations and samplers (default 0)"
    )
    parser.add_argument(
        "--n-calibration",
        type=int_at_least(0),
        default=None,
        help="simulation-based calibration data sets, truth drawn from the prior (default: 20 quick, 100 full)",
    )
    parser.add_argument(
        "--n-continuous",
        type=int_at_least(0),
        default=None,
        help=f"continuous data sets (default {FULL['n_cont']}, quick {QUICK['n_cont']})",
    )
    parser.add_argument(
        "--n-discrete",
        type=int_at_least(0),
        default=None,
        help=f"discrete data sets (default {FULL['n_disc']}, quick "
        f"{QUICK['n_disc']}); the first --n-bias also get a continuous fit",
    )
    parser.add_argument(
        "--n-bias",
        type=int_at_least(0),
        default=None,
        help=f"discrete data sets also fitted in continuous time (default "
        f"{FULL['n_bias']}, quick {QUICK['n_bias']}); when > 0, a "
        "saturated SNN-like network is added",
    )
    parser.add_argument(
        "--n-dense",
        type=int_at_least(0),
        default=None,
        help=f"continuous data sets with every alpha > 0 (D = {DENSE_N_DIMS}, "
        f"~{DENSE_N_EVENTS} events; default {FULL['n_dense']}, quick "
        f"{QUICK['n_dense']})",
    )
    parser.add_argument(
        "--conjugate-columns",
        type=int_at_least(0),
        default=0,
        help="every fit with the sampler's conjugate proposals on this many columns a sweep (default 0: off); "
        "written as its own section",
    )
    parser.add_argument("--out", type=Path, default=None, help="optional JSON file of every data set's numbers")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    if args.out is not None and (not args.out.resolve().parent.is_dir() or args.out.is_dir()):
        parser.error(f"--out: {args.out} is a folder, or its folder does not exist")  # before the hour of fits
    return args


def run(args):
    """The benchmark itself, printing its tables."""
    settings = dict(QUICK if args.quick else FULL)
    for key, value in (
        ("n_calib", args.n_calibration),
        ("n_cont", args.n_continuous),
        ("n_disc", args.n_discrete),
        ("n_bias", args.n_bias),
        ("n_dense", args.n_dense),
    ):
        settings[key] = settings[key] if value is None else value
    settings["n_bias"] = min(settings["n_bias"], settings["n_disc"])
    settings["conjugate_columns"] = args.conjugate_columns
    cont_seeds, disc_seeds, dense_seeds, calib_seeds = np.random.SeedSequence(args.seed).spawn(4)
    start = perf_counter()
    print(
        f"machine: {os.cpu_count()} CPUs, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}; settings {settings}"
    )

    calib = {}
    for kind, label in (("shared", "one shared beta"), ("pair", "one beta per pair")):
        calib[kind] = [run_calibration(s, settings, kind) for s in calib_seeds.spawn(settings["n_calib"])]
        if calib[kind]:
            print_table(
                f"Simulation-based calibration, {label}: {len(calib[kind])} discrete data sets "
                f"({CALIB_N_DIMS} neurons x {N_TRIALS} trials x {N_STEPS} steps), truth drawn from the prior "
                f"{CALIB_PRIOR}; every mu, alpha, beta pooled",
                ("interval", "parameters", "coverage"),
                calibration_rows(calib[kind]),
            )
    cont = [
        run_continuous(s, settings, settings["n_dims"], settings["n_events"])
        for s in cont_seeds.spawn(settings["n_cont"])
    ]
    if cont:
        print_summary(f"Continuous (D = {settings['n_dims']}, ~{settings['n_events']} events, shared beta)", cont)
    dense = [
        run_continuous(s, settings, DENSE_N_DIMS, DENSE_N_EVENTS, edge_prob=1.0)
        for s in dense_seeds.spawn(settings["n_dense"])
    ]
    if dense:
        print_summary(
            f"Continuous, dense truth without absent edges (D = {DENSE_N_DIMS}, ~{DENSE_N_EVENTS} events)", dense
        )
    disc_runs = [run_discrete(s, settings) for s in disc_seeds.spawn(settings["n_disc"])]
    disc = [record for record, _ in disc_runs]
    if disc:
        print_summary(f"Discrete (13 neurons x {N_TRIALS} trials x {N_STEPS} steps, dt = {DT} s)", disc)
    bias_data = [(f"random network {k}", data) for k, (_, data) in enumerate(disc_runs[: settings["n_bias"]])]
    if settings["n_bias"]:
        sat_seed = int(disc_seeds.generate_state(1)[0])
        bias_data.append(
            (
                "saturated SNN-like network",
                (
                    simulate_trials(*saturated_truth(), N_STEPS * DT, N_TRIALS, sat_seed, "discrete", DT),
                    saturated_truth(),
                    sat_seed,
                ),
            )
        )
    bias = [grid_bias(*data, settings) for _, data in bias_data]
    if bias:
        print_table(
            "Grid spike times fitted by the discrete and by the continuous model "
            "(alpha scale: sum of estimated alpha / sum of true alpha over true edges; "
            "posterior mean / MLE)",
            (
                "data set",
                "alpha scale discrete",
                "alpha scale continuous",
                "posterior discrete / continuous",
                "AUC discrete / continuous",
                "beta*dt discrete / continuous",
                "max R-hat discrete / continuous",
            ),
            bias_rows([name for name, _ in bias_data], bias),
        )
    if args.out is not None:
        report = {
            "settings": settings,
            "seed": args.seed,
            "calibration": calib,
            "continuous": cont,
            "dense": dense,
            "discrete": disc,
            "grid_bias": {name: res for (name, _), res in zip(bias_data, bias)},
        }
        try:
            with atomic_write(args.out) as tmp:
                tmp.write_text(json.dumps(report, indent=1))
        except OSError as err:
            sys.exit(f"validate_hawkes.py: error: cannot write {args.out}: {err}")
    print(
        f"\nvalidated {len(calib['shared'])} + {len(calib['pair'])} calibration (shared + pair beta), {len(cont)} "
        f"sparse and {len(dense)} dense continuous, {len(disc)} discrete and {len(bias)} grid-bias data sets in "
        f"{perf_counter() - start:.0f} s"
    )


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.validate_hawkes", *(sys.argv[1:] if argv is None else argv)])
    conjugate = args.conjugate_columns
    with printed_section(
        "validate-hawkes" + ("-conjugate" if conjugate else ""),
        "The sampler on simulated data: calibration, recovery, coverage"
        + (f", conjugate proposals on {conjugate} columns a sweep" if conjugate else ""),
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
