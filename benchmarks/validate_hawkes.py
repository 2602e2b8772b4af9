"""Validate the Hawkes sampler: recovery and calibration over many simulated data sets.

One piece because it is one study: the data sets, the independent maximum-likelihood fits and
the tables of recovery and coverage all describe the same runs.

Each data set draws a sparse network (known truth), simulates it with ``simulate_hawkes`` and
fits it with ``HawkesProcessModel.fit``; its posterior is compared with the truth and with a
maximum-likelihood estimate computed here, independently of ``hawkes_model.py``:

- continuous data sets (sparse networks, one shared decay), discrete ones (the network's 13
  neurons, 30 trials x 100 steps of 1 ms), and dense continuous ones (every alpha > 0), whose
  coverage is free of the boundary effect of absent edges (truth 0 on the edge of the prior's
  support, where posterior mass of the many absent edges lowers mu and the true edges);
- error of the posterior mean against the error of the MLE (``scipy.optimize.minimize``,
  L-BFGS-B on the negative log-likelihood with analytic gradients, on the natural scale with
  bounds, where it is convex for fixed beta; beta profiled out on the log scale by a grid and a
  bounded Brent search; started from the data's rates, not the truth);
- coverage of central 50% and 90% credible intervals, pooled over parameters and data sets,
  with a binomial standard error (parameters of one data set are correlated, so it is a
  lower bound on the real uncertainty);
- edge AUC (true edges against absent ones, scored by posterior-mean alpha, and by the MLE);
- goodness of fit: time-rescaling KS statistic per neuron at the posterior mean against the
  5% critical value, and the same for a Poisson model (alpha = 0) to show the test's power;
- the bias of a continuous fit of grid spike times against the discrete fit of the same data.

Reads:  nothing (all data are simulated with ``--seed``).
Writes: nothing, or a JSON of every data set's numbers with ``--out``.
Commands for the README tables, from the repository root:
    python -m benchmarks.validate_hawkes            (full table, several minutes on 2 cores)
    python -m benchmarks.validate_hawkes --quick    (about a minute)
"""

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from time import perf_counter

import numpy as np
import scipy
from scipy.optimize import minimize, minimize_scalar
from scipy.signal import lfilter
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from benchmarks.bench_hawkes import end_time_for, print_table, simulate_trials
from benchmarks.report import printed_section
from cli_types import int_at_least
from hawkes_model import HawkesPrior, HawkesProcessModel, simulate_hawkes
from safe_files import atomic_write
from spike_file import events_to_raster

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
N_TRIALS = 30
N_STEPS = 100
# MLE: profile grid of log-spaced decays (in units of 1/s, or of 1/dt for discrete data).
BETA_GRID_CONT = np.geomspace(0.05, 50.0, 13)
BETA_DT_GRID = np.geomspace(0.02, 20.0, 13)
BIAS_BETA_DT_GRID = np.geomspace(1e-4, 20.0, 19)  # reaches the beta -> 0 mode of grid data
MU_FLOOR = 1e-9  # 1/s, lower bound of mu in the MLE (keeps log lambda finite)
KS_CRITICAL_5PCT = 1.358  # sqrt(n) * KS above this rejects at 5%
# Run sizes: data sets (continuous, discrete, discrete also fitted in continuous time, dense
# continuous), D and events of the continuous ones, warm-up and draws per chain.
FULL = dict(
    n_calib=100, n_cont=4, n_disc=8, n_bias=1, n_dense=4, n_dims=8, n_events=20_000, n_warmup=1000, n_samples=1000
)
QUICK = dict(n_calib=20, n_cont=2, n_disc=2, n_bias=1, n_dense=1, n_dims=4, n_events=2_000, n_warmup=300, n_samples=300)
# Dense continuous truths (every alpha > 0): coverage without the boundary at alpha = 0.
# Simulation-based calibration: truths drawn from this fixed prior (discrete time), so the
# posterior's intervals must cover them at exactly their nominal rate if the sampler is right.
CALIB_PRIOR = dict(mu_mean=30.0, alpha_mean=0.15, beta_median=1.0 / DT, beta_log_sd=0.5)
CALIB_N_DIMS = 3
DENSE_N_DIMS = 4
DENSE_N_EVENTS = 5_000
N_CHAINS = 4


# ----------------------------------------------------------------------------- truths
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


# ----------------------------------------------------------------------------- MLE
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


# ----------------------------------------------------------------------------- scoring
def interval_hits(draws, truth, level):
    """Whether each parameter's central ``level`` credible interval contains its truth.

    Parameters
    ----------
    draws : ndarray, shape (n_chains, n_samples, ...)
    truth : ndarray, shape (...)

    Returns
    -------
    ndarray of bool, shape (...)
    """
    pooled = np.reshape(draws, (-1,) + np.shape(truth))
    lo, hi = np.quantile(pooled, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return (lo <= truth) & (truth <= hi)


def coverage_by_kind(post, truth, level):
    """Hits of the ``level`` intervals, grouped as mu / alpha of true edges / beta.

    Absent edges are left out: their truth, 0, lies on the boundary of a prior with support
    ``alpha > 0``, so a central interval never contains it (``absent_alpha`` reports them).
    """
    mu, alpha, beta = truth
    return {
        "mu": interval_hits(post.mu, mu, level).ravel(),
        "alpha edges": interval_hits(post.alpha, alpha, level)[alpha > 0],
        "beta": np.ravel(interval_hits(post.beta, np.full(np.shape(post.beta)[2:], beta), level)),
    }


def absent_alpha(post, alpha_true):
    """Mean over absent edges of the posterior mean and of the 95% quantile of alpha."""
    absent = alpha_true == 0
    if not absent.any():
        return float("nan"), float("nan")
    pooled = post.alpha.reshape(-1, *alpha_true.shape)[:, absent]  # (C*S, n_absent)
    return float(pooled.mean()), float(np.quantile(pooled, 0.95, axis=0).mean())


def errors(mu, alpha, beta, truth):
    """Estimation errors against the truth: alpha RMSE and max, mu and beta relative."""
    mu_t, alpha_t, beta_t = truth
    return {
        "alpha_rmse": float(np.sqrt(np.mean((alpha - alpha_t) ** 2))),
        "alpha_max": float(np.max(np.abs(alpha - alpha_t))),
        "mu_rel_rmse": float(np.sqrt(np.mean((mu / mu_t - 1) ** 2))),
        "beta_rel": float(np.mean(beta) / beta_t - 1),
    }


def edge_auc(scores, alpha_true):
    """ROC AUC of ``scores`` separating true edges from absent ones (nan if only one class)."""
    labels = (alpha_true > 0).ravel()
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, np.ravel(scores)))


def posterior_means(post):
    return (post.mu.mean(axis=(0, 1)), post.alpha.mean(axis=(0, 1)), post.beta.mean(axis=(0, 1)))


def ks_pass_fraction(ks, counts):
    """Fraction of neurons whose KS statistic is below the 5% critical value (nan: no spikes)."""
    counts = np.asarray(counts, dtype=float)
    has = counts > 0
    return float(np.mean(np.asarray(ks)[has] * np.sqrt(counts[has]) < KS_CRITICAL_5PCT))


# ----------------------------------------------------------------------------- one data set
def validate_one(model, events, end_time, truth, statistics_for, beta_grid, dt, settings, seed):
    """Fit one data set and compute every score against its truth.

    Returns
    -------
    dict
        Fit time, R-hat and ESS, errors of the posterior mean and MLE, interval hits, AUCs,
        KS pass fractions, and the log-likelihood cross-check (ours vs this file's).
    """
    mu_t, alpha_t, beta_t = truth
    n_dims = len(mu_t)
    counts = np.array([sum(len(trial[i]) for trial in events) for i in range(n_dims)])
    exposure = end_time * len(events)
    # cross-check of the two implementations at the truth
    ours = model.log_likelihood(events, end_time, mu_t, alpha_t, beta_t)
    features, compensators = statistics_for(beta_t)
    mine = -sum(
        target_objective(np.concatenate([[mu_t[i]], alpha_t[i]]), f, c, dt)[0]
        for i, (f, c) in enumerate(zip(features, compensators))
    )
    start = perf_counter()
    post = model.fit(
        events,
        end_time,
        n_samples=settings["n_samples"],
        n_warmup=settings["n_warmup"],
        n_chains=N_CHAINS,
        seed=seed,
        progress=False,
    )
    fit_s = perf_counter() - start
    mu_p, alpha_p, beta_p = posterior_means(post)
    mu_m, alpha_m, beta_m = fit_mle(statistics_for, beta_grid, dt, rate_start(counts, exposure, n_dims))
    ks_truth = model.goodness_of_fit(events, end_time, mu_t, alpha_t, beta_t)
    ks_fit = model.goodness_of_fit(events, end_time, mu_p, alpha_p, beta_p)
    ks_poisson = model.goodness_of_fit(events, end_time, counts / exposure, np.zeros_like(alpha_t), beta_p)
    return {
        "n_events": int(counts.sum()),
        "fit_s": fit_s,
        "max_rhat": float(post.max_rhat),
        "min_ess": float(post.min_ess_bulk),
        "loglik_rel_diff": abs(ours - mine) / abs(mine),
        "posterior": errors(mu_p, alpha_p, beta_p, truth),
        "mle": errors(mu_m, alpha_m, beta_m, truth),
        "hits50": {k: v.tolist() for k, v in coverage_by_kind(post, truth, 0.5).items()},
        "hits90": {k: v.tolist() for k, v in coverage_by_kind(post, truth, 0.9).items()},
        "auc_posterior": edge_auc(alpha_p, alpha_t),
        "auc_mle": edge_auc(alpha_m, alpha_t),
        "ks_pass_truth": ks_pass_fraction(ks_truth, counts),
        "ks_pass_fit": ks_pass_fraction(ks_fit, counts),
        "ks_pass_poisson": ks_pass_fraction(ks_poisson, counts),
        "ks_mean_fit": float(np.nanmean(ks_fit)),
        "ks_mean_poisson": float(np.nanmean(ks_poisson)),
        "absent_mean_q95": absent_alpha(post, alpha_t),
        "absent_mle_mean": (float(alpha_m[alpha_t == 0].mean()) if np.any(alpha_t == 0) else float("nan")),
    }


def run_continuous(seed_seq, settings, n_dims, n_events, edge_prob=EDGE_PROB):
    """Validate on one continuous data set drawn from ``seed_seq``."""
    rng = np.random.default_rng(seed_seq)
    truth = draw_continuous_truth(rng, n_dims, edge_prob)
    end_time = end_time_for(truth[0], truth[1], n_events)
    sim_seed, fit_seed = (int(s) for s in rng.integers(0, 2**31, 2))
    events = [simulate_hawkes(*truth, end_time, seed=sim_seed)]
    model = HawkesProcessModel(n_dims, time="continuous", beta="shared")
    return validate_one(
        model,
        events,
        end_time,
        truth,
        lambda b: continuous_statistics(events, [end_time], b),
        BETA_GRID_CONT,
        None,
        settings,
        fit_seed,
    )


def run_discrete(seed_seq, settings):
    """Validate on one discrete data set drawn from ``seed_seq``; returns (record, data)."""
    rng = np.random.default_rng(seed_seq)
    truth = draw_discrete_truth(rng)
    sim_seed, fit_seed = (int(s) for s in rng.integers(0, 2**31, 2))
    events = simulate_trials(*truth, N_STEPS * DT, N_TRIALS, sim_seed, "discrete", DT)
    raster = events_to_raster(events, N_STEPS, DT)
    model = HawkesProcessModel(len(truth[0]), time="discrete", dt=DT, beta="shared")
    record = validate_one(
        model,
        events,
        N_STEPS * DT,
        truth,
        lambda b: discrete_statistics(raster, b, DT),
        BETA_DT_GRID / DT,
        DT,
        settings,
        fit_seed,
    )
    return record, (events, truth, fit_seed)


def run_calibration(seed_seq, settings):
    """One simulation-based calibration draw: truth from the prior, data from the truth.

    With the truth drawn from the same prior the sampler uses, every central credible
    interval covers it with exactly its nominal probability, whatever the data say; a
    shortfall can only come from the sampler (or from too few effective draws).

    Returns
    -------
    dict
        ``hits50``, ``hits90``: lists of bools over all mu, alpha and beta.
    """
    truth_rng, data_seed, fit_seed = (np.random.default_rng(s) for s in seed_seq.spawn(3))
    prior = HawkesPrior(**CALIB_PRIOR)
    d = CALIB_N_DIMS
    mu = truth_rng.gamma(prior.mu_shape, prior.mu_mean / prior.mu_shape, d)
    alpha = truth_rng.gamma(prior.alpha_shape, prior.alpha_mean / prior.alpha_shape, (d, d))
    beta = float(np.exp(truth_rng.normal(np.log(prior.beta_median), prior.beta_log_sd)))
    events = [
        simulate_hawkes(mu, alpha, beta, N_STEPS * DT, seed=data_seed, time="discrete", dt=DT) for _ in range(N_TRIALS)
    ]
    model = HawkesProcessModel(d, time="discrete", dt=DT, prior=prior)
    post = model.fit(
        events,
        N_STEPS * DT,
        n_samples=settings["n_samples"],
        n_warmup=settings["n_warmup"],
        n_chains=N_CHAINS,
        seed=fit_seed,
        progress=False,
    )
    hits = {}
    for level in (0.5, 0.9):
        hits[f"hits{round(level * 100)}"] = np.concatenate(
            [
                interval_hits(post.mu, mu, level).ravel(),
                interval_hits(post.alpha, alpha, level).ravel(),
                np.ravel(interval_hits(post.beta, beta, level)),
            ]
        ).tolist()
    return hits


def calibration_rows(records):
    """Pooled coverage of the 50% and 90% intervals with binomial standard errors."""
    rows = []
    for level in (50, 90):
        hits = np.concatenate([r[f"hits{level}"] for r in records])
        rate = hits.mean()
        rows.append((f"{level}%", f"{hits.size}", f"{rate:.3f} +- {np.sqrt(rate * (1 - rate) / hits.size):.3f}"))
    return rows


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


def grid_bias(events, truth, fit_seed, settings):
    """Fit the same grid data with the discrete and the continuous model, Bayes and MLE.

    Returns
    -------
    dict
        Per model (``discrete``, ``continuous``): ``alpha_scale`` (sum of posterior-mean alpha
        over true edges / sum of true alpha there), ``mle_alpha_scale`` (the same for the
        MLE), ``auc``, ``beta_dt`` (posterior-mean beta * dt) and ``max_rhat``.
    """
    mu_t, alpha_t, _ = truth
    n_dims = len(mu_t)
    edge = alpha_t > 0
    raster = events_to_raster(events, N_STEPS, DT)
    start = rate_start(raster.sum(axis=(0, 2)), N_TRIALS * N_STEPS * DT, n_dims)
    statistics = {
        "discrete": lambda b: discrete_statistics(raster, b, DT),
        "continuous": lambda b: continuous_statistics(events, [N_STEPS * DT] * len(events), b),
    }
    out = {}
    for mode in ("discrete", "continuous"):
        model = HawkesProcessModel(n_dims, time=mode, dt=DT, beta="shared")
        post = model.fit(
            events,
            N_STEPS * DT,
            n_samples=settings["n_samples"],
            n_warmup=settings["n_warmup"],
            n_chains=N_CHAINS,
            seed=fit_seed,
            progress=False,
        )
        _, alpha_p, beta_p = posterior_means(post)
        alpha_m = fit_mle(statistics[mode], BIAS_BETA_DT_GRID / DT, DT if mode == "discrete" else None, start)[1]
        out[mode] = {
            "alpha_scale": float(alpha_p[edge].sum() / alpha_t[edge].sum()),
            "mle_alpha_scale": float(alpha_m[edge].sum() / alpha_t[edge].sum()),
            "auc": edge_auc(alpha_p, alpha_t),
            "beta_dt": float(beta_p * DT),
            "max_rhat": float(post.max_rhat),
        }
    return out


# ----------------------------------------------------------------------------- tables
def recovery_rows(records):
    """Mean over data sets of each error, posterior mean beside MLE."""
    rows = []
    for key, label in (
        ("alpha_rmse", "alpha RMSE"),
        ("alpha_max", "alpha max |error|"),
        ("mu_rel_rmse", "mu relative RMSE"),
        ("beta_rel", "beta relative error"),
    ):
        post = np.array([r["posterior"][key] for r in records])
        mle = np.array([r["mle"][key] for r in records])
        stat = np.mean(np.abs(post)), np.mean(np.abs(mle))
        rows.append(
            (
                label,
                f"{stat[0]:.4f}",
                f"{stat[1]:.4f}",
                f"{stat[0] / stat[1]:.2f}",
                f"{np.mean(np.abs(post) <= np.abs(mle)):.2f}",
            )
        )
    return rows


def coverage_rows(records):
    """Pooled coverage of 50% and 90% intervals per kind, with a binomial standard error."""
    rows = []
    kinds = list(records[0]["hits50"])
    for kind in kinds + ["all"]:
        group = kinds if kind == "all" else [kind]
        cells = [kind]
        for level in ("hits50", "hits90"):
            hits = np.concatenate([np.asarray(r[level][k], dtype=float) for r in records for k in group])
            p = hits.mean() if hits.size else float("nan")
            se = np.sqrt(p * (1 - p) / hits.size) if hits.size else float("nan")
            cells.append(f"{p:.3f} ± {se:.3f}")
        cells.append(hits.size)
        rows.append(tuple(cells))
    return rows


def diagnostics_rows(records):
    """AUC, goodness of fit, fit time and convergence, summarised over data sets."""

    def span(key, fmt=".3f"):
        v = np.array([r[key] for r in records], dtype=float)
        if np.all(np.isnan(v)):
            return "n/a"
        return f"{np.nanmean(v):{fmt}} (min {np.nanmin(v):{fmt}}, max {np.nanmax(v):{fmt}})"

    return [
        ("edge AUC, posterior-mean alpha", span("auc_posterior")),
        ("edge AUC, MLE alpha", span("auc_mle")),
        (
            "absent edges (truth 0): mean posterior mean / mean 95% quantile / mean MLE",
            f"{np.mean([r['absent_mean_q95'][0] for r in records]):.4f} / "
            f"{np.mean([r['absent_mean_q95'][1] for r in records]):.4f} / "
            f"{np.mean([r['absent_mle_mean'] for r in records]):.4f}",
        ),
        ("KS below 5% critical value, true parameters", span("ks_pass_truth")),
        ("KS below 5% critical value, posterior mean", span("ks_pass_fit")),
        ("KS below 5% critical value, Poisson (alpha = 0)", span("ks_pass_poisson")),
        (
            "mean KS, posterior mean / Poisson",
            f"{np.mean([r['ks_mean_fit'] for r in records]):.4f} / "
            f"{np.mean([r['ks_mean_poisson'] for r in records]):.4f}",
        ),
        ("max R-hat", span("max_rhat")),
        ("min bulk ESS", span("min_ess", ".0f")),
        ("fit time (s)", span("fit_s", ".1f")),
        ("events per data set", span("n_events", ".0f")),
        ("|log L ours - log L here| / |log L| at truth", span("loglik_rel_diff", ".1e")),
    ]


def print_summary(title, records):
    print_table(
        f"{title}: recovery ({len(records)} data sets; mean over data sets)",
        ("error", "posterior mean", "MLE", "posterior / MLE", "share of sets posterior <= MLE"),
        recovery_rows(records),
    )
    print_table(
        f"{title}: coverage of central credible intervals (pooled)",
        ("parameters", "50% intervals", "90% intervals", "n"),
        coverage_rows(records),
    )
    print_table(f"{title}: edges, goodness of fit, convergence", ("quantity", "value"), diagnostics_rows(records))


def bias_rows(names, results):
    rows = []
    for name, res in zip(names, results):
        d, c = res["discrete"], res["continuous"]
        rows.append(
            (
                name,
                f"{d['alpha_scale']:.3f} / {d['mle_alpha_scale']:.3f}",
                f"{c['alpha_scale']:.3f} / {c['mle_alpha_scale']:.3f}",
                f"{d['alpha_scale'] / c['alpha_scale']:.1f}",
                f"{d['auc']:.3f} / {c['auc']:.3f}",
                f"{d['beta_dt']:.3g} / {c['beta_dt']:.3g}",
                f"{d['max_rhat']:.3f} / {c['max_rhat']:.3f}",
            )
        )
    return rows


# ----------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"about a minute: {QUICK['n_cont']} continuous (D = "
        f"{QUICK['n_dims']}, {QUICK['n_events']} events) and "
        f"{QUICK['n_disc']} discrete data sets, "
        f"{QUICK['n_warmup']}+{QUICK['n_samples']} iterations per chain",
    )
    parser.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of truths, simulations and samplers (default 0)"
    )
    parser.add_argument(
        "--n-calibration",
        type=int_at_least(0),
        default=None,
        help="simulation-based calibration data sets, truth drawn from the prior (default: 20 quick, 100 full)",
    )
    parser.add_argument(
        "--n-continuous",
        type=int_at_least(0),
        default=None,
        help=f"continuous data sets (default {FULL['n_cont']}, quick {QUICK['n_cont']})",
    )
    parser.add_argument(
        "--n-discrete",
        type=int_at_least(0),
        default=None,
        help=f"discrete data sets (default {FULL['n_disc']}, quick "
        f"{QUICK['n_disc']}); the first --n-bias also get a continuous fit",
    )
    parser.add_argument(
        "--n-bias",
        type=int_at_least(0),
        default=None,
        help=f"discrete data sets also fitted in continuous time (default "
        f"{FULL['n_bias']}, quick {QUICK['n_bias']}); when > 0, a "
        "saturated SNN-like network is added",
    )
    parser.add_argument(
        "--n-dense",
        type=int_at_least(0),
        default=None,
        help=f"continuous data sets with every alpha > 0 (D = {DENSE_N_DIMS}, "
        f"~{DENSE_N_EVENTS} events; default {FULL['n_dense']}, quick "
        f"{QUICK['n_dense']})",
    )
    parser.add_argument("--out", type=Path, default=None, help="optional JSON file of every data set's numbers")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    return parser.parse_args(argv)


def run(args):
    """The benchmark itself, printing its tables."""
    settings = dict(QUICK if args.quick else FULL)
    for key, value in (
        ("n_calib", args.n_calibration),
        ("n_cont", args.n_continuous),
        ("n_disc", args.n_discrete),
        ("n_bias", args.n_bias),
        ("n_dense", args.n_dense),
    ):
        settings[key] = settings[key] if value is None else value
    settings["n_bias"] = min(settings["n_bias"], settings["n_disc"])
    cont_seeds, disc_seeds, dense_seeds, calib_seeds = np.random.SeedSequence(args.seed).spawn(4)
    start = perf_counter()
    print(
        f"machine: {os.cpu_count()} CPUs, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}; settings {settings}"
    )

    calib = [run_calibration(s, settings) for s in calib_seeds.spawn(settings["n_calib"])]
    if calib:
        print_table(
            f"Simulation-based calibration: {len(calib)} discrete data sets ({CALIB_N_DIMS} "
            f"neurons x {N_TRIALS} trials x {N_STEPS} steps), truth drawn from the prior "
            f"{CALIB_PRIOR}; every mu, alpha, beta pooled",
            ("interval", "parameters", "coverage"),
            calibration_rows(calib),
        )
    cont = [
        run_continuous(s, settings, settings["n_dims"], settings["n_events"])
        for s in cont_seeds.spawn(settings["n_cont"])
    ]
    if cont:
        print_summary(f"Continuous (D = {settings['n_dims']}, ~{settings['n_events']} events, shared beta)", cont)
    dense = [
        run_continuous(s, settings, DENSE_N_DIMS, DENSE_N_EVENTS, edge_prob=1.0)
        for s in dense_seeds.spawn(settings["n_dense"])
    ]
    if dense:
        print_summary(
            f"Continuous, dense truth without absent edges (D = {DENSE_N_DIMS}, ~{DENSE_N_EVENTS} events)", dense
        )
    disc_runs = [run_discrete(s, settings) for s in disc_seeds.spawn(settings["n_disc"])]
    disc = [record for record, _ in disc_runs]
    if disc:
        print_summary(f"Discrete (13 neurons x {N_TRIALS} trials x {N_STEPS} steps, dt = {DT} s)", disc)
    bias_data = [(f"random network {k}", data) for k, (_, data) in enumerate(disc_runs[: settings["n_bias"]])]
    if settings["n_bias"]:
        sat_seed = int(disc_seeds.generate_state(1)[0])
        bias_data.append(
            (
                "saturated SNN-like network",
                (
                    simulate_trials(*saturated_truth(), N_STEPS * DT, N_TRIALS, sat_seed, "discrete", DT),
                    saturated_truth(),
                    sat_seed,
                ),
            )
        )
    bias = [grid_bias(*data, settings) for _, data in bias_data]
    if bias:
        print_table(
            "Grid spike times fitted by the discrete and by the continuous model "
            "(alpha scale: sum of estimated alpha / sum of true alpha over true edges; "
            "posterior mean / MLE)",
            (
                "data set",
                "alpha scale discrete",
                "alpha scale continuous",
                "posterior discrete / continuous",
                "AUC discrete / continuous",
                "beta*dt discrete / continuous",
                "max R-hat discrete / continuous",
            ),
            bias_rows([name for name, _ in bias_data], bias),
        )
    if args.out is not None:
        report = {
            "settings": settings,
            "seed": args.seed,
            "calibration": calib,
            "continuous": cont,
            "dense": dense,
            "discrete": disc,
            "grid_bias": {name: res for (name, _), res in zip(bias_data, bias)},
        }
        try:
            with atomic_write(args.out) as tmp:
                tmp.write_text(json.dumps(report, indent=1))
        except OSError as err:
            sys.exit(f"validate_hawkes.py: error: cannot write {args.out}: {err}")
    print(
        f"\nvalidated {len(calib)} calibration, {len(cont)} sparse and {len(dense)} dense continuous, {len(disc)} "
        f"discrete and {len(bias)} grid-bias data sets in {perf_counter() - start:.0f} s"
    )


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.validate_hawkes", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "validate-hawkes",
        "The sampler on simulated data: calibration, recovery, coverage",
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
