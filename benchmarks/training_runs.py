"""Follow the CMA-ES runs of the training: how far each run's mean gets, under two settings.

For each seed and each setting, the training of ``train_snn.py`` runs as the script runs it
(``train_snn.train``), and every ``--every`` generations the CMA-ES mean of each of its runs is
judged as the final choice judges candidates: accuracy on the validation trials under the
held-out noise draw (the test trials are not used). The settings are the default and the
previous default (a step size of 1 and a population of 32 for 200 generations), so the table
shows, at the same count of simulated networks, where the runs stand under each.

Reads:  nothing.
Writes: the "training-runs" section of docs/RESULTS.md (unless ``--no-report``); prints it.
Command:  python -m benchmarks.training_runs
"""

import argparse
import shlex
import sys

import numpy as np
import torch

import spiking_network
import train_snn
from benchmarks.report import printed_section

SETTINGS = {
    "default": [],
    "previous default": ["--sigma0", "1", "--population", "32", "--generations", "200"],
}


def validation_accuracy(means, args, problem):
    """Accuracy of each run's mean, shape (runs,), on the validation trials and held-out noise."""
    spikes, labels = (torch.as_tensor(x) for x in problem["trials"]["validation"])
    theta = torch.as_tensor(means, dtype=torch.float32)
    weights = spiking_network.theta_to_weights(theta, problem["layer_sizes"], problem["weight_limits"])
    counts = spiking_network.simulate_network(
        weights, spikes, problem["lif"], args.dt, train_snn.noise_generator(args.seed, "select")
    )
    return (train_snn.predict(counts) == labels).double().mean(dim=1).numpy()


def follow_runs(flags, every):
    """Train with ``flags``; return ``[(generation, validation accuracy of each run's mean)]``."""
    args = train_snn.parse_args(flags)
    torch.set_num_threads(args.threads)
    problem = train_snn.training_problem(args)
    checkpoints = []

    def on_generation(generation, means):
        if (generation + 1) % every == 0:
            checkpoints.append((generation + 1, validation_accuracy(means, args, problem)))

    train_snn.train(args, problem, on_generation)
    return args, checkpoints


def run(args):
    print(f"every {args.every} generations, the validation accuracy of each CMA-ES run's mean")
    print("| seed | setting | generation | networks simulated per run | median over runs | best run |")
    print("|---|---|---|---|---|---|")
    for seed in args.seeds:
        for name, flags in SETTINGS.items():
            train_args, checkpoints = follow_runs([*flags, "--seed", str(seed)], args.every)
            for generation, accuracy in checkpoints:
                print(
                    f"| {seed} | {name} | {generation} | {generation * train_args.population} | "
                    f"{np.median(accuracy):.3f} | {accuracy.max():.3f} |"
                )
    for name, flags in SETTINGS.items():
        print(f"\n{name}: train_snn.py {shlex.join(flags) or '(no flags)'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to train (default 0 1 2)")
    parser.add_argument("--every", type=int, default=100, help="generations between checks (default 100)")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    if args.every < 1 or any(seed < 0 for seed in args.seeds):
        parser.error("need --every >= 1 and seeds >= 0")
    command = shlex.join(["python", "-m", "benchmarks.training_runs", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "training-runs",
        "The training's CMA-ES runs under the default and the previous settings",
        command,
        enabled=not args.no_report,
    ):
        run(args)


if __name__ == "__main__":
    main()
