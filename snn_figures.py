"""The figures of a training run: the raster of one test trial and the training curve.

``train_snn.py`` draws both from the record it stores (``spike_file.spike_record``):
``figures/example_spiking_trains.png`` and ``figures/training_curve.png``.
"""

from pathlib import Path

import numpy as np

from safe_files import save_figure
from spike_file import LAYER_NAMES


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


def plot_training_curve(ax_fitness, ax_accuracy, history, test_accuracy, cull=None, training_length=None):
    """Draw fitness and training accuracy per generation; return both axes.

    ``cull``: ``(generation, runs kept)`` of the training's cull, marked on both axes, or None.
    ``training_length``: generations of one training, where ``history`` holds the trainings of
    ``train_snn.py --restarts`` one after another; each restart, and its cull, is marked too.
    """
    n_generations = len(history["best_fitness"])
    generations = np.arange(1, n_generations + 1)
    starts = range(0, n_generations, training_length or n_generations)
    ax_fitness.plot(generations, history["best_fitness"], label="best of generation")
    ax_fitness.plot(generations, history["median_fitness"], label="median of generation (runs training)")
    for ax in (ax_fitness, ax_accuracy):
        for k, start in enumerate(starts):
            if k:
                ax.axvline(start, color="black", ls="--", label=None if k > 1 else "restart: new runs")
            if cull is not None:
                ax.axvline(
                    start + cull[0], color="grey", ls=":", label=None if k else f"cull to the {cull[1]} best runs"
                )
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


FIGURE_NAMES = ("example_spiking_trains.png", "training_curve.png")


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
    save_figure(fig, Path(figures_dir) / FIGURE_NAMES[0])
    plt.close(fig)

    fig, (ax_fitness, ax_accuracy) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    config = record["config"]
    cull = (config["cull_at"], config["cull_to"]) if config.get("cull_at") else None
    plot_training_curve(
        ax_fitness,
        ax_accuracy,
        record["history"],
        record["metrics"]["test"]["accuracy"],
        cull,
        config.get("generations"),
    )
    save_figure(fig, Path(figures_dir) / FIGURE_NAMES[1])
    plt.close(fig)
