"""Is a group of wrong trials ranked worse than its size explains? Same-size subsets of correct trials.

A network that classifies well leaves few wrong trials: a group of wrong trials holds a handful
where the class's correct group holds nearly all of its test trials, and a fit to fewer spikes
ranks the synapses less well. Whether a wrong group's AUC says something about the wrong trials, or only
about its size, needs the spread of the AUC at that size. For each seed's network
(``train_snn.py --seed S``, its defaults or ``--train-flags``), every fitted group of wrong trials
is fitted beside ``--subsets`` random subsets of as many trials drawn from the correct trials of
the same class (same stimulus, same background), by ``fit_hawkes_process.py``'s fit (its defaults
or ``--fit-flags``, but each group alone, ``--partial-pooling none`` whatever the script's default:
pooled by class the subsets would share one prior, and under the cut a subset of wrong trials would
borrow from the correct ones; either way they would no longer stand for groups of their size), and
every fit is scored by the AUC over its observable pairs, as the seed sweep scores the script's
file. The wrong group and the class's correct group are the script's fit of them alone (the
numbers of a seed sweep with ``--fit-flags '--partial-pooling none'``); both they and the subsets are fitted and scored
by ``benchmarks.fresh_test_sets.fit_and_score``. Seeds without a fitted group of wrong trials are
trained and listed, not fitted.

A seed's subsets are drawn from ``default_rng([S, SUBSET_KEY])``, wrong group after wrong group,
and their chains seeded from ``SeedSequence([S, SUBSET_KEY])``: streams that neither the training
nor the stored fit uses.

Reads:  nothing.
Writes: the "group-size" section of docs/RESULTS.md, or with ``--section NAME`` that section
        (unless ``--no-report``); prints the table.
Command:  python -m benchmarks.group_size                     (seeds 0-9, 10 subsets a group)
"""

import shlex
import sys
import tempfile

import numpy as np

import fit_hawkes_process
from benchmarks.fresh_test_sets import check_network_args, fit_alone, fit_and_score, network_parser
from benchmarks.report import write_section
from benchmarks.seeds import AUC_GOAL, flags_text, seeds_phrase, short_of, train
from spike_file import load_spike_trains
from trial_groups import group_backgrounds

SUBSET_KEY = 2**31 - 3  # a word of entropy apart from fresh_test_sets' keys
COLUMNS = (
    "seed",
    "wrong group",
    "trials",
    "its AUC",
    "same-size subsets of correct trials: AUC min-median-max",
    "subsets below it",
    f"subsets < {AUC_GOAL}",
    "correct group (trials): AUC",
    "subsets converged",
    "spikes a trial: group; subsets (median)",
)


def same_size_subsets(wrong_groups, correct_trials, n_subsets, rng):
    """``n_subsets`` random subsets of each wrong group's size from the correct trials of its class.

    Parameters
    ----------
    wrong_groups : dict
        Wrong group name (``"<class>_wrong"``) -> its trial indices.
    correct_trials : dict
        Correct group name (``"<class>_correct"``) -> its trial indices.
    n_subsets : int
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``"<class>_wrong/<r>"`` -> int64 array of distinct, sorted trial indices, as many as the
        wrong group holds, for each wrong group whose class has more correct trials than that.
    """
    subsets = {}
    for name, trials in wrong_groups.items():
        pool = correct_trials.get(name.removesuffix("_wrong") + "_correct", ())
        if len(pool) <= len(trials):
            continue
        for r in range(n_subsets):
            subsets[f"{name}/{r}"] = np.sort(rng.choice(np.asarray(pool), len(trials), replace=False))
    return subsets


def seed_rows(seed, n_subsets, train_flags=(), fit_flags=(), n_jobs=-1):
    """Train one seed; fit its wrong groups' same-size subsets of correct trials beside the stored fit.

    Returns
    -------
    list of dict
        One per fitted wrong group with a larger correct group of its class: ``seed``,
        ``group``, ``trials``, ``auc`` (its own), ``correct`` (the class's correct group),
        ``correct_trials``, ``correct_auc``, ``subset_aucs`` (n_subsets,), ``converged`` (subsets
        within the fit's limits), ``spikes`` (the group's spikes a trial, every neuron) and
        ``subset_spikes`` (n_subsets,) (each subset's). Empty when the seed has none.
    """
    fit_args = fit_hawkes_process.parse_args(["--seed", str(seed), *fit_flags])
    with tempfile.TemporaryDirectory() as tmp:
        spike_data = load_spike_trains(train(seed, tmp, train_flags))
    plan = fit_hawkes_process.plan_fit(spike_data, fit_args)
    wrong = {name: trials for name, trials in plan["groups"].items() if name.endswith("_wrong")}
    correct = {name: trials for name, trials in plan["groups"].items() if name.endswith("_correct")}
    subsets = same_size_subsets(wrong, correct, n_subsets, np.random.default_rng([seed, SUBSET_KEY]))
    if not subsets:
        return []
    stored = fit_and_score(spike_data, plan, plan["groups"], plan["backgrounds"], fit_args.per_trial, seed, n_jobs)
    backgrounds = group_backgrounds(spike_data, subsets, fit_args.background)
    fitted = fit_and_score(spike_data, plan, subsets, backgrounds, fit_args.per_trial, [seed, SUBSET_KEY], n_jobs)
    spikes_a_trial = spike_data["spikes"].sum(axis=(1, 2))  # (n_trials,)
    rows = []
    for name in wrong:
        mine = [f"{name}/{r}" for r in range(n_subsets)]
        if mine[0] not in subsets:  # no larger correct group of its class
            continue
        class_correct = name.removesuffix("_wrong") + "_correct"
        rows.append(
            {
                "seed": seed,
                "group": name,
                "trials": len(wrong[name]),
                "auc": stored["auc"][name],
                "correct": class_correct,
                "correct_trials": len(correct[class_correct]),
                "correct_auc": stored["auc"][class_correct],
                "subset_aucs": np.array([fitted["auc"][subset] for subset in mine]),
                "converged": sum(fitted["converged"][subset] for subset in mine),
                "spikes": float(spikes_a_trial[wrong[name]].mean()),
                "subset_spikes": np.array([spikes_a_trial[subsets[subset]].mean() for subset in mine]),
            }
        )
    return rows


def summary(rows, seeds):
    """One paragraph: where the wrong groups' AUCs fall among their subsets', and the groups below the bar."""
    without = [str(seed) for seed in seeds if all(row["seed"] != seed for row in rows)]
    if not rows:
        return (
            f"No seed has a fitted group of wrong trials and a larger correct group of its class ({len(seeds)} seeds)."
        )
    # Subsets without a scorable pair (AUC NaN) are passed over; a group none of whose subsets
    # scored is in none of the three counts.
    subsets = [row["subset_aucs"][np.isfinite(row["subset_aucs"])] for row in rows]
    scored = [(aucs, row["auc"]) for aucs, row in zip(subsets, rows) if aucs.size]
    share_below = np.array([np.mean(aucs < auc) for aucs, auc in scored])
    # Every scored group is inside its subsets' range, or strictly below or above every one of them.
    inside = sum(aucs.min() <= auc <= aucs.max() for aucs, auc in scored)
    below = sum(bool(np.all(aucs > auc)) for aucs, auc in scored)
    above = np.array([aucs.size > 0 and np.all(aucs < row["auc"]) for aucs, row in zip(subsets, rows)], dtype=bool)
    missing = [row for row in rows if row["auc"] < AUC_GOAL]
    none_at = f" (none fitted at {', '.join(without)})" if without else ""
    text = (
        f"{len(rows)} wrong groups at {len({row['seed'] for row in rows})} of {len(seeds)} seeds{none_at}. "
        "A group's AUC lies within the range of its "
        f"same-size subsets of correct trials in {inside} of {len(rows)}, below every subset in "
        f"{below}, above every one in {int(above.sum())}; "
        + (
            f"the share of subsets below it has median {np.median(share_below):.2f} over the groups (about 0.5 if the "
            "wrong trials rank like as many correct trials)."
            if scored
            else "no group has a subset with a scorable pair."
        )
    )
    busier = np.array([row["spikes"] > np.median(row["subset_spikes"]) for row in rows])
    text += (
        f" A group fires more spikes a trial than its median subset in {int(busier.sum())} of {len(rows)}; "
        f"of the {int(above.sum())} above every subset, in {int(busier[above].sum())}."
    )
    if missing:
        text += (
            f" Wrong groups below AUC {AUC_GOAL}: "
            + "; ".join(
                f"seed {row['seed']} {row['group']} ({row['trials']} trials, {short_of(row['auc'], AUC_GOAL)}), whose "
                f"subsets fall below {AUC_GOAL} in {int(np.sum(row['subset_aucs'] < AUC_GOAL))} of "
                f"{len(row['subset_aucs'])}"
                for row in missing
            )
            + "."
        )
    return text


def markdown_table(rows, seeds):
    """One row per wrong group, then ``summary``."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        aucs = row["subset_aucs"]
        lines.append(
            f"| {row['seed']} | {row['group']} | {row['trials']} | {short_of(row['auc'], AUC_GOAL)} | "
            f"{aucs.min():.3f}-{np.median(aucs):.3f}-{aucs.max():.3f} | {int(np.sum(aucs < row['auc']))}/{len(aucs)} | "
            f"{int(np.sum(aucs < AUC_GOAL))}/{len(aucs)} | {row['correct']} ({row['correct_trials']}): "
            f"{row['correct_auc']:.3f} | {row['converged']}/{len(aucs)} | "
            f"{row['spikes']:.0f}; {np.median(row['subset_spikes']):.0f} |"
        )
    return "\n".join([*lines, "", summary(rows, seeds)])


def section_title(args):
    """Heading of the section: which seeds, and any flags that are not the defaults (the fit alone left out)."""
    flags = flags_text(args.train_flags, args.fit_flags)
    seeds = seeds_phrase(args.seeds)
    return f"Groups of wrong trials against same-size subsets of correct trials, {seeds}" + (
        f", with {flags}" if flags else ""
    )


def parse_args(argv=None):
    parser = network_parser(__doc__.split("\n\n")[0], "group-size")
    parser.add_argument("--subsets", type=int, default=10, help="same-size subsets of correct trials per wrong group")
    args = parser.parse_args(argv)
    check_network_args(parser, args)
    if args.subsets < 1:
        parser.error("--subsets must be at least 1")
    fit_alone(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        rows = [
            row
            for seed in args.seeds
            for row in seed_rows(seed, args.subsets, args.train_flags, args.alone_fit_flags, args.n_jobs)
        ]
    except (RuntimeError, ValueError) as err:  # a script's one-line error, or a fit the spike file cannot take
        sys.exit(f"group_size: error: {err}")
    table = markdown_table(rows, args.seeds)
    print(table)
    if not args.no_report:
        command = shlex.join(["python", "-m", "benchmarks.group_size", *(sys.argv[1:] if argv is None else argv)])
        write_section(args.section, section_title(args), command, table)


if __name__ == "__main__":
    main()
