"""The contents of the results document: every section, by the benchmark that wrote it.

docs/RESULTS.md holds a section per benchmark run, over a hundred of them, most of them seed
sweeps of the candidates docs/DEFAULTS.md weighed. This lists every section under its benchmark
(each benchmark's docstring says what it asks) and sets the seed sweeps in one table: seeds,
flags, date, and the sweep's own counts of seeds at the goals (each sweep counted from unrounded
figures, so a row on a bar is counted as its sweep counted it). It reads the sections' own
headings and commands, so it is never typed by hand; rerun it after any benchmark, as
``make results`` does last.

Reads:  docs/RESULTS.md.
Writes: the "contents" section at the top of docs/RESULTS.md (unless ``--no-report``); prints it.
Command:  python -m benchmarks.contents
"""

import importlib
import re
import shlex

from benchmarks import record, seeds
from benchmarks.report import RESULTS, heading_anchor, read_sections, summarise_results

NAME = "contents"
TITLE = "Contents"
PREFIX = "python -m "
SEEDS_MODULE = "benchmarks.seeds"
ACCURACY_COUNT = re.compile(r">= 0\.95 in (\d+) of (\d+) seeds")
BOTH_COUNT = re.compile(r"both in (\d+) of (\d+)")
MEASURED = re.compile(r"Measured (\d{4}-\d{2}-\d{2})")


def benchmark_of(command):
    """The module a section's command runs (``"benchmarks.seeds"``), or None for another command."""
    if not command.startswith(PREFIX):
        return None
    return command[len(PREFIX) :].split(" ", 1)[0]


def describe(module):
    """The first line of a benchmark module's docstring: what it asks."""
    doc = importlib.import_module(module).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def link(title, anchors):
    """A markdown link to the section headed ``title``."""
    return f"[{title}](#{anchors[title]})"


def sweep_row(title, section, anchors, runs_of):
    """One row of the seed sweeps' table; ValueError where the section does not say its counts.

    ``runs_of``: ``record.baseline()``, today's training and fit, parsed once for every row.
    """
    args = record.benchmark_args(section.command, PREFIX + SEEDS_MODULE, seeds)
    accuracy, both, measured = (pattern.search(section.body) for pattern in (ACCURACY_COUNT, BOTH_COUNT, MEASURED))
    if accuracy is None or both is None or measured is None:
        raise ValueError("no counts of seeds at the goals, or no date")
    if record.default_run(section.command, runs_of) is not None:
        label = "today's default"
    else:
        flags = [
            f"{script} `{shlex.join(given)}`"
            for script, given in (("train", args.train_flags), ("fit", args.fit_flags))
            if given
        ]
        label = "; ".join(flags)
    return (
        f"| [{label}](#{anchors[title]}) | {record.seed_ranges(args.seeds)} | {measured[1]} | "
        f"{accuracy[1]} of {accuracy[2]} | {both[1]} of {both[2]} |"
    )


def report(text):
    """The contents of a results document as markdown (its own section left out)."""
    found = {name: section for name, section in read_sections(text).items() if name != NAME}
    titles = [section.title for section in found.values()]
    repeated = sorted({title for title in titles if titles.count(title) > 1})
    if repeated:
        raise ValueError(f"two sections share the title {repeated[0]!r}: one anchor cannot reach both")
    anchors = {title: heading_anchor(title) for title in titles}
    by_module = {}
    for name, section in found.items():
        module = benchmark_of(section.command)
        if module is None:
            raise ValueError(f"section {name}: its command {section.command!r} runs no benchmark module")
        by_module.setdefault(module, []).append((name, section))
    lines = ["Every section below, under the benchmark that wrote it; its command is under its title.", ""]
    for module, written in by_module.items():
        entry = f"- `{module}`: {describe(module)}"
        if module == SEEDS_MODULE:
            lines.append(f"{entry} The {len(written)} sweeps are in the table below.")
        else:
            lines.append(f"{entry} " + "; ".join(link(section.title, anchors) for _, section in written) + ".")
    sweeps = by_module.get(SEEDS_MODULE, [])
    if sweeps:
        runs_of = record.baseline()
        lines += ["", "| seed sweep | seeds | measured | test acc. >= 0.95 | both goals |", "|---|---|---|---|---|"]
        for name, section in sweeps:
            try:
                lines.append(sweep_row(section.title, section, anchors, runs_of))
            except ValueError as err:
                raise ValueError(f"section {name}: {err}") from None
        lines += [
            "",
            "Both goals: test accuracy >= 0.95 and AUC >= 0.9 over the observable pairs in every fitted "
            "group, as each sweep counted them. Sweeps in the order they were first written; "
            "[DEFAULTS.md](DEFAULTS.md) says which step each decided.",
        ]
    return "\n".join(lines)


def main(argv=None):
    summarise_results(argv, report, NAME, TITLE, "benchmarks.contents", RESULTS, first=True)


if __name__ == "__main__":
    main()
