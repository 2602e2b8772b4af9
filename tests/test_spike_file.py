"""Tests of spike_file.py: the record and its layout, the safe loader, rasters and events."""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spike_file as sf
from safe_files import InputFileError, save_pickle

LAYER_SIZES = {"input": 1, "hidden": 4, "output": 2}
N_TRAIN, N_TEST, N_STEPS = 16, 8, 30


def make_record(seed=0):
    """A valid spike record of 24 trials (16 training, 8 test) of a 1-4-2 network."""
    rng = np.random.default_rng(seed)
    n_trials, n_neurons = N_TRAIN + N_TEST, sum(LAYER_SIZES.values())
    labels = rng.permutation(np.arange(n_trials) % 2).astype(np.int64)
    predictions = np.where(rng.random(n_trials) < 0.8, labels, 1 - labels)
    weights = {name: rng.normal(size=shape) for name, shape in sf.weight_shapes(LAYER_SIZES).items()}
    metrics = {split: dict.fromkeys(sf.METRIC_NAMES, 0.5) for split in sf.SPLITS}
    return sf.spike_record(
        rng.random((n_trials, n_neurons, N_STEPS)) < 0.1,
        labels,
        predictions,
        N_TRAIN,
        weights,
        dict(LAYER_SIZES),
        {"tau_mem": 0.005, "sigma": 0.2},
        0.001,
        {"best_fitness": np.zeros(3)},
        {"seed": seed},
        seed,
        metrics,
    )


@pytest.fixture
def spike_path(tmp_path):
    path = tmp_path / "spikes.pkl"
    sf.save_spike_trains(make_record(), path)
    return path


# ----------------------------------------------------------------------------- the record
def test_weight_shapes_and_neuron_labels_follow_the_layer_order():
    assert sf.weight_shapes(LAYER_SIZES) == {"input_hidden": (1, 4), "hidden_hidden": (4, 4), "hidden_output": (4, 2)}
    assert sf.neuron_labels(LAYER_SIZES) == ["in0", "h0", "h1", "h2", "h3", "out0", "out1"]


def test_spike_record_has_the_contract_keys_in_order():
    record = make_record()
    assert list(record) == list(sf.REQUIRED_KEYS)
    assert record["format"] == "snn-spike-trains" and record["version"] == 1
    assert record["n_steps"] == N_STEPS and record["class_names"] == ["sine", "cosine"]
    assert record["neuron_labels"] == sf.neuron_labels(LAYER_SIZES)
    assert record["split"].tolist() == ["train"] * N_TRAIN + ["test"] * N_TEST
    np.testing.assert_array_equal(sf.trial_split(3, 1), ["train", "test", "test"])


def test_saved_record_loads_back_unchanged_and_the_same_record_gives_the_same_bytes(tmp_path):
    record = make_record(seed=3)
    sf.save_spike_trains(record, tmp_path / "a.pkl")
    sf.save_spike_trains(make_record(seed=3), tmp_path / "b.pkl")
    assert (tmp_path / "a.pkl").read_bytes() == (tmp_path / "b.pkl").read_bytes()
    loaded = sf.load_spike_trains(tmp_path / "a.pkl")
    assert list(loaded) == list(record)
    for key in ("spikes", "labels", "predictions", "split"):
        np.testing.assert_array_equal(loaded[key], record[key])
        assert loaded[key].dtype == record[key].dtype
    for name, weight in record["weights"].items():
        np.testing.assert_array_equal(loaded["weights"][name], weight)
    assert loaded["metrics"] == record["metrics"] and loaded["lif"] == record["lif"]


def test_contract_modules_import_without_torch_sklearn_or_matplotlib():
    heavy = ("torch", "sklearn", "matplotlib")
    code = (
        "import sys, spike_file, posterior_file, connectivity, cli_types; "
        f"print([name for name in {heavy!r} if name in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- events and rasters
def test_spikes_to_events_by_hand():
    spikes = np.zeros((2, 3, 5), dtype=bool)
    spikes[0, 0, [0, 3]] = True
    spikes[0, 2, 4] = True
    spikes[1, 1, [1, 2, 4]] = True
    events = sf.spikes_to_events(spikes, dt=0.5)
    expected = [[[0.0, 1.5], [], [2.0]], [[], [0.5, 1.0, 2.0], []]]
    assert len(events) == 2 and all(len(trial) == 3 for trial in events)
    for trial, want_trial in zip(events, expected):
        for train, want in zip(trial, want_trial):
            assert train.dtype == np.float64
            np.testing.assert_array_equal(train, want)
    np.testing.assert_array_equal(sf.events_to_raster(expected, 5, 0.5), spikes)


def test_spikes_to_events_matches_a_loop():
    spikes = np.random.default_rng(1).random((4, 5, 30)) < 0.2
    events = sf.spikes_to_events(spikes, dt=0.001)
    for t in range(4):
        for i in range(5):
            reference = [k * 0.001 for k in range(30) if spikes[t, i, k]]
            np.testing.assert_array_equal(events[t][i], reference)


def test_no_trials():
    assert sf.spikes_to_events(np.zeros((0, 3, 10), dtype=bool), dt=1.0) == []
    assert sf.events_to_raster([], 10, 1.0).shape == (0, 0, 10)


@pytest.mark.parametrize(
    "shape, rate, dt",
    [
        ((1, 1, 1), 0.5, 1.0),
        ((3, 5, 40), 0.2, 0.001),
        ((2, 13, 5000), 0.3, 0.001),
        ((4, 2, 100), 0.9, 1 / 3),
        ((5, 7, 60), 0.05, 2.5e-4),
        ((2, 3, 50), 0.0, 0.01),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_events_to_raster_inverts_spikes_to_events_on_random_rasters(shape, rate, dt, seed):
    spikes = np.random.default_rng(seed).random(shape) < rate
    raster = sf.events_to_raster(sf.spikes_to_events(spikes, dt), shape[2], dt)
    assert raster.dtype == bool
    np.testing.assert_array_equal(raster, spikes)


@pytest.mark.parametrize(
    "events, problem",
    [
        ([[np.array([0.0, 0.010])]], "outside"),  # step 10 of 10 steps
        ([[np.array([-0.001])]], "outside"),
        ([[np.array([0.0])], [np.array([0.0]), np.array([])]], "neurons"),
    ],
)
def test_events_to_raster_refuses_times_off_the_trial_and_ragged_trials(events, problem):
    with pytest.raises(ValueError, match=problem):
        sf.events_to_raster(events, 10, 0.001)


# ----------------------------------------------------------------------------- the loader
def one_line_error(path, *fragments):
    with pytest.raises(InputFileError) as info:
        sf.load_spike_trains(path)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_loader_refuses_a_pickle_that_would_run_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"format": "snn-spike-trains", "x": _Payload(marker)}))
    one_line_error(path, "unsafe", "open")
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # a plain unpickler does run the payload
    assert marker.exists()


def test_loader_refuses_truncated_and_garbage_files(tmp_path, spike_path):
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(spike_path.read_bytes()[:300])
    one_line_error(truncated, "regenerate")
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x00\xffthis is not a pickle\x13" * 10)
    one_line_error(garbage, "regenerate")
    one_line_error(tmp_path, "is not a readable spike file (IsADirectoryError")  # a folder exists, holds no spikes


def test_loader_says_how_to_make_a_missing_file(tmp_path):
    one_line_error(tmp_path / "nope.pkl", "does not exist", "run `python train_snn.py` first")


def _corrupt(record, key, value):
    record[key] = value


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda r: _corrupt(r, "format", "hawkes-posterior"), "format"),
        (lambda r: _corrupt(r, "version", 2), "version"),
        (lambda r: r.pop("weights"), "missing keys"),
        (lambda r: _corrupt(r, "spikes", r["spikes"][:, :-1]), "'spikes' has shape"),
        (lambda r: _corrupt(r, "spikes", r["spikes"].astype(np.float64)), "dtype"),
        (lambda r: _corrupt(r, "labels", r["labels"][:-1]), "'labels' has shape"),
        (lambda r: _corrupt(r, "split", np.full(len(r["split"]), "valid")), "'split' holds"),
        (lambda r: r["weights"].update(hidden_output=np.zeros((5, 2))), "'hidden_output' has shape"),
        (lambda r: r["weights"].update(input_hidden=np.full((1, 4), np.nan)), "non-finite"),
        (lambda r: _corrupt(r, "n_steps", 31), "'spikes' has shape"),
        (lambda r: _corrupt(r, "dt", -1.0), "dt"),
        (lambda r: r["metrics"]["test"].pop("f1"), "metrics"),
        (lambda r: _corrupt(r, "neuron_labels", r["neuron_labels"][::-1]), "neuron_labels"),
        # Arrays and numbers where lists and strings belong: elementwise == must not escape.
        (lambda r: _corrupt(r, "neuron_labels", np.array(r["neuron_labels"])), "neuron_labels"),
        (lambda r: _corrupt(r, "format", np.array(["snn-spike-trains"])), "format"),
        (lambda r: _corrupt(r, "version", np.int64(1)), "version"),
        (lambda r: _corrupt(r, "class_names", 3), "class_names"),
        # Numbers the fit's arithmetic cannot take, and values too large to show in one line.
        (lambda r: _corrupt(r, "dt", 1e300), "dt"),
        (lambda r: _corrupt(r, "dt", float("nan")), "dt"),
        (lambda r: r["lif"].update(tau_ref=1e20), "tau_ref"),
        (lambda r: r["lif"].update(tau_ref=10**400), "tau_ref"),  # an int beyond any float
        (lambda r: r["lif"].update(tau_mem=float("inf")), "'lif'"),
        (lambda r: _corrupt(r, "lif", "fast"), "'lif'"),
        (lambda r: r["history"].update(best_fitness=np.full(3, np.nan)), "'history'"),
    ],
)
def test_loader_refuses_files_that_break_the_contract(tmp_path, spike_path, edit, fragment):
    record = sf.load_spike_trains(spike_path)
    edit(record)
    path = tmp_path / "bad.pkl"
    save_pickle(record, path)
    one_line_error(path, fragment, "rerun `python train_snn.py`")


def test_loader_shows_a_deeply_nested_value_in_one_short_line(tmp_path):
    # {"format": lists nested far deeper than the recursion limit}, as opcodes: EMPTY_DICT, the key,
    # MARK x n, EMPTY_LIST, LIST x n, SETITEM. Unpickling is iterative; a repr of it would not be.
    depth = 100_000
    path = tmp_path / "deep.pkl"
    path.write_bytes(b"}\x8c\x06format" + b"(" * depth + b"]" + b"l" * depth + b"s.")
    message = one_line_error(path, "format is [[[[[[", "rerun `python train_snn.py`")
    assert len(message) < 300


def test_writer_refuses_a_record_its_readers_would_refuse(tmp_path):
    record = make_record()
    record["weights"]["hidden_hidden"][0, 1] = np.inf
    path = tmp_path / "out.pkl"
    with pytest.raises(ValueError, match=r"out\.pkl not written: 'hidden_hidden' holds non-finite values$"):
        sf.save_spike_trains(record, path)
    assert list(tmp_path.iterdir()) == []
