"""The known networks the Hawkes validation simulates, and the ranges they are drawn from.

Random sparse (or dense) stable networks for continuous data; random feed-forward networks in
the spiking network's layout (1 input, 10 hidden, 2 output neurons) on a grid of ``DT``
seconds; and one saturated SNN-like network on that grid.

Its own module because what is simulated is independent of how it is fitted and scored.
"""

import numpy as np

# Continuous truths: mu ~ U(MU_RANGE) 1/s; each alpha entry an edge with EDGE_PROB, then
# ~ U(ALPHA_RANGE), scaled down if the spectral radius exceeds MAX_SPECTRAL_RADIUS;
# beta ~ U(BETA_RANGE) 1/s.
MU_RANGE = (0.5, 1.5)
EDGE_PROB = 0.3
ALPHA_RANGE = (0.15, 0.4)
MAX_SPECTRAL_RADIUS = 0.7
BETA_RANGE = (1.0, 3.0)
# Discrete truths: the SNN's layout (1 input, 10 hidden, 2 output) with random feed-forward
# edges; beta * dt ~ U(BETA_DT_RANGE), so most kernel mass falls at lag 1 as in the network.
LAYERS = (1, 10, 2)
P_INPUT_HIDDEN = 0.6
P_HIDDEN_OUTPUT = 0.5
DISC_ALPHA_RANGE = (0.2, 0.5)
INPUT_RATE_RANGE = (150.0, 250.0)  # 1/s
BASE_RATE_RANGE = (10.0, 30.0)  # 1/s
BETA_DT_RANGE = (0.7, 1.5)
DT = 0.001  # s per step


def draw_continuous_truth(rng, n_dims, edge_prob=EDGE_PROB):
    """A random sparse (or, with ``edge_prob=1``, dense), stable network for continuous data.

    Returns
    -------
    mu : ndarray, shape (D,)
        1/s.
    alpha : ndarray, shape (D, D)
        ``alpha[i, j]`` from source ``j`` to target ``i``; spectral radius <= 0.7.
    beta : float
        1/s.
    """
    mu = rng.uniform(*MU_RANGE, n_dims)
    alpha = rng.uniform(*ALPHA_RANGE, (n_dims, n_dims)) * (rng.random((n_dims, n_dims)) < edge_prob)
    radius = np.max(np.abs(np.linalg.eigvals(alpha)))
    if radius > MAX_SPECTRAL_RADIUS:
        alpha *= MAX_SPECTRAL_RADIUS / radius
    return mu, alpha, float(rng.uniform(*BETA_RANGE))


def draw_discrete_truth(rng):
    """A random feed-forward network in the SNN's layout (input -> hidden -> output).

    Returns
    -------
    mu : ndarray, shape (13,)
        1/s.
    alpha : ndarray, shape (13, 13)
    beta : float
        1/s.
    """
    n_in, n_hidden, n_out = LAYERS
    n = n_in + n_hidden + n_out
    hidden, output = slice(n_in, n_in + n_hidden), slice(n_in + n_hidden, n)
    mu = rng.uniform(*BASE_RATE_RANGE, n)
    mu[:n_in] = rng.uniform(*INPUT_RATE_RANGE, n_in)
    alpha = np.zeros((n, n))
    alpha[hidden, :n_in] = rng.uniform(*DISC_ALPHA_RANGE, (n_hidden, n_in)) * (
        rng.random((n_hidden, n_in)) < P_INPUT_HIDDEN
    )
    alpha[output, hidden] = rng.uniform(*DISC_ALPHA_RANGE, (n_out, n_hidden)) * (
        rng.random((n_out, n_hidden)) < P_HIDDEN_OUTPUT
    )
    return mu, alpha, float(rng.uniform(*BETA_DT_RANGE) / DT)


def saturated_truth():
    """An SNN-like grid network: strong input drive, every neuron spiking in 1/4-1/2 of steps.

    The input (600/s) drives all 10 hidden neurons with alpha 0.9 at ``beta * dt = 1``; both
    outputs listen weakly (0.08) to every hidden neuron; all other baselines are 50/s.
    """
    n_in, n_hidden, n_out = LAYERS
    n = n_in + n_hidden + n_out
    mu = np.full(n, 50.0)
    mu[:n_in] = 600.0
    alpha = np.zeros((n, n))
    alpha[n_in : n_in + n_hidden, :n_in] = 0.9
    alpha[n_in + n_hidden :, n_in : n_in + n_hidden] = 0.08
    return mu, alpha, 1.0 / DT
