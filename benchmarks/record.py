"""The default's record: every seed today's default pipeline has run on, gathered from the results.

The default has been swept on seeds 0-9 and, for each step of docs/DEFAULTS.md that was checked
on fresh seeds, on ten seeds more, and its networks have run on fresh test sets; each run wrote
its own section of docs/RESULTS.md. Which sections ran today's default is read from their own
commands: a ``benchmarks.seeds`` or ``benchmarks.fresh_test_sets`` run whose ``--train-flags``
and ``--fit-flags``, parsed by ``train_snn.py`` and ``fit_hawkes_process.py``, give those
scripts' defaults (a section that spells a default value, as the check of an adopted step does,
counts; one whose flags no longer parse does not). Each seed counts once; a seed whose rows
disagree between two such sections is an error (one of them is stale: rerun it).

The counts come from the rows' figures (three decimals, more where a figure lies just below a
goal: ``seeds.short_of``), and each seed-sweep section's own count of seeds at both goals, which
its benchmark computed from unrounded numbers, must agree with them: a figure rounded onto a bar
cannot be miscounted silently. Each count of seeds at both goals comes with the
95% Clopper-Pearson interval of the rate it estimates: how little ten seeds, and how much a hundred,
say about the next seed.

With ``--fit-flags`` it gathers the runs of today's training under that fit instead: the record
of an earlier default's fit (``--fit-flags '--partial-pooling none'``, each group alone, the fit
before docs/DEFAULTS.md step 43), whose sections spell it out. ``--train-flags`` does the same
for a training: an earlier default's, or a candidate's over every section that swept it.

Reads:  docs/RESULTS.md.
Writes: the "record" section of docs/RESULTS.md, or ``--section`` (unless ``--no-report``); prints it.
Command:  python -m benchmarks.record
          python -m benchmarks.record --section record-each-group-alone --fit-flags '--partial-pooling none'
"""

import contextlib
import io
import math
import re
import shlex

import numpy as np
from scipy import stats

import fit_hawkes_process
import train_snn
from benchmarks import fresh_test_sets, seeds
from benchmarks.report import RESULTS, read_sections, summarise_results
from benchmarks.seeds import ACCURACY_GOAL, AUC_GOAL

TITLE = "The default's record over every seed it ran on"
BENCHMARKS = {"python -m benchmarks.seeds": seeds, "python -m benchmarks.fresh_test_sets": fresh_test_sets}


def sections(text):
    """Name -> (command, body) of every section of a results document."""
    return {name: (section.command, section.body) for name, section in read_sections(text).items()}


def parse_or_none(script, flags):
    """``script.parse_args(flags)``, or None where the script refuses them."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return script.parse_args(flags)
    except SystemExit:
        return None


def benchmark_args(command, prefix, module):
    """``module.parse_args`` of a section's command if it runs ``prefix`` (``"python -m benchmarks.seeds"``), else None.

    Raises ValueError where the benchmark no longer takes the command's flags.
    """
    if command != prefix and not command.startswith(prefix + " "):
        return None
    args = parse_or_none(module, shlex.split(command[len(prefix) :]))
    if args is None:
        raise ValueError("its command no longer parses")
    return args


def baseline(fit_flags=(), train_flags=()):
    """The parsed flags of the training of ``train_flags`` and of the fit of ``fit_flags`` (each
    script's defaults if none), as ``default_run`` compares a section's with them; ValueError where
    a script refuses its flags."""
    fit = parse_or_none(fit_hawkes_process, list(fit_flags))
    if fit is None:
        raise ValueError("--fit-flags: fit_hawkes_process.py refuses them")
    train = parse_or_none(train_snn, list(train_flags))
    if train is None:
        raise ValueError("--train-flags: train_snn.py refuses them")
    return train, fit


def default_run(command, runs_of):
    """The benchmark module and seeds of a section's command if it ran today's defaults, else None.

    Parameters
    ----------
    command : str
        The command line under the section's heading.
    runs_of : (argparse.Namespace, argparse.Namespace)
        ``baseline(fit_flags, train_flags)``: the training and fit the section's must parse to,
        parsed once by the caller for every section it reads.

    Returns
    -------
    (module, list of int) or None
        None also where the scripts no longer take the flags it passed them. Raises ValueError
        where the benchmark no longer takes the command's own flags.
    """
    train, fit = runs_of
    for prefix, module in BENCHMARKS.items():
        args = benchmark_args(command, prefix, module)
        if args is not None:
            if (
                parse_or_none(train_snn, args.train_flags) == train
                and parse_or_none(fit_hawkes_process, args.fit_flags) == fit
            ):
                return module, args.seeds
    return None


def table_rows(body):
    """The rows of the first markdown table in ``body``, each a dict column -> cell text."""
    lines = [line for line in body.splitlines() if line.startswith("|")]
    if len(lines) < 2:
        raise ValueError("no table")
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]


def sweep_scores(body):
    """Seed -> (test accuracy, worst group's AUC over the observable pairs, training seconds) of a seed-sweep section.

    The worst AUC is NaN where no group had one. Raises ValueError where the section's own
    count of seeds at both goals differs from the rows'.
    """
    scores = {}
    for row in table_rows(body):
        worst = row["AUC observable (min-max)"].split("-")[0]
        scores[int(row["seed"])] = (
            float(row["test acc."]),
            float(worst) if worst else np.nan,
            float(row["train s"]),
        )
    stated = re.search(r"both in (\d+) of (\d+)", body)
    if stated is None or int(stated[1]) != sum(meets_both(*score[:2]) for score in scores.values()):
        raise ValueError("its rows do not give its own count at both goals (a figure on a bar?)")
    return scores


def fresh_counts(body):
    """Seed -> (fresh test sets meeting both goals, fresh test sets) of a fresh-test-sets section."""
    n_sets = re.search(r"(\d+) fresh test sets per seed", body)
    if n_sets is None:
        raise ValueError("no number of fresh test sets per seed")
    n_sets = int(n_sets[1])
    return {int(row["seed"]): (round(float(row["both"]) * n_sets), n_sets) for row in table_rows(body)}


def meets_both(accuracy, worst_auc):
    """Whether a run meets the issue's two goals (a NaN AUC does not)."""
    return accuracy >= ACCURACY_GOAL and worst_auc >= AUC_GOAL


def gather(text, fit_flags=(), train_flags=()):
    """The default's runs in a results document (or those of the fit of ``fit_flags`` and the
    training of ``train_flags``: ``default_run``).

    Returns
    -------
    sweeps : dict
        Seed -> (test accuracy, worst AUC), from every seed-sweep section of the default.
    seconds : dict
        Seed -> list of its trainings' seconds, one per section (timings differ between runs).
    fresh : dict
        Seed -> (fresh sets meeting both goals, fresh sets), from every fresh-test-sets section (the
        one with the most sets where a seed has several).
    names : list of str
        The sections they came from, in document order.
    """
    runs_of = baseline(fit_flags, train_flags)
    sweeps, seconds, fresh, names = {}, {}, {}, []
    for name, (command, body) in sections(text).items():
        try:
            run = default_run(command, runs_of)
            if run is None:
                continue
            module, ran = run
            found = sweep_scores(body) if module is seeds else fresh_counts(body)
            if sorted(found) != sorted(ran):
                raise ValueError("its rows are not the seeds its command ran")
        except (KeyError, ValueError) as err:
            raise ValueError(f"section {name}: {err}") from None
        if module is seeds:
            for seed, (*_, train_seconds) in found.items():
                seconds.setdefault(seed, []).append(train_seconds)
            found, into = {seed: score[:2] for seed, score in found.items()}, sweeps
        else:
            into = fresh
        for seed, value in found.items():
            if into is fresh and seed in fresh and fresh[seed][1] != value[1]:
                # fresh_test_sets draws a seed's set i from [seed, i], so a run of more sets holds
                # the sets of a run of fewer: the seed counts once, from the larger.
                value = max(fresh[seed], value, key=lambda count: count[1])
            elif into.get(seed, value) != value:
                raise ValueError(f"section {name}: seed {seed} disagrees with an earlier section; rerun the stale one")
            into[seed] = value
        names.append(name)
    return sweeps, seconds, fresh, names


def rate_interval(k, n, level=0.95):
    """Clopper-Pearson interval of a rate seen ``k`` times in ``n`` seeds: the rates the count does not reject.

    Exact (never narrower than ``level`` asks), from the beta quantiles the binomial's tails invert to;
    the bound at ``k == 0`` (or ``k == n``) is 0 (or 1). How far a count over seeds pins down the rate a new
    seed would meet the goals at.
    """
    tail = (1 - level) / 2
    low = stats.beta.ppf(tail, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(1 - tail, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


def interval_text(low, high):
    """``"0.72-0.88"``: an interval rounded outwards to 2 decimals, so that it never prints narrower than it is."""
    # The 1e-9 keeps a bound that is a whole hundredth in float noise (28.999999999999996) from moving.
    return f"{math.floor(low * 100 + 1e-9) / 100:.2f}-{math.ceil(high * 100 - 1e-9) / 100:.2f}"


def seed_ranges(seeds_):
    """``"0-9, 210-239"`` from a collection of seeds."""
    ordered = sorted(seeds_)
    runs, start = [], 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            runs.append(f"{ordered[start]}" if start == i - 1 else f"{ordered[start]}-{ordered[i - 1]}")
            start = i
    return ", ".join(runs) or "-"


def _misses(sweeps, chosen):
    """``"2 (0.955; 0.884)"`` for each seed of ``chosen`` short of a goal: test accuracy; worst AUC."""
    short = [seed for seed in sorted(chosen) if not meets_both(*sweeps[seed])]
    return (
        ", ".join(
            f"{seed} ({seeds.short_of(sweeps[seed][0], ACCURACY_GOAL)}; {seeds.short_of(sweeps[seed][1], AUC_GOAL)})"
            for seed in short
        )
        or "-"
    )


def sweep_table(sweeps, seconds):
    """One row for seeds 0-9 (which judged every choice), one for the others (fresh when swept), one for all."""
    tuned = [seed for seed in sweeps if seed in seeds.DEFAULT_SEEDS]
    others = [seed for seed in sweeps if seed not in seeds.DEFAULT_SEEDS]
    columns = (
        "seeds",
        "runs",
        f"test acc. >= {ACCURACY_GOAL}",
        "both goals",
        "rate at both, 95% interval",
        "short of a goal (test acc.; worst AUC)",
    )
    lines = ["| " + " | ".join((*columns, "training")) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, chosen in (
        (f"{seed_ranges(tuned)} (judged every choice)", tuned),
        (f"{seed_ranges(others)} (fresh when swept)", others),
        ("all", list(sweeps)),
    ):
        if not chosen:
            continue
        accuracy = np.array([sweeps[seed][0] for seed in chosen])
        both = sum(meets_both(*sweeps[seed]) for seed in chosen)
        missed = len(chosen) - both
        short = _misses(sweeps, chosen) if label != "all" else f"{missed} seed{'s' * (missed != 1)}"
        low, high = rate_interval(both, len(chosen))
        trainings = [t for seed in chosen for t in seconds[seed]]
        lines.append(
            f"| {label} | {len(chosen)} | {int((accuracy >= ACCURACY_GOAL).sum())} | {both} | "
            f"{interval_text(low, high)} | {short} | {seeds.training_span(trainings)} |"
        )
    return "\n".join(lines)


def fresh_sentence(fresh):
    """How many networks meet both goals on every fresh test set, on some (which), on none (which)."""
    every = sorted(seed for seed, (met, n) in fresh.items() if met == n)
    some = sorted(seed for seed, (met, n) in fresh.items() if 0 < met < n)
    none = sorted(seed for seed, (met, _) in fresh.items() if met == 0)
    listed = ", ".join(map(str, some)) or "-"
    networks = f"{len(fresh)} network{'s' * (len(fresh) != 1)}"
    return (
        f"On fresh test sets, {networks} (seeds {seed_ranges(fresh)}): {len(every)} meet both goals "
        f"on every set, {len(some)} on some ({listed}), {len(none)} on none ({', '.join(map(str, none)) or '-'}); "
        f"{sum(met for met, _ in fresh.values())} of {sum(n for _, n in fresh.values())} sets meet both."
    )


def runs_phrase(fit_flags=(), train_flags=()):
    """Whose runs: ``"today's defaults"``, ``"today's training with fit_hawkes_process.py `...`"``,
    ``"train_snn.py `...` with fit_hawkes_process.py `...`"`` or ``"train_snn.py `...`"``."""
    if not (fit_flags or train_flags):
        return "today's defaults"
    training = f"train_snn.py `{shlex.join(train_flags)}`" if train_flags else "today's training"
    return training + (f" with fit_hawkes_process.py `{shlex.join(fit_flags)}`" if fit_flags else "")


def report(text, fit_flags=(), train_flags=()):
    """The record as markdown: the seed sweeps' table, the fresh test sets' sentence (where
    today's defaults ran on any), the sources."""
    sweeps, seconds, fresh, names = gather(text, fit_flags, train_flags)
    if not sweeps:
        raise ValueError("no seed sweep of the default in the document")
    ran = runs_phrase(fit_flags, train_flags)
    return "\n\n".join(
        [
            sweep_table(sweeps, seconds),
            *([fresh_sentence(fresh)] if fresh else []),
            f"Goals: test accuracy >= {ACCURACY_GOAL} and AUC >= {AUC_GOAL} over the observable pairs in every "
            f"fitted group. Training: every training of those sections, so a seed swept in two counts twice. From the "
            f"sections of docs/RESULTS.md that ran {ran}: {', '.join(names)}.",
        ]
    )


def title(fit_flags=(), train_flags=()):
    """The section's heading: TITLE, or the record of the runs of ``runs_phrase``."""
    if not (fit_flags or train_flags):
        return TITLE
    return f"The record of {runs_phrase(fit_flags, train_flags)} over every seed it ran on"


def main(argv=None):
    summarise_results(argv, report, "record", title, "benchmarks.record", RESULTS, by_flags=True)


if __name__ == "__main__":
    main()
