"""Seed sweep: train and fit the default pipeline for every seed, one table of the spread.

For each seed, ``train_snn.py --seed S`` and ``fit_hawkes_process.py --seed S`` run with their
defaults (extra flags can be passed through), through their ``main`` in the process that runs
the seed, in a temporary folder of it; the table gives the train and test accuracy, the lowest
and highest connectivity AUC over the fitted groups (observable pairs and all pairs), how many
groups converged, and the seconds each script's ``main`` took (the imports, done once per
process, not counted). Runs go through joblib: locally (``--n-jobs``), or on a Dask cluster with
``--dask-scheduler ADDRESS`` (every worker needs this repository on its Python path and its
requirements installed; a run's files stay on its worker, only the numbers come back). Each
training uses 2 torch threads by default; where two workers share a machine's 2 cores, pass
``--train-flags '--threads 1'``, or the two trainings oversubscribe the cores and each runs
slower than alone.

Reads:  nothing.
Writes: the "seeds" section of docs/RESULTS.md and of README.md, or with ``--section NAME``
        that section of docs/RESULTS.md only (unless ``--no-report``); prints the table.
Command:  python -m benchmarks.seeds            (seeds 0-9, one after another)
          python -m benchmarks.seeds --seeds 10 11 12 13 14 15 16 17 18 19 --section seeds-held-out
"""

import argparse
import io
import shlex
import sys
import tempfile
from contextlib import nullcontext, redirect_stderr, redirect_stdout
from pathlib import Path
from time import perf_counter

import numpy as np
from joblib import Parallel, delayed, parallel_config

import fit_hawkes_process
import train_snn
from benchmarks.report import README, RESULTS, SECTION_NAME, write_section
from connectivity import connection_matrix, group_aucs
from mcmc_diagnostics import is_converged
from posterior_file import load_posterior
from spike_file import load_spike_trains, n_trainings

DEFAULT_SEEDS = tuple(range(10))
ACCURACY_GOAL, AUC_GOAL = 0.95, 0.9  # the goals the sweep counts
TRAIN_SECONDS_GOAL = 60  # and the training's: at most this long a seed on 2 cores
COLUMNS = (
    "seed",
    "train acc.",
    "test acc.",
    "AUC observable (min-max)",
    "worst group (trials)",
    "AUC all (min-max)",
    "KS (min-max)",
    "converged",
    "train s",
    "fit s",
)


def run_script(main, argv):
    """Run a script's ``main(argv)`` in this process, its printout swallowed; return what it returns.

    In process, a worker imports torch, pycma and scipy once for all its runs, and a run's
    seconds are the script's own work. A script's one-line error (``sys.exit("...")``, or
    argparse's message before its exit status 2) becomes a ``RuntimeError`` with that line, so
    a failed run says why.
    """
    errors = io.StringIO()
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(errors):
            return main(argv)
    except SystemExit as exit:
        if exit.code not in (None, 0):
            printed = errors.getvalue().strip().splitlines() or [f"exit status {exit.code}"]
            message = exit.code if isinstance(exit.code, str) else printed[-1]
            raise RuntimeError(message) from None


def train(seed, folder, flags=()):
    """Run ``train_snn.py --seed seed`` without figures, the spike file in ``folder``; return its path."""
    spike_file = Path(folder) / "spikes.pkl"
    run_script(train_snn.main, ["--seed", str(seed), "--spike-file", str(spike_file), "--no-figures", *flags])
    return spike_file


def fit(seed, spike_file, flags=(), name="posterior.npz"):
    """Run ``fit_hawkes_process.py --seed seed`` on one core, writing ``name`` next to ``spike_file``;
    return that path."""
    posterior_file = Path(spike_file).with_name(name)
    files = ["--spike-file", str(spike_file), "--posterior-file", str(posterior_file)]
    run_script(fit_hawkes_process.main, ["--seed", str(seed), *files, "--n-jobs", "1", *flags])
    return posterior_file


def score(posterior_file):
    """Connectivity AUCs, goodness of fit and convergence of a posterior file, per fitted group.

    Returns
    -------
    dict
        ``auc_observable`` and ``auc_all``: group -> AUC (NaN for a group without a scorable
        pair); ``ks``: group -> the fit's KS statistic, mean over the neurons with one;
        ``trials``: group -> fitted trials; ``converged`` and ``groups`` (counts);
        ``unconverged``: the groups whose chains missed the convergence limits.
    """
    posterior = load_posterior(posterior_file)
    true_weights, _ = connection_matrix(posterior.weights, posterior.layer_sizes)
    converged = {name: is_converged(group.max_rhat, group.min_ess_bulk) for name, group in posterior.groups.items()}
    return {
        "auc_observable": group_aucs(posterior, true_weights, observable=True),
        "auc_all": group_aucs(posterior, true_weights),
        "ks": {name: float(np.nanmean(group.gof_ks)) for name, group in posterior.groups.items()},
        "trials": {name: len(group.trials) for name, group in posterior.groups.items()},
        "converged": sum(converged.values()),
        "unconverged": [name for name, ok in converged.items() if not ok],
        "groups": len(posterior.groups),
    }


def run_seed(seed, train_flags=(), fit_flags=()):
    """Train and fit one seed in a temporary folder; return its row of numbers.

    Returns
    -------
    dict
        ``seed``, ``train_accuracy``, ``test_accuracy``, ``trainings`` (1 unless
        ``--restarts`` trained again), the keys of ``score``, ``train_seconds``, ``fit_seconds``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        start = perf_counter()
        spike_file = train(seed, tmp, train_flags)
        train_seconds = perf_counter() - start
        posterior_file = fit(seed, spike_file, fit_flags)
        fit_seconds = perf_counter() - start - train_seconds
        record = load_spike_trains(spike_file)
        scores = score(posterior_file)
    return {
        "seed": seed,
        "train_accuracy": record["metrics"]["train"]["accuracy"],
        "test_accuracy": record["metrics"]["test"]["accuracy"],
        "trainings": n_trainings(record),
        **scores,
        "train_seconds": train_seconds,
        "fit_seconds": fit_seconds,
    }


def dask_client(address):
    """A ``dask.distributed.Client`` of the scheduler at ``address``; a one-line ``RuntimeError`` if there is none."""
    try:
        from dask.distributed import Client  # optional: requirements-dev.txt
    except ImportError:
        raise RuntimeError("--dask-scheduler needs dask.distributed: pip install -r requirements-dev.txt") from None
    try:
        return Client(address)
    except (OSError, ValueError) as err:  # unreachable (timed out) or not an address
        raise RuntimeError(
            f"no Dask scheduler at {address} ({err}); start one (`dask scheduler`) or drop --dask-scheduler"
        ) from None


def sweep(seeds, train_flags=(), fit_flags=(), n_jobs=-1, dask_scheduler=None):
    """``run_seed`` for every seed through joblib, on local processes or a Dask cluster."""
    if dask_scheduler is None:
        backend = nullcontext()
    else:
        client = dask_client(dask_scheduler)
        backend = parallel_config(backend="dask")
    try:
        with backend:
            return Parallel(n_jobs=n_jobs)(delayed(run_seed)(seed, train_flags, fit_flags) for seed in seeds)
    finally:
        if dask_scheduler is not None:
            client.close()


def short_of(value, bar):
    """``value`` to 3 decimals, or to as many more as keep a value below ``bar`` from printing at it.

    A table read back (``benchmarks.record``) then counts a run at a goal as the sweep counted it.
    """
    digits = 3
    while float(text := f"{value:.{digits}f}") >= bar > value:
        digits += 1
    return text


def _span(aucs, bar=-np.inf):
    """Lowest and highest finite value as ``"min-max"`` (``"-"``: none), the lowest held below ``bar``."""
    values = [auc for auc in aucs.values() if np.isfinite(auc)]
    return f"{short_of(min(values), bar)}-{max(values):.3f}" if values else "-"


def _worst_group(row):
    """Name and trials of the group with the lowest AUC over the observable pairs ("-": none)."""
    aucs = {name: auc for name, auc in row["auc_observable"].items() if np.isfinite(auc)}
    if not aucs:
        return "-"
    name = min(aucs, key=aucs.get)
    return f"{name} ({row['trials'][name]})"


def lowest_auc(row, outcome=None):
    """Lowest AUC over the observable pairs among the groups of ``outcome`` trials, or of all (NaN: none).

    A group without a scorable pair (AUC NaN) is passed over, wherever it stands among the groups.
    """
    aucs = [auc for name, auc in row["auc_observable"].items() if outcome is None or name.endswith(f"_{outcome}")]
    return min((auc for auc in aucs if np.isfinite(auc)), default=np.nan)


def _has_wrong_group(row):
    """Whether any group of wrong trials was fitted (its AUC may still be NaN: no scorable pair)."""
    return any(name.endswith("_wrong") for name in row["auc_observable"])


def training_span(seconds):
    """``"35-52 s (median 41), <= 60 s in 10 of 10"``: how long trainings took, against the goal.

    Counted in whole seconds, as the tables print them, so a row that reads 60 meets the goal.
    """
    seconds = np.round(np.asarray(seconds, dtype=float))
    return (
        f"{seconds.min():.0f}-{seconds.max():.0f} s (median {np.median(seconds):.0f}), "
        f"<= {TRAIN_SECONDS_GOAL} s in {int((seconds <= TRAIN_SECONDS_GOAL).sum())} of {seconds.size}"
    )


def markdown_table(rows):
    """The sweep as a markdown table, one row per seed, then the spread over seeds."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['train_accuracy']:.3f} | {short_of(r['test_accuracy'], ACCURACY_GOAL)} | "
            f"{_span(r['auc_observable'], AUC_GOAL)} | {_worst_group(r)} | {_span(r['auc_all'])} | {_span(r['ks'])} | "
            f"{r['converged']}/{r['groups']} | {r['train_seconds']:.0f} | {r['fit_seconds']:.0f} |"
        )
    test = np.array([r["test_accuracy"] for r in rows])
    worst = np.array([lowest_auc(r) for r in rows])
    correct = np.array([lowest_auc(r, "correct") for r in rows])
    wrong = np.array([lowest_auc(r, "wrong") for r in rows])
    train = [r["train_seconds"] for r in rows]
    lines.append("")
    lines.append(
        f"Test accuracy {short_of(test.min(), ACCURACY_GOAL)}-{test.max():.3f} (median {np.median(test):.3f}), "
        f">= {ACCURACY_GOAL} in {int((test >= ACCURACY_GOAL).sum())} of {len(rows)} seeds; worst group's AUC over "
        f"the observable pairs {short_of(np.nanmin(worst), AUC_GOAL)}-{np.nanmax(worst):.3f} (median "
        f"{np.nanmedian(worst):.3f}), >= {AUC_GOAL} in {int((worst >= AUC_GOAL).sum())} of {len(rows)}; both in "
        f"{int(((test >= ACCURACY_GOAL) & (worst >= AUC_GOAL)).sum())} of {len(rows)}; groups converged: "
        f"{sum(r['converged'] for r in rows)} of {sum(r['groups'] for r in rows)}; training {training_span(train)}. "
        f"AUC >= {AUC_GOAL} in every group of correct trials in {int((correct >= AUC_GOAL).sum())} of {len(rows)}; "
        f"in every fitted group of wrong trials in {int(((wrong >= AUC_GOAL) | np.isnan(wrong)).sum())} of {len(rows)} "
        f"({sum(not _has_wrong_group(r) for r in rows)} without one); KS: the fit's goodness of fit per group, mean "
        "over neurons."
    )
    restarted = [str(r["seed"]) for r in rows if r["trainings"] > 1]
    if restarted:
        lines[-1] += (
            f" Trained more than once (`--restarts`) at {len(restarted)} of {len(rows)} seeds: {', '.join(restarted)}."
        )
    return "\n".join(lines)


def flags_text(train_flags, fit_flags):
    """The scripts' flags a sweep passes, as a heading shows them."""
    return " ".join(
        f"{script} `{shlex.join(given)}`"
        for script, given in (("train_snn.py", train_flags), ("fit_hawkes_process.py", fit_flags))
        if given
    )


def seeds_phrase(seeds):
    """A section title's words for its seeds: ``"every seed"`` (``DEFAULT_SEEDS``) or ``"seeds 3, 5"``."""
    return "every seed" if list(seeds) == list(DEFAULT_SEEDS) else f"seeds {', '.join(map(str, seeds))}"


def section_title(args):
    """Heading of the sweep's section: which seeds, and any flags that are not the defaults."""
    flags = flags_text(args.train_flags, args.fit_flags)
    seeds = seeds_phrase(args.seeds).capitalize()
    return f"{seeds}: accuracy and connectivity AUC of the " + (
        f"pipeline with {flags}" if flags else "default pipeline"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="seeds to run")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="runs at a time (default: 1 on this machine, so that each run's seconds are its own and "
        "two torch processes do not fight over 2 cores; every worker with --dask-scheduler)",
    )
    parser.add_argument(
        "--dask-scheduler", default=None, help="address of a Dask scheduler (e.g. tcp://host:8786): run there instead"
    )
    parser.add_argument(
        "--train-flags",
        type=shlex.split,
        default=[],
        help='flags for train_snn.py, quoted, e.g. "--generations 400" (a lone flag: --train-flags=--fresh-trials)',
    )
    parser.add_argument(
        "--fit-flags",
        type=shlex.split,
        default=[],
        help='flags for fit_hawkes_process.py, quoted, e.g. "--n-samples 1000" (a lone flag: --fit-flags=--per-trial)',
    )
    parser.add_argument(
        "--section",
        default="seeds",
        help="section of docs/RESULTS.md to write (default seeds, which the README shows too; "
        "any other name, e.g. seeds-held-out, goes into docs/RESULTS.md only)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    if args.n_jobs is None:
        args.n_jobs = 1 if args.dask_scheduler is None else -1
    if any(seed < 0 for seed in args.seeds) or args.n_jobs == 0:
        parser.error("seeds must be >= 0 and --n-jobs a positive count or negative (-1: all cores)")
    if not SECTION_NAME.fullmatch(args.section):
        parser.error("--section: use lower-case letters, digits and hyphens")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        rows = sweep(args.seeds, args.train_flags, args.fit_flags, args.n_jobs, args.dask_scheduler)
    except RuntimeError as err:  # a script's one-line error, or no scheduler to run on
        sys.exit(f"seeds: error: {err}")
    table = markdown_table(rows)
    print(table)
    if not args.no_report:
        command = shlex.join(["python", "-m", "benchmarks.seeds", *(sys.argv[1:] if argv is None else argv)])
        for path in (RESULTS, README) if args.section == "seeds" else (RESULTS,):
            write_section(args.section, section_title(args), command, table, path)


if __name__ == "__main__":
    main()
