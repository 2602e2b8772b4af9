"""The contract of ``data/spike_trains.pkl``: what ``train_snn.py`` writes and every reader gets.

A pickle (protocol 5) of one dict of builtins and numpy arrays, format ``FORMAT``, version
``VERSION``, with exactly the keys ``REQUIRED_KEYS`` in that order (N neurons ordered input,
hidden, output; T trials, training trials first; K steps of ``dt`` seconds):

``format`` str, ``version`` int, ``dt`` float (seconds per step), ``n_steps`` int (K),
``layer_sizes`` dict ``LAYER_NAMES`` -> int, ``neuron_labels`` list of str (``in0``, ``h0``...,
``out0``...), ``class_names`` list ``CLASS_NAMES`` (label 0, label 1), ``spikes`` bool (T, N, K),
``labels`` and ``predictions`` int (T,) in {0, 1}, ``split`` str (T,) in ``SPLITS``, ``weights``
dict name -> float64 (n_source, n_target) as in ``weight_shapes``, ``metrics`` dict split ->
``METRIC_NAMES`` -> float, ``lif`` dict of the LIF parameters, ``history`` dict of CMA-ES
curves, ``config`` dict of the training settings, ``seed`` int.

``spike_record`` builds it, ``save_spike_trains`` checks it against this contract and writes it
atomically, and ``load_spike_trains`` reads it without running code from it and checks it again.
``spikes_to_events`` and ``events_to_raster`` turn rasters into Hawkes realisations (a spike of
step ``k`` happens at ``k * dt``) and back. numpy and the standard library only: readers need no torch.
"""

import math
import reprlib
from pathlib import Path

import numpy as np

from safe_files import InputFileError, load_pickle, save_pickle

FORMAT = "snn-spike-trains"
VERSION = 1
LAYER_NAMES = ("input", "hidden", "output")
CLASS_NAMES = ("sine", "cosine")  # label 0, label 1; "cosine" is the positive class
SPLITS = ("train", "test")
METRIC_NAMES = ("accuracy", "f1", "precision", "recall")
# A spiking network's step is a fraction of a millisecond to a few; a step over a second is no
# spike train, and rates per second near 1 / dt underflow the Hawkes fit's arithmetic.
MAX_DT = 1.0
REQUIRED_KEYS = (
    "format",
    "version",
    "dt",
    "n_steps",
    "layer_sizes",
    "neuron_labels",
    "class_names",
    "spikes",
    "labels",
    "predictions",
    "split",
    "weights",
    "metrics",
    "lif",
    "history",
    "config",
    "seed",
)
RERUN = "rerun `python train_snn.py`"


def weight_shapes(layer_sizes):
    """Return ``{name: (n_source, n_target)}`` for the three weight matrices, in theta order."""
    n_in, n_hidden, n_out = (layer_sizes[name] for name in LAYER_NAMES)
    return {"input_hidden": (n_in, n_hidden), "hidden_hidden": (n_hidden, n_hidden), "hidden_output": (n_hidden, n_out)}


def neuron_labels(layer_sizes):
    """Return ``["in0", ..., "h0", ..., "out0", ...]`` in the network's neuron order."""
    prefixes = {"input": "in", "hidden": "h", "output": "out"}
    return [f"{prefixes[layer]}{i}" for layer in LAYER_NAMES for i in range(layer_sizes[layer])]


def trial_split(n_trials, n_train):
    """Return the split of every trial: the first ``n_train`` are "train", the rest "test".

    Returns
    -------
    np.ndarray, shape (n_trials,), str
    """
    return np.where(np.arange(n_trials) < n_train, "train", "test")


def spike_record(spikes, labels, predictions, n_train, weights, layer_sizes, lif, dt, history, config, seed, metrics):
    """Assemble the spike file's contents (version ``VERSION``).

    Parameters
    ----------
    spikes : np.ndarray, shape (n_trials, n_neurons, n_steps), bool
        Training trials first, then test trials.
    labels, predictions : np.ndarray, shape (n_trials,), int
    n_train : int
        How many of the trials are training trials (``trial_split``).
    weights : dict of np.ndarray
        The trained network's weight matrices, ``[source, target]``.
    layer_sizes : dict
        ``LAYER_NAMES`` -> neuron count.
    lif : dict
        The LIF parameters (``dataclasses.asdict`` of ``spiking_network.LIFParams``).
    dt : float
        Seconds per step.
    history : dict of np.ndarray
        The training curves (``snn_training.run_cmaes``), of every training in turn (``n_trainings``).
    config : dict
        The command-line arguments, as builtins.
    seed : int
    metrics : dict
        Split -> ``METRIC_NAMES`` -> float, of the predictions on that split's trials.

    Returns
    -------
    dict
        Keys ``REQUIRED_KEYS``, in that order.
    """
    return {
        "format": FORMAT,
        "version": VERSION,
        "dt": dt,
        "n_steps": spikes.shape[2],
        "layer_sizes": layer_sizes,
        "neuron_labels": neuron_labels(layer_sizes),
        "class_names": list(CLASS_NAMES),
        "spikes": spikes,
        "labels": labels,
        "predictions": predictions,
        "split": trial_split(len(labels), n_train),
        "weights": weights,
        "metrics": metrics,
        "lif": lif,
        "history": history,
        "config": config,
        "seed": seed,
    }


def n_trainings(record):
    """How many trainings a spike record's history holds: ``--generations`` each, one after another."""
    return len(record["history"]["best_fitness"]) // record["config"]["generations"]


def save_spike_trains(record, path):
    """Check a ``spike_record`` against the contract, then write it to ``path`` atomically.

    The check is the readers' (``load_spike_trains``), so no file is written that they would
    refuse: settings that overflow (inf or NaN weights or fitness) end here, with nothing written.

    Raises
    ------
    ValueError
        If the record breaks the contract; the message says how.
    """
    try:
        _check_spike_record(path, record)
    except _SpikeFileError as err:
        raise ValueError(f"{path} not written: {err.problem}") from None
    save_pickle(record, path)


def load_spike_trains(path):
    """Load and check a spike file, without running code from it.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        The record as stored (see the module docstring).

    Raises
    ------
    safe_files.InputFileError
        One line saying what is wrong and what to do, if the file is missing, unsafe,
        unreadable, or does not match the contract.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"spike file {path} does not exist; run `python train_snn.py` first")
    record = load_pickle(path, "spike file")
    _check_spike_record(path, record)
    return record


def spikes_to_events(spikes, dt):
    """Turn spike rasters into Hawkes realisations: a spike of step ``k`` happens at ``k * dt``.

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, n_neurons, n_steps)
    dt : float
        Seconds per step.

    Returns
    -------
    list of n_trials lists of n_neurons sorted float64 arrays
        Spike times in seconds, in ``[0, n_steps * dt)``.

    Examples
    --------
    >>> raster = np.array([[[True, False, True], [False, False, False]]])   # 1 trial, 2 neurons
    >>> [times.tolist() for times in spikes_to_events(raster, dt=0.001)[0]]
    [[0.0, 0.002], []]
    >>> bool((events_to_raster(spikes_to_events(raster, 0.001), 3, 0.001) == raster).all())
    True
    """
    n_trials, n_neurons, _ = spikes.shape
    trial, neuron, step = np.nonzero(spikes)  # C order: steps ascend within each (trial, neuron)
    counts = np.bincount(trial * n_neurons + neuron, minlength=n_trials * n_neurons)
    trains = np.split(step * float(dt), np.cumsum(counts)[:-1])  # n_trials * n_neurons arrays
    return [trains[t * n_neurons : (t + 1) * n_neurons] for t in range(n_trials)]


def events_to_raster(events, n_steps, dt):
    """Inverse of ``spikes_to_events``: the raster of realisations whose times lie on the grid.

    A time ``t`` marks step ``round(t / dt)``; two times in one step mark it once.

    Parameters
    ----------
    events : list of n_trials lists of n_neurons arrays
        Spike times in seconds.
    n_steps : int
        Steps per trial.
    dt : float
        Seconds per step.

    Returns
    -------
    ndarray of bool, shape (n_trials, n_neurons, n_steps)
        ``n_neurons`` is 0 when there is no trial.

    Raises
    ------
    ValueError
        If the trials have different numbers of neurons or a time falls outside
        ``[0, n_steps * dt)``.
    """
    n_neurons = len(events[0]) if len(events) else 0
    raster = np.zeros((len(events), n_neurons, n_steps), dtype=bool)
    for trial, trains in enumerate(events):
        if len(trains) != n_neurons:
            raise ValueError(f"trial {trial} has {len(trains)} neurons, trial 0 has {n_neurons}")
        for neuron, times in enumerate(trains):
            steps = np.rint(np.asarray(times, dtype=float) / dt).astype(np.int64)
            if steps.size and (steps.min() < 0 or steps.max() >= n_steps):
                raise ValueError(f"trial {trial}, neuron {neuron}: a spike time lies outside [0, {n_steps} * {dt}) s")
            raster[trial, neuron, steps] = True
    return raster


class _SpikeFileError(InputFileError):
    """A spike file that breaks the contract; ``problem`` says how, without the file's name."""

    def __init__(self, path, problem):
        super().__init__(f"spike file {path}: {problem}; {RERUN}")
        self.problem = problem


def _shown(value):
    """A stored value as an error message shows it: short, whatever its size or nesting."""
    return reprlib.repr(value)


def _check_array(path, record, key, shape, kinds):
    value = record[key]
    if not isinstance(value, np.ndarray):
        raise _SpikeFileError(path, f"{key!r} is a {type(value).__name__}, not a numpy array")
    if value.dtype.kind not in kinds:
        raise _SpikeFileError(path, f"{key!r} has dtype {value.dtype}")
    if value.shape != shape:
        raise _SpikeFileError(path, f"{key!r} has shape {value.shape}, expected {shape}")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise _SpikeFileError(path, f"{key!r} holds non-finite values")


def _same(value, expected):
    """``value == expected`` with the same type: a stored array or number never stands in for
    a list or a string (``==`` on an array is elementwise and cannot be tested for truth)."""
    return type(value) is type(expected) and value == expected


def _check_spike_record(path, record):
    if not isinstance(record, dict):
        raise _SpikeFileError(path, f"holds a {type(record).__name__}, not a dict")
    if not _same(record.get("format"), FORMAT):
        raise _SpikeFileError(path, f"format is {_shown(record.get('format'))}, not {FORMAT!r}")
    if not _same(record.get("version"), VERSION):
        raise _SpikeFileError(path, f"version {_shown(record.get('version'))} is not {VERSION}")
    missing = [key for key in REQUIRED_KEYS if key not in record]
    if missing:
        raise _SpikeFileError(path, f"missing keys {missing}")
    dt, n_steps, sizes = record["dt"], record["n_steps"], record["layer_sizes"]
    if not (isinstance(dt, float) and 0 < dt <= MAX_DT):
        raise _SpikeFileError(path, f"dt {_shown(dt)} is not a number of seconds in (0, {MAX_DT}]")
    if not (isinstance(n_steps, int) and not isinstance(n_steps, bool) and n_steps > 0):
        raise _SpikeFileError(path, f"n_steps {_shown(n_steps)} is not a positive integer")
    if not (
        isinstance(sizes, dict)
        and list(sizes) == list(LAYER_NAMES)
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes.values())
    ):
        raise _SpikeFileError(path, f"layer_sizes {_shown(sizes)} is not {{'input': n, 'hidden': n, 'output': n}}")
    if not _same(record["neuron_labels"], neuron_labels(sizes)):
        raise _SpikeFileError(path, "neuron_labels do not match layer_sizes")
    if not _same(record["class_names"], list(CLASS_NAMES)):
        raise _SpikeFileError(path, f"class_names {_shown(record['class_names'])} are not {list(CLASS_NAMES)}")
    spikes = record["spikes"]
    if not (isinstance(spikes, np.ndarray) and spikes.ndim == 3):
        raise _SpikeFileError(path, "'spikes' is not a 3-D numpy array")
    n_trials, n_neurons = spikes.shape[0], sum(sizes.values())
    _check_array(path, record, "spikes", (n_trials, n_neurons, n_steps), "b")
    for key in ("labels", "predictions"):
        _check_array(path, record, key, (n_trials,), "iu")
        if not np.isin(record[key], (0, 1)).all():
            raise _SpikeFileError(path, f"{key!r} holds values other than 0 and 1")
    _check_array(path, record, "split", (n_trials,), "U")
    if not np.isin(record["split"], SPLITS).all():
        raise _SpikeFileError(path, f"'split' holds values other than {list(SPLITS)}")
    weights = record["weights"]
    if not isinstance(weights, dict):
        raise _SpikeFileError(path, "'weights' is not a dict")
    expected = weight_shapes(sizes)
    if set(weights) != set(expected):
        raise _SpikeFileError(path, f"weights has keys {_shown(list(weights))}, expected {sorted(expected)}")
    for name, shape in expected.items():
        _check_array(path, weights, name, shape, "f")
    metrics = record["metrics"]
    if not (
        isinstance(metrics, dict)
        and all(
            isinstance(metrics.get(split), dict)
            and all(isinstance(metrics[split].get(name), float) for name in METRIC_NAMES)
            for split in SPLITS
        )
    ):
        raise _SpikeFileError(path, "'metrics' lacks float accuracy, f1, precision and recall for train and test")
    lif = record["lif"]
    if not (isinstance(lif, dict) and all(_is_finite_number(value) for value in lif.values())):
        raise _SpikeFileError(path, "'lif' is not a dict of finite numbers")
    # A refractory period longer than the trial silences a neuron for the rest of it; a longer one
    # says no more, and its count of steps can overflow an integer.
    tau_ref = lif.get("tau_ref", 0.0)
    if not 0 <= tau_ref <= n_steps * dt:
        raise _SpikeFileError(path, f"lif's tau_ref {_shown(tau_ref)} is not in [0, n_steps * dt]")
    history = record["history"]
    if not (
        isinstance(history, dict)
        and all(
            isinstance(curve, np.ndarray) and curve.ndim == 1 and curve.dtype.kind == "f" and np.isfinite(curve).all()
            for curve in history.values()
        )
    ):
        raise _SpikeFileError(path, "'history' is not a dict of 1-D arrays of finite numbers")


def _is_finite_number(value):
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))  # an int: any size
