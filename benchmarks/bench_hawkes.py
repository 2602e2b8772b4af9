"""Benchmark the Hawkes model: log-likelihood speed and MCMC efficiency, measured side by side.

One script because its tables share their simulated data sets and one run measures them all
under the same load; the references it times ours against are in ``loglik_references.py``, the
timed fit and its diagnostics in ``mcmc_efficiency.py``.

Every number is measured in the same run on simulated data with known parameters:

1. continuous log-likelihood (D = 8, about 20,000 events, shared beta, a new beta every
   call): ``HawkesProcessModel.log_likelihood`` against a pure-Python O(N * D) recursion
   (``benchmarks/loglik_references.py``) and, when it imports, tick's C++
   ``ModelHawkesExpKernLogLik``;
2. discrete log-likelihood (13 neurons x 30 trials x 100 steps of 1 ms) against a pure-Python
   grid recursion;
3. cost of the continuous log-likelihood when the number of events doubles (x2, x4, x8);
4. MCMC: a discrete fit of that 13-neuron problem and a continuous fit of the D = 8 problem,
   4 chains x 1000 draws after 200 warm-up sweeps: wall time, max R-hat, min bulk ESS and min
   bulk ESS per second, and which parameter mixes slowest. (The same problem against NumPyro's
   NUTS: ``benchmarks/check_against_nuts.py``.)

Timings are the minimum over ``--repeats`` rounds of the mean over several calls
(``time.perf_counter``); nothing is asserted, goals are printed beside the measurements.

Reads:  nothing (all data are simulated with ``--seed``).
Writes: nothing; prints markdown tables.
Command for the README tables, from the repository root (tick rows need ``pip install -r
requirements-bench.txt``):
    python -m benchmarks.bench_hawkes
Short check:  python -m benchmarks.bench_hawkes --quick
"""

import argparse
import functools
import itertools
import math
import os
import platform
import shlex
import sys
from time import perf_counter

import numpy as np
import scipy

from benchmarks.loglik_references import (
    import_tick,
    loglik_continuous_reference,
    loglik_discrete_reference,
    tick_loglik,
)
from benchmarks.mcmc_efficiency import fit_and_diagnose, mcmc_rows
from benchmarks.report import printed_section
from cli_types import int_at_least
from hawkes_model import HawkesProcessModel, simulate_hawkes
from mcmc_diagnostics import MIN_ESS_BULK

# Continuous standard problem: D = 8, about 20,000 events, one shared decay.
CONT_N_DIMS = 8
CONT_N_EVENTS = 20_000
CONT_N_EVENTS_QUICK = 5_000
CONT_BETA = 2.0  # 1/s
# Discrete standard problem: the network's 13 neurons (input, 10 hidden, 2 output).
DISC_N_TRIALS = 30
DISC_N_STEPS = 100
DISC_DT = 0.001  # s per step
DISC_BETA = 1000.0  # 1/s, so beta * dt = 1
SCALING_FACTORS = (1, 2, 4, 8)  # events multiplied by these in the scaling table
# MCMC settings: the fit script's warm-up, more kept draws for a precise ESS.
N_CHAINS = 4
N_SAMPLES = 1000
N_WARMUP = 200
N_SAMPLES_QUICK = 300
N_WARMUP_QUICK = 100
# Goals, printed beside the measurements; R-hat and ESS are judged by the repository's
# convergence limits, mcmc_diagnostics.MAX_RHAT and MIN_ESS_BULK.
GOAL_TICK_RATIO = 1.0  # our time / tick's time, new beta
GOAL_DOUBLING_RATIO = 2.2
GOAL_DISC_WALL_S = 10.0
GOAL_CONT_ESS_PER_S = 40.0


# ----------------------------------------------------------------------------- problems
def continuous_truth():
    """The continuous standard problem's parameters: a sparse, stable 8-node network.

    Returns
    -------
    mu : ndarray, shape (8,)
        Baseline rates, 1/s.
    alpha : ndarray, shape (8, 8)
        Branching ratios, ``alpha[i, j]`` from source ``j`` to target ``i``; a ring, every
        other node self-exciting and two long-range edges (row sums <= 0.75, so stable).
    beta : float
        Shared decay, 1/s.
    """
    n = CONT_N_DIMS
    mu = np.linspace(0.5, 1.2, n)
    alpha = np.zeros((n, n))
    alpha[(np.arange(n) + 1) % n, np.arange(n)] = 0.3
    alpha[np.arange(0, n, 2), np.arange(0, n, 2)] = 0.2
    alpha[2, 6] = 0.25
    alpha[5, 1] = 0.25
    return mu, alpha, CONT_BETA


def end_time_for(mu, alpha, n_events):
    """Window length (s) whose expected event count is ``n_events`` at the stationary rates."""
    rates = np.linalg.solve(np.eye(len(mu)) - alpha, mu)  # (D,) stationary rates, 1/s
    return float(n_events / rates.sum())


def discrete_truth():
    """The discrete standard problem: a sparse feed-forward network like the SNN's.

    Neuron 0 is the input, 1-10 hidden, 11-12 output. The input drives hidden 0-5; hidden 0-4
    drive output 0 and hidden 5-9 output 1; every other entry of alpha is an absent edge.

    Returns
    -------
    mu : ndarray, shape (13,)
        Baseline rates, 1/s.
    alpha : ndarray, shape (13, 13)
    beta : float
        Decay, 1/s (``beta * dt = 1``).
    """
    mu = np.full(13, 20.0)
    mu[0] = 200.0
    alpha = np.zeros((13, 13))
    alpha[1:7, 0] = 0.4
    alpha[11, 1:6] = 0.3
    alpha[12, 6:11] = 0.3
    return mu, alpha, DISC_BETA


def simulate_trials(mu, alpha, beta, end_time, n_trials, seed, mode, dt=1.0):
    """Simulate ``n_trials`` independent realisations, trial ``r`` seeded ``seed + r``."""
    return [simulate_hawkes(mu, alpha, beta, end_time, seed=seed + r, time=mode, dt=dt) for r in range(n_trials)]


def count_events(events):
    """Number of events in a list of realisations."""
    return sum(len(times) for trial in events for times in trial)


# ----------------------------------------------------------------------------- tick
def tick_new_decay_loglik(tick_model_cls, events, end_time, mu, alpha, beta):
    """What a sampler changing beta pays in tick: a model for the new decay, set_data, loss."""
    model = tick_model_cls(beta)
    model.fit(events, end_times=end_time)
    return tick_loglik(model, count_events(events), len(mu), end_time, mu, alpha)


# ----------------------------------------------------------------------------- timing
def time_per_call(fn, n_calls, n_repeats):
    """Minimum over ``n_repeats`` rounds of the mean time (s) of ``n_calls`` calls of ``fn()``."""
    best = math.inf
    for _ in range(n_repeats):
        start = perf_counter()
        for _ in range(n_calls):
            fn()
        best = min(best, (perf_counter() - start) / n_calls)
    return best


def new_beta_caller(fn, beta):
    """Wrap ``fn(beta)`` into ``fn()`` that uses a different beta (0.01% apart) every call."""
    counter = itertools.count()
    return lambda: fn(beta * (1.0 + 1e-4 * next(counter)))


def relative_difference(a, b):
    return abs(a - b) / abs(b)


def format_table(headers, rows):
    """A markdown table with columns padded to a common width."""
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[c]) for r in cells) for c in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def print_table(title, headers, rows):
    print(f"\n### {title}\n")
    print(format_table(headers, rows))


def ms(seconds):
    return f"{seconds * 1e3:.3f}"


# ----------------------------------------------------------------------------- sections
def machine_rows(tick_version):
    """(name, value) rows describing the machine and library versions."""
    import torch  # the repo's runtime pin; only its version and thread count are reported

    return [
        ("CPU", platform.processor() or platform.machine()),
        ("CPU count (os.cpu_count)", os.cpu_count()),
        ("usable cores (sched_getaffinity)", len(os.sched_getaffinity(0))),
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
        ("scipy", scipy.__version__),
        ("torch", f"{torch.__version__} ({torch.get_num_threads()} threads)"),
        ("tick", tick_version),
        ("load average (1, 5, 15 min) at start", ", ".join(f"{x:.1f}" for x in os.getloadavg())),
    ]


def time_ours(events, end_time, mu, alpha, beta, mode, dt, n_calls, n_repeats):
    """Time our log-likelihood with a new beta every call, with and without indexed data.

    Returns
    -------
    warm : float
        s per call on one model: it indexes the events once and reuses them (content-keyed
        cache), which is what a sampler changing beta pays.
    cold : float
        s per call on a new model each call: validation and indexing of the events included.
    """

    def new_model():
        return HawkesProcessModel(len(mu), time=mode, dt=dt, beta="shared")

    model = new_model()
    warm = time_per_call(
        new_beta_caller(lambda b: model.log_likelihood(events, end_time, mu, alpha, b), beta), n_calls, n_repeats
    )
    cold = time_per_call(
        new_beta_caller(lambda b: new_model().log_likelihood(events, end_time, mu, alpha, b), beta), n_calls, n_repeats
    )
    return warm, cold


def bench_continuous_loglik(events, end_time, mu, alpha, beta, tick_cls, n_repeats):
    """Rows comparing ours, the Python reference and tick on one continuous data set."""
    n_events = count_events(events)
    ours = HawkesProcessModel(len(mu)).log_likelihood(events, end_time, mu, alpha, beta)
    reference = loglik_continuous_reference(events, end_time, mu, alpha, beta)
    warm, cold = time_ours(events, end_time, mu, alpha, beta, "continuous", 1.0, 20, n_repeats)
    t_ref = time_per_call(
        new_beta_caller(lambda b: loglik_continuous_reference(events, end_time, mu, alpha, b), beta),
        1,
        min(n_repeats, 3),
    )
    rows = [
        ("ours: log_likelihood, data indexed once (cached)", ms(warm), "1.00", f"{ours:.6f}", "-"),
        ("ours: new model + log_likelihood (indexes data)", ms(cold), f"{cold / warm:.2f}", "-", "-"),
        (
            "pure-Python recursion",
            ms(t_ref),
            f"{t_ref / warm:.1f}",
            f"{reference:.6f}",
            f"{relative_difference(ours, reference):.1e}",
        ),
    ]
    timings = {"warm": warm, "cold": cold, "reference": t_ref}
    if tick_cls is not None:
        tick_value = tick_new_decay_loglik(tick_cls, events, end_time, mu, alpha, beta)
        t_tick_new = time_per_call(
            new_beta_caller(lambda b: tick_new_decay_loglik(tick_cls, events, end_time, mu, alpha, b), beta),
            20,
            n_repeats,
        )
        fitted = tick_cls(beta)
        fitted.fit(events, end_times=end_time)

        def set_decay_and_loss(b):
            fitted.decay = b  # tick's setter drops its weights; loss recomputes them
            return tick_loglik(fitted, n_events, len(mu), end_time, mu, alpha)

        t_tick_setter = time_per_call(new_beta_caller(set_decay_and_loss, beta), 20, n_repeats)
        fitted.decay = beta
        t_tick_cached = time_per_call(
            lambda: tick_loglik(fitted, n_events, len(mu), end_time, mu, alpha), 50, n_repeats
        )
        rows += [
            (
                "tick: decay setter + loss (data kept, weights recomputed)",
                ms(t_tick_setter),
                f"{t_tick_setter / warm:.2f}",
                "-",
                "-",
            ),
            (
                "tick: new model + set_data + loss",
                ms(t_tick_new),
                f"{t_tick_new / warm:.2f}",
                f"{tick_value:.6f}",
                f"{relative_difference(ours, tick_value):.1e}",
            ),
            (
                "tick: loss only, same decay (weights cached)",
                ms(t_tick_cached),
                f"{t_tick_cached / warm:.2f}",
                "-",
                "-",
            ),
        ]
        timings.update(tick_new=t_tick_new, tick_setter=t_tick_setter, tick_cached=t_tick_cached)
    return rows, timings


def bench_discrete_loglik(events, mu, alpha, beta, n_repeats):
    """Rows comparing ours with the pure-Python grid reference on the discrete problem."""
    end_time = DISC_N_STEPS * DISC_DT
    model = HawkesProcessModel(len(mu), time="discrete", dt=DISC_DT, beta="shared")
    ours = model.log_likelihood(events, end_time, mu, alpha, beta)
    reference = loglik_discrete_reference(events, DISC_N_STEPS, DISC_DT, mu, alpha, beta)
    warm, cold = time_ours(events, end_time, mu, alpha, beta, "discrete", DISC_DT, 20, n_repeats)
    t_ref = time_per_call(
        new_beta_caller(lambda b: loglik_discrete_reference(events, DISC_N_STEPS, DISC_DT, mu, alpha, b), beta),
        1,
        min(n_repeats, 3),
    )
    return [
        ("ours: log_likelihood, data indexed once (cached)", ms(warm), "1.0", f"{ours:.6f}", "-"),
        ("ours: new model + log_likelihood (indexes data)", ms(cold), f"{cold / warm:.1f}", "-", "-"),
        (
            "pure-Python grid recursion",
            ms(t_ref),
            f"{t_ref / warm:.0f}",
            f"{reference:.6f}",
            f"{relative_difference(ours, reference):.1e}",
        ),
    ]


def bench_scaling(mu, alpha, beta, base_events, seed, tick_cls, n_repeats):
    """Rows of the continuous log-likelihood's time (new beta) as the number of events doubles."""
    base_end = end_time_for(mu, alpha, base_events)
    rows, previous, first = [], None, None
    for factor in SCALING_FACTORS:
        end_time = base_end * factor
        events = [simulate_hawkes(mu, alpha, beta, end_time, seed=seed + factor)]
        times = time_ours(events, end_time, mu, alpha, beta, "continuous", 1.0, 10, n_repeats)
        first = first or times
        cells = [f"x{factor}", count_events(events)]
        for k, t in enumerate(times):
            cells += [
                ms(t),
                "-" if previous is None else f"{t / previous[k]:.2f}",
                "-" if factor == 1 else f"{(t / first[k]) ** (1 / math.log2(factor)):.2f}",
            ]
        if tick_cls is not None:
            t_tick = time_per_call(
                new_beta_caller(functools.partial(tick_new_decay_loglik, tick_cls, events, end_time, mu, alpha), beta),
                10,
                n_repeats,
            )
            cells.append(f"{ms(t_tick)} ({times[1] / t_tick:.2f})")
        else:
            cells.append("-")
        rows.append(cells)
        previous = times
    return rows


# ----------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"short run: {CONT_N_EVENTS_QUICK} continuous events, "
        f"{N_WARMUP_QUICK}+{N_SAMPLES_QUICK} MCMC iterations per chain",
    )
    parser.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of the simulated data and of the samplers (default 0)"
    )
    parser.add_argument(
        "--repeats",
        type=int_at_least(1),
        default=5,
        help="timing rounds; the minimum over rounds is reported (default 5)",
    )
    parser.add_argument("--no-mcmc", action="store_true", help="only the log-likelihood tables (skips the two fits)")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    return parser.parse_args(argv)


def run(args):
    """The benchmark itself, printing its tables."""
    n_events = CONT_N_EVENTS_QUICK if args.quick else CONT_N_EVENTS
    n_samples, n_warmup = (N_SAMPLES_QUICK, N_WARMUP_QUICK) if args.quick else (N_SAMPLES, N_WARMUP)
    tick_cls, tick_version = import_tick()
    print_table("Machine", ("item", "value"), machine_rows(tick_version))

    cont = continuous_truth()
    cont_end = end_time_for(cont[0], cont[1], n_events)
    cont_events = [simulate_hawkes(*cont, cont_end, seed=args.seed)]
    rows, timings = bench_continuous_loglik(cont_events, cont_end, *cont, tick_cls, args.repeats)
    print_table(
        f"Continuous log-likelihood, D = {CONT_N_DIMS}, {count_events(cont_events)} "
        f"events, shared beta, new beta each call (goal: ours / tick <= "
        f"{GOAL_TICK_RATIO})",
        ("method", "ms per call", "time / ours cached", "log L", "rel. diff. to ours"),
        rows,
    )
    if tick_cls is None:
        print(f"\ntick rows skipped: {tick_version}")
    else:
        print(
            f"\nours / tick, data kept (ours cached vs tick decay setter + loss): "
            f"{timings['warm'] / timings['tick_setter']:.2f}\n"
            f"ours / tick, data indexed every call (new model vs new model + set_data + "
            f"loss): {timings['cold'] / timings['tick_new']:.2f}"
        )

    disc = discrete_truth()
    disc_events = simulate_trials(*disc, DISC_N_STEPS * DISC_DT, DISC_N_TRIALS, args.seed, "discrete", DISC_DT)
    print_table(
        f"Discrete log-likelihood, 13 neurons x {DISC_N_TRIALS} trials x "
        f"{DISC_N_STEPS} steps (dt = {DISC_DT} s), {count_events(disc_events)} spikes",
        ("method", "ms per call", "time / ours cached", "log L", "rel. diff. to ours"),
        bench_discrete_loglik(disc_events, *disc, args.repeats),
    )

    print_table(
        f"Scaling of the continuous log-likelihood, new beta each call (ratio: to the "
        f"row above; per doubling: (t / t_x1) ** (1 / log2 factor), goal <= "
        f"{GOAL_DOUBLING_RATIO})",
        (
            "events",
            "n",
            "cached ms",
            "ratio",
            "per doubling",
            "new model ms",
            "ratio",
            "per doubling",
            "tick new model ms (ours new model / tick)",
        ),
        bench_scaling(cont[0], cont[1], cont[2], n_events, args.seed + 100, tick_cls, args.repeats),
    )
    if args.no_mcmc:
        return

    disc_model = HawkesProcessModel(13, time="discrete", dt=DISC_DT, beta="shared")
    disc_fit = fit_and_diagnose(
        disc_model, disc_events, DISC_N_STEPS * DISC_DT, disc, n_samples, n_warmup, N_CHAINS, args.seed
    )
    print_table(
        f"MCMC, discrete: 13 neurons x {DISC_N_TRIALS} trials x {DISC_N_STEPS} steps, "
        f"{N_CHAINS} chains x {n_samples} draws after {n_warmup} warm-up",
        ("quantity", "measured", "goal / reference"),
        mcmc_rows(disc_fit, f"<= {GOAL_DISC_WALL_S:g}", MIN_ESS_BULK / GOAL_DISC_WALL_S),
    )
    cont_model = HawkesProcessModel(CONT_N_DIMS, time="continuous", beta="shared")
    cont_fit = fit_and_diagnose(cont_model, cont_events, cont_end, cont, n_samples, n_warmup, N_CHAINS, args.seed)
    print_table(
        f"MCMC, continuous: D = {CONT_N_DIMS}, {count_events(cont_events)} events, "
        f"shared beta, {N_CHAINS} chains x {n_samples} draws after {n_warmup} warm-up",
        ("quantity", "measured", "goal / reference"),
        mcmc_rows(cont_fit, "-", GOAL_CONT_ESS_PER_S),
    )
    print(
        f"\ndiscrete fit {disc_fit['wall_s']:.1f} s, min ESS/s {disc_fit['ess_per_s']:.1f}; "
        f"continuous fit {cont_fit['wall_s']:.1f} s, min ESS/s {cont_fit['ess_per_s']:.1f}"
    )


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.bench_hawkes", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "bench-hawkes", "The Hawkes model: likelihood speed and MCMC efficiency", command, enabled=not args.no_report
    ):
        return run(args)


if __name__ == "__main__":
    main()
