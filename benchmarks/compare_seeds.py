"""The Hawkes posterior against the other methods at every seed, on all test trials of each group.

``benchmarks.compare_connectivity`` compares the methods on one spike file (seed 0) at growing
numbers of trials; a ranking that holds at one seed need not hold at others. Here every seed is
trained and fitted as ``benchmarks.seeds`` does it (the scripts' defaults, plus any flags), but
each group fitted alone, as ``compare_connectivity`` fits it (every method sees the same trials), and
the synapses of every fitted group are ranked by every method of ``compare_connectivity`` on
all of the group's test trials (tick only where it imports). The table gives the AUC over the
observable pairs; the summary counts the (seed, group) cells in which each method ranks above
the posterior, and compares the worst group of each seed, the number the seed sweeps judge.

Reads:  nothing.
Writes: the "comparison-seeds" section of docs/RESULTS.md, or with ``--section NAME`` that
        section (unless ``--no-report``); prints it.
Command:  python -m benchmarks.compare_seeds
          python -m benchmarks.compare_seeds --seeds 219 223 --section comparison-seeds-misses
"""

import argparse
import shlex
import sys
import tempfile

import numpy as np

from benchmarks import seeds
from benchmarks.compare_connectivity import METHODS, compare
from benchmarks.fresh_test_sets import fit_alone
from benchmarks.report import SECTION_NAME, write_section
from connectivity import connection_matrix
from posterior_file import load_posterior
from spike_file import load_spike_trains

HAWKES = METHODS[0]


def compare_seed(seed, train_flags=(), fit_flags=()):
    """Train and fit one seed in a temporary folder; every method's AUCs on each fitted group.

    Returns
    -------
    dict
        Group -> (number of trials, method -> (AUC over the observable pairs, AUC over all
        pairs)), as ``compare_connectivity.compare``; NaN for a method that did not run.
    """
    with tempfile.TemporaryDirectory() as tmp:
        spike_file = seeds.train(seed, tmp, train_flags)
        posterior = load_posterior(seeds.fit(seed, spike_file, fit_flags))
        signed = load_posterior(seeds.fit(seed, spike_file, [*fit_flags, "--model", "signed"], "posterior_signed.npz"))
        spike_data = load_spike_trains(spike_file)
    true_weights, _ = connection_matrix(posterior.weights, posterior.layer_sizes)
    return compare(spike_data, posterior, true_weights, seed, signed)


def observable_aucs(by_seed):
    """Rows ``(seed, group, trials, {method: AUC over the observable pairs})``, in seed order."""
    return [
        (seed, name, n, {method: scores[method][0] for method in METHODS})
        for seed, results in by_seed.items()
        for name, (n, scores) in results.items()
    ]


def summary(by_seed):
    """Two sentences: the cells each method wins against the posterior, and the worst groups
    (their medians, how often above the posterior's, how often at the AUC goal).

    Cells whose posterior AUC is NaN (no scorable pair) and methods that did not run are left out.
    """
    rows = [row for row in observable_aucs(by_seed) if np.isfinite(row[3][HAWKES])]
    others = [m for m in METHODS[1:] if any(np.isfinite(aucs[m]) for *_, aucs in rows)]
    best = sum(all(not aucs[m] > aucs[HAWKES] for m in others) for *_, aucs in rows)
    above = "; ".join(f"{m}: {sum(aucs[m] > aucs[HAWKES] for *_, aucs in rows)}" for m in others)
    worst = {
        m: [np.nanmin([aucs[m] for s, _, _, aucs in rows if s == seed]) for seed in sorted({row[0] for row in rows})]
        for m in (HAWKES, *others)
    }
    medians = "; ".join(f"{m}: {np.median(values):.3f}" for m, values in worst.items())
    lower = "; ".join(f"{m}: {sum(w > h for w, h in zip(worst[m], worst[HAWKES]))}" for m in others)
    at_goal = "; ".join(f"{m}: {sum(w >= seeds.AUC_GOAL for w in values)}" for m, values in worst.items())
    return (
        f"Over the observable pairs the Hawkes posterior ranks the synapses at least as well as every other "
        f"method in {best} of {len(rows)} (seed, group) cells; cells in which a method ranks above it ({above}). "
        f"Worst group of each seed, median over the {len(worst[HAWKES])} seeds ({medians}); seeds at which "
        f"a method's worst group ranks above the posterior's ({lower}); seeds at which it reaches the seed "
        f"sweep's AUC goal, {seeds.AUC_GOAL} in every group ({at_goal})."
    )


def markdown_table(by_seed):
    """One row per (seed, group): its trials and every method's AUC over the observable pairs."""
    lines = ["| seed | group | trials | " + " | ".join(METHODS) + " |", "|---|---|---|" + "---|" * len(METHODS)]
    for seed, name, n, aucs in observable_aucs(by_seed):
        cells = [f"{aucs[m]:.3f}" if np.isfinite(aucs[m]) else "-" for m in METHODS]
        lines.append(f"| {seed} | {name} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(seeds.DEFAULT_SEEDS), help="seeds to run")
    parser.add_argument("--train-flags", type=shlex.split, default=[], help="flags for train_snn.py, quoted")
    parser.add_argument("--fit-flags", type=shlex.split, default=[], help="flags for fit_hawkes_process.py, quoted")
    parser.add_argument(
        "--section", default="comparison-seeds", help="section of docs/RESULTS.md to write (default comparison-seeds)"
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    if any(seed < 0 for seed in args.seeds):
        parser.error("seeds must be >= 0")
    if not SECTION_NAME.fullmatch(args.section):
        parser.error("--section: use lower-case letters, digits and hyphens")
    fit_alone(parser, args)
    return args


def section_title(args):
    """Heading of the section: which seeds, and any flags passed to the scripts (the fit alone left out)."""
    flags = " ".join(shlex.join(f) for f in (args.train_flags, args.fit_flags) if f)
    return f"The Hawkes posterior against other methods at {seeds.seeds_phrase(args.seeds)}, all trials" + (
        f" (`{flags}`)" if flags else ""
    )


def main(argv=None):
    args = parse_args(argv)
    try:
        by_seed = {seed: compare_seed(seed, args.train_flags, args.alone_fit_flags) for seed in args.seeds}
    except RuntimeError as err:  # a script's one-line error
        sys.exit(f"compare_seeds: error: {err}")
    text = f"{markdown_table(by_seed)}\n\n{summary(by_seed)}"
    print(text)
    if not args.no_report:
        command = shlex.join(["python", "-m", "benchmarks.compare_seeds", *(sys.argv[1:] if argv is None else argv)])
        write_section(args.section, section_title(args), command, text)


if __name__ == "__main__":
    main()
