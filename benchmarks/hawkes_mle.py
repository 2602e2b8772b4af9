"""Maximum-likelihood fit of a Hawkes process with exponential kernels and one shared decay.

The reference the validation compares the posterior with. For continuous event times and for
spike rasters on a ``dt`` grid: per-target sufficient statistics for a fixed decay, L-BFGS-B on
the negative log-likelihood with analytic gradients in the natural parameters
``(mu_i, alpha[i, :])`` (convex there for fixed beta), and beta profiled out on the log scale by
a grid and a bounded Brent search.

Its own module because it is an independent reference: written without ``hawkes_model.py``,
whose likelihoods it must not import.
"""

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.signal import lfilter
from threadpoolctl import threadpool_limits

# MLE: profile grid of log-spaced decays (in units of 1/s, or of 1/dt for discrete data).
BETA_GRID_CONT = np.geomspace(0.05, 50.0, 13)
BETA_DT_GRID = np.geomspace(0.02, 20.0, 13)
BIAS_BETA_DT_GRID = np.geomspace(1e-4, 20.0, 19)  # reaches the beta -> 0 mode of grid data
MU_FLOOR = 1e-9  # 1/s, lower bound of mu in the MLE (keeps log lambda finite)


def continuous_statistics(events, end_times, beta):
    """Per-target sufficient statistics of the continuous log-likelihood for one decay.

    ``log L = sum_i [sum_k log(xt_i[k] @ p_i) - c_i @ p_i]`` with ``p_i = (mu_i, alpha[i, :])``.

    Parameters
    ----------
    events : list of list of ndarray
        Realisations, each ``D`` sorted time arrays (s).
    end_times : sequence of float
        Window of each realisation (s).
    beta : float
        1/s.

    Returns
    -------
    features : list of ndarray, each (n_i, D + 1)
        ``[1, beta * sum_{t_l^j < t_k^i} exp(-beta (t_k^i - t_l^j))]`` at target ``i``'s events.
    compensators : ndarray, shape (D, D + 1)
        ``[sum_r T_r, sum_{r,l} (1 - exp(-beta (T_r - t_l^j)))]``, equal for every target.
    """
    n_dims = len(events[0])
    blocks = [[] for _ in range(n_dims)]
    kernel_mass = np.zeros(n_dims)
    for trial, end_time in zip(events, end_times):
        # log sum_{m <= l} exp(beta t_m) of each source, accumulated without overflow
        log_cumulative = [np.logaddexp.accumulate(beta * np.asarray(s)) for s in trial]
        for i, targets in enumerate(trial):
            columns = [np.ones(len(targets))]
            for j, sources in enumerate(trial):
                if len(sources) == 0:
                    columns.append(np.zeros(len(targets)))
                    continue
                last = np.searchsorted(sources, targets, side="left") - 1  # strict t_l < t
                exponent = np.where(
                    last >= 0, log_cumulative[j][np.maximum(last, 0)] - beta * targets, -np.inf
                )  # -inf: no source yet
                columns.append(beta * np.exp(exponent))
            blocks[i].append(np.stack(columns, axis=1))
        kernel_mass += [np.sum(-np.expm1(-beta * (end_time - np.asarray(s)))) for s in trial]
    compensator = np.concatenate([[float(np.sum(end_times))], kernel_mass])
    return [np.concatenate(b) for b in blocks], np.tile(compensator, (n_dims, 1))


def discrete_statistics(raster, beta, dt):
    """Per-target sufficient statistics of the discrete (Bernoulli grid) log-likelihood.

    ``lambda_i[k] = xt[k] @ p_i`` with ``xt = [1, x / dt]``, ``x_j[k] = sum_{m>=1} g(m)
    y_j[k-m]``; ``log L = sum_i [sum_{y=1} log(1 - exp(-lambda dt)) - c_i @ p_i]``.

    Parameters
    ----------
    raster : ndarray of bool, shape (n_trials, D, n_steps)
    beta : float
        1/s.
    dt : float
        s.

    Returns
    -------
    features : list of ndarray, each (n_i, D + 1)
        ``xt`` at target ``i``'s spike bins.
    compensators : ndarray, shape (D, D + 1)
        ``dt * sum of xt`` over target ``i``'s empty bins.
    """
    decay = np.exp(-beta * dt)
    # x[k] = decay x[k-1] + (1 - decay) y[k-1]: the lag-1-and-later kernel mass, per trial
    x = lfilter([0.0, 1.0 - decay], [1.0, -decay], raster.astype(float), axis=-1) / dt
    design = np.concatenate([np.ones_like(x[:, :1]), x], axis=1).transpose(0, 2, 1)  # (R, K, D+1)
    features, compensators = [], []
    for i in range(raster.shape[1]):
        spikes = raster[:, i, :]  # (R, K)
        features.append(design[spikes])
        compensators.append(dt * design[~spikes].sum(axis=0))
    return features, np.array(compensators)


def target_objective(params, features, compensator, dt):
    """Negative log-likelihood of one target and its gradient in ``(mu_i, alpha[i, :])``.

    Continuous when ``dt`` is None (``log lambda``), else discrete (``log(1 - e^{-lambda dt})``).
    Both are convex in the natural parameters for fixed beta.
    """
    rate = features @ params  # (n_i,)
    if dt is None:
        value, slope = np.sum(np.log(rate)), 1.0 / rate
    else:
        with np.errstate(over="ignore"):  # slope -> 0 is right
            value, slope = np.sum(np.log(-np.expm1(-rate * dt))), dt / np.expm1(rate * dt)
    return compensator @ params - value, compensator - features.T @ slope


def profile_loglik(statistics, dt, start):
    """Maximised log-likelihood over (mu, alpha) for fixed beta, and the maximiser.

    L-BFGS-B on the natural parameters with bounds ``mu >= MU_FLOOR``, ``alpha >= 0``: the
    problem is convex there, and absent edges reach exactly 0 (on the log scale they crawl
    towards -inf and never converge). BLAS is held to one thread: L-BFGS-B's many tiny BLAS
    calls are 30x slower with OpenBLAS threads contending for 2 cores.

    Parameters
    ----------
    statistics : (list of ndarray, ndarray)
        Output of ``continuous_statistics`` or ``discrete_statistics``.
    dt : float or None
        None for continuous data.
    start : ndarray, shape (D, D + 1)
        Starting point.

    Returns
    -------
    loglik : float
    params : ndarray, shape (D, D + 1)
        ``[mu_i, alpha[i, :]]`` per row.
    """
    features, compensators = statistics
    rows, total = [], 0.0
    with threadpool_limits(limits=1, user_api="blas"):
        for i, (f, c) in enumerate(zip(features, compensators)):
            bounds = [(MU_FLOOR, None)] + [(0.0, None)] * (len(c) - 1)
            res = minimize(
                target_objective,
                start[i],
                args=(f, c, dt),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-8},
            )
            rows.append(res.x)
            total -= res.fun
    return total, np.array(rows)


def fit_mle(statistics_for, beta_grid, dt, start):
    """Maximum-likelihood (mu, alpha, beta): a log-beta grid, then bounded Brent around the best.

    Parameters
    ----------
    statistics_for : callable
        ``beta -> (features, compensators)``.
    beta_grid : ndarray
        Log-spaced decays (1/s) bracketing the answer.
    dt : float or None
    start : ndarray, shape (D, D + 1)

    Returns
    -------
    mu : ndarray, shape (D,)
    alpha : ndarray, shape (D, D)
    beta : float
    """

    def negative_profile(log_beta):
        return -profile_loglik(statistics_for(np.exp(log_beta)), dt, start)[0]

    values = [negative_profile(np.log(b)) for b in beta_grid]
    best = int(np.argmin(values))
    lo = np.log(beta_grid[max(best - 1, 0)])
    hi = np.log(beta_grid[min(best + 1, len(beta_grid) - 1)])
    res = minimize_scalar(negative_profile, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    beta = float(np.exp(res.x))
    params = profile_loglik(statistics_for(beta), dt, start)[1]
    return params[:, 0], params[:, 1:], beta


def rate_start(counts, exposure, n_dims):
    """MLE start: half the empirical rate as baseline, every alpha 0.1."""
    start = np.full((n_dims, n_dims + 1), 0.1)
    start[:, 0] = np.maximum(0.5 * counts / exposure, 1e-3)
    return start
