"""Follow the CMA-ES runs of the training: how far each run's mean gets, under three settings.

For each seed and each setting, the training of ``train_snn.py`` runs as the script runs it
(``snn_session.train``), and every ``--every`` generations the CMA-ES mean of each of its runs is
judged as the final choice judges candidates, on one draw of its noise: accuracy on the
validation trials under the held-out noise (the test trials are not used), and the firing rates
of the LIF neurons there. The settings are the default, the default with the earlier weight of the rate band
(0.5), and the earlier CMA-ES settings too (a step size of 1 and a population of 32 for 200
generations), so the table shows, at the same count of simulated networks, where the runs
stand under each and whether the band holds. After the cull (``--cull-at``) the table follows
the runs kept; its runs column counts the runs still training. ``--setting NAME FLAGS`` follows
other settings instead, and under the table each setting's line counts the runs whose mean
reaches ``LEVEL`` accuracy at the last check, and the seeds with at least one such run.

Reads:  nothing.
Writes: the "training-runs" section of docs/RESULTS.md, or ``--section`` (unless ``--no-report``);
prints it.
Command:  python -m benchmarks.training_runs
"""

import argparse
import shlex
import sys

import numpy as np
import torch

import snn_fitness
import snn_options
import snn_session
import snn_training
import spiking_network
import train_snn
from benchmarks.report import printed_section, section_name
from benchmarks.seeds import run_script

LEVEL = 0.95  # the goal of test accuracy, here on the validation trials
SETTINGS = {
    "default": [],
    "band weight 0.5": "--rate-penalty 0.5".split(),
    "step 1, population 32, band weight 0.5": "--sigma0 1 --population 32 --generations 200 --rate-penalty 0.5".split(),
}


def validation_scores(means, args, problem):
    """Each run's mean on the validation trials and held-out noise.

    Returns
    -------
    accuracy : ndarray, shape (runs,)
    rates : ndarray, shape (runs, n_hidden + n_out)
        Mean firing rate of each LIF neuron, spikes per step.
    """
    spikes, labels = (torch.as_tensor(x) for x in problem["trials"]["validation"])
    theta = torch.as_tensor(means, dtype=torch.float32)
    weights = spiking_network.theta_to_weights(theta, problem["layer_sizes"], **problem["weight_options"])
    counts = spiking_network.simulate_network(
        weights, spikes, problem["lif"], args.dt, snn_training.noise_generator(args.seed, "select")
    )
    accuracy = (snn_fitness.predict(counts) == labels).double().mean(dim=1).numpy()
    return accuracy, (counts.double().mean(dim=1) / args.n_steps).numpy()


def follow_runs(flags, every):
    """Train with ``flags``; return ``[(generation, accuracy, rates)]`` of ``validation_scores``."""
    args = train_snn.parse_args(flags)
    torch.set_num_threads(args.threads)
    problem = snn_session.training_problem(args)
    checkpoints = []

    def on_generation(generation, means):
        if (generation + 1) % every == 0:
            checkpoints.append((generation + 1, *validation_scores(means, args, problem)))

    snn_session.train(args, problem, on_generation)
    return args, checkpoints


def runs_reaching(final, level=LEVEL):
    """Count the runs at or above ``level`` and the seeds with at least one.

    Parameters
    ----------
    final : list of np.ndarray
        Per seed, shape (runs,): each run's validation accuracy at the last check.

    Returns
    -------
    runs, n_runs, seeds, n_seeds : int
    median : float
        Median over all runs.
    """
    hits = [accuracy >= level for accuracy in final]
    everything = np.concatenate(final)
    return (
        int(sum(hit.sum() for hit in hits)),
        everything.size,
        int(sum(hit.any() for hit in hits)),
        len(final),
        float(np.median(everything)),
    )


def run(args):
    print(
        f"every {args.every} generations, the validation accuracy of each CMA-ES run's mean, and the "
        f"lowest and highest firing rate (spikes per step) of its LIF neurons in the most accurate run "
        f"(the band is [{snn_options.RATE_FLOOR}, {snn_options.RATE_TARGET}])"
    )
    print(
        "| seed | setting | generation | networks simulated per run | runs | median over runs | best run | its rates |"
    )
    print("|---|---|---|---|---|---|---|---|")
    final = {name: [] for name in args.settings}
    for seed in args.seeds:
        for name, flags in args.settings.items():
            train_args, checkpoints = follow_runs([*flags, "--seed", str(seed)], args.every)
            for generation, accuracy, rates in checkpoints:
                best = rates[accuracy.argmax()]
                print(
                    f"| {seed} | {name} | {generation} | {generation * train_args.population} | {len(accuracy)} | "
                    f"{np.median(accuracy):.3f} | {accuracy.max():.3f} | {best.min():.3f}-{best.max():.3f} |"
                )
            final[name].append(checkpoints[-1][1])
    for name, flags in args.settings.items():
        runs, n_runs, seeds, n_seeds, median = runs_reaching(final[name])
        print(
            f"\n{name}: train_snn.py {shlex.join(flags) or '(no flags)'}; at the last check {runs} of {n_runs} "
            f"runs reach {LEVEL} (at {seeds} of {n_seeds} seeds), median run {median:.3f}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to train (default 0 1 2)")
    parser.add_argument("--every", type=int, default=100, help="generations between checks (default 100)")
    parser.add_argument(
        "--setting",
        nargs=2,
        action="append",
        metavar=("NAME", "FLAGS"),
        help="follow train_snn.py with FLAGS under NAME instead of the three settings (repeatable)",
    )
    parser.add_argument(
        "--section", type=section_name, default="training-runs", help="section of docs/RESULTS.md to write"
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    if args.every < 1 or any(seed < 0 for seed in args.seeds):
        parser.error("need --every >= 1 and seeds >= 0")
    try:  # train_snn.py's one-line error now, not after hours
        args.settings = {name: shlex.split(flags) for name, flags in args.setting} if args.setting else SETTINGS
        generations = [run_script(train_snn.parse_args, flags).generations for flags in args.settings.values()]
    except (RuntimeError, ValueError) as err:
        parser.error(f"--setting: {err}")
    for flags, last in zip(args.settings.values(), generations):
        if last < args.every:
            parser.error(f"--every {args.every} is above the generations of train_snn.py {shlex.join(flags)}")
    command = shlex.join(["python", "-m", "benchmarks.training_runs", *(sys.argv[1:] if argv is None else argv)])
    title = (
        "The training's CMA-ES runs under the default and earlier settings"
        if args.settings is SETTINGS
        else f"The training's CMA-ES runs under {', '.join(args.settings)}"
    )
    with printed_section(
        args.section,
        title,
        command,
        enabled=not args.no_report,
    ):
        run(args)


if __name__ == "__main__":
    main()
