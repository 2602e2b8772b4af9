"""Train the LIF network with CMA-ES to tell a sine from a cosine; store its spike trains.

The script: the run and the record with its metrics (its command line and defaults live in
``snn_options.py``, the training its settings describe in ``snn_session.py``, the task and
CMA-ES in ``snn_training.py``, the network in ``spiking_network.py``, the file in
``spike_file.py``, its figures in ``snn_figures.py``).

Each trial is one input spike train of ``n_steps`` Bernoulli draws whose firing probability
follows ``0.5 (1 + sin(10 pi t))`` (class 0, "sine") or ``0.5 (1 + cos(15 pi t))`` (class 1,
"cosine") on ``t = linspace(0, 1, n_steps)``, as in the original. The network
(``spiking_network.py``) classifies a trial by which output neuron fires more; CMA-ES tunes
all its weights, the only thing that learns. The final weights are chosen among the
candidates of all CMA-ES runs by their accuracy on validation trials under held-out noise
draws (``snn_training.select_weights``).

Reads: nothing.
Writes: ``data/spike_trains.pkl`` (contract and reader in ``spike_file.py``),
``figures/example_spiking_trains.png`` and ``figures/training_curve.png``.
Reproduce the README figures with::

    python train_snn.py
"""

import dataclasses
import sys

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

import snn_figures
import spiking_network
from safe_files import check_writable
from snn_fitness import predict
from snn_options import parse_args
from snn_session import record_run, train, training_problem
from spike_file import METRIC_NAMES, SPLITS, n_trainings, save_spike_trains, spike_record, trial_split


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


def _out_of_memory(err):
    """Whether ``err`` is a failed allocation: Python's, a GPU's, or torch's CPU allocator's, which
    raises a plain ``RuntimeError`` ("can't allocate memory")."""
    return isinstance(err, (MemoryError, torch.OutOfMemoryError)) or "can't allocate memory" in str(err)


def main(argv=None):
    """Train, evaluate, save the spike file and the two figures, print a summary."""
    args = parse_args(argv)
    figures = [] if args.no_figures else [args.figure_dir / name for name in snn_figures.FIGURE_NAMES]
    outputs = [args.spike_file, *figures]
    for path in outputs:  # fail before training, not after, if an output cannot be written
        try:
            check_writable(path)
        except OSError as err:
            sys.exit(f"train_snn.py: error: cannot write {path}: {err}")
    torch.set_num_threads(args.threads)
    try:
        problem = training_problem(args)
        theta, history = train(args, problem)
        weights, counts, spikes = record_run(args, problem, theta)
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        sys.exit(
            "train_snn.py: error: not enough memory for these settings; use fewer --n-train, --n-test, "
            "--n-validation, --n-steps, --n-hidden, --noise-draws, --select-draws, --population or --cma-runs"
        )
    layer_sizes, lif = problem["layer_sizes"], problem["lif"]
    (_, train_labels), (_, test_labels) = problem["trials"]["train"], problem["trials"]["test"]
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
            snn_figures.save_figures(record, args.figure_dir)
    except OSError as err:
        sys.exit(f"train_snn.py: error: cannot write outputs: {err}")
    except ValueError as err:  # the record breaks the spike file's contract: the settings overflowed
        sys.exit(f"train_snn.py: error: {err}; these settings overflow, use values nearer the defaults (--help)")
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
    print(
        f"synapses: {present} of {possible} possible present "
        f"(--min-weight {args.min_weight}, --min-lateral-weight {args.min_lateral_weight})"
    )
    if args.restarts:
        judged_on = f"{args.n_check} check trials" if args.n_check else "the validation trials"
        print(
            f"trainings: {n_trainings(record)} of at most {args.restarts + 1} "
            f"(--restart-below {args.restart_below} on {judged_on})"
        )
    print(f"wrote {args.spike_file}" + ("" if args.no_figures else f" and 2 figures in {args.figure_dir}"))


if __name__ == "__main__":
    main()
