"""The same networks under several fits: how much the connectivity answer depends on the fit's settings.

A seed sweep trains a network and fits it once; a fit setting swept that way is judged on
networks that differ too. Here each seed's network is trained once (``train_snn.py --seed S``,
its defaults or ``--train-flags``) and its spike file fitted under every setting
(``fit_hawkes_process.py --seed S`` and the setting's flags; the first setting is the default
fit, so its column is the seed sweep's), every fit scored by the AUC over its groups' observable
pairs, as the seed sweep scores them. By default the settings are the prior's sensitivity: the mean of
every alpha's exponential prior at 0.03, 0.3 and 1 beside the default's 0.1 (docs/MODEL.md,
Priors). ``--setting NAME FLAGS`` compares other fits instead: one decay per pair, say, or the
chains' seed (``--seed``), whose spread is the Monte Carlo noise of the answer. Under the
table, each setting's line: the worst group's AUC over the seeds, the seeds at AUC >= 0.9 in
every group, the groups that converged, the median seconds of a fit (the fit script's ``main``,
on every core), and group by group against the first setting, apart for the groups of correct
trials and of wrong ones (a prior weighs most where the data are few).

``--fit-flags`` go to every setting's fit, before the setting's own.

Reads:  nothing.
Writes: the "fit-settings" section of docs/RESULTS.md, or ``--section`` (unless ``--no-report``);
prints it.
Command:  python -m benchmarks.fit_settings           (seeds 0-9, the prior's sensitivity)
"""

import argparse
import shlex
import sys
import tempfile
from time import perf_counter

import numpy as np

import fit_hawkes_process
from benchmarks.report import RESULTS, SECTION_NAME, write_section
from benchmarks.seeds import (
    AUC_GOAL,
    DEFAULT_SEEDS,
    fit,
    lowest_auc,
    run_script,
    score,
    seeds_phrase,
    short_of,
    train,
)
from mcmc_diagnostics import MAX_RHAT, MIN_ESS_BULK
from spike_file import load_spike_trains

UNCONVERGED_MARK = "†"  # after the AUC of a group whose chains missed the convergence limits
SETTINGS = {
    "default (prior mean 0.1)": [],
    "prior mean 0.03": ["--alpha-prior-mean", "0.03"],
    "prior mean 0.3": ["--alpha-prior-mean", "0.3"],
    "prior mean 1": ["--alpha-prior-mean", "1"],
}


def run_seed(seed, settings, train_flags=()):
    """Train one seed's network once and fit it under every setting.

    Returns
    -------
    dict
        ``seed``, ``test_accuracy``, ``trials`` (group -> fitted trials, the same under every
        setting) and ``fits``: setting name -> ``seeds.score``'s numbers.
    """
    with tempfile.TemporaryDirectory() as tmp:
        spike_file = train(seed, tmp, train_flags)
        accuracy = load_spike_trains(spike_file)["metrics"]["test"]["accuracy"]
        fits = {name: timed_fit(seed, spike_file, flags) for name, flags in settings.items()}
    trials = next(iter(fits.values()))["trials"]
    if any(fit["trials"] != trials for fit in fits.values()):
        raise ValueError(f"seed {seed}: the settings fit different groups; compare settings that fit the same trials")
    return {"seed": seed, "test_accuracy": accuracy, "trials": trials, "fits": fits}


def timed_fit(seed, spike_file, flags):
    """``seeds.score`` of one fit, with ``fit_seconds``: the wall time of the fit script's ``main``."""
    start = perf_counter()
    # The seed sweep's fit, on every core: the last --n-jobs wins, and the result does not depend on it.
    posterior_file = fit(seed, spike_file, [*flags, "--n-jobs", "-1"])
    return {**score(posterior_file), "fit_seconds": perf_counter() - start}


def is_wrong(group):
    """Whether a group holds the trials the network got wrong (``sine_wrong``, ``cosine_wrong``)."""
    return group.endswith("_wrong")


def _change(rows, name, first, wrong):
    """Group by group against the first setting: how many rose, fell, held, and the median change."""
    pairs = np.array(
        [
            [row["fits"][setting]["auc_observable"][group] for setting in (first, name)]
            for row in rows
            for group in row["trials"]
            if is_wrong(group) == wrong
        ]
    ).reshape(-1, 2)
    pairs = pairs[np.isfinite(pairs).all(axis=1)]
    if not pairs.size:
        return "none fitted"
    # Compared as the table's cells show them: 0.9334 against 0.9336 reads 0.933 against 0.934,
    # higher, though their difference rounds to 0.
    shown = np.array([[float(short_of(auc, AUC_GOAL)) for auc in pair] for pair in pairs])
    rose, fell = (shown[:, 1] > shown[:, 0]).sum(), (shown[:, 1] < shown[:, 0]).sum()
    median = np.round(np.median(pairs[:, 1] - pairs[:, 0]), 3) + 0.0  # + 0.0: "+0.000", not "-0.000"
    return (
        f"higher in {rose}, lower in {fell}, the same in {len(pairs) - rose - fell} of {len(pairs)} "
        f"(median change {median:+.3f})"
    )


def summary_line(rows, name, first):
    """One setting's line under the table."""
    worst = np.array([lowest_auc(row["fits"][name]) for row in rows])
    line = (
        f"{name}: worst group's AUC {short_of(np.nanmin(worst), AUC_GOAL)}-{np.nanmax(worst):.3f} (median "
        f"{np.nanmedian(worst):.3f}), >= {AUC_GOAL} in every group at {int((worst >= AUC_GOAL).sum())} of "
        f"{len(rows)} seeds; groups converged: {sum(row['fits'][name]['converged'] for row in rows)} of "
        f"{sum(row['fits'][name]['groups'] for row in rows)}; median fit "
        f"{np.median([row['fits'][name]['fit_seconds'] for row in rows]):.0f} s"
    )
    if name == first:
        return line + "."
    return (
        f"{line}. Against {first}: groups of correct trials {_change(rows, name, first, False)}; "
        f"of wrong trials {_change(rows, name, first, True)}."
    )


def markdown_table(rows, settings):
    """One row per seed and fitted group: its AUC over the observable pairs under every setting,
    marked where the fit's chains missed the convergence limits."""
    names = list(settings)
    lines = [
        "| seed | test acc. | group (trials) | " + " | ".join(names) + " |",
        "|---" * (3 + len(names)) + "|",
    ]
    for row in rows:
        for group, trials in row["trials"].items():
            fits = [row["fits"][name] for name in names]
            cells = (
                f"{short_of(fit['auc_observable'][group], AUC_GOAL)}{UNCONVERGED_MARK * (group in fit['unconverged'])}"
                for fit in fits
            )
            lines.append(
                f"| {row['seed']} | {row['test_accuracy']:.3f} | {group} ({trials}) | " + " | ".join(cells) + " |"
            )
    lines += ["", *(summary_line(rows, name, names[0]) for name in names)]
    lines += [
        "",
        "AUC over the observable pairs; each seed's network is trained once and fitted under every setting, "
        "the chains seeded by the network's seed unless the setting gives its own `--seed`; "
        f"{UNCONVERGED_MARK}: the group's chains missed the fit script's convergence limits (R-hat <= {MAX_RHAT}, "
        f"bulk ESS >= {MIN_ESS_BULK}). Goal: AUC >= {AUC_GOAL} in every fitted group.",
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="seeds to train and fit")
    parser.add_argument("--train-flags", type=shlex.split, default=[], help="flags for train_snn.py, quoted")
    parser.add_argument(
        "--setting",
        nargs=2,
        action="append",
        metavar=("NAME", "FLAGS"),
        help="fit with fit_hawkes_process.py FLAGS under NAME instead of the prior's four settings; the "
        "first is the one the others are set against (repeatable)",
    )
    parser.add_argument(
        "--fit-flags",
        type=shlex.split,
        default=[],
        help="flags for every setting's fit_hawkes_process.py, quoted; a setting's own flags come after them and win",
    )
    parser.add_argument("--section", default="fit-settings", help="section of docs/RESULTS.md to write")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    if any(seed < 0 for seed in args.seeds):
        parser.error("seeds must be >= 0")
    if not SECTION_NAME.fullmatch(args.section):
        parser.error("--section: use lower-case letters, digits and hyphens")
    if args.setting and len(args.setting) < 2:
        parser.error("--setting: give at least two settings to compare")
    settings = {name: shlex.split(flags) for name, flags in args.setting} if args.setting else SETTINGS
    if len(settings) != len(args.setting or SETTINGS):
        parser.error("--setting: give each setting a name of its own")
    args.settings = {name: [*args.fit_flags, *flags] for name, flags in settings.items()}
    for name, flags in args.settings.items():
        try:
            run_script(fit_hawkes_process.parse_args, flags)
        except RuntimeError as err:
            parser.error(f"--setting {name}: {str(err).split('error: ', 1)[-1]}")  # the fit script's own words
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        rows = [run_seed(seed, args.settings, args.train_flags) for seed in args.seeds]
    except (RuntimeError, ValueError) as err:  # a script's one-line error, or settings that fit other groups
        sys.exit(f"fit_settings: error: {err}")
    table = markdown_table(rows, args.settings)
    print(table)
    if not args.no_report:
        command = shlex.join(["python", "-m", "benchmarks.fit_settings", *(sys.argv[1:] if argv is None else argv)])
        write_section(args.section, section_title(args), command, table, RESULTS)


def section_title(args):
    """Heading of the section: the seeds, the network's flags if any, the settings."""
    seeds = seeds_phrase(args.seeds)
    network = f", train_snn.py `{shlex.join(args.train_flags)}`" if args.train_flags else ""
    return f"The same networks under several fits ({seeds}{network}): {', '.join(args.settings)}"


if __name__ == "__main__":
    main()
