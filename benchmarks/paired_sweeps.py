"""Candidates against today's default on the seeds swept beside it: how much their counts can tell.

docs/DEFAULTS.md judges each candidate by counting the seeds at which it and today's default meet
both goals. Where the two were swept on the same seeds, one section right after the other, their
runs pair up seed by seed, and only the discordant seeds (one meets both goals, the other does
not) speak for either: under "no difference" each falls to either side with probability 1/2, and
the exact two-sided McNemar test asks how surprising the split is. Sections with the same
flags pool their seeds. Which sections ran today's default is read from their commands, as
``benchmarks.record`` reads it; with ``--fit-flags`` the default is today's training under that
fit instead (with ``--train-flags``, that training): the candidates of docs/DEFAULTS.md steps
29-39 were swept beside the default of their day, whose fit took each group alone
(``--fit-flags '--partial-pooling none'``).

Reads:  docs/RESULTS.md.
Writes: the "paired-sweeps" section of docs/RESULTS.md, or ``--section`` (unless ``--no-report``);
prints it.
Command:  python -m benchmarks.paired_sweeps --fit-flags '--partial-pooling none'
"""

import shlex

from scipy import stats

from benchmarks import record, seeds
from benchmarks.report import RESULTS, summarise_results

TITLE = "Candidates against today's default on the seeds swept beside it"
PREFIX = "python -m benchmarks.seeds"


def mcnemar_p(only_candidate, only_default):
    """Exact two-sided McNemar p-value: twice the smaller binomial(n, 1/2) tail of the discordant split, at most 1."""
    n = only_candidate + only_default
    return min(1.0, 2 * float(stats.binom.cdf(min(only_candidate, only_default), n, 0.5))) if n else 1.0


def _sweep(name, command):
    """The ``benchmarks.seeds`` arguments of a section, or None for another benchmark or the README's section.

    The README's section (``seeds``) is rewritten in place whenever the default changes, so the
    section next to it was not swept beside it.
    """
    if name == "seeds":
        return None
    try:
        return record.benchmark_args(command, PREFIX, seeds)
    except ValueError as err:
        raise ValueError(f"section {name}: {err}") from None


def pairs(text, fit_flags=(), train_flags=()):
    """Each candidate's runs paired with today's default's on the seeds of the section next to it.

    Under ``fit_flags`` or ``train_flags`` (``record.default_run``) the default is the training of
    ``train_flags`` with the fit of ``fit_flags`` (each script's defaults where none).

    Returns
    -------
    dict
        Candidate flags (``"train: ...; fit: ..."``) -> seed -> (candidate meets both goals,
        default meets both goals), in document order.
    """
    runs_of = record.baseline(fit_flags, train_flags)
    found = [
        (name, body, _sweep(name, command), record.default_run(command, runs_of) is not None)
        for name, (command, body) in record.sections(text).items()
    ]
    paired = {}
    for (name_a, body_a, run_a, default_a), (name_b, body_b, run_b, default_b) in zip(found, found[1:]):
        if run_a is None or run_b is None or run_a.seeds != run_b.seeds or default_a == default_b:
            continue
        candidate, body_c, body_d = (run_b, body_b, body_a) if default_a else (run_a, body_a, body_b)
        try:
            scores_c, scores_d = record.sweep_scores(body_c), record.sweep_scores(body_d)
        except (KeyError, ValueError) as err:
            raise ValueError(f"sections {name_a} and {name_b}: {err}") from None
        flags = f"train: {shlex.join(candidate.train_flags) or '-'}; fit: {shlex.join(candidate.fit_flags) or '-'}"
        into = paired.setdefault(flags, {})
        for seed in candidate.seeds:
            into[seed] = (record.meets_both(*scores_c[seed][:2]), record.meets_both(*scores_d[seed][:2]))
    return paired


def report(text, fit_flags=(), train_flags=()):
    """The markdown table: one row per candidate, its seeds pooled over its sections."""
    columns = (
        "candidate",
        "seeds",
        "runs",
        "candidate: both goals",
        "default: both goals",
        "candidate only",
        "default only",
        "McNemar p",
    )
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for flags, runs in pairs(text, fit_flags, train_flags).items():
        met = list(runs.values())
        only_c = sum(c and not d for c, d in met)
        only_d = sum(d and not c for c, d in met)
        lines.append(
            f"| {flags} | {record.seed_ranges(runs)} | {len(met)} | {sum(c for c, _ in met)} | "
            f"{sum(d for _, d in met)} | {only_c} | {only_d} | {mcnemar_p(only_c, only_d):.2f} |"
        )
    return "\n".join(lines) + (
        f"\n\nBoth goals: test accuracy >= {record.ACCURACY_GOAL} and AUC >= {record.AUC_GOAL} over the observable "
        "pairs in every fitted group. McNemar p: exact, two-sided, over the seeds at which one of the two met both "
        "goals and the other did not."
    )


def title(fit_flags=(), train_flags=()):
    """The section's heading: TITLE, or candidates against the runs of ``record.runs_phrase``."""
    if not (fit_flags or train_flags):
        return TITLE
    return f"Candidates against {record.runs_phrase(fit_flags, train_flags)} on the seeds swept beside it"


def main(argv=None):
    summarise_results(argv, report, "paired-sweeps", title, "benchmarks.paired_sweeps", RESULTS, by_flags=True)


if __name__ == "__main__":
    main()
