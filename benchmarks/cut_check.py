"""What the cut borrows and what it hides: small groups whose Hawkes truth is, or is not, their large group's.

``fit_hawkes_process.py --partial-pooling cut`` fits a class's wrong group under exponential
priors whose means are its correct group's posterior means of alpha (``group_fits.cut_prior``).
That borrows strength where the two groups share one truth, as the wrong and correct trials of
one trained network share its synapses, and shrinks a difference where they do not. Both are
measured here on discrete-time Hawkes data of known truth, in the spiking network's grid and
trial length: a random graph of ``N_NEURONS`` neurons (each ordered pair an edge with
``EDGE_PROB``, alpha ``ALPHA_EDGE``, one decay ``BETA``, background ``MU``); a large group of
``N_LARGE`` trials and two small groups of ``N_SMALL`` trials, one with the large group's
truth and one whose truth differs in ``N_CHANGED`` edges removed and as many added. The large
group is fitted alone, each small group alone and under the cut (the fit script's model and
sampler defaults, a constant background). Each repetition draws its own graph and trials
(``--seed``, then the next seeds). Scored on each small group's own truth: the AUC over all
pairs (``connectivity.connectivity_auc``); in the differing group also the added edges against
the pairs absent from both truths (is a new synapse found?) and the kept edges against the
removed ones (is a lost synapse seen to go?). 0.5 is chance.

Reads:  nothing.
Writes: the "cut-check" section of docs/RESULTS.md (unless ``--no-report``); prints it.
Command:  python -m benchmarks.cut_check
"""

import argparse
import shlex
import sys
from time import perf_counter

import numpy as np

import fit_hawkes_process
from benchmarks.report import printed_section
from cli_types import int_at_least
from connectivity import connectivity_auc, roc_auc
from group_fits import cut_prior, fit_group
from hawkes_model import HawkesPrior, simulate_hawkes
from mcmc_diagnostics import is_converged

N_NEURONS = 10
EDGE_PROB = 0.25
ALPHA_EDGE = 0.15  # about 2.5 edges into a neuron: a row sums to about 0.4, well below 1
BETA = 1000.0  # 1/s: most of an effect on the next step, like a synapse on the network's grid
MU = 60.0  # 1/s
DT, N_STEPS = 0.001, 100  # the spiking network's grid and trial length
N_LARGE, N_SMALL = 190, 10  # a class's correct trials and a typical group of wrong ones
N_CHANGED = 2  # edges removed, and as many added, in the differing small group


def draw_truths(rng):
    """The large group's alpha and the differing small group's, (D, D) each [target, source]."""
    off_diagonal = ~np.eye(N_NEURONS, dtype=bool)
    large = np.where((rng.random((N_NEURONS, N_NEURONS)) < EDGE_PROB) & off_diagonal, ALPHA_EDGE, 0.0)
    small = large.copy()
    edges, absent = np.flatnonzero(large > 0), np.flatnonzero((large == 0) & off_diagonal)
    small.flat[rng.choice(edges, N_CHANGED, replace=False)] = 0.0
    small.flat[rng.choice(absent, N_CHANGED, replace=False)] = ALPHA_EDGE
    return large, small


def simulate(alpha, n_trials, rng):
    """``n_trials`` realisations of ``N_STEPS`` steps, each a list of D spike-time arrays."""
    return [
        simulate_hawkes(np.full(N_NEURONS, MU), alpha, BETA, N_STEPS * DT, seed=rng, time="discrete", dt=DT)
        for _ in range(n_trials)
    ]


def sampler_options():
    """The fit script's default sampler settings."""
    return fit_hawkes_process.sampler_settings(fit_hawkes_process.parse_args([]))


def scores(alpha_mean, truth, large):
    """AUC over all pairs against ``truth``; added against absent-in-both; kept against removed."""
    off_diagonal = ~np.eye(len(truth), dtype=bool)
    added, removed = (truth > 0) & (large == 0), (truth == 0) & (large > 0)
    absent, kept = (truth == 0) & (large == 0) & off_diagonal, (truth > 0) & (large > 0)
    return (
        connectivity_auc(alpha_mean, truth)[0],
        roc_auc(alpha_mean[added | absent], added[added | absent]),
        roc_auc(alpha_mean[kept | removed], kept[kept | removed]),
    )


def repetition(seed, options):
    """One graph: the large group's fit, then each small group alone and under the cut.

    Returns
    -------
    dict
        ``same`` and ``differs`` -> ``{"alone": (auc, ...), "cut": (...)}`` (``scores``: the AUC
        alone for ``same``; all three for ``differs``); ``converged``: every fit met the limits.
    """
    rng = np.random.default_rng(seed)
    large, small = draw_truths(rng)
    events = {"large": simulate(large, N_LARGE, rng), "same": simulate(large, N_SMALL, rng)}
    events["differs"] = simulate(small, N_SMALL, rng)
    model = {"time": "discrete", "dt": DT, "prior": HawkesPrior()}
    seeds = dict(zip(events, np.random.SeedSequence(seed).spawn(len(events))))
    lead = fit_group(events["large"], N_STEPS * DT, N_NEURONS, model, options, seeds["large"])
    fits = [lead]
    result = {}
    for name, truth in (("same", large), ("differs", small)):
        result[name] = {}
        for how, prior in (("alone", model["prior"]), ("cut", cut_prior(model["prior"], lead["alpha"]))):
            fit = fit_group(events[name], N_STEPS * DT, N_NEURONS, {**model, "prior": prior}, options, seeds[name])
            fits.append(fit)
            result[name][how] = scores(fit["alpha"].mean(axis=(0, 1)), truth, large)
    result["converged"] = all(is_converged(fit["max_rhat"], fit["min_ess_bulk"]) for fit in fits)
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--repetitions", type=int_at_least(1), default=10, help="graphs drawn, one seed each")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the first repetition")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    return parser.parse_args(argv)


HEADER = (
    "| seed | same truth: alone | cut | differing truth: alone | cut | added edges: alone | cut "
    "| kept against removed: alone | cut | converged |\n|---|---|---|---|---|---|---|---|---|---|"
)


def run(args):
    start, options = perf_counter(), sampler_options()
    rows = []
    print(HEADER, flush=True)
    for seed in range(args.seed, args.seed + args.repetitions):
        result = repetition(seed, options)
        row = [result["same"]["alone"][0], result["same"]["cut"][0]]
        for k in range(3):
            row += [result["differs"]["alone"][k], result["differs"]["cut"][k]]
        rows.append(row)
        cells = " | ".join(f"{value:.3f}" for value in row)
        print(f"| {seed} | {cells} | {'yes' if result['converged'] else 'NO'} |", flush=True)
    print(f"| median | {' | '.join(f'{value:.3f}' for value in np.median(rows, axis=0))} | |")
    print(
        f"\nAUC of each small group's posterior mean of alpha against its own truth: over all pairs; for the "
        f"differing group also its added edges against the pairs absent from both truths, and its kept edges "
        f"against its removed ones (0.5: chance). {N_NEURONS} neurons, {N_LARGE} trials in the large group and "
        f"{N_SMALL} in each small one, {N_CHANGED} edges removed and {N_CHANGED} added in the differing one; "
        f"converged: every fit of the repetition met the fit script's limits; total {perf_counter() - start:.0f} s."
    )


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.cut_check", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "cut-check",
        "What the cut borrows and what it hides: small groups of known truth",
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
