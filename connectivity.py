"""How right the Hawkes answer is: the network's true weights in the Hawkes layout, the ROC AUC
of excitatory synapses against absent pairs, and which pairs the spike trains can speak to.

``alpha[i, j]`` (row ``i`` the target, column ``j`` the source) is the expected number of
spikes of neuron ``i`` directly caused by one spike of neuron ``j``. The network's weights
are stored the other way round, ``[source, target]``; ``connection_matrix`` is the one place
that turns them into ``[target, source]``. Every score here works on any (D, D) matrix of
connection strengths, so baselines (a cross-correlogram, a GLM, a maximum-likelihood fit) are
scored exactly like the posterior.
"""

import numpy as np
from scipy.stats import rankdata

SELF, LATERAL, REVERSE, NONE = "self", "lateral", "reverse", "none"


def connection_matrix(weights, layer_sizes):
    """Map the network's weights onto the Hawkes layout ``[target, source]``.

    Parameters
    ----------
    weights : dict
        ``"<source layer>_<target layer>"`` -> array (n_source, n_target), e.g.
        ``input_hidden`` (n_in, n_hidden), ``hidden_output``, optionally ``hidden_hidden``.
    layer_sizes : dict
        Layer name -> neuron count, in the neuron order of the model.

    Returns
    -------
    true_weights : ndarray, shape (n_neurons, n_neurons)
        ``true_weights[i, j]`` is the weight from source ``j`` onto target ``i``; 0 where no
        synapse exists.
    connection_types : ndarray of str, shape (n_neurons, n_neurons)
        ``"<source>→<target>"`` for pairs one layer forward, ``"lateral"`` within a layer,
        ``"reverse"`` from a later layer back to an earlier one, ``"self"`` on the diagonal,
        ``"none"`` otherwise (layers skipped).
    """
    names = list(layer_sizes)
    starts = dict(zip(names, np.cumsum([0, *layer_sizes.values()])))
    n_neurons = sum(layer_sizes.values())
    true_weights = np.zeros((n_neurons, n_neurons))
    for key, w in weights.items():
        source, target = key.split("_")
        rows = slice(starts[target], starts[target] + layer_sizes[target])
        cols = slice(starts[source], starts[source] + layer_sizes[source])
        true_weights[rows, cols] = np.asarray(w).T  # (n_target, n_source)

    layer = np.repeat(np.arange(len(names)), list(layer_sizes.values()))  # (n_neurons,)
    step = layer[:, None] - layer[None, :]  # target layer minus source layer
    forward = np.array(
        [[f"{names[s]}→{names[t]}" if t == s + 1 else NONE for s in range(len(names))] for t in range(len(names))]
    )
    connection_types = np.where(step == 1, forward[layer[:, None], layer[None, :]], NONE)
    connection_types = np.where(step == 0, LATERAL, connection_types)
    connection_types = np.where(step < 0, REVERSE, connection_types)
    np.fill_diagonal(connection_types, SELF)
    return true_weights, connection_types.astype(str)


def roc_auc(scores, is_positive):
    """Area under the ROC curve in its Mann-Whitney form, ties counted 1/2.

    ``AUC = P(score of a random positive > score of a random negative)
    + P(equal scores) / 2``, computed from average ranks.

    Parameters
    ----------
    scores : ndarray, shape (n,)
    is_positive : ndarray of bool, shape (n,)

    Returns
    -------
    float
        NaN if there are no positives or no negatives.

    Examples
    --------
    The positive 0.5 beats one negative and ties the other: (1 + 1/2) / 2.

    >>> roc_auc([0.5, 0.5, 0.1], [True, False, False])
    0.75
    """
    scores = np.asarray(scores, dtype=float)
    is_positive = np.asarray(is_positive, dtype=bool)
    n_pos = int(is_positive.sum())
    n_neg = is_positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)  # ties get their average rank, which counts them 1/2
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def connectivity_auc(alpha, true_weights, pairs=None):
    """ROC AUC of alpha for telling excitatory synapses from pairs with no synapse.

    Positives: ``true_weights > 0``. Negatives: off-diagonal pairs with weight exactly 0.
    Inhibitory synapses (an excitatory Hawkes model cannot express them) and the diagonal
    (self-excitation stands for a neuron's own dynamics, not a synapse) are left out.

    Parameters
    ----------
    alpha, true_weights : ndarray, shape (n_neurons, n_neurons), [target, source]
    pairs : ndarray of bool, shape (n_neurons, n_neurons), optional
        Only these pairs count (e.g. ``observable_pairs``). None: every pair.

    Returns
    -------
    auc : float
        NaN when the scored pairs hold no positive or no negative.
    n_pos, n_neg : int
        Positives and negatives scored (after ``pairs``).
    """
    off_diagonal = ~np.eye(len(true_weights), dtype=bool)
    positive = (true_weights > 0) & off_diagonal
    used = positive | ((true_weights == 0) & off_diagonal)
    if pairs is not None:
        used &= pairs
    n_pos = int((positive & used).sum())
    return roc_auc(alpha[used], positive[used]), n_pos, int(used.sum()) - n_pos


def observable_pairs(n_spikes, alpha_free):
    """Mask (D, D) of the pairs that spike trains with these spike counts can speak to.

    A pair is observable when its alpha was fitted (``alpha_free``) and both neurons fire in
    the trials at hand. A silent source's column is the prior's: without its spikes the
    likelihood does not depend on it. A silent target's row only says that no source made it
    fire, which holds alike with a synapse and without one, so nothing that sees only the
    spikes can tell them apart.

    Parameters
    ----------
    n_spikes : array_like of int, shape (D,)
        Spikes of each neuron in the trials at hand.
    alpha_free : ndarray of bool, shape (D, D)

    Returns
    -------
    ndarray of bool, shape (D, D), [target, source]
    """
    silent = silent_sources(n_spikes)  # True in the columns of neurons that never fire
    return alpha_free & ~silent & ~silent.T


def silent_sources(n_spikes):
    """Mask (D, D) of the columns of neurons without a spike (``n_spikes`` (D,) == 0).

    Such a neuron never excites anything in the data, so its column of alpha is the prior's,
    not an estimate.
    """
    silent = np.asarray(n_spikes) == 0
    return np.broadcast_to(silent[None, :], (silent.size, silent.size))


def group_aucs(posterior, true_weights, observable=False, alpha=None):
    """Group name -> ``connectivity_auc`` of its posterior-mean alpha (a float, NaN as there).

    Over every pair, or with ``observable`` over the group's ``observable_pairs`` only.

    Parameters
    ----------
    posterior : posterior_file.Posterior
    true_weights : ndarray, shape (D, D)
    observable : bool
    alpha : callable, optional
        ``GroupPosterior`` -> (D, D) scores to rank instead of the posterior mean.
    """
    return {
        name: connectivity_auc(
            group.summary["alpha"]["mean"] if alpha is None else alpha(group),
            true_weights,
            observable_pairs(group.n_spikes, posterior.alpha_free) if observable else None,
        )[0]
        for name, group in posterior.groups.items()
    }


def format_aucs(aucs):
    """``"name 0.931, name 0.939"`` from a name -> AUC mapping; a NaN AUC (no synapse, or no absent
    pair, among the pairs scored) says so instead of printing ``nan``."""
    return ", ".join(
        f"{name} {auc:.3f}" if np.isfinite(auc) else f"{name} none (no synapse or no absent pair to rank)"
        for name, auc in aucs.items()
    )
