"""Does a seed's result hold on another test set? The trained network on fresh test sets.

The seed sweep judges each trained network on one draw of test trials: its 400 test trials and
the groups they fall into. A group of a few wrong trials gives a noisy AUC, and an accuracy near
0.95 is on the bar by the luck of the draw as much as by the network. Here each seed's network
(``train_snn.py --seed S``, its defaults or ``--train-flags``) runs on ``--test-sets`` fresh
sets of as many test trials, drawn like the stored ones (same classes, rates and noise level,
new inputs and noise), and every set is treated as the pipeline treats the stored one: its
accuracy, its groups by class and outcome, each group fitted by ``fit_hawkes_process.py``'s fit
(its defaults or ``--fit-flags``; the background from the stored training trials, as the script
takes it) and scored by the AUC over its observable pairs. The spread over the fresh sets is
the spread of the seed sweep's numbers for this network; their share at the goals the seed sweep counts (test
accuracy 0.95, AUC 0.9 in every fitted group) is how often this network meets them.

Fresh set ``r`` draws its inputs from ``numpy.random.default_rng([S, INPUT_KEY, r])``, its noise
from a ``torch.Generator`` seeded by ``SeedSequence([S, NOISE_KEY, r])``, and its fits' chains
from ``SeedSequence([S, r])``: none of these is a stream the training or the stored run uses,
and a set does not depend on how many are drawn.

Reads:  nothing.
Writes: the "fresh-test-sets" section of docs/RESULTS.md, or with ``--section NAME`` that section
        (unless ``--no-report``); prints the table.
Command:  python -m benchmarks.fresh_test_sets                     (seeds 0-9, 10 fresh sets each)
          python -m benchmarks.fresh_test_sets --seeds 210 211 --section fresh-test-sets-210
"""

import argparse
import shlex
import sys
import tempfile

import numpy as np
import torch

import fit_hawkes_process
import group_fits
import spiking_network
from benchmarks.report import SECTION_NAME, write_section
from benchmarks.seeds import ACCURACY_GOAL, AUC_GOAL, DEFAULT_SEEDS, flags_text, run_script, train
from connectivity import connection_matrix, group_aucs
from mcmc_diagnostics import is_converged
from snn_fitness import predict
from snn_training import class_rates, generate_trials
from spike_file import load_spike_trains

INPUT_KEY, NOISE_KEY = 2**31 - 1, 2**31 - 2  # words of entropy that no set index reaches
COLUMNS = (
    "seed",
    "test acc.: stored",
    "fresh (5-95 %)",
    f">= {ACCURACY_GOAL}",
    "worst AUC: stored",
    "fresh (5-95 %)",
    f">= {AUC_GOAL}",
    "both",
    "smallest group",
    "converged",
)


def simulate(spike_data, inputs, generator):
    """Run the spike file's network on input spike trains.

    Parameters
    ----------
    spike_data : dict
        The spike file, as from ``spike_file.load_spike_trains``.
    inputs : ndarray of bool, shape (n_trials, n_in, n_steps)
    generator : torch.Generator
        The noise.

    Returns
    -------
    spikes : ndarray of bool, shape (n_trials, N, n_steps), every neuron, input first
    predictions : ndarray of int64, shape (n_trials,)
    """
    weights = {name: torch.as_tensor(w[None], dtype=torch.float32) for name, w in spike_data["weights"].items()}
    lif = spiking_network.LIFParams(**spike_data["lif"])
    counts, spikes = spiking_network.simulate_network(
        weights, torch.as_tensor(inputs), lif, float(spike_data["dt"]), generator, record=True
    )
    return spikes[0].numpy(), predict(counts[0]).numpy()


def fresh_test_set(spike_data, seed, index):
    """Fresh test set ``index`` for the spike file's network, as large as its stored test set.

    Its inputs come from ``default_rng([seed, INPUT_KEY, index])`` and its noise from a
    generator seeded by ``SeedSequence([seed, NOISE_KEY, index])``, so a set does not depend on
    how many others are drawn.

    Returns
    -------
    dict
        The spike file with its test trials replaced by the set's (``spikes``, ``labels``,
        ``predictions``, ``split``); the training trials stay first, as stored.
    """
    config, train = spike_data["config"], spike_data["split"] == "train"
    n_test = len(train) - int(train.sum())
    rates = class_rates(int(spike_data["n_steps"]), config["sine_freq"], config["cosine_freq"])
    inputs, labels = generate_trials(n_test, rates, np.random.default_rng([seed, INPUT_KEY, index]))
    noise_seed = np.random.SeedSequence([seed, NOISE_KEY, index]).generate_state(1, np.uint64)[0] >> 1
    spikes, predictions = simulate(spike_data, inputs, torch.Generator().manual_seed(int(noise_seed)))
    return {
        **spike_data,
        "spikes": np.concatenate([spike_data["spikes"][train], spikes]),
        "labels": np.concatenate([spike_data["labels"][train], labels]),
        "predictions": np.concatenate([spike_data["predictions"][train], predictions]),
        "split": np.concatenate([spike_data["split"][train], np.full(n_test, "test")]),
    }


def fit_posterior(spike_data, plan, groups, backgrounds, per_trial, seed, n_jobs, pooling="none"):
    """Fit groups of trials as the fit script fits its groups; return the record the script would write.

    Parameters
    ----------
    spike_data : dict
        A spike file, as from ``spike_file.load_spike_trains``.
    plan : dict
        ``fit_hawkes_process.plan_fit`` of the spike file: the model, the sampler and the events.
    groups : dict
        Group name -> trial indices: the plan's own groups, or any others.
    backgrounds : dict
        Group name -> relative background (``trial_groups.group_backgrounds``).
    per_trial : bool
        Each trial alone (``--per-trial``).
    pooling : str
        ``--partial-pooling``'s value (``group_fits.fit_groups``).
    seed : int or sequence of int
        Entropy of the fits' chains (``group_fits.fit_groups``).
    n_jobs : int
        Fits at a time (-1: all cores); the result does not depend on it.

    Returns
    -------
    posterior_file.Posterior
    """
    fits = group_fits.fit_groups(
        plan["events"],
        plan["end_time"],
        groups,
        plan["n_dims"],
        plan["model_options"],
        plan["sampler_options"],
        per_trial,
        seed,
        n_jobs,
        backgrounds,
        pooling,
    )
    return group_fits.posterior_record(spike_data, groups, [], fits, {}, backgrounds, plan["alpha_free"])


def fit_and_score(spike_data, plan, groups, backgrounds, per_trial, seed, n_jobs, pooling="none"):
    """``fit_posterior``, scored as the seed sweep scores the script's file.

    Returns
    -------
    dict
        ``auc`` group -> AUC over its observable pairs (NaN: none scorable); ``trials`` group ->
        fitted trials; ``converged`` group -> bool.
    """
    posterior = fit_posterior(spike_data, plan, groups, backgrounds, per_trial, seed, n_jobs, pooling)
    true_weights, _ = connection_matrix(spike_data["weights"], spike_data["layer_sizes"])
    return {
        "auc": group_aucs(posterior, true_weights, observable=True),
        "trials": {name: len(group.trials) for name, group in posterior.groups.items()},
        "converged": {
            name: is_converged(group.max_rhat, group.min_ess_bulk) for name, group in posterior.groups.items()
        },
    }


def judge(spike_data, fit_args, seed, n_jobs):
    """The pipeline's numbers for one set of test trials: accuracy and each fitted group's AUC.

    Parameters
    ----------
    spike_data : dict
        A spike file, as from ``spike_file.load_spike_trains`` (or ``fresh_test_set``).
    fit_args : argparse.Namespace
        ``fit_hawkes_process.parse_args`` of the fit's flags.
    seed, n_jobs
        As for ``fit_and_score``.

    Returns
    -------
    dict
        ``accuracy`` on the test trials, and ``fit_and_score``'s ``auc``, ``trials`` and
        ``converged`` of the script's groups.
    """
    is_test = spike_data["split"] == "test"
    plan = fit_hawkes_process.plan_fit(spike_data, fit_args)
    return {
        "accuracy": float(np.mean(spike_data["predictions"][is_test] == spike_data["labels"][is_test])),
        **fit_and_score(
            spike_data,
            plan,
            plan["groups"],
            plan["backgrounds"],
            fit_args.per_trial,
            seed,
            n_jobs,
            fit_args.partial_pooling,
        ),
    }


def seed_row(seed, n_sets, train_flags=(), fit_flags=(), n_jobs=-1):
    """Train one seed in a temporary folder; judge its stored test set and ``n_sets`` fresh ones.

    Returns
    -------
    dict
        ``seed``; ``stored``: ``judge`` of the stored test trials (the seed sweep's numbers);
        ``fresh``: list of ``judge`` of each fresh set.
    """
    fit_args = fit_hawkes_process.parse_args(["--seed", str(seed), *fit_flags])
    with tempfile.TemporaryDirectory() as tmp:
        spike_data = load_spike_trains(train(seed, tmp, train_flags))
    return {
        "seed": seed,
        "stored": judge(spike_data, fit_args, seed, n_jobs),
        "fresh": [
            judge(fresh_test_set(spike_data, seed, index), fit_args, [seed, index], n_jobs) for index in range(n_sets)
        ],
    }


def worst_auc(judged):
    """The lowest AUC over a test set's fitted groups (NaN: none scorable)."""
    aucs = [auc for auc in judged["auc"].values() if np.isfinite(auc)]
    return min(aucs, default=np.nan)


def _spread(values):
    return f"{np.median(values):.3f} ({np.percentile(values, 5):.3f}-{np.percentile(values, 95):.3f})"


def fresh_scores(fresh):
    """A seed's fresh sets' test accuracies and worst groups' AUCs: two float arrays (sets,)."""
    return np.array([judged["accuracy"] for judged in fresh]), np.array([worst_auc(judged) for judged in fresh])


def at_bars(accuracy, worst):
    """Which sets meet the accuracy bar, the AUC bar and both: three bool arrays shaped as the inputs."""
    accurate, readable = accuracy >= ACCURACY_GOAL, worst >= AUC_GOAL
    return accurate, readable, accurate & readable


def totals(rows):
    """One sentence over the seeds: how many networks meet both goals on every fresh set, on some, on none."""
    both = [at_bars(*fresh_scores(row["fresh"]))[2] for row in rows]
    every, some = sum(map(np.all, both)), sum(map(np.any, both))
    return (
        f"Both goals on every fresh set at {every} of the {len(rows)} seeds, on some at {some - every}, "
        f"on none at {len(rows) - some}; {sum(map(np.sum, both))} of {sum(map(len, both))} fresh sets meet both."
    )


def markdown_table(rows):
    """One row per seed: the stored set's numbers, the fresh sets' spread and shares at the bars; then ``totals``."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        stored, fresh = row["stored"], row["fresh"]
        accuracy, worst = fresh_scores(fresh)
        accurate, readable, both = at_bars(accuracy, worst)
        smallest = [min(judged["trials"].values()) for judged in fresh]
        converged = sum(sum(judged["converged"].values()) for judged in fresh)
        lines.append(
            f"| {row['seed']} | {stored['accuracy']:.3f} | {_spread(accuracy)} | {accurate.mean():.2f} | "
            f"{worst_auc(stored):.3f} | {_spread(worst)} | {readable.mean():.2f} | {both.mean():.2f} | "
            f"{min(stored['trials'].values())}; {min(smallest)}-{max(smallest)} | "
            f"{converged}/{sum(len(judged['converged']) for judged in fresh)} |"
        )
    n_sets = {len(row["fresh"]) for row in rows}
    lines.append("")
    lines.append(
        totals(rows) + " "
        f"{'/'.join(map(str, sorted(n_sets)))} fresh test sets per seed, each as large as the stored one. "
        "Stored: the seed sweep's test set and fit; fresh: median (5-95 %) over the fresh sets, and the share "
        f"of them at test accuracy {ACCURACY_GOAL}, at AUC {AUC_GOAL} in every fitted group (over the observable "
        "pairs), and at both. Smallest group: fitted trials in the stored set's smallest group; the range of "
        "the fresh sets' smallest. Converged: fresh groups within the fit script's R-hat and ESS limits."
    )
    return "\n".join(lines)


def section_title(args):
    """Heading of the section: which seeds, and any flags that are not the defaults."""
    flags = flags_text(args.train_flags, args.fit_flags)
    default = args.seeds == list(DEFAULT_SEEDS)
    seeds = "Every seed's network" if default else f"Seeds {', '.join(map(str, args.seeds))}, each network"
    return f"{seeds} on fresh test sets: how often it meets the bars" + (f", with {flags}" if flags else "")


def network_parser(description, section):
    """The options of a benchmark that trains each seed's network and fits its groups.

    ``--seeds``, ``--n-jobs``, ``--train-flags``, ``--fit-flags``, ``--section`` (default
    ``section``) and ``--no-report``; ``check_network_args`` checks them once parsed.
    """
    parser = argparse.ArgumentParser(allow_abbrev=False, description=description)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="seeds to train and judge")
    parser.add_argument("--n-jobs", type=int, default=-1, help="fits at a time (-1: all cores)")
    parser.add_argument("--train-flags", type=shlex.split, default=[], help="flags for train_snn.py, quoted")
    parser.add_argument("--fit-flags", type=shlex.split, default=[], help="flags for fit_hawkes_process.py, quoted")
    parser.add_argument("--section", default=section, help="section of docs/RESULTS.md to write")
    parser.add_argument("--no-report", action="store_true", help="do not write docs/RESULTS.md")
    return parser


def check_network_args(parser, args):
    """End in argparse's one-line error when ``network_parser``'s options make no sense."""
    if any(seed < 0 for seed in args.seeds) or args.n_jobs == 0:
        parser.error("seeds must be >= 0 and --n-jobs a count or negative (-1: all cores)")
    if not SECTION_NAME.fullmatch(args.section):
        parser.error("--section: use lower-case letters, digits and hyphens")


ALONE = ["--partial-pooling", "none"]


def fit_alone(parser, args):
    """Set ``args.alone_fit_flags``: ``args.fit_flags`` with ``--partial-pooling none`` ahead of them.

    ``args.fit_flags`` stay as given, for the section's heading; the fits take ``alone_fit_flags``.

    For the benchmarks that fit subsets of a group's trials beside it: pooled by class, every
    subset of a class would share one prior with the others; under the cut, a subset of wrong
    trials would borrow from its class's correct trials. Either way it would no longer stand for
    a group of its size. For the comparisons with other methods: each method sees the same trials.
    Ends in argparse's one-line error where the flags ask for pooling or the cut.
    """
    args.alone_fit_flags = [*ALONE, *args.fit_flags]
    try:
        pooling = run_script(fit_hawkes_process.parse_args, args.alone_fit_flags).partial_pooling
    except RuntimeError as err:
        parser.error(f"--fit-flags: {str(err).split('error: ', 1)[-1]}")  # the fit script's own words
    if pooling != "none":
        parser.error(f"it fits each group alone; drop --partial-pooling {pooling} from --fit-flags")


def parse_args(argv=None):
    parser = network_parser(__doc__.split("\n\n")[0], "fresh-test-sets")
    parser.add_argument("--test-sets", type=int, default=10, help="fresh test sets per seed")
    args = parser.parse_args(argv)
    check_network_args(parser, args)
    if args.test_sets < 1:
        parser.error("--test-sets must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        rows = [seed_row(seed, args.test_sets, args.train_flags, args.fit_flags, args.n_jobs) for seed in args.seeds]
    except (RuntimeError, ValueError) as err:  # a script's one-line error, or a fit the spike file cannot take
        sys.exit(f"fresh_test_sets: error: {err}")
    table = markdown_table(rows)
    print(table)
    if not args.no_report:
        command = shlex.join(["python", "-m", "benchmarks.fresh_test_sets", *(sys.argv[1:] if argv is None else argv)])
        write_section(args.section, section_title(args), command, table)


if __name__ == "__main__":
    main()
