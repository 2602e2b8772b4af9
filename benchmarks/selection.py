"""The choice of the final weights: how much of its accuracy is the luck of one noise draw.

For each seed, the CMA-ES runs of ``train_snn.py`` run once (``snn_session.run_training``,
keeping the best individuals of the last ``--pool-generations`` generations), and the final
weights are chosen from those candidates in several ways (``snn_session.choose``): on 200 or 600
validation trials, each under 1, 5 or 10 draws of the held-out noise, among the candidates of
the last 20 generations or of more (train_snn.py's default pool is the last 100, its default
choice 10 draws on 200 trials); or, with ``--choices``, the choices named there (draws of
every validation trial and validation trials), each among the candidates of the last
``--pool-generations``. Every chosen network is then judged two ways:

- its expected accuracy: on ``--n-assess`` fresh trials of a stream no choice sees, each under
  ``--assess-draws`` noise draws of a stream of its own, so that the number is the network's
  and not one draw's;
- its test accuracy as ``train_snn.py`` reports it: the 400 test trials under the recording
  noise (one draw), the number of the seeds table.

The last column is the expected accuracy of the pool's best candidate judged on the assessment
trials themselves: an upper bound that no choice on the validation trials can reach, and
slightly optimistic, as it is the largest of many estimates.

Reads:  nothing.
Writes: the "selection" section of docs/RESULTS.md (unless ``--no-report``); prints it.
Command:  python -m benchmarks.selection
          python -m benchmarks.selection --choices 10x200 2x1000 1x2000 --section selection-validation
"""

import argparse
import shlex
import sys

import numpy as np
import torch

import snn_session
import spiking_network
import train_snn
from benchmarks.report import printed_section, section_name
from benchmarks.seeds import run_script
from snn_fitness import predict
from snn_training import class_rates, generate_trials

SHORT_POOL = 20  # generations of the smaller pool of candidates compared


def assessment_streams(seed):
    """The trials' rng and the noise generator of the assessment, apart from every stream of training."""
    # The training trials come from default_rng(seed) itself. Children 3 and 4 of SeedSequence(seed)
    # are also noise_generator's "cull" and "check": the check's noise is this noise, but only
    # --restarts draw it, and run_training runs no restart; the cull's is a torch stream, these
    # trials a numpy one. spawn(n)[i] does not depend on n.
    trials, noise = np.random.SeedSequence(seed).spawn(5)[3:]
    return np.random.default_rng(trials), torch.Generator().manual_seed(int(noise.generate_state(1, np.uint64)[0] >> 1))


def accuracies(candidates, problem, dt, spikes, labels, generator, draws=1):
    """Accuracy of every candidate on the trials, each under ``draws`` noise draws: shape (C,)."""
    spikes, labels = torch.as_tensor(spikes).repeat(draws, 1, 1), torch.as_tensor(labels).repeat(draws)
    weights = spiking_network.theta_to_weights(
        torch.as_tensor(candidates, dtype=torch.float32), problem["layer_sizes"], **problem["weight_options"]
    )
    counts = spiking_network.simulate_network(weights, spikes, problem["lif"], dt, generator)
    return (predict(counts) == labels).double().mean(dim=1).numpy()


def test_accuracy(theta, args, problem):
    """Test accuracy of ``theta`` as ``train_snn.main`` reports it (``snn_session.record_run``)."""
    _, counts, _ = snn_session.record_run(args, problem, theta)
    test_labels = torch.as_tensor(problem["trials"]["test"][1])
    return (predict(counts[0, args.n_train :]) == test_labels).double().mean().item()


def pool(candidates, runs, generations):
    """The candidates (or their row numbers) of the pool of the last ``generations``.

    Rows as ``run_cmaes`` orders them: each run's best and mean, then generation by generation.
    """
    return np.concatenate([candidates[: 2 * runs], candidates[len(candidates) - generations * runs :]])


def seed_row(seed, settings, pool_generations, n_assess, assess_draws, flags):
    """Train seed ``seed`` once; return (expected, test accuracy) per setting, and the ceiling.

    ``settings``: ``(draws, generations, n_validation)`` of each choice.
    """
    problems = {}
    for n_validation in sorted({n for *_, n in settings}):
        # The validation trials are drawn after the training and test trials, which stay the same.
        args = train_snn.parse_args(
            ["--seed", str(seed), *flags, "--n-validation", str(n_validation)]
            + ["--select-generations", str(pool_generations)]
        )
        problems[n_validation] = (args, snn_session.training_problem(args))
    args, problem = next(iter(problems.values()))
    torch.set_num_threads(args.threads)
    candidates, _ = snn_session.run_training(args, problem)
    rng, generator = assessment_streams(seed)
    spikes, labels = generate_trials(n_assess, class_rates(args.n_steps, args.sine_freq, args.cosine_freq), rng)
    expected = accuracies(candidates, problem, args.dt, spikes, labels, generator, assess_draws)
    results = []
    for draws, generations, n_validation in settings:
        args, problem = problems[n_validation]
        rows = pool(np.arange(len(candidates)), snn_session.final_runs(args), generations)
        row = rows[snn_session.choose(args, problem, candidates[rows], draws)]
        results.append((expected[row], test_accuracy(candidates[row], args, problem)))
    return results, expected.max()


def choice(text):
    """``--choices`` item ``"DxN"``: D noise draws of each of N validation trials, as ``(D, N)``."""
    draws, sep, n_validation = text.partition("x")
    if not (sep and draws.isdigit() and n_validation.isdigit() and int(draws) >= 1 and int(n_validation) >= 1):
        raise argparse.ArgumentTypeError(f"use DRAWSxTRIALS with both at least 1, as 10x200; got {text!r}")
    return int(draws), int(n_validation)


def settings_of(args):
    """``(draws, generations, n_validation)`` of every choice compared, the first the baseline of the summary."""
    if args.choices:
        return [(draws, args.pool_generations, n_validation) for draws, n_validation in args.choices]
    return [(1, SHORT_POOL, 200)] + [
        setting
        for n_validation in (200, 600)
        for setting in ((5, SHORT_POOL, n_validation), (10, SHORT_POOL, n_validation))
        + ((10, args.pool_generations, n_validation),)
    ]


def run(args):
    settings = settings_of(args)
    names = [f"{d} draw{'s' * (d > 1)}, {g} gen., {n} val." for d, g, n in settings]
    chosen = (
        "each choice picks (its draws of each validation trial, its last generations of every run, its "
        "validation trials)"
        if args.choices
        else f"chosen on 200 or 600 validation trials, each under 1 to 10 noise draws, from the best individuals "
        f"of the last {SHORT_POOL} or {args.pool_generations} generations of every run"
    )
    print(
        f"expected accuracy (on {args.n_assess} fresh trials x {args.assess_draws} noise draws) / test accuracy "
        f"(400 test trials, one draw) of the network {chosen}\n"
    )
    print("| seed | " + " | ".join(names) + " | best candidate |")
    print("|---" * (len(settings) + 2) + "|")
    table = []
    for seed in args.seeds:
        results, ceiling = seed_row(
            seed, settings, args.pool_generations, args.n_assess, args.assess_draws, shlex.split(args.train_flags)
        )
        table.append(results)
        print(f"| {seed} | " + " | ".join(f"{e:.3f} / {t:.3f}" for e, t in results) + f" | {ceiling:.3f} |", flush=True)
    table = np.array(table)  # (seeds, settings, 2)
    print()
    for k, name in enumerate(names):
        expected, test = table[:, k, 0], table[:, k, 1]
        gain = expected - table[:, 0, 0]
        print(
            f"- {name}: expected accuracy mean {expected.mean():.3f}, lowest {expected.min():.3f}; "
            f"test accuracy >= 0.95 at {(test >= 0.95).sum()} of {len(test)} seeds"
            + (
                ""
                if k == 0
                else f"; expected accuracy above the first column's at {(gain > 0).sum()} seeds, below at "
                f"{(gain < 0).sum()} (mean change {gain.mean():+.3f})"
            )
        )
    if args.train_flags:
        print(f"\ntrain_snn.py flags: {args.train_flags}")


def section_title(args):
    """Heading: what is compared, and the seeds where they are not 0-9."""
    compared = (
        "draws x validation trials " + ", ".join(f"{d} x {n}" for d, n in args.choices)
        if args.choices
        else "one noise draw or several"
    )
    seeds = "" if args.seeds == list(range(10)) else f", seeds {', '.join(map(str, args.seeds))}"
    return f"The choice of the final weights: {compared}{seeds}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)), help="seeds (default 0-9)")
    parser.add_argument(
        "--pool-generations", type=int, default=100, help="the larger pool: last generations (default 100)"
    )
    parser.add_argument("--n-assess", type=int, default=2000, help="fresh trials of the assessment (default 2000)")
    parser.add_argument("--assess-draws", type=int, default=3, help="noise draws per assessment trial (default 3)")
    parser.add_argument(
        "--choices",
        type=choice,
        nargs="+",
        default=None,
        help="choices to compare, as DRAWSxTRIALS (10x200: 10 noise draws of each of 200 validation trials), "
        "each among the last --pool-generations; the first is the summary's baseline (default: the "
        "1, 5 or 10 draws on 200 or 600 trials, among the last 20 or --pool-generations)",
    )
    parser.add_argument("--train-flags", default="", help="extra train_snn.py flags, one string")
    parser.add_argument(
        "--section", type=section_name, default="selection", help="docs/RESULTS.md section (default selection)"
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    if min(args.n_assess, args.assess_draws) < 1 or args.pool_generations < SHORT_POOL:
        parser.error(f"need --n-assess, --assess-draws >= 1 and --pool-generations >= {SHORT_POOL}")
    if any(seed < 0 for seed in args.seeds):
        parser.error("seeds must be >= 0")
    try:  # before the table's first line, not inside its first row
        run_script(train_snn.parse_args, shlex.split(args.train_flags))
    except (RuntimeError, ValueError) as err:
        parser.error(f"--train-flags: {err}")
    return args


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.selection", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        args.section,
        section_title(args),
        command,
        enabled=not args.no_report,
    ):
        run(args)


if __name__ == "__main__":
    main()
