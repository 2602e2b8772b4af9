"""Run the default pipeline as a user would and report what it printed, its times and memory.

Runs ``train_snn.py``, ``fit_hawkes_process.py`` and ``plot_alpha_heatmaps.py`` with their
defaults, one after the other as ``make`` does, each in its own process: wall time and peak
memory of each (the largest sum of resident set sizes over the script's process and its
worker processes, sampled every 50 ms from /proc, so Linux only), and the lines each
printed. The repository's ``data/`` and ``figures/`` are the outputs, so this also
regenerates the README figures.

Reads:  nothing.
Writes: data/, figures/ (as ``make``), the "pipeline" section of README.md and of
        docs/RESULTS.md.
Command:  python -m benchmarks.pipeline
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter, sleep

from benchmarks.report import README, RESULTS, write_section

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ("train_snn.py", "fit_hawkes_process.py", "plot_alpha_heatmaps.py")
POLL_SECONDS = 0.05


def tree_rss_mib(pid):
    """Resident memory of a process and all its descendants, MiB (0 once it is gone)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration, PermissionError):
            continue
    return total / 1024


def run_script(script, flags=()):
    """Run one script; return (seconds, peak memory of its process tree in MiB, printed lines)."""
    start = perf_counter()
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a full pipe would stall the script
        with subprocess.Popen(
            [sys.executable, str(ROOT / script), *flags], cwd=ROOT, text=True, stdout=log, stderr=subprocess.STDOUT
        ) as process:
            peak = 0.0
            while process.poll() is None:
                peak = max(peak, tree_rss_mib(process.pid))
                sleep(POLL_SECONDS)
        seconds = perf_counter() - start
        log.seek(0)
        output = log.read()
    if process.returncode:
        raise RuntimeError(f"{script} failed:\n{output}")
    # Paths as the reader's checkout would print them, relative to the repository.
    output = output.replace(f"{ROOT}/", "")
    lines = [line for line in output.splitlines() if "\r" not in line and line.strip()]
    return seconds, peak, lines


def report(results):
    """Markdown: a table of times and memory, then what each script printed."""
    lines = ["| script | wall time (s) | peak memory (MiB) |", "|---|---|---|"]
    lines += [f"| `{script}` | {seconds:.1f} | {peak:.0f} |" for script, (seconds, peak, _) in results.items()]
    for script, (_, _, printed) in results.items():
        lines += ["", f"`python {script}` printed:", ""] + [f"    {line}" for line in printed]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-report", action="store_true", help="print only; write no document")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    results = {script: run_script(script) for script in SCRIPTS}
    body = report(results)
    print(body)
    if not args.no_report:
        for path in (README, RESULTS):
            write_section("pipeline", "The default pipeline", "python -m benchmarks.pipeline", body, path)


if __name__ == "__main__":
    main()
