"""Tests of trial_groups.py: grouping the test trials, selecting them, the input's background and
mask, the LIF neurons' dead steps.

The script's use of them, end to end, is tested in test_fit_hawkes_process.py."""

import numpy as np
import pytest

from trial_groups import (
    exogenous_input_mask,
    group_test_trials,
    lif_dead_steps,
    neurons_firing_inside_dead_steps,
    select_trials,
    stimulus_background,
)


def test_group_test_trials_by_class_and_outcome():
    labels = np.array([0, 1, 0, 1, 0, 1, 0])
    predictions = np.array([0, 1, 1, 1, 0, 0, 0])
    split = np.array(["test", "test", "test", "test", "train", "test", "test"])
    groups = group_test_trials(labels, predictions, split, ["sine", "cosine"])
    assert list(groups) == ["sine_correct", "cosine_correct", "sine_wrong", "cosine_wrong"]
    np.testing.assert_array_equal(groups["sine_correct"], [0, 6])  # train trial 4 left out
    np.testing.assert_array_equal(groups["cosine_correct"], [1, 3])
    np.testing.assert_array_equal(groups["sine_wrong"], [2])
    np.testing.assert_array_equal(groups["cosine_wrong"], [5])


def test_group_test_trials_skips_empty_groups():
    groups = group_test_trials([0, 1, 1], [0, 1, 1], ["test", "test", "train"], ["sine", "cosine"])
    assert list(groups) == ["sine_correct", "cosine_correct"]
    np.testing.assert_array_equal(groups["cosine_correct"], [1])


def test_select_trials_skips_small_groups_and_keeps_a_spike_budget():
    groups = {"a": np.array([0, 1, 2, 3, 4]), "b": np.array([5, 6]), "c": np.array([7, 8, 9])}
    spike_counts = np.array([3, 4, 2, 5, 1, 9, 9, 50, 1, 1])
    selected, skipped = select_trials(groups, spike_counts, min_trials=3, max_spikes=10)
    assert list(selected) == ["a", "c"] and skipped == ["b"]
    np.testing.assert_array_equal(selected["a"], [0, 1, 2])  # 3 + 4 + 2 = 9; + 5 would be 14
    np.testing.assert_array_equal(selected["c"], [7])  # one trial even over the budget
    unlimited, _ = select_trials(groups, spike_counts, min_trials=1, max_spikes=0)
    by_count, _ = select_trials(groups, spike_counts, min_trials=3, max_spikes=0, max_trials=2)
    assert {name: trials.tolist() for name, trials in by_count.items()} == {
        name: trials[:2].tolist() for name, trials in groups.items() if len(trials) >= 3
    }
    assert {name: list(trials) for name, trials in unlimited.items()} == {
        name: list(trials) for name, trials in groups.items()
    }


def test_stimulus_background_is_the_training_psth_of_the_class_as_an_intensity():
    # Three sine training trials whose input fires at steps {0, 1}, {0} and {0, 2}; a cosine
    # training trial and the test trials must not count.
    spikes = np.zeros((6, 3, 4), dtype=bool)  # (trials, neurons, steps)
    spikes[0, 0, [0, 1]] = spikes[1, 0, 0] = spikes[2, 0, [0, 2]] = True
    spikes[3, 0, :] = spikes[4, 0, 3] = spikes[5, 0, 3] = True
    labels, split = np.array([0, 0, 0, 1, 0, 0]), np.array(["train"] * 4 + ["test"] * 2)
    background = stimulus_background(spikes, labels, split, np.array([4, 5]), np.array([0]))
    # Jeffreys' (count + 1/2) / (n + 1) with counts (3, 1, 1, 0) of n = 3, as -log(1 - p).
    intensity = -np.log(1 - np.array([3.5, 1.5, 1.5, 0.5]) / 4)
    np.testing.assert_allclose(background[0], intensity / intensity.mean(), rtol=1e-12)
    np.testing.assert_array_equal(background[1:], np.ones((2, 4)))
    # The cosine group gets its own class's PSTH: one trial firing at every step.
    cosine = stimulus_background(spikes, np.array([0, 0, 0, 1, 1, 1]), split, np.array([4]), np.array([0]))
    np.testing.assert_allclose(cosine[0], np.ones(4))


def test_exogenous_input_mask_fixes_the_input_rows():
    free = exogenous_input_mask({"input": 2, "hidden": 3, "output": 1})
    assert free.shape == (6, 6) and free.dtype == bool
    assert not free[:2].any() and free[2:].all()


def test_lif_dead_steps_are_the_refractory_steps_of_the_lif_layers_only():
    dead = lif_dead_steps({"input": 2, "hidden": 3, "output": 1}, {"tau_ref": 0.002, "tau_mem": 0.005}, 0.001)
    np.testing.assert_array_equal(dead, [0, 0, 2, 2, 2, 2])
    for lif in ({}, {"tau_ref": -0.001}, {"tau_ref": float("nan")}, {"tau_ref": "2 ms"}, None):
        with pytest.raises(ValueError, match="tau_ref"):
            lif_dead_steps({"input": 1, "hidden": 1}, lif, 0.001)


def test_neurons_firing_inside_dead_steps_match_a_loop_over_spikes():
    rng = np.random.default_rng(4)
    spikes = rng.random((5, 6, 30)) < 0.15
    dead = np.array([0, 1, 2, 3, 2, 0])
    expected = [
        i
        for i in range(6)
        if any(
            0 < k2 - k1 <= dead[i]
            for trial in spikes[:, i]
            for k1 in np.flatnonzero(trial)
            for k2 in np.flatnonzero(trial)
        )
    ]
    assert 0 < len(expected) < 6
    np.testing.assert_array_equal(neurons_firing_inside_dead_steps(spikes, dead), expected)
    assert neurons_firing_inside_dead_steps(spikes, np.zeros(6, dtype=int)).size == 0
