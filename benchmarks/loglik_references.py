"""Independent log-likelihoods that the Hawkes benchmark checks and times ours against.

Its own module because these are the yardsticks, not the measurements: pure-Python recursions
over the merged event stream (continuous time) and over the grid steps (discrete time), and
tick's C++ ``ModelHawkesExpKernLogLik`` when tick imports. ``bench_hawkes.py`` times them
beside ``HawkesProcessModel.log_likelihood``.
"""

import math

import numpy as np


# ----------------------------------------------------------------------------- references
def loglik_continuous_reference(events, end_time, mu, alpha, beta):
    """Continuous log-likelihood by a pure-Python O(N * D) recursion over the merged stream.

    Carries ``state[j] = sum_{t_l^j < t} exp(-beta (t - t_l^j))`` from event to event; an
    event joins the state only once time has moved past it, so simultaneous events do not
    excite each other (strict ``t_l < t``).

    Parameters
    ----------
    events : list of list of ndarray
        Realisations, each ``D`` sorted arrays of times (s).
    end_time : float
        Window length of every realisation (s).
    mu : ndarray, shape (D,)
    alpha : ndarray, shape (D, D)
    beta : float
        Shared decay, 1/s.

    Returns
    -------
    float
    """
    n_dims = len(mu)
    mu_l, alpha_l = [float(m) for m in mu], [[float(a) for a in row] for row in alpha]
    total = 0.0
    for trial in events:
        stream = sorted((float(t), i) for i, times in enumerate(trial) for t in times)
        state = [0.0] * n_dims
        pending = [0] * n_dims  # events at the current time, not yet in the state
        last = 0.0
        for t, i in stream:
            if t > last:
                decay = math.exp(-beta * (t - last))
                state = [(s + p) * decay for s, p in zip(state, pending)]
                pending = [0] * n_dims
                last = t
            excitation = sum(a * s for a, s in zip(alpha_l[i], state))
            total += math.log(mu_l[i] + beta * excitation)
            pending[i] += 1
        for j, times in enumerate(trial):
            kernel_mass = sum(1.0 - math.exp(-beta * (end_time - float(t))) for t in times)
            total -= sum(alpha_l[i][j] for i in range(n_dims)) * kernel_mass
        total -= end_time * sum(mu_l)
    return total


def loglik_discrete_reference(events, n_steps, dt, mu, alpha, beta):
    """Discrete (Bernoulli grid) log-likelihood by pure-Python loops over steps and neurons.

    ``x[j] = sum_{m >= 1} g(m) y_j[k - m]`` with ``g(m) = (1 - e) e^(m - 1)``, ``e = exp(-beta
    dt)``, follows ``x[j] <- e x[j] + (1 - e) y_j[k - 1]``.

    Parameters
    ----------
    events : list of list of ndarray
        Realisations, each ``D`` arrays of times on the ``dt`` grid (s).
    n_steps : int
        Steps per realisation.
    dt : float
        Step (s).
    mu : ndarray, shape (D,)
    alpha : ndarray, shape (D, D)
    beta : float
        Shared decay, 1/s.

    Returns
    -------
    float
    """
    n_dims = len(mu)
    decay = math.exp(-beta * dt)
    total = 0.0
    for trial in events:
        spikes = [[0] * n_steps for _ in range(n_dims)]
        for i, times in enumerate(trial):
            for t in times:
                spikes[i][int(round(float(t) / dt))] = 1
        x = [0.0] * n_dims
        for k in range(n_steps):
            if k > 0:
                x = [decay * x[j] + (1.0 - decay) * spikes[j][k - 1] for j in range(n_dims)]
            for i in range(n_dims):
                rate = float(mu[i]) + sum(float(alpha[i, j]) * x[j] for j in range(n_dims)) / dt
                if spikes[i][k]:
                    total += math.log(-math.expm1(-rate * dt))
                else:
                    total -= rate * dt
    return total


# ----------------------------------------------------------------------------- tick
def import_tick():
    """tick's log-likelihood model class and version, or ``(None, reason)`` if it won't import."""
    try:
        import tick
        from tick.hawkes import ModelHawkesExpKernLogLik
    except Exception as err:  # noqa: BLE001 -- any import failure just means "no tick rows"
        return None, f"tick not importable ({type(err).__name__}: {err})"
    return ModelHawkesExpKernLogLik, tick.__version__


def tick_loglik(model, n_events, n_dims, end_time, mu, alpha):
    """Our log L from a fitted tick model: ``loss = (-log L - D * T) / N`` (tick's convention)."""
    coeffs = np.concatenate([mu, alpha.ravel()])  # tick's layout: baselines, then adjacency
    return -n_events * model.loss(coeffs) - n_dims * end_time
