"""Simulation-based calibration of the signed Hawkes model's sampler: beta known, at its mode, sampled.

Each data set draws its truth from the prior the fit uses (``CALIB_PRIOR``), simulates it with
``signed_hawkes.simulate`` (``CALIB_N_DIMS`` neurons, every off-diagonal coupling, ``N_LAGS`` own
lags, ``--n-trials`` trials x ``N_STEPS`` steps of 1 ms; by default 30, the linear model's
calibration size) and fits it three ways with ``fit_signed`` (``--fits``):

- *beta known*: given the true decay. The draws are then of the exact posterior of ``m``, ``w`` and
  ``h`` given beta, and with the truth drawn from that prior every central credible interval
  covers its truth at exactly its nominal rate, whatever the data: a shortfall can only be the
  sampler's (or too few effective draws).
- *beta at its mode*: as the fit script fits, beta fixed at the joint posterior mode
  (``find_mode``). Its uncertainty is not propagated, so the intervals may fall short of their
  rate; this column measures by how much at this size of data.
- *beta sampled*: ``sample_beta=True``, beta drawn with the couplings (``beta_move``); its own
  intervals are scored as well. Like the first, its intervals must cover at their nominal rate.

``m``'s prior is centred on the log of a fixed rate, ``CALIB_RATE``, not on the data's mean rate
as in the fit script (``SignedData.log_rate`` is replaced): a prior that depends on the data
cannot be the one the truths are drawn from. Coverage is pooled over parameters and data sets
with a binomial standard error (a lower bound: the parameters of one data set are correlated).

Reads:  nothing (all data are simulated with ``--seed``).
Writes: the "sbc-signed" section of docs/RESULTS.md (``--section``; none with ``--no-report``);
prints it.
Commands, from the repository root (tens of minutes each on 2 cores):
    python -m benchmarks.calibrate_signed
    python -m benchmarks.calibrate_signed --n-trials 200 --n-sets 100 --section sbc-signed-200
    python -m benchmarks.calibrate_signed --fits known --n-sets 800 --seed 1 --section sbc-signed-known-800
"""

import argparse
import dataclasses
import shlex
import sys
from time import perf_counter

import numpy as np

import signed_hawkes as sh
import signed_sampler as ss
from benchmarks.bench_hawkes import print_table
from benchmarks.hawkes_scores import coverage_rows, interval_hits
from benchmarks.report import printed_section, section_name
from cli_types import int_at_least
from fit_hawkes_process import N_WARMUP

DT = 0.001  # s
CALIB_RATE = 30.0  # 1/s: the centre of m's prior, exp(m) with no recent spikes
CALIB_PRIOR = sh.SignedPrior(m_sd=0.5, w_sd=1.0, beta_log_sd=0.5)
CALIB_N_DIMS = 3
N_LAGS = 2
N_TRIALS = 30
N_STEPS = 100
N_CHAINS = 4
N_SAMPLES = 500  # kept draws per chain, then on in rounds until converged, as the fit script
MAX_SAMPLES = 2000
FITS = {  # name -> fit_signed's options, given the data set's true decay
    "known": lambda beta: {"beta": beta},
    "mode": lambda beta: {},
    "sampled": lambda beta: {"sample_beta": True},
}
LABELS = {
    "known": "beta known (the sampler alone)",
    "mode": "beta at its mode (the fit script's)",
    "sampled": "beta sampled (sample_beta)",
}


def draw_truth(rng, prior=CALIB_PRIOR, n_dims=CALIB_N_DIMS, n_lags=N_LAGS, dt=DT):
    """One truth from the prior: ``m`` (D,), ``w`` (D, D) with a zero diagonal, ``h`` (D, L), and
    ``beta`` in 1/s (``log beta ~ Normal(log(1 / dt), beta_log_sd)``)."""
    m = rng.normal(np.log(CALIB_RATE), prior.m_sd, n_dims)
    w = rng.normal(0.0, prior.w_sd, (n_dims, n_dims)) * (1 - np.eye(n_dims))
    h = rng.normal(0.0, prior.w_sd, (n_dims, n_lags))
    beta = float(np.exp(rng.normal(np.log(1.0 / dt), prior.beta_log_sd)))
    return m, w, h, beta


def hits_by_kind(post, truth, level):
    """Whether each fitted parameter's central ``level`` interval covers its truth, by kind: ``m``,
    ``w`` (off-diagonal), ``h``, and ``beta`` where it was sampled."""
    m, w, h, beta = truth
    off = ~np.eye(len(m), dtype=bool)
    hits = {
        "m": interval_hits(post.m, m, level).ravel(),
        "w": interval_hits(post.w, w, level)[off],
        "h": interval_hits(post.h, h, level).ravel(),
    }
    if post.beta_sampled:
        hits["beta"] = np.ravel(interval_hits(post.beta, beta, level))
    return hits


def calibrate_one(
    seed_seq, n_trials=N_TRIALS, fits=tuple(FITS), n_samples=N_SAMPLES, max_samples=MAX_SAMPLES, n_warmup=N_WARMUP
):
    """One data set of ``n_trials`` trials: its truth, and each fit's interval hits, decay and convergence.

    Returns
    -------
    dict
        ``beta``: the true decay (1/s); ``spikes``: spikes in the data set; per fit of ``fits``
        (keys of ``FITS``) a dict of ``hits50`` / ``hits90`` (kind -> list of bools), ``beta`` (the
        fixed decay, or the posterior mean where sampled), ``max_rhat``, ``min_ess``, ``seconds``.
    """
    truth_seed, data_seed, *fit_seeds = seed_seq.spawn(2 + len(FITS))  # a fit's seed is its own, whatever --fits
    truth = draw_truth(np.random.default_rng(truth_seed))
    m, w, h, beta = truth
    spikes = sh.simulate(m, w, h, beta, DT, n_trials, N_STEPS, seed=data_seed)
    data = dataclasses.replace(sh.prepare(spikes, DT, n_lags=N_LAGS), log_rate=float(np.log(CALIB_RATE)))
    record = {"beta": beta, "spikes": int(spikes.sum())}
    for kind, seed in zip(FITS, fit_seeds):
        if kind not in fits:
            continue
        start = perf_counter()
        post = ss.fit_signed(
            data, CALIB_PRIOR, n_samples, n_warmup, N_CHAINS, seed=seed, max_samples=max_samples, **FITS[kind](beta)
        )
        max_rhat, min_ess = post.diagnostics()
        record[kind] = {
            **{
                f"hits{round(level * 100)}": {k: v.tolist() for k, v in hits_by_kind(post, truth, level).items()}
                for level in (0.5, 0.9)
            },
            "beta": post.beta_mean(),
            "max_rhat": max_rhat,
            "min_ess": min_ess,
            "seconds": perf_counter() - start,
        }
    return record


def summary_rows(records, fits):
    """The fits' convergence and time."""
    rows = []
    for kind in fits:
        runs = [r[kind] for r in records]
        rhat = np.array([f["max_rhat"] for f in runs])
        ess = np.array([f["min_ess"] for f in runs])
        rows.append(
            (
                f"beta {kind}",
                f"{rhat.max():.4f}",
                f"{ess.min():.0f}",
                f"{np.median([f['seconds'] for f in runs]):.2f}",
            )
        )
    return rows


def beta_lines(records, fits):
    """How far the decay of the mode, and the posterior mean of the sampled one, lie from the truth:
    ``|log(estimate / truth)|``, median and largest."""
    lines = []
    for kind, name in (("mode", "at its mode"), ("sampled", "sampled, posterior mean")):
        if kind in fits:
            error = np.abs(np.log([r[kind]["beta"] / r["beta"] for r in records]))
            lines.append(
                f"beta {name} against the truth: |log(estimate / truth)| median {np.median(error):.3f}, "
                f"largest {error.max():.3f} (the prior's sd: {CALIB_PRIOR.beta_log_sd:g})"
            )
    lines.append(f"spikes per data set {np.median([r['spikes'] for r in records]):.0f} (median)")
    return lines


def title(n_trials, fits):
    """The section's title, naming the fits."""
    names = [{"known": "beta known", "mode": "at its mode", "sampled": "sampled"}[kind] for kind in fits]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"The signed model's sampler on simulated data ({n_trials} trials): calibration with {listed}"


def print_report(records, args):
    print(
        f"{len(records)} data sets of {CALIB_N_DIMS} neurons x {args.n_trials} trials x {N_STEPS} steps of "
        f"{DT * 1e3:g} ms, {N_LAGS} own lags, seed {args.seed}; prior {CALIB_PRIOR}, m about "
        f"log {CALIB_RATE:g}; {N_CHAINS} chains, {N_SAMPLES} draws each (on to {MAX_SAMPLES} until "
        f"converged), warm-up {N_WARMUP}"
    )
    for kind in args.fits:
        print_table(
            f"Coverage of central credible intervals, {LABELS[kind]}",
            ("parameters", "50% intervals", "90% intervals", "n"),
            coverage_rows([r[kind] for r in records]),
        )
    print_table(
        "Convergence and time per fit",
        ("fit", "largest R-hat", "smallest bulk ESS", "median seconds"),
        summary_rows(records, args.fits),
    )
    print()
    print("\n".join(beta_lines(records, args.fits)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument("--n-sets", type=int_at_least(1), default=200, help="simulated data sets")
    parser.add_argument(
        "--n-trials", type=int_at_least(1), default=N_TRIALS, help=f"trials of {N_STEPS} steps in each data set"
    )
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the truths, data and fits")
    parser.add_argument(
        "--fits",
        nargs="+",
        choices=tuple(FITS),
        default=list(FITS),
        help="the fits of every data set (run and reported in the order of the choices)",
    )
    parser.add_argument(
        "--section", type=section_name, default="sbc-signed", help="the docs/RESULTS.md section it writes"
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    args.fits = [kind for kind in FITS if kind in args.fits]
    return args


def run(args):
    """The benchmark itself, printing its tables."""
    records = [calibrate_one(s, args.n_trials, args.fits) for s in np.random.SeedSequence(args.seed).spawn(args.n_sets)]
    print_report(records, args)
    return records


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.calibrate_signed", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        args.section,
        title(args.n_trials, args.fits),
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
