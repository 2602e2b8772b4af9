"""Which summary of alpha's posterior ranks the synapses best: the mean, the median or the 5% quantile, by group size.

Every AUC of record (the seed sweeps', the heatmap's) ranks the pairs by alpha's posterior
mean. A pair the spikes say little about keeps a wide posterior whose mean stays near the
prior's; the 5% quantile (``q05``, the lower end of the 90% credible interval that greys the
heatmap) ranks a pair by how large its alpha is with 95% posterior probability, so a pair ranks
high only where the trials show it; the median lies between. The fewer the trials, the more
pairs the spikes say little about, so the question is asked by group size. For each seed's
network (``train_snn.py --seed S``, its defaults or ``--train-flags``), the fit script's groups
are fitted each alone (by the mean, the numbers of a seed sweep with ``--fit-flags
'--partial-pooling none'``), and beside them ``--subsets`` random subsets of each of ``--sizes``
trials drawn from every group of correct trials (fewer trials of the same class, stimulus and
background), by ``fit_hawkes_process.py``'s fit (its defaults or ``--fit-flags``, but each group
alone, as for ``benchmarks.group_size``); every
fit is scored by the AUC over its observable pairs under each summary, from the same draws.

A seed's subsets are drawn from ``default_rng([S, SUMMARY_KEY])`` and their chains seeded from
``SeedSequence([S, SUMMARY_KEY])``: streams that neither the training, the stored fit nor
``benchmarks.group_size`` uses.

Reads:  nothing.
Writes: the "alpha-summary" section of docs/RESULTS.md, or with ``--section NAME`` that section
        (unless ``--no-report``); prints the table.
Command:  python -m benchmarks.alpha_summary        (seeds 0-9; 4 subsets of 5, 10 and 20 trials)
"""

import shlex
import sys
import tempfile
from functools import partial

import numpy as np

import fit_hawkes_process
from benchmarks.fresh_test_sets import check_network_args, fit_alone, fit_posterior, network_parser
from benchmarks.report import write_section
from benchmarks.seeds import AUC_GOAL, flags_text, seeds_phrase, short_of, train
from connectivity import connection_matrix, group_aucs
from mcmc_diagnostics import is_converged
from spike_file import load_spike_trains
from trial_groups import group_backgrounds

SUMMARY_KEY = 2**31 - 5  # a word of entropy apart from fresh_test_sets' and group_size's keys
SUMMARIES = ("mean", "median", "q05")  # the first is the AUC of record; the others are set beside it
SUMMARY_NAMES = {"mean": "the mean", "median": "the median", "q05": "the 5% quantile"}
SIZES = (5, 10, 20)


def alpha_summary(group, summary):
    """One summary of a group's alpha draws, shape (D, D): ``"median"`` from the draws, else the file's.

    Parameters
    ----------
    group : posterior_file.GroupPosterior
        Its ``alpha`` draws (C, S, D, D) and ``summary["alpha"]`` (``mean``, ``q05``, ...).
    summary : str
        ``"median"`` or a key of ``summary["alpha"]``.
    """
    if summary == "median":
        return np.median(np.asarray(group.alpha, dtype=np.float64), axis=(0, 1))
    return group.summary["alpha"][summary]


def summary_aucs(posterior, true_weights):
    """Group name -> summary -> AUC over the group's observable pairs (NaN: none scorable)."""
    by_summary = {
        summary: group_aucs(posterior, true_weights, observable=True, alpha=partial(alpha_summary, summary=summary))
        for summary in SUMMARIES
    }
    return {name: {summary: by_summary[summary][name] for summary in SUMMARIES} for name in posterior.groups}


def correct_subsets(groups, sizes, n_subsets, rng):
    """``n_subsets`` random subsets of each size from every group of correct trials larger than it.

    Parameters
    ----------
    groups : dict
        Group name -> its trial indices; those named ``"<class>_correct"`` are drawn from.
    sizes : sequence of int
    n_subsets : int
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``"<class>_correct/<size>/<r>"`` -> int64 array of ``size`` distinct, sorted trial indices.
    """
    return {
        f"{name}/{size}/{r}": np.sort(rng.choice(np.asarray(trials), size, replace=False))
        for name, trials in groups.items()
        if name.endswith("_correct")
        for size in sizes
        if size < len(trials)
        for r in range(n_subsets)
    }


def seed_fits(seed, sizes, n_subsets, train_flags=(), fit_flags=(), n_jobs=-1):
    """Train one seed; fit its groups and their subsets of correct trials; score each fit under every summary.

    Returns
    -------
    list of dict
        One per fit: ``seed``, ``group`` (the script's group name, or the subset's), ``kind``
        (``"correct"``, ``"wrong"`` or ``"subset"``), ``trials``, ``aucs`` (summary -> AUC) and
        ``converged`` (bool). The script's groups come first, in its order.
    """
    fit_args = fit_hawkes_process.parse_args(["--seed", str(seed), *fit_flags])
    with tempfile.TemporaryDirectory() as tmp:
        spike_data = load_spike_trains(train(seed, tmp, train_flags))
    plan = fit_hawkes_process.plan_fit(spike_data, fit_args)
    subsets = correct_subsets(plan["groups"], sizes, n_subsets, np.random.default_rng([seed, SUMMARY_KEY]))
    true_weights, _ = connection_matrix(spike_data["weights"], spike_data["layer_sizes"])
    posteriors = [
        fit_posterior(spike_data, plan, plan["groups"], plan["backgrounds"], fit_args.per_trial, seed, n_jobs)
    ]
    if subsets:
        backgrounds = group_backgrounds(spike_data, subsets, fit_args.background)
        posteriors.append(
            fit_posterior(spike_data, plan, subsets, backgrounds, fit_args.per_trial, [seed, SUMMARY_KEY], n_jobs)
        )
    scored = [(posterior, summary_aucs(posterior, true_weights)) for posterior in posteriors]
    return [
        {
            "seed": seed,
            "group": name,
            "kind": "subset" if "/" in name else name.rsplit("_", 1)[-1],
            "trials": len(group.trials),
            "aucs": aucs[name],
            "converged": is_converged(group.max_rhat, group.min_ess_bulk),
        }
        for posterior, aucs in scored
        for name, group in posterior.groups.items()
    ]


def _row_label(kind, size):
    return {"correct": "groups of correct trials", "wrong": "groups of wrong trials"}.get(
        kind, f"subsets of {size} correct trials"
    )


def _cell(aucs, reference=None):
    """``"0.931 (0.874)"``: average and lowest AUC; with ``reference``, then ``"; 12/3/1"``: fits higher/lower/equal.

    ``"-"`` when no fit has a scorable AUC (under both summaries, with ``reference``).
    """
    scored = ~np.isnan(aucs) if reference is None else ~np.isnan(aucs) & ~np.isnan(reference)
    if not scored.any():
        return "-"
    text = f"{np.mean(aucs[scored]):.3f} ({np.min(aucs[scored]):.3f})"
    if reference is None:
        return text
    higher, lower = int(np.sum(aucs[scored] > reference[scored])), int(np.sum(aucs[scored] < reference[scored]))
    return f"{text}; {higher}/{lower}/{int(scored.sum()) - higher - lower}"


def markdown_table(fits, seeds):
    """One row per kind of fit (subsets by size, the script's groups of wrong, then of correct trials); ``summary``."""
    header = ["fits", "trials", "converged", *(f"AUC by {SUMMARY_NAMES[summary]}" for summary in SUMMARIES)]
    lines = ["| " + " | ".join(["kind", *header]) + " |", "|" + "---|" * (len(header) + 1)]
    subset_sizes = sorted({fit["trials"] for fit in fits if fit["kind"] == "subset"})
    for kind, size in [*(("subset", size) for size in subset_sizes), ("wrong", None), ("correct", None)]:
        rows = [fit for fit in fits if fit["kind"] == kind and (size is None or fit["trials"] == size)]
        if not rows:
            continue
        aucs = {summary: np.array([fit["aucs"][summary] for fit in rows]) for summary in SUMMARIES}
        trials = [fit["trials"] for fit in rows]
        cells = [
            _row_label(kind, size),
            str(len(rows)),
            f"{min(trials)}-{max(trials)}" if min(trials) < max(trials) else str(trials[0]),
            f"{sum(fit['converged'] for fit in rows)}/{len(rows)}",
            _cell(aucs[SUMMARIES[0]]),
            *(_cell(aucs[summary], aucs[SUMMARIES[0]]) for summary in SUMMARIES[1:]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", summary(fits, seeds)])


def summary(fits, seeds):
    """The table's legend, and each summary's worst group per seed (the seed sweep's goal)."""
    stored = [fit for fit in fits if fit["kind"] != "subset"]
    text = (
        "Each cell: the average AUC over the observable pairs (the lowest in brackets); beside the mean's, the fits "
        "whose AUC is higher/lower/equal under that summary, from the same draws. The script's groups are the seed "
        "sweep's fits."
    )
    for summary_name in SUMMARIES:
        worst = np.array(
            [
                np.nanmin([fit["aucs"][summary_name] for fit in stored if fit["seed"] == seed] or [np.nan])
                for seed in seeds
            ]
        )
        text += (
            f" By {SUMMARY_NAMES[summary_name]}: the worst group's AUC {short_of(np.nanmin(worst), AUC_GOAL)}-"
            f"{np.nanmax(worst):.3f} (median {np.nanmedian(worst):.3f}), >= {AUC_GOAL} in every group at "
            f"{int(np.sum(worst >= AUC_GOAL))} of {len(seeds)} seeds."
        )
    return text


def section_title(args):
    """Heading of the section: which seeds, and any flags that are not the defaults (the fit alone left out)."""
    flags = flags_text(args.train_flags, args.fit_flags)
    seeds = seeds_phrase(args.seeds)
    return f"Which summary of alpha's posterior ranks the synapses, by group size, {seeds}" + (
        f", with {flags}" if flags else ""
    )


def parse_args(argv=None):
    parser = network_parser(__doc__.split("\n\n")[0], "alpha-summary")
    parser.add_argument(
        "--subsets", type=int, default=4, help="random subsets of each size per group of correct trials"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="trials in a subset")
    args = parser.parse_args(argv)
    check_network_args(parser, args)
    if args.subsets < 1 or min(args.sizes) < 1:
        parser.error("--subsets and --sizes must be at least 1")
    fit_alone(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        fits = [
            fit
            for seed in args.seeds
            for fit in seed_fits(seed, args.sizes, args.subsets, args.train_flags, args.alone_fit_flags, args.n_jobs)
        ]
    except (RuntimeError, ValueError) as err:  # a script's one-line error, or a fit the spike file cannot take
        sys.exit(f"alpha_summary: error: {err}")
    table = markdown_table(fits, args.seeds)
    print(table)
    if not args.no_report:
        command = shlex.join(["python", "-m", "benchmarks.alpha_summary", *(sys.argv[1:] if argv is None else argv)])
        write_section(args.section, section_title(args), command, table)


if __name__ == "__main__":
    main()
