"""A Hawkes process whose interactions excite or inhibit: its exact discrete-time likelihood, its
posterior given the decay, the posterior mode, and a simulator; ``signed_sampler.py`` fits it.

The Hawkes model of ``hawkes_model.py`` adds non-negative kernels to a background, so it cannot
express inhibition, and in a network where most synapses inhibit the inhibition it cannot model
is explained away by the other sources, excitatory synapses included. This is the nonlinear
Hawkes process with an exponential link (Bremaud & Massoulie 1996), in discrete time on the
``dt`` grid: the point-process GLM of Truccolo et al. (2005) and Pillow et al. (2008), with the
linear model's exponential kernel for the interactions and a target's own last ``n_lags`` spikes
for its refractoriness::

    lambda_i[k] = b_i[k] exp(m_i + sum_{j != i} w[i,j] x_j[k] + sum_{l=1..L} h[i,l] y_i[k-l])
    x_j[k] = sum_{n>=1} (1 - r) r^(n-1) y_j[k-n],   r = exp(-beta dt)
    log L = sum_{i,k} ( y_i[k] log(1 - exp(-lambda_i[k] dt)) - (1 - y_i[k]) lambda_i[k] dt )

``w[i, j]`` (signed, ``[target, source]``) is the change of target ``i``'s log intensity per
unit of source ``j``'s filtered past: one spike of ``j`` multiplies ``i``'s intensity on the next
step by ``exp(w (1 - r))``. ``exp(m_i)`` is the rate in 1/s with no recent spikes, ``b_i`` a
fixed relative background (1: constant), ``beta`` one decay rate in 1/s shared by all pairs.

Priors (independent, weakly informative; ``SignedPrior``): ``m_i ~ Normal(log rate, m_sd)`` about
the log of the data's mean rate (spikes per neuron and second), ``w[i,j], h[i,l] ~ Normal(0,
w_sd)``, ``log beta ~ Normal(log(1 / dt), beta_log_sd)`` as the linear model's. Given beta the
posterior factorises over targets and each target's is log-concave (the link is log-concave in its
linear predictor).
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter

N_LAGS = 3  # steps of a target's own past in its intensity
NEWTON_STEPS = 50  # most damped Newton steps to a mode
NEWTON_MAX_MOVE = 2.0  # largest change of one parameter in one Newton step
NEWTON_TOLERANCE = 1e-8  # a Newton step this small (in every parameter) ends the search
BETA_TOLERANCE = 0.02  # of log beta in the search for its profile mode


@dataclass(frozen=True)
class SignedPrior:
    """Prior scales: ``m_i ~ Normal(log mean rate, m_sd)``, ``w, h ~ Normal(0, w_sd)``, ``log beta
    ~ Normal(log(1 / dt), beta_log_sd)``; ``m_sd`` and ``w_sd`` in units of log intensity."""

    m_sd: float = 2.0
    w_sd: float = 3.0
    beta_log_sd: float = 1.5


@dataclass(frozen=True)
class SignedData:
    """Spike rasters laid out for the likelihood: ``N = R K`` rows (trial-major), ``P = 1 + D + L``.

    Attributes
    ----------
    spikes : ndarray of float, shape (R, D, K)
        1 at a spike, 0 elsewhere.
    y : ndarray of bool, shape (N, D)
    spike_rows, spike_targets : ndarray of int
        Flat indices of the spikes in ``y`` (N D), and the neuron of each.
    lag_rows, lag_targets : tuple of L ndarrays of int
        For lag ``l``, the flat indices ``(k, i)`` of ``y`` with ``y_i[k - l] = 1`` in the same
        trial, and their neurons ``i``.
    log_rate : float
        Log of the mean rate over neurons and steps, 1/s (the centre of ``m``'s prior).
    offset : ndarray, shape (N, D)
        ``log b_i[k] + log dt``.
    free : ndarray of bool, shape (D, P)
        Which entries of every target's ``theta_i`` are fitted (the others stay at 0).
    dt : float
    """

    spikes: np.ndarray
    y: np.ndarray
    spike_rows: np.ndarray
    spike_targets: np.ndarray
    lag_rows: tuple
    lag_targets: tuple
    log_rate: float
    offset: np.ndarray
    free: np.ndarray
    dt: float


def prepare(spikes, dt, n_lags=N_LAGS, background=None, coupling_free=None):
    """Lay the rasters out for the likelihood (``SignedData``).

    Parameters
    ----------
    spikes : ndarray of bool, shape (R, D, K)
    dt : float
        Step in seconds.
    n_lags : int
        Own past steps in each intensity.
    background : ndarray, shape (D, K), optional
        Relative background ``b_i[k]`` (positive, finite); None: 1.
    coupling_free : ndarray of bool, shape (D, D), optional
        ``[target, source]`` couplings to fit; the diagonal is never fitted (the own past stands
        for it). None: every off-diagonal pair.
    """
    spikes = np.asarray(spikes, dtype=bool)
    n_trials, n_dims, n_steps = spikes.shape
    history = np.zeros((n_lags, n_trials, n_steps, n_dims), dtype=bool)
    for lag in range(1, n_lags + 1):  # a loop over lags, not over steps
        history[lag - 1, :, lag:, :] = spikes[:, :, :-lag].transpose(0, 2, 1)
    b = np.ones((n_dims, n_steps)) if background is None else np.asarray(background, dtype=float)
    if b.shape != (n_dims, n_steps) or not np.all(np.isfinite(b) & (b > 0)):
        raise ValueError(f"background must be positive and finite, shape {(n_dims, n_steps)}")
    offset = np.broadcast_to(np.log(b).T + np.log(dt), (n_trials, n_steps, n_dims)).reshape(-1, n_dims)
    coupling = ~np.eye(n_dims, dtype=bool)
    if coupling_free is not None:
        coupling &= np.asarray(coupling_free, dtype=bool)
    free = np.concatenate([np.ones((n_dims, 1), bool), coupling, np.ones((n_dims, n_lags), bool)], axis=1)
    y = spikes.transpose(0, 2, 1).reshape(-1, n_dims)
    spike_rows = np.flatnonzero(y)
    lag_rows = tuple(np.flatnonzero(spiked) for spiked in history)
    return SignedData(
        spikes=spikes.astype(float),
        y=y,
        spike_rows=spike_rows,
        spike_targets=spike_rows % n_dims,
        lag_rows=lag_rows,
        lag_targets=tuple(rows % n_dims for rows in lag_rows),
        log_rate=float(np.log(max(y.mean(), 1.0 / y.size) / dt)),
        offset=np.ascontiguousarray(offset),
        free=free,
        dt=float(dt),
    )


def coupling_inputs(spikes, beta, dt):
    """Every neuron's filtered past ``x_j[k]`` under each decay of ``beta``.

    Parameters
    ----------
    spikes : ndarray of float, shape (R, D, K)
    beta : ndarray, shape (C,)
        Decay rates in 1/s.

    Returns
    -------
    ndarray, shape (C, R K, D)
    """
    n_trials, n_dims, n_steps = spikes.shape
    out = np.empty((len(beta), n_trials * n_steps, n_dims))
    for c, r in enumerate(np.exp(-np.asarray(beta) * dt)):  # a loop over chains
        x = lfilter([0.0, 1.0 - r], [1.0, -r], spikes, axis=2)
        out[c] = x.transpose(0, 2, 1).reshape(-1, n_dims)
    return out


def split_theta(theta, n_dims):
    """``theta`` (..., D, P) -> ``m`` (..., D), ``w`` (..., D, D), ``h`` (..., D, L)."""
    return theta[..., 0], theta[..., 1 : 1 + n_dims], theta[..., 1 + n_dims :]


def design(x):
    """The interactions' inputs of every row, (C, N, D + 1): the filtered past ``x`` (C, N, D) and a
    column of ones, so that ``log(lambda dt) = design @ weights + own history + offset``."""
    return np.concatenate([x, np.ones((*x.shape[:2], 1))], axis=2)


def linear_predictor(theta, inputs, data):
    """``log(lambda dt)`` at every row: (C, N, D), for ``theta`` (C, D, P) and ``inputs`` from ``design``."""
    m, w, h = split_theta(theta, theta.shape[1])
    eta = np.matmul(inputs, np.concatenate([w.transpose(0, 2, 1), m[:, None, :]], axis=1))
    eta += data.offset
    flat = eta.reshape(len(eta), -1)
    for lag, (rows, targets) in enumerate(zip(data.lag_rows, data.lag_targets)):  # the own spikes are sparse
        flat[:, rows] += h[:, targets, lag]
    return eta


def _terms(eta, data, curvature=False):
    """Each target's log-likelihood (C, D) and every row's derivative in ``eta`` (C, N, D); with
    ``curvature`` also the second derivative (C, N, D).

    A row without a spike contributes ``-u`` (``u = lambda dt = e^eta``), a row with one
    ``log(1 - e^-u)``; the latter is evaluated at the spikes alone. ``eta`` is overwritten."""
    n_chains, _, n_dims = eta.shape
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # an infinite intensity: -inf
        u = np.exp(eta, out=eta)
        at_spikes = u.reshape(n_chains, -1)[:, data.spike_rows]
        spike_prob = -np.expm1(-at_spikes)
        spike_slope = np.where(at_spikes > 1e-300, at_spikes / np.expm1(at_spikes), 1.0)  # d/deta log(1 - e^-u)
        spike_curve = np.where(at_spikes > 1e-300, spike_slope * (1.0 - at_spikes / spike_prob), 0.0)
        spike_value = np.log(spike_prob) + at_spikes  # the spike's term, less the -u counted for every row
        value = -u.sum(axis=1) + np.stack(
            [np.bincount(data.spike_targets, v, n_dims) for v in spike_value]
        )  # a loop over chains
    value[np.isnan(value)] = -np.inf  # an infinite intensity: inf - inf
    slope = np.negative(u)
    slope.reshape(n_chains, -1)[:, data.spike_rows] = spike_slope
    if not curvature:
        return value, slope, None
    curve = np.negative(u)
    curve.reshape(n_chains, -1)[:, data.spike_rows] = spike_curve
    return value, slope, curve


def log_likelihood(theta, inputs, data):
    """Each target's log-likelihood, (C, D), for ``theta`` (C, D, P) and ``inputs`` from ``design``."""
    return _terms(linear_predictor(theta, inputs, data), data)[0]


def prior_centre(data, prior):
    """Prior means (D, P) and standard deviations (D, P) of every target's parameters."""
    n_dims, n_params = data.free.shape
    centre = np.zeros((n_dims, n_params))
    centre[:, 0] = data.log_rate
    scale = np.full((n_dims, n_params), prior.w_sd)
    scale[:, 0] = prior.m_sd
    return centre, scale


def log_posterior_and_gradient(theta, inputs, data, prior):
    """Each target's log posterior given beta (C, D) and its gradient in ``theta`` (C, D, P), for
    ``theta`` (C, D, P) and ``inputs`` from ``design``."""
    return _posterior_terms(theta, inputs, data, prior)[:2]


def _posterior_terms(theta, inputs, data, prior, curvature=False):
    """``log_posterior_and_gradient`` and, with ``curvature``, every row's second derivative of the
    log-likelihood in ``eta`` (C, N, D), from which ``target_hessians`` builds the Hessian."""
    value, slope, curve = _terms(linear_predictor(theta, inputs, data), data, curvature)
    n_chains, n_dims, _ = theta.shape
    by_weight = np.matmul(inputs.transpose(0, 2, 1), slope)  # (C, D + 1, D)
    flat = slope.reshape(n_chains, -1)
    own = np.zeros((n_chains, n_dims, len(data.lag_rows)))  # (C, D, L): loops over lags and chains
    for lag, (rows, targets) in enumerate(zip(data.lag_rows, data.lag_targets)):
        own[:, :, lag] = np.stack([np.bincount(targets, f[rows], n_dims) for f in flat])
    grad = np.concatenate([by_weight[:, -1, :, None], by_weight[:, :-1].transpose(0, 2, 1), own], axis=2)
    centre, scale = prior_centre(data, prior)
    z = (theta - centre) / scale
    grad = (grad - z / scale) * data.free
    return value - 0.5 * np.sum(np.where(data.free, z**2, 0.0), axis=2), grad, curve


def _features(x, data):
    """Every target's inputs, (D, N, P): ones, the filtered past ``x`` (N, D) and its own history."""
    n_rows, n_dims = x.shape
    own = np.zeros((len(data.lag_rows), n_rows * n_dims))
    for lag, rows in enumerate(data.lag_rows):
        own[lag, rows] = 1.0
    own = own.reshape(-1, n_rows, n_dims).transpose(2, 1, 0)  # (D, N, L)
    return np.concatenate(
        [np.ones((n_dims, n_rows, 1)), np.broadcast_to(x[None], (n_dims, n_rows, n_dims)), own], axis=2
    )


def target_hessians(theta, x, data, prior, features=None, curve=None):
    """Negative Hessian of each target's log posterior given beta, (D, P, P), at one ``theta`` (D, P)
    and ``x`` (N, D); identity rows and columns for the parameters not fitted. ``features`` (the
    ``_features`` of ``x``) and ``curve`` (N, D; ``_posterior_terms``' curvature at ``theta``): when
    the caller has them."""
    features = _features(x, data) if features is None else features
    if curve is None:
        curve = _terms(linear_predictor(theta[None], design(x[None]), data), data, curvature=True)[2][0]
    hess = np.matmul(features.transpose(0, 2, 1), features * -curve.T[:, :, None])
    _, scale = prior_centre(data, prior)
    free2 = data.free[:, :, None] & data.free[:, None, :]
    return np.where(free2, hess, 0.0) + np.eye(hess.shape[1]) * np.where(data.free, scale**-2.0, 1.0)[:, :, None]


def log_beta_prior(log_beta, data, prior):
    return -0.5 * ((log_beta - np.log(1.0 / data.dt)) / prior.beta_log_sd) ** 2


def mode_given_beta(beta, data, prior, start):
    """Every target's posterior mode at one decay, and the log posterior there summed over targets.

    Damped Newton steps, all targets at once (each target's posterior is log-concave): a step moves
    no parameter by more than ``NEWTON_MAX_MOVE`` and is halved, target by target, until the
    target's log posterior does not fall.
    """
    x = coupling_inputs(data.spikes, np.array([beta]), data.dt)
    inputs, features = design(x), _features(x[0], data)
    theta = start.copy()
    value, grad, curve = _posterior_terms(theta[None], inputs, data, prior, curvature=True)
    for _ in range(NEWTON_STEPS):
        hessians = target_hessians(theta, x[0], data, prior, features, curve[0])
        step = np.linalg.solve(hessians, grad[0][..., None])[..., 0]
        step *= np.minimum(1.0, NEWTON_MAX_MOVE / np.maximum(np.abs(step).max(axis=1, keepdims=True), 1e-300))
        for _ in range(30):  # halvings
            new_value, new_grad, new_curve = _posterior_terms((theta + step)[None], inputs, data, prior, True)
            worse = ~(new_value[0] >= value[0])
            if not worse.any():
                break
            step[worse] /= 2
        theta = np.where(worse[:, None], theta, theta + step)
        value = np.where(worse, value, new_value)
        grad = np.where(worse[None, :, None], grad, new_grad)
        curve = np.where(worse, curve, new_curve)  # a target's rows are its column
        if np.abs(step).max() < NEWTON_TOLERANCE:
            break
    return theta, float(value.sum())


def find_mode(data, prior):
    """The joint posterior mode: ``log beta`` maximising its profile posterior (every target at its
    mode), searched within two prior standard deviations of the prior's centre, and every target's
    mode there. Returns (theta (D, P), beta in 1/s)."""
    centre, _ = prior_centre(data, prior)
    cache = {"theta": centre.copy()}

    def negative_profile(log_beta):
        theta, value = mode_given_beta(np.exp(log_beta), data, prior, cache["theta"])
        cache["theta"] = theta
        return -value - log_beta_prior(log_beta, data, prior)

    log_beta = search_log_beta(negative_profile, data, prior)
    theta, _ = mode_given_beta(np.exp(log_beta), data, prior, cache["theta"])
    return theta, float(np.exp(log_beta))


def search_log_beta(negative, data, prior):
    """The ``log beta`` that minimises ``negative`` (a function of it), searched within two prior
    standard deviations of the prior's centre, to ``BETA_TOLERANCE``."""
    middle, spread = np.log(1.0 / data.dt), 2 * prior.beta_log_sd
    return minimize_scalar(
        negative, bounds=(middle - spread, middle + spread), method="bounded", options={"xatol": BETA_TOLERANCE}
    ).x


def laplace_marginal(log_beta, data, prior, start):
    """The Laplace approximation of ``log beta``'s marginal log posterior (up to a constant): the
    profile at every target's mode less half the log determinant of its Hessian there.

    Returns (value, the mode (D, P), every target's negative Hessian there (D, P, P))."""
    theta, value = mode_given_beta(np.exp(log_beta), data, prior, start)
    x = coupling_inputs(data.spikes, np.exp([log_beta]), data.dt)[0]
    hessians = target_hessians(theta, x, data, prior)
    log_det = np.linalg.slogdet(hessians)[1].sum()  # identity rows of fixed parameters add 0
    return value + log_beta_prior(log_beta, data, prior) - 0.5 * log_det, theta, hessians


def goodness_of_fit(theta, beta, data, seed=0):
    """Kolmogorov-Smirnov statistic of each neuron's time-rescaled intervals at one parameter point.

    Haslinger, Pipa & Brown (2010), as ``HawkesProcessModel.goodness_of_fit`` in discrete time: a
    bin without a spike adds its ``lambda dt`` to the rescaled clock, a spike bin
    ``-log(1 - v (1 - e^{-lambda dt}))`` with ``v ~ U(0, 1)``, so that the intervals between spikes
    are Exp(1) under the model; the trials run end to end on one clock per neuron and the last,
    censored interval is dropped. The statistic compares ``1 - e^{-tau}`` with U(0, 1).

    Parameters
    ----------
    theta : ndarray, shape (D, P)
    beta : float
    data : SignedData
    seed : int, SeedSequence or Generator
        The randomisation of the spike bins.

    Returns
    -------
    ndarray, shape (D,)
        NaN for a neuron with fewer than 2 spikes.
    """
    inputs = design(coupling_inputs(data.spikes, np.array([beta]), data.dt))
    q = np.exp(linear_predictor(theta[None], inputs, data))[0]  # (N, D): lambda dt
    v = np.random.default_rng(seed).random(q.shape)
    clock = np.cumsum(np.where(data.y, -np.log1p(v * np.expm1(-q)), q), axis=0)
    ks = np.full(q.shape[1], np.nan)
    for i in range(q.shape[1]):  # one small KS test per neuron
        tau = np.diff(clock[data.y[:, i], i], prepend=0.0)
        if tau.size >= 2:
            ks[i] = stats.kstest(-np.expm1(-tau), "uniform").statistic
    return ks


def simulate(m, w, h, beta, dt, n_trials, n_steps, background=None, seed=0):
    """Spike rasters of the signed Hawkes model, step by step (every trial and neuron at once).

    Parameters
    ----------
    m : ndarray, shape (D,)
    w : ndarray, shape (D, D)
        ``[target, source]``; the diagonal is ignored.
    h : ndarray, shape (D, L)
    beta, dt : float
    n_trials, n_steps : int
    background : ndarray, shape (D, n_steps), optional

    Returns
    -------
    ndarray of bool, shape (n_trials, D, n_steps)
    """
    rng = np.random.default_rng(seed)
    n_dims, n_lags = np.shape(h)
    w = np.asarray(w, dtype=float) * (1 - np.eye(n_dims))
    b = np.ones((n_dims, n_steps)) if background is None else np.asarray(background, dtype=float)
    r = np.exp(-beta * dt)
    spikes = np.zeros((n_trials, n_dims, n_steps), dtype=bool)
    past = np.zeros((n_trials, n_dims))  # the filtered past, carried by its recursion
    for k in range(n_steps):  # a loop over steps: each depends on the last
        own = sum(h[:, lag - 1] * spikes[:, :, k - lag] for lag in range(1, min(k, n_lags) + 1))
        rate = b[:, k] * np.exp(m + past @ w.T + own)
        spikes[:, :, k] = rng.random((n_trials, n_dims)) < -np.expm1(-rate * dt)
        past = r * past + (1 - r) * spikes[:, :, k]
    return spikes
