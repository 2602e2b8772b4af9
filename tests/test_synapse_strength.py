"""benchmarks/synapse_strength.py scores each strength bin's synapses against the absent pairs."""

import numpy as np

from benchmarks.synapse_strength import bin_names, strength_aucs


def test_each_bin_is_scored_against_every_absent_pair_alone():
    true_weights = np.array(
        [
            [0.0, 0.2, 0.0, 1.5],
            [0.0, 0.0, 0.8, 0.0],
            [0.25, 0.0, 0.0, -1.0],
            [2.0, 0.0, 0.5, 0.0],
        ]
    )
    # Weak synapses (0, 0.3] get the alpha of absent pairs; the rest outrank them.
    alpha = np.where(true_weights > 0.3, true_weights, 0.1)
    alpha[1, 0] = 0.05  # one absent pair below the weak synapses' tie
    pairs = ~np.eye(4, dtype=bool)
    aucs = strength_aucs(alpha, true_weights, pairs)
    assert [n for _, n in aucs] == [2, 1, 1, 2]
    # 5 absent off-diagonal pairs (the inhibitory one is no negative): 4 tie the weak
    # synapses, one lies below: (1 + 4 / 2) / 5.
    assert np.isclose(aucs[0][0], (1 + 4 / 2) / 5)
    assert [auc for auc, _ in aucs[1:]] == [1.0, 1.0, 1.0]
    pairs[0, 3] = pairs[3, 0] = False  # without the strong synapses the last bin is empty
    assert np.isnan(strength_aucs(alpha, true_weights, pairs)[-1][0])
    assert bin_names() == ["(0, 0.3]", "(0.3, 0.6]", "(0.6, 1]", "> 1"]
