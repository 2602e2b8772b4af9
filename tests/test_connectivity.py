"""Tests of connectivity.py: the weight layout, the AUC against brute force and scikit-learn,
and the observable pairs, all by hand."""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import connectivity as conn

LAYER_SIZES = {"input": 1, "hidden": 2, "output": 1}
WEIGHTS = {
    "input_hidden": np.array([[1.0, -2.0]]),  # (n_in, n_hidden) [source, target]
    "hidden_output": np.array([[3.0], [4.0]]),
}  # (n_hidden, n_out)


# ----------------------------------------------------------------------------- weights
def test_connection_matrix_puts_target_in_rows():
    true_weights, types = conn.connection_matrix(WEIGHTS, LAYER_SIZES)
    expected = np.array(
        [
            [0, 0, 0, 0],
            [1, 0, 0, 0],  # h0 <- in0: input_hidden[0, 0]
            [-2, 0, 0, 0],  # h1 <- in0: input_hidden[0, 1]
            [0, 3, 4, 0],
        ]
    )  # out0 <- h0, h1: hidden_output[:, 0]
    np.testing.assert_array_equal(true_weights, expected)
    i2h, h2o = "input→hidden", "hidden→output"
    np.testing.assert_array_equal(
        types,
        [
            ["self", "reverse", "reverse", "reverse"],
            [i2h, "self", "lateral", "reverse"],
            [i2h, "lateral", "self", "reverse"],
            ["none", h2o, h2o, "self"],
        ],
    )


def test_connection_matrix_handles_a_recurrent_hidden_layer():
    weights = {**WEIGHTS, "hidden_hidden": np.array([[0.0, 5.0], [6.0, 0.0]])}
    true_weights, types = conn.connection_matrix(weights, LAYER_SIZES)
    assert true_weights[2, 1] == 5.0  # h0 -> h1 is hidden_hidden[0, 1]
    assert true_weights[1, 2] == 6.0  # h1 -> h0 is hidden_hidden[1, 0]
    assert types[2, 1] == types[1, 2] == "lateral"


# ----------------------------------------------------------------------------- AUC
def _brute_force_auc(scores, positive):
    pairs = list(itertools.product(scores[positive], scores[~positive]))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


@pytest.mark.parametrize(
    "scores, positive, expected",
    [
        ([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0], 1.0),
        ([0.1, 0.2, 0.9, 0.8], [1, 1, 0, 0], 0.0),
        ([0.5, 0.5, 0.5], [1, 0, 0], 0.5),
        # positives 0.8, 0.4; negatives 0.4, 0.1, 0.5: wins 3 + (tie 0.5 + 1 + 0) = 4.5 of 6
        ([0.8, 0.4, 0.4, 0.1, 0.5], [1, 1, 0, 0, 0], 0.75),
    ],
)
def test_roc_auc_by_hand(scores, positive, expected):
    assert conn.roc_auc(scores, np.array(positive, dtype=bool)) == pytest.approx(expected)


def test_roc_auc_agrees_with_pairs_and_sklearn():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 40).astype(float)  # many ties
    positive = rng.random(40) < 0.4
    auc = conn.roc_auc(scores, positive)
    assert auc == pytest.approx(_brute_force_auc(scores, positive))
    assert auc == pytest.approx(roc_auc_score(positive, scores))


def test_roc_auc_without_one_class_is_nan():
    assert np.isnan(conn.roc_auc([0.1, 0.2], np.array([True, True])))


def test_connectivity_auc_leaves_out_inhibition_and_the_diagonal():
    true_weights, _ = conn.connection_matrix(WEIGHTS, LAYER_SIZES)
    alpha = np.full((4, 4), 0.2)
    alpha[1, 0], alpha[3, 1], alpha[3, 2] = 0.9, 0.1, 0.7  # the three excitatory synapses
    alpha[2, 0] = 5.0  # inhibitory synapse: must not count either way
    np.fill_diagonal(alpha, 9.0)  # self terms: must not count either way
    auc, n_pos, n_neg = conn.connectivity_auc(alpha, true_weights)
    assert (n_pos, n_neg) == (3, 16 - 4 - 4)
    # 0.9 and 0.7 beat all eight 0.2 negatives, 0.1 beats none: 16 of 24 pairs.
    assert auc == pytest.approx(16 / 24)
    # Leaving out the input's row (three absent pairs fixed by the model): 10 of 15.
    fitted = np.ones((4, 4), dtype=bool)
    fitted[0] = False
    assert conn.connectivity_auc(alpha, true_weights, fitted) == (pytest.approx(10 / 15), 3, 5)
    # A recurrent layer's own weight on the diagonal is no synapse either: the same AUC and counts.
    true_weights[2, 2] = 1.5
    assert conn.connectivity_auc(alpha, true_weights) == (pytest.approx(16 / 24), 3, 8)


def test_observable_pairs_leave_out_fixed_alphas_and_silent_neurons():
    free = np.ones((4, 4), dtype=bool)
    free[0] = False  # the input's row, fixed at 0
    group = {"n_spikes": np.array([5, 0, 3, 2])}  # h0 never fires
    expected = np.array(
        [
            [0, 0, 0, 0],
            [0, 0, 0, 0],  # silent target
            [1, 0, 1, 1],  # silent source h0 (column 1) left out
            [1, 0, 1, 1],
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(conn.observable_pairs(group["n_spikes"], free), expected)


def test_group_aucs_over_observable_pairs_by_hand():
    true_weights, _ = conn.connection_matrix(WEIGHTS, LAYER_SIZES)
    alpha = np.full((4, 4), 0.2)
    alpha[1, 0], alpha[3, 1], alpha[3, 2] = 0.9, 0.1, 0.7  # the three excitatory synapses
    alpha[2, 3] = 0.8  # an absent pair ranked high
    free = np.ones((4, 4), dtype=bool)
    free[0] = False
    # The fields of a posterior_file.Posterior and GroupPosterior that group_aucs reads.
    posterior = SimpleNamespace(
        alpha_free=free,
        groups={"g": SimpleNamespace(n_spikes=np.array([5, 0, 3, 2]), summary={"alpha": {"mean": alpha}})},
    )
    # All pairs: 0.9 beats all eight negatives, 0.7 seven of them, 0.1 none: 15 of 24.
    assert conn.group_aucs(posterior, true_weights) == {"g": pytest.approx(15 / 24)}
    # Observable: h0 is silent, so 0.9 (silent target) and 0.1 (silent source) drop out;
    # 0.7 against the negatives out0 <- in0 (0.2) and h1 <- out0 (0.8): 1 of 2.
    assert conn.group_aucs(posterior, true_weights, observable=True) == {"g": pytest.approx(0.5)}


def test_format_aucs_prints_three_decimals_and_says_why_there_is_none():
    text = conn.format_aucs({"sine_correct": 0.93149, "cosine_wrong": float("nan")})
    assert text == "sine_correct 0.931, cosine_wrong none (no synapse or no absent pair to rank)"
