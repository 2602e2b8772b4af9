"""Train the LIF network with CMA-ES to tell a sine from a cosine; store its spike trains.

One piece because it is one script: data, fitness, training, the record and its figures, and
the command line (the network lives in ``spiking_network.py``, the file in ``spike_file.py``).

Each trial is one input spike train of ``n_steps`` Bernoulli draws whose firing probability
follows ``0.5 (1 + sin(10 pi t))`` (class 0, "sine") or ``0.5 (1 + cos(15 pi t))`` (class 1,
"cosine") on ``t = linspace(0, 1, n_steps)``, as in the original. The network
(``spiking_network.py``) classifies a trial by which output neuron fires more; CMA-ES tunes
all its weights, the only thing that learns. With intrinsic noise (``--noise-sigma`` > 0) the
final weights are chosen on a held-out noise draw of the training set (``train_cmaes``).

Reads: nothing.
Writes: ``data/spike_trains.pkl`` (contract and reader in ``spike_file.py``),
``figures/example_spiking_trains.png`` and ``figures/training_curve.png``.
Reproduce the README figures with::

    python train_snn.py
"""

import argparse
import dataclasses
import math
import sys
from pathlib import Path

import cma
import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import spiking_network
from cli_types import finite_float, non_negative_float, non_negative_int, number, positive_float, positive_int
from safe_files import save_figure
from spike_file import LAYER_NAMES, METRIC_NAMES, SPLITS, save_spike_trains, spike_record, trial_split, weight_shapes

ROOT = Path(__file__).resolve().parent
INIT_INPUT_WEIGHT = 1.0  # CMA-ES start of input->hidden weights, in units of v_threshold
# Weaker weights are no synapse: a synapse too weak to move its target's spikes cannot be seen
# in them, so the fit would be asked for what the trains do not hold. The output weights start
# above it, or the outputs would start without synapses.
MIN_WEIGHT = 0.5  # smallest weight magnitude that is a synapse, in units of v_threshold
INIT_OUTPUT_WEIGHT = 0.6  # CMA-ES start of hidden->output weights, in units of v_threshold
# Intrinsic noise and the activity regulariser keep the hidden layer irregular and below
# saturation, so its spike trains carry its synapses: without them CMA-ES builds clock-like,
# saturated chains that classify well but hide their synapses. Their strengths pull two ways
# (docs/MODEL.md): a band that binds made every seed accurate but, alone, showed the synapses
# worse; more noise shows them better but costs accuracy. The noise, the rate band and the
# weights above were chosen by seed sweeps, and the change to the smallest weight by a rule
# written down before its fresh seeds ran (docs/MODEL.md).
NOISE_SIGMA = 0.2  # sd of the noise current per step, in units of v_threshold
RATE_FLOOR = 0.03  # spikes per step below which a hidden/output neuron is penalised
RATE_TARGET = 0.15  # spikes per step a hidden/output neuron may fire before penalty
RATE_PENALTY = 5.0  # fitness per spike/step of rate outside the band, averaged over neurons
# With noise, the final weights are chosen among the CMA-ES mean, the best weights of all
# generations and the best individual of each of the last SELECT_GENERATIONS generations.
SELECT_GENERATIONS = 20


def class_rates(n_steps, sine_freq, cosine_freq):
    """Return the per-step firing probability of each class's input neuron.

    Parameters
    ----------
    n_steps : int
    sine_freq, cosine_freq : float
        Angular frequencies in units of pi per trial (the original's 10 and 15).

    Returns
    -------
    np.ndarray, shape (2, n_steps)
        Row 0: ``0.5 (1 + sin(sine_freq pi t))``, row 1: ``0.5 (1 + cos(cosine_freq pi t))``,
        with ``t = linspace(0, 1, n_steps)`` the trial's normalised time.
    """
    t = np.linspace(0.0, 1.0, n_steps)
    return np.stack([0.5 * (1.0 + np.sin(sine_freq * np.pi * t)), 0.5 * (1.0 + np.cos(cosine_freq * np.pi * t))])


def generate_trials(n_trials, rates, rng):
    """Draw a balanced, shuffled set of labelled Bernoulli input spike trains.

    Parameters
    ----------
    n_trials : int
    rates : np.ndarray, shape (2, n_steps)
        Firing probability per step of each class, from ``class_rates``.
    rng : np.random.Generator

    Returns
    -------
    spikes : np.ndarray, shape (n_trials, 1, n_steps), bool
        Input-layer spikes.
    labels : np.ndarray, shape (n_trials,), int64
    """
    labels = rng.permutation(np.arange(n_trials) % 2).astype(np.int64)
    spikes = rng.random((n_trials, rates.shape[1])) < rates[labels]  # (n_trials, n_steps)
    return spikes[:, None, :], labels


def predict(counts):
    """Predicted class: 1 ("cosine") if output 1 fires more than output 0, else 0 (ties too).

    Parameters
    ----------
    counts : torch.Tensor, shape (..., n_neurons)
        Spike counts whose last two columns are the output neurons 0 and 1.

    Returns
    -------
    torch.Tensor, shape (...), int64
    """
    return (counts[..., -1] > counts[..., -2]).long()


def fitness(
    counts,
    labels,
    temperature,
    silence_penalty,
    min_count,
    n_steps=1,
    rate_floor=0.0,
    rate_target=1.0,
    rate_penalty=0.0,
):
    """CMA-ES fitness to minimise: count cross-entropy, silence and activity penalties.

    ``mean_trials log(1 + exp(-(2 y - 1) (c_1 - c_0) / temperature))
    + silence_penalty * sum_outputs max(0, min_count - mean_trials c_o)
    + rate_penalty * mean_neurons (max(0, r_i - rate_target) + max(0, rate_floor - r_i))``
    with ``r_i = mean_trials n_i / n_steps`` the firing rate of LIF neuron ``i``.
    The first term is the logistic loss of the count margin: unlike the error count it
    changes with every spike that moves the margin, so CMA-ES has a slope to follow. The
    second term pushes away from the basin where an output neuron is (nearly) silent, every
    trial ties and the first term is flat at ``log 2``. The third keeps every LIF neuron
    (hidden and output) inside a band of rates: above ``rate_target`` CMA-ES would use
    self-sustaining lateral loops firing at the refractory limit all trial, which classify
    well but hide every synapse from the Hawkes analysis; below ``rate_floor`` a neuron is
    (nearly) silent and its synapses leave no trace either.

    Parameters
    ----------
    counts : torch.Tensor, shape (population, trials, n_neurons)
        Spike counts ``n_i`` of the LIF neurons; the last two columns are the outputs
        ``c_0, c_1``.
    labels : torch.Tensor, shape (trials,)
        True classes ``y``.
    temperature : float
        Spikes of count margin per unit of logit.
    silence_penalty : float
        Penalty per missing spike per trial below ``min_count``.
    min_count : float
        Mean spikes per trial below which an output neuron counts as silent.
    n_steps : int
        Steps per trial, to turn counts into rates.
    rate_target : float
        Mean firing rate in spikes per step above which a neuron is penalised.
    rate_floor : float
        Mean firing rate in spikes per step below which a neuron is penalised.
    rate_penalty : float
        Penalty per spike per step of rate outside ``[rate_floor, rate_target]``, averaged
        over neurons.

    Returns
    -------
    torch.Tensor, shape (population,)
    """
    outputs = counts[..., -2:]  # (P, T, 2)
    sign = 2.0 * labels.to(counts.dtype) - 1.0  # (T,)
    margin = sign * (outputs[..., 1] - outputs[..., 0])  # (P, T)
    cross_entropy = torch.nn.functional.softplus(-margin / temperature).mean(dim=-1)
    silence = (min_count - outputs.mean(dim=1)).clamp(min=0.0).sum(dim=-1)  # (P,)
    rates = counts.mean(dim=1) / n_steps  # (P, N)
    excess = ((rates - rate_target).clamp(min=0.0) + (rate_floor - rates).clamp(min=0.0)).mean(dim=-1)  # (P,)
    return cross_entropy + silence_penalty * silence + rate_penalty * excess


def noise_generator(seed, purpose):
    """Return the seeded CPU ``torch.Generator`` of the network's noise for one purpose.

    Parameters
    ----------
    seed : int
        The run's ``--seed``.
    purpose : {"train", "record", "select"}
        ``"train"`` feeds the CMA-ES generations (fresh noise every generation, common to the
        population); ``"record"`` the final run whose spikes are stored, so that the stored
        weights, inputs and seed reproduce every stored spike; ``"select"`` the held-out
        noise draw on which the final weights are chosen (``select_weights``).

    Returns
    -------
    torch.Generator
    """
    # spawn(n)[i] does not depend on n: adding "select" left "train" and "record" unchanged.
    child = np.random.SeedSequence(seed).spawn(3)[("train", "record", "select").index(purpose)]
    return torch.Generator().manual_seed(int(child.generate_state(1, np.uint64)[0] >> 1))


def train_cmaes(
    layer_sizes,
    lif,
    dt,
    spikes,
    labels,
    validation,
    population,
    generations,
    sigma0,
    fitness_options,
    seed,
    device,
    noise_draws=1,
    weight_options=None,
    runs=1,
    on_generation=None,
    output_start=INIT_OUTPUT_WEIGHT,
):
    """Minimise ``fitness`` over the network weights with ``runs`` CMA-ES runs side by side.

    The runs are independent (pycma's ask/tell, each its own seed) but share every network
    simulation: each generation, all their populations are evaluated as one batch on the same
    noise draw. A run can settle in a poor local optimum from which more generations do not
    lead out, so several runs, and a choice among them on trials no run trained on, make the
    result depend less on one run's luck.

    Parameters
    ----------
    layer_sizes : dict
    lif : spiking_network.LIFParams
    dt : float
        Seconds per step.
    spikes : torch.Tensor, shape (trials, 1, n_steps)
        Training inputs.
    labels : torch.Tensor, shape (trials,)
    validation : tuple of torch.Tensor
        ``(spikes, labels)`` of the validation trials, drawn like the training trials: the
        final weights are chosen on them (``select_weights``), never on the test trials.
    population, generations : int
        Per run.
    sigma0 : float
        Initial CMA-ES step size, in weight units (the threshold is ``lif.v_threshold``).
    fitness_options : dict
        ``temperature``, ``silence_penalty``, ``min_count``, ``rate_floor``, ``rate_target``
        and ``rate_penalty`` of ``fitness``.
    seed : int
        Run ``r`` gives pycma ``seed + 1 + 1000 r`` (pycma reads 0 as "seed from the clock");
        the noise comes from ``noise_generator(seed, "train")``.
    device : torch.device
    noise_draws : int
        Noise draws per training trial and generation; the fitness averages over them (the
        trials are simply repeated, each copy gets its own noise). Cost grows linearly.
    weight_options : dict or None
        ``limits`` and ``min_weight`` of ``spiking_network.theta_to_weights``; None: none.
    runs : int
        Independent CMA-ES runs. Cost grows linearly.
    on_generation : callable or None
        Called as ``on_generation(generation, means)`` after each generation, ``means`` of
        shape (runs, n_parameters) the runs' CMA-ES means (``benchmarks/training_runs.py``
        follows the runs with it).
    output_start : float
        CMA-ES start of every hidden->output weight, threshold units.

    Returns
    -------
    theta : np.ndarray, shape (n_parameters,)
        The candidate of lowest fitness on the validation trials (with the held-out noise
        ``noise_generator(seed, "select")``) among, for every run, its final mean, the best
        weights of all its generations and its best individual of each of the last
        ``SELECT_GENERATIONS`` generations. (A generation's lowest fitness is one lucky or
        unlucky noise draw on the training trials, so it over-selects luck.)
    history : dict of np.ndarray, each shape (generations,)
        Per generation, over all runs: best and median fitness, and the best individual's
        training accuracy.
    """
    # Start where every layer is active: each input spike fires the hidden layer, and a few
    # hidden spikes together fire both outputs; lateral weights start at zero.
    weight_options = weight_options or {}
    start = {name: torch.zeros(shape, dtype=torch.float64) for name, shape in weight_shapes(layer_sizes).items()}
    start["input_hidden"] += INIT_INPUT_WEIGHT * lif.v_threshold
    start["hidden_output"] += output_start * lif.v_threshold
    theta0 = spiking_network.weights_to_theta(start, layer_sizes).numpy()
    strategies = [
        cma.CMAEvolutionStrategy(
            theta0, sigma0, {"popsize": population, "seed": seed + 1 + 1000 * run, "verbose": -9, "verb_log": 0}
        )
        for run in range(runs)
    ]
    history = {name: np.zeros(generations) for name in ("best_fitness", "median_fitness", "train_accuracy")}
    best = [(theta0, math.inf)] * runs  # per run: (theta, fitness)
    generator = noise_generator(seed, "train")
    spikes, labels = spikes.repeat(noise_draws, 1, 1), labels.repeat(noise_draws)
    finalists = []  # best individual of each run in each of the last SELECT_GENERATIONS generations
    n_steps = spikes.shape[-1]
    progress = tqdm(range(generations), desc="CMA-ES", unit="gen", disable=None)
    for generation in progress:
        candidates = np.stack([np.asarray(s.ask()) for s in strategies])  # (R, P, n_params)
        theta = torch.as_tensor(candidates.reshape(runs * population, -1), dtype=torch.float32, device=device)
        weights = spiking_network.theta_to_weights(theta, layer_sizes, **weight_options)
        counts = spiking_network.simulate_network(weights, spikes, lif, dt, generator)  # (R P, T, N)
        values = (
            fitness(counts, labels, n_steps=n_steps, **fitness_options)
            .cpu()
            .numpy()
            .astype(np.float64)
            .reshape(runs, population)
        )
        for strategy, run_candidates, run_values in zip(strategies, candidates, values):
            strategy.tell(list(run_candidates), run_values.tolist())
        if on_generation is not None:
            on_generation(generation, np.stack([s.mean for s in strategies]))
        leaders = values.argmin(axis=1)  # (R,) best of each run
        overall = int(np.argmin(values.min(axis=1)))
        accuracy = (predict(counts[overall * population + leaders[overall]]) == labels).double().mean().item()
        history["best_fitness"][generation] = values.min()
        history["median_fitness"][generation] = np.median(values)
        history["train_accuracy"][generation] = accuracy
        best = [
            (candidates[r, leaders[r]], values[r, leaders[r]]) if values[r, leaders[r]] < best[r][1] else best[r]
            for r in range(runs)
        ]
        if generation >= generations - SELECT_GENERATIONS:
            finalists.extend(candidates[np.arange(runs), leaders])
        progress.set_postfix(fitness=f"{values.min():.4f}", accuracy=f"{accuracy:.3f}")
    finalists = np.stack([*(theta for theta, _ in best), *(s.mean for s in strategies), *finalists])
    chosen = select_weights(
        finalists,
        layer_sizes,
        lif,
        dt,
        *validation,
        fitness_options,
        noise_generator(seed, "select"),
        device,
        weight_options,
    )
    return finalists[chosen], history


def select_weights(
    candidates, layer_sizes, lif, dt, spikes, labels, fitness_options, generator, device, weight_options=None
):
    """Return the index of the candidate that classifies the given trials best.

    Accuracy is the task; the fitness (which also carries the rate band and the silence
    penalty) only breaks ties, so a candidate cannot win by its regularisers alone.

    Parameters
    ----------
    candidates : np.ndarray, shape (C, n_parameters)
    layer_sizes, lif, dt, fitness_options, device, weight_options
        As in ``train_cmaes``.
    spikes, labels : torch.Tensor, shapes (trials, 1, n_steps) and (trials,)
        The trials to judge on (the validation trials).
    generator : torch.Generator
        The held-out noise, common to all candidates (``noise_generator(seed, "select")``).

    Returns
    -------
    int
        Row of ``candidates``: the highest accuracy, then the lowest fitness, then the first.
    """
    theta = torch.as_tensor(candidates, dtype=torch.float32, device=device)
    counts = spiking_network.simulate_network(
        spiking_network.theta_to_weights(theta, layer_sizes, **(weight_options or {})), spikes, lif, dt, generator
    )
    values = fitness(counts, labels, n_steps=spikes.shape[-1], **fitness_options).cpu().numpy()
    accuracy = (predict(counts) == labels).double().mean(dim=1).cpu().numpy()
    return int(np.lexsort((np.arange(len(values)), values, -accuracy))[0])


def classification_metrics(y_true, y_pred):
    """Return accuracy, F1, precision and recall (positive class 1, "cosine") as floats."""
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
    }


def metrics_by_split(labels, predictions, split):
    """Return ``{split: classification_metrics}`` over the trials of each split of ``SPLITS``.

    Parameters
    ----------
    labels, predictions : np.ndarray, shape (n_trials,), int
    split : np.ndarray, shape (n_trials,), str
        As from ``spike_file.trial_split``.
    """
    return {name: classification_metrics(labels[split == name], predictions[split == name]) for name in SPLITS}


def plot_raster(ax, spikes, labels, layer_sizes, dt):
    """Draw one trial's spikes, one row per neuron, input at the bottom; return ``ax``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    spikes : np.ndarray, shape (n_neurons, n_steps), bool
    labels : list of str, length n_neurons
    layer_sizes : dict
    dt : float
        Seconds per step, for the top axis in milliseconds.
    """
    colours = {"input": "tab:blue", "hidden": "black", "output": "tab:red"}
    row = 0
    for layer in LAYER_NAMES:
        for _ in range(layer_sizes[layer]):
            ax.eventplot(
                np.flatnonzero(spikes[row]), lineoffsets=row, linelengths=0.8, colors=colours[layer], linewidths=1.5
            )
            row += 1
        if row < len(labels):
            ax.axhline(row - 0.5, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(labels)), labels)
    row_layers = [name for name in LAYER_NAMES for _ in range(layer_sizes[name])]
    for tick, layer in zip(ax.get_yticklabels(), row_layers):
        tick.set_color(colours[layer])
    n_steps = spikes.shape[1]
    ax.set_xlim(-1, n_steps)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron (input, hidden, output)")
    top = ax.secondary_xaxis("top", functions=(lambda k: k * dt * 1e3, lambda ms: ms / (dt * 1e3)))
    top.set_xlabel("time (ms)")
    return ax


def plot_training_curve(ax_fitness, ax_accuracy, history, test_accuracy):
    """Draw fitness and training accuracy per generation; return both axes."""
    generations = np.arange(1, len(history["best_fitness"]) + 1)
    ax_fitness.plot(generations, history["best_fitness"], label="best of generation")
    ax_fitness.plot(generations, history["median_fitness"], label="median of generation")
    ax_fitness.set_ylabel("fitness (lower is better)")
    ax_fitness.legend()
    ax_accuracy.plot(
        generations, history["train_accuracy"], color="tab:green", label="train accuracy of the generation's best"
    )
    ax_accuracy.axhline(
        test_accuracy, color="tab:red", ls="--", label=f"test accuracy of the final network ({test_accuracy:.3f})"
    )
    ax_accuracy.set_ylim(0.0, 1.02)
    ax_accuracy.set_xlabel("generation")
    ax_accuracy.set_ylabel("accuracy")
    ax_accuracy.legend(loc="lower right")
    return ax_fitness, ax_accuracy


def save_figures(record, figures_dir):
    """Write the raster of the first test trial and the training curve under ``figures_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trial = int(np.flatnonzero(record["split"] == "test")[0])
    names = record["class_names"]
    fig, ax = plt.subplots(figsize=(9, max(6.0, 0.3 * len(record["neuron_labels"]) + 2)))  # a row per neuron
    plot_raster(ax, record["spikes"][trial], record["neuron_labels"], record["layer_sizes"], record["dt"])
    ax.set_title(
        f"Spike trains of test trial {trial} (true {names[record['labels'][trial]]}, "
        f"predicted {names[record['predictions'][trial]]})"
    )
    save_figure(fig, Path(figures_dir) / "example_spiking_trains.png")
    plt.close(fig)

    fig, (ax_fitness, ax_accuracy) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    plot_training_curve(ax_fitness, ax_accuracy, record["history"], record["metrics"]["test"]["accuracy"])
    save_figure(fig, Path(figures_dir) / "training_curve.png")
    plt.close(fig)


_population_size = number(int, lambda v: v >= 2, "at least 2 (CMA-ES needs a population)")


def _device(text):
    """An argparse ``type``: a torch device this machine has, else a one-line usage error."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown torch device {text!r}; use cpu, cuda or cuda:N") from None
    available = {
        "cpu": lambda: True,
        "cuda": torch.cuda.is_available,
        "mps": lambda: torch.backends.mps.is_available(),
    }.get(device.type, lambda: False)
    if not available():
        raise argparse.ArgumentTypeError(
            f"device {text!r} is not available on this machine (torch sees no such device); use --device cpu"
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f"device {text!r} does not exist: torch sees {torch.cuda.device_count()} CUDA device(s)"
        )
    return device


def parse_args(argv=None):
    """Parse the command line; nonsense values exit with code 2 and one line."""
    lif = spiking_network.LIFParams()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--n-train", type=positive_int, default=200, help="training trials (default 200)")
    add("--n-test", type=positive_int, default=400, help="fresh test trials (default 400)")
    add("--n-steps", type=positive_int, default=100, help="steps per trial (default 100)")
    add("--dt", type=positive_float, default=0.001, help="seconds per step (default 0.001)")
    add(
        "--sine-freq",
        type=positive_float,
        default=10.0,
        help="class 0 rate 0.5 (1 + sin(F pi t)), t in [0, 1]; F in units of pi (default 10)",
    )
    add(
        "--cosine-freq",
        type=positive_float,
        default=15.0,
        help="class 1 rate 0.5 (1 + cos(F pi t)); F in units of pi (default 15)",
    )
    add("--n-hidden", type=positive_int, default=10, help="hidden LIF neurons (default 10)")
    add(
        "--tau-mem",
        type=positive_float,
        default=lif.tau_mem,
        help=f"membrane time constant in seconds (default {lif.tau_mem})",
    )
    add(
        "--tau-ref",
        type=non_negative_float,
        default=lif.tau_ref,
        help=f"refractory period in seconds (default {lif.tau_ref})",
    )
    add(
        "--v-threshold",
        type=finite_float,
        default=lif.v_threshold,
        help=f"firing threshold; weights are in its unit (default {lif.v_threshold})",
    )
    add(
        "--v-reset",
        type=finite_float,
        default=lif.v_reset,
        help=f"potential at the start and after a spike, below --v-threshold (default {lif.v_reset})",
    )
    add(
        "--noise-sigma",
        type=non_negative_float,
        default=NOISE_SIGMA,
        help=f"sd of every LIF neuron's Gaussian noise current per step, in threshold units (default {NOISE_SIGMA})",
    )
    add(
        "--noise-draws",
        type=positive_int,
        default=1,
        help="noise draws per training trial per generation, averaged in the fitness (default 1)",
    )
    add(
        "--n-validation",
        type=positive_int,
        default=200,
        help="validation trials, drawn like the training trials, on which the final weights are chosen (default 200)",
    )
    add(
        "--cma-runs",
        type=positive_int,
        default=8,
        help="independent CMA-ES runs trained side by side; the final weights are the best "
        "of all of them on the validation trials (default 8)",
    )
    add("--population", type=_population_size, default=16, help="CMA-ES population size, at least 2 (default 16)")
    add("--generations", type=positive_int, default=500, help="CMA-ES generations (default 500)")
    add("--sigma0", type=positive_float, default=0.3, help="initial CMA-ES step size in threshold units (default 0.3)")
    add(
        "--temperature",
        type=positive_float,
        default=5.0,
        help="spikes of count margin per logit in the fitness (default 5)",
    )
    add(
        "--silence-penalty",
        type=non_negative_float,
        default=0.1,
        help="fitness penalty per missing output spike per trial below --min-count (default 0.1)",
    )
    add(
        "--min-count",
        type=non_negative_float,
        default=2.0,
        help="mean output spikes per trial below which an output counts as silent (default 2)",
    )
    add(
        "--rate-floor",
        type=non_negative_float,
        default=RATE_FLOOR,
        help=f"firing rate in spikes per step below which the fitness penalises a hidden or "
        f"output neuron (default {RATE_FLOOR})",
    )
    add(
        "--rate-target",
        type=non_negative_float,
        default=RATE_TARGET,
        help=f"firing rate in spikes per step above which the fitness penalises a hidden or "
        f"output neuron (default {RATE_TARGET})",
    )
    add(
        "--rate-penalty",
        type=non_negative_float,
        default=RATE_PENALTY,
        help=f"fitness penalty per spike per step of rate outside [--rate-floor, "
        f"--rate-target], averaged over neurons "
        f"(default {RATE_PENALTY})",
    )
    add(
        "--max-input-weight",
        type=positive_float,
        default=None,
        help="clip every input->hidden weight to [-W, W], threshold units (default: unbounded)",
    )
    add(
        "--max-lateral-weight",
        type=positive_float,
        default=None,
        help="clip every hidden->hidden weight to [-W, W], threshold units (default: unbounded)",
    )
    add(
        "--min-weight",
        type=non_negative_float,
        default=MIN_WEIGHT,
        help=f"every weight of smaller magnitude is 0, no synapse; threshold units (default {MIN_WEIGHT}; 0: none)",
    )
    add(
        "--init-output-weight",
        type=positive_float,
        default=INIT_OUTPUT_WEIGHT,
        help=f"CMA-ES start of every hidden->output weight, threshold units, at least --min-weight "
        f"(default {INIT_OUTPUT_WEIGHT})",
    )
    add("--seed", type=non_negative_int, default=0, help="seed of data, CMA-ES and noise (default 0)")
    add("--device", type=_device, default="cpu", help="torch device: cpu, cuda or cuda:N (default cpu)")
    add(
        "--threads",
        type=positive_int,
        default=2,
        help="torch CPU threads (default 2; the result may differ between thread counts)",
    )
    add(
        "--spike-file",
        type=Path,
        default=ROOT / "data" / "spike_trains.pkl",
        help="spike file to write (default data/spike_trains.pkl)",
    )
    add(
        "--figure-dir",
        type=Path,
        default=ROOT / "figures",
        help="folder for the raster and training-curve figures (default figures/)",
    )
    add("--no-figures", action="store_true", help="write the spike file only (for seed sweeps)")
    args = parser.parse_args(argv)
    if args.v_reset >= args.v_threshold:
        parser.error(f"argument --v-reset: must be below --v-threshold ({args.v_threshold}), got {args.v_reset}")
    if args.init_output_weight < args.min_weight:
        parser.error(
            f"argument --init-output-weight: must be at least --min-weight ({args.min_weight}), "
            f"or the outputs start without synapses; got {args.init_output_weight}"
        )
    limits = {"--max-input-weight": args.max_input_weight, "--max-lateral-weight": args.max_lateral_weight}
    for flag, limit in limits.items():
        if limit is not None and limit <= args.min_weight:
            parser.error(f"argument {flag}: must be above --min-weight ({args.min_weight}), got {limit}")
    return args


def training_problem(args):
    """What the command line asks to train: network, trials, weight bounds and fitness.

    Returns
    -------
    dict
        ``layer_sizes``; ``lif`` (``spiking_network.LIFParams``); ``trials``, split name ->
        ``(spikes, labels)`` as from ``generate_trials``, for ``"train"``, ``"test"`` and
        ``"validation"``, drawn in that order from ``default_rng(args.seed)``;
        ``weight_options`` and ``fitness_options`` as ``train_cmaes`` takes them.
    """
    rng = np.random.default_rng(args.seed)
    rates = class_rates(args.n_steps, args.sine_freq, args.cosine_freq)
    sizes = {"train": args.n_train, "test": args.n_test, "validation": args.n_validation}
    return {
        "layer_sizes": {"input": 1, "hidden": args.n_hidden, "output": 2},
        "lif": spiking_network.LIFParams(
            tau_mem=args.tau_mem,
            tau_ref=args.tau_ref,
            v_threshold=args.v_threshold,
            v_reset=args.v_reset,
            sigma=args.noise_sigma,
        ),
        "trials": {name: generate_trials(n, rates, rng) for name, n in sizes.items()},
        "weight_options": {
            "limits": {
                name: limit * args.v_threshold
                for name, limit in (("input_hidden", args.max_input_weight), ("hidden_hidden", args.max_lateral_weight))
                if limit is not None
            },
            "min_weight": args.min_weight * args.v_threshold,
        },
        "fitness_options": {
            "temperature": args.temperature,
            "silence_penalty": args.silence_penalty,
            "min_count": args.min_count,
            "rate_floor": args.rate_floor,
            "rate_target": args.rate_target,
            "rate_penalty": args.rate_penalty,
        },
    }


def train(args, problem, on_generation=None):
    """``train_cmaes`` on ``training_problem(args)`` with the settings of ``args``; return its result."""
    device = args.device
    tensors = {
        name: tuple(torch.as_tensor(array, device=device) for array in problem["trials"][name])
        for name in ("train", "validation")  # the test trials take no part in training
    }
    # pycma's eigendecomposition of a ~120 x 120 covariance is slower with a multi-threaded
    # BLAS than with one thread, and far slower under CPU contention, so numpy's BLAS gets one.
    with threadpool_limits(limits=1, user_api="blas"):
        return train_cmaes(
            problem["layer_sizes"],
            problem["lif"],
            args.dt,
            *tensors["train"],
            tensors["validation"],
            args.population,
            args.generations,
            args.sigma0,
            problem["fitness_options"],
            args.seed,
            device,
            args.noise_draws,
            problem["weight_options"],
            args.cma_runs,
            on_generation,
            args.init_output_weight,
        )


def main(argv=None):
    """Train, evaluate, save the spike file and the two figures, print a summary."""
    args = parse_args(argv)
    try:  # fail before training, not after, if the outputs cannot be written
        for folder in (args.spike_file.parent, *([] if args.no_figures else [args.figure_dir])):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        sys.exit(f"train_snn.py: error: cannot create output folder: {err}")
    torch.set_num_threads(args.threads)
    spiking_network.keep_heap_memory()
    device = args.device
    problem = training_problem(args)
    layer_sizes, lif = problem["layer_sizes"], problem["lif"]
    (train_spikes, train_labels), (test_spikes, test_labels) = problem["trials"]["train"], problem["trials"]["test"]
    theta, history = train(args, problem)

    weights = spiking_network.theta_to_weights(
        torch.as_tensor(theta[None], dtype=torch.float32, device=device), layer_sizes, **problem["weight_options"]
    )
    inputs = torch.as_tensor(np.concatenate([train_spikes, test_spikes]), device=device)
    counts, spikes = spiking_network.simulate_network(
        weights, inputs, lif, args.dt, noise_generator(args.seed, "record"), record=True
    )
    # The settings that can shape the result (device and threads too: they may change the
    # order of floating-point sums); the outputs are left out so the file's bytes do not
    # depend on where it is written or whether figures were drawn.
    config = {
        key: str(value) if key == "device" else value
        for key, value in vars(args).items()
        if key not in ("spike_file", "figure_dir", "no_figures")
    }
    labels = np.concatenate([train_labels, test_labels])
    predictions = predict(counts[0]).cpu().numpy()
    record = spike_record(
        spikes[0].cpu().numpy(),
        labels,
        predictions,
        args.n_train,
        {name: w[0].cpu().numpy().astype(np.float64) for name, w in weights.items()},
        layer_sizes,
        dataclasses.asdict(lif),
        args.dt,
        history,
        config,
        args.seed,
        metrics_by_split(labels, predictions, trial_split(len(labels), args.n_train)),
    )
    try:
        save_spike_trains(record, args.spike_file)
        if not args.no_figures:
            save_figures(record, args.figure_dir)
    except OSError as err:
        sys.exit(f"train_snn.py: error: cannot write outputs: {err}")
    for split_name, values in record["metrics"].items():
        print(f"{split_name:5s} " + "  ".join(f"{name} {values[name]:.3f}" for name in METRIC_NAMES))
    # Mean over all trials and steps of every LIF neuron: (n_hidden + n_out,).
    rates = spikes[0, :, layer_sizes["input"] :].double().mean(dim=(0, 2))
    print(
        f"mean rate (spikes/step): hidden {rates[:-2].mean().item():.3f}  "
        f"output {rates[-2:].mean().item():.3f}  max {rates.max().item():.3f}"
    )
    present = sum(int((w != 0).sum()) for w in weights.values())
    possible = spiking_network.n_parameters(layer_sizes)
    print(f"synapses: {present} of {possible} possible present (--min-weight {args.min_weight})")
    print(f"wrote {args.spike_file}" + ("" if args.no_figures else f" and 2 figures in {args.figure_dir}"))


if __name__ == "__main__":
    main()
