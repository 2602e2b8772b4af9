"""Slow reference log-likelihoods of the Hawkes model, written straight from the equations.

Double loops over events (continuous time) and over bins (discrete time), per target, so the
fast code can be checked against them target by target. Used by the likelihood and sampler
tests; slow by design, for a few hundred events at most.
"""

import math

import numpy as np


def slow_target_logliks_continuous(realisations, end_times, mu, alpha, beta, background=None, dt=1.0):
    """Log-likelihood of each target: sum log lambda_i(t_k) - compensator, strict t_l < t.

    With ``background`` (D, n_bins) the background of i is mu_i b_i[floor(t / dt)], and its
    compensator the sum over bins of mu_i b_i[m] times the bin's overlap with [0, end).

    Returns
    -------
    ndarray, shape (D,)
    """
    d = len(mu)
    beta = np.broadcast_to(np.asarray(beta, dtype=float), (d, d))
    total = np.zeros(d)
    for events, end in zip(realisations, end_times):
        for i in range(d):
            for t in events[i]:
                lam = mu[i] if background is None else mu[i] * background[i, int(t // dt)]
                for j in range(d):
                    for s in events[j]:
                        if s < t:
                            lam += alpha[i, j] * beta[i, j] * math.exp(-beta[i, j] * (t - s))
                total[i] += math.log(lam) if lam > 0 else -math.inf
            if background is None:
                total[i] -= mu[i] * end
            else:
                for m in range(background.shape[1]):
                    total[i] -= mu[i] * background[i, m] * max(0.0, min(end, (m + 1) * dt) - m * dt)
            for j in range(d):
                for s in events[j]:
                    total[i] -= alpha[i, j] * (1.0 - math.exp(-beta[i, j] * (end - s)))
    return total


def slow_target_logliks_discrete(realisations, end_times, mu, alpha, beta, dt, background=None, refractory=None):
    """Bin by bin: lambda_i[k] = mu_i b_i[k] + sum_j alpha_ij sum_m g_ij(m) y_j[k-m] / dt, Bernoulli terms.

    ``refractory[i]``: the bins after each spike of ``i`` that are skipped (dead, intensity 0).

    Returns
    -------
    ndarray, shape (D,)
    """
    d = len(mu)
    beta = np.broadcast_to(np.asarray(beta, dtype=float), (d, d))
    total = np.zeros(d)
    for events, end in zip(realisations, end_times):
        n_steps = int(round(end / dt))
        y = np.zeros((d, n_steps))
        for j in range(d):
            for t in events[j]:
                y[j, int(round(t / dt))] = 1.0
        lags = np.arange(1, n_steps + 1)
        for i in range(d):
            # g[j, m - 1]: the kernel mass of source j at lag m.
            g = (1 - np.exp(-beta[i, :, None] * dt)) * np.exp(-beta[i, :, None] * dt * (lags - 1))
            dead_until = -1
            for k in range(n_steps):
                if k <= dead_until:
                    continue
                if y[i, k] and refractory is not None:
                    dead_until = k + refractory[i]
                lam = mu[i] if background is None else mu[i] * background[i, k]
                for j in range(d):
                    # sum over m = 1..k of g(m) y_j[k - m] / dt
                    lam += alpha[i, j] * np.dot(g[j, :k], y[j, k - 1 :: -1][:k]) / dt
                if y[i, k]:
                    total[i] += math.log(1 - math.exp(-lam * dt)) if lam > 0 else -math.inf
                else:
                    total[i] -= lam * dt
    return total


def slow_target_logliks(time, realisations, end_times, mu, alpha, beta, dt, background=None, refractory=None):
    """The reference of either time, (D,); ``refractory``: dead steps, discrete time only."""
    if time == "continuous":
        return slow_target_logliks_continuous(realisations, end_times, mu, alpha, beta, background, dt)
    return slow_target_logliks_discrete(realisations, end_times, mu, alpha, beta, dt, background, refractory)
