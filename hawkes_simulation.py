"""Simulation of multivariate Hawkes processes with exponential kernels: the ground truth that
the tests and benchmarks fit the model of ``hawkes_model.py`` to.

Its own module because it draws data rather than scoring them: it shares the model's checks
of settings and parameters (``hawkes_inputs``), none of its likelihood.
"""

import numbers

import numpy as np

from hawkes_inputs import (
    GRID_TOLERANCE,
    check_background,
    check_params,
    check_refractory,
    check_settings,
    resolve_seed,
)

# A simulation that produces more events than this is treated as exploding.
MAX_SIMULATED_EVENTS = 10_000_000


def simulate_hawkes(mu, alpha, beta, end_time, seed=0, time="continuous", dt=1.0, background=None, refractory=None):
    """Simulate one realisation of the Hawkes process on ``[0, end_time)``.

    Continuous time: exact simulation by the branching structure (Poisson immigrants, with
    rate ``mu_i b_i(t)`` piecewise constant over the bins of the background, then
    generation after generation of offspring, ``Poisson(alpha[i, j])`` children of type ``i``
    per event of type ``j`` at Exponential(beta[i, j]) delays), vectorised per generation.
    Discrete time: the Bernoulli grid process of the discrete likelihood, one step at a time.

    Parameters
    ----------
    mu : array_like, shape (D,)
        Background rates, 1/s.
    alpha : array_like, shape (D, D)
        Branching ratios ``alpha[target, source]``.
    beta : float or array_like, shape (D, D)
        Decay rate(s), 1/s.
    end_time : float
        Window length, s.
    seed : int, SeedSequence or Generator
    time : {"continuous", "discrete"}
    dt : float
        Grid step, s (discrete), and bin width of ``background``.
    background : array_like, shape (D, n_bins), optional
        Relative background (as in ``HawkesProcessModel``); the background intensity of
        neuron ``i`` is ``mu_i b_i(t)``. None: constant 1.
    refractory : array_like of int, shape (D,), optional
        Discrete time: dead steps after each spike (as in ``HawkesProcessModel``), in which
        the neuron cannot fire. None: none.

    Returns
    -------
    list of D sorted 1-D float arrays
    """
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 1:
        raise ValueError(f"mu must be 1-D, got shape {mu.shape}")
    d = mu.size
    check_settings(d, time, dt)
    background = check_background(background, d)
    refractory = check_refractory(refractory, d, time)
    mu, alpha, beta = check_params(mu, alpha, beta, d, "pair")
    if not isinstance(end_time, numbers.Real) or not np.isfinite(end_time) or end_time < 0:
        raise ValueError(f"end_time must be a finite number >= 0, got {end_time!r}")
    n_bins = int(np.ceil(end_time / dt * (1 - GRID_TOLERANCE)))
    if background is not None and background.shape[1] < n_bins:
        raise ValueError(f"background covers {background.shape[1]} bins of dt={dt}, shorter than end_time={end_time}")
    rng = resolve_seed(seed)
    if time == "discrete":
        base = np.ones((d, n_bins)) if background is None else background
        dead = np.zeros(d, dtype=np.int64) if refractory is None else refractory
        return _simulate_discrete(mu, alpha, beta, end_time, dt, rng, base, dead)
    if background is None:  # one bin: the whole window
        base, n_bins, lo, width = np.ones((d, 1)), 1, np.zeros(1), np.full(1, float(end_time))
    else:
        base = background
        lo = np.arange(n_bins) * dt  # (n_bins,) bin starts
        width = np.minimum(lo + dt, end_time) - lo
    # Immigrants bin by bin: Poisson(mu_i b_im x the bin's length in the window), uniform in it.
    n_imm = rng.poisson(mu[:, None] * base[:, :n_bins] * width)  # (D, n_bins)
    cell = np.repeat(np.arange(d * n_bins), n_imm.ravel())
    gen_d, gen_bin = np.divmod(cell, n_bins)
    gen_t = lo[gen_bin] + rng.random(cell.size) * width[gen_bin]
    all_t, all_d, total = [gen_t], [gen_d], gen_t.size
    while gen_t.size:
        n_child = rng.poisson(alpha[:, gen_d].T)  # (n_gen, D) children per type
        parent = np.repeat(np.arange(gen_t.size), n_child.sum(axis=1))
        child_d = np.tile(np.arange(d), gen_t.size)[np.repeat(np.arange(n_child.size), n_child.ravel())]
        child_t = gen_t[parent] + rng.exponential(1.0 / beta[child_d, gen_d[parent]])
        keep = child_t < end_time
        gen_t, gen_d = child_t[keep], child_d[keep]
        total += gen_t.size
        if total > MAX_SIMULATED_EVENTS:
            raise ValueError(
                f"alpha: the process exploded (> {MAX_SIMULATED_EVENTS} events); "
                "use a spectral radius < 1 or a shorter end_time"
            )
        all_t.append(gen_t)
        all_d.append(gen_d)
    t, dims = np.concatenate(all_t), np.concatenate(all_d)
    return [np.sort(t[dims == j]) for j in range(d)]


def _simulate_discrete(mu, alpha, beta, end_time, dt, rng, base, dead):
    """Bernoulli grid process: P(spike of i at step k) = 1 - exp(-lambda_i[k] dt), background
    ``mu_i base[i, k]``; 0 for the ``dead[i]`` steps after a spike of ``i``."""
    d = mu.size
    n_steps = int(round(end_time / dt))
    decay = np.exp(-beta * dt)  # (D, D)
    s = np.zeros((d, d))  # S_ij at the current step
    spikes = np.zeros((n_steps, d), dtype=bool)
    uniform = rng.random((n_steps, d))
    dead_left = np.zeros(d, dtype=np.int64)
    for k in range(n_steps):
        lam = mu * base[:, k] + (alpha * s).sum(axis=1)
        spikes[k] = (uniform[k] < -np.expm1(-lam * dt)) & (dead_left == 0)
        dead_left = np.where(spikes[k], dead, np.maximum(dead_left - 1, 0))
        s = decay * s + (1.0 - decay) * spikes[k][None, :] / dt
    return [np.flatnonzero(spikes[:, j]) * dt for j in range(d)]
