"""A Hawkes process whose interactions excite or inhibit: its exact discrete-time likelihood, a
simulator, and a Bayesian fit by HMC.

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

By default beta is not sampled: it is fixed at the joint posterior mode's (``find_mode``: the
profile posterior of ``log beta``, every target at its mode), or at a decay the caller knows, so
the draws are of the couplings given that decay. A random walk on beta alone stalled here: where
beta dt is far above 1 or far below it the kernel barely changes with beta (one step's delay, or a
slow count of every spike so far), and chains that strayed there stayed. ``sample_beta`` samples
it by a move that carries the couplings along with the decay (``beta_move``).

The sampler (``fit_signed``): every target's ``theta_i = (m_i, w[i, :], h[i, :])`` moves by HMC
with a dense metric, all chains and targets in one batch, each (chain, target) accepted on its
own, valid because the targets are independent given beta. Warm-up (discarded): every target's
mode and Laplace covariance there (the first metric), starts drawn from that Laplace
approximation, step sizes adapted per chain and target by dual averaging, the metric re-estimated
once from the draws of the warm-up's second quarter; nothing adapts after warm-up. As in
``hawkes_sampler``, while the draws miss the convergence limits the same chains run on.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.optimize import minimize_scalar
from scipy.signal import lfilter
from threadpoolctl import threadpool_limits

from hawkes_warmup import LAPLACE_DRAWS, MIN_WARMUP_WINDOWS, StepAdaptation
from mcmc_diagnostics import is_converged, summarise_draws, worst_diagnostics

N_LAGS = 3  # steps of a target's own past in its intensity
N_LEAPFROG = 3  # mean leapfrog steps per HMC trajectory (uniform on 1 .. 2 N - 1): the dense metric
# makes the posterior near round, and a step near 1 then travels about half its period in three
NEWTON_STEPS = 50  # most damped Newton steps to a mode
NEWTON_MAX_MOVE = 2.0  # largest change of one parameter in one Newton step
NEWTON_TOLERANCE = 1e-8  # a Newton step this small (in every parameter) ends the search
BETA_TOLERANCE = 0.02  # of log beta in the search for its profile mode
START_SPREAD = 1.0  # the starts: draws from the Laplace approximation at the mode
RIDGE_SPAN = 3  # the ridge of modes is computed at log beta's marginal mode +- 0, 1, .., 3 of its sd
RIDGE_STEP = 1.0  # the first step of log beta's random walk along the ridge, in the marginal's sd
BETA_ACCEPTANCE = 0.44  # the warm-up adapts each chain's step of log beta towards this acceptance
CURVATURE_DELTA = 0.05  # of log beta, in the finite difference of the marginal's curvature


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


def _prior_centre(data, prior):
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
    centre, scale = _prior_centre(data, prior)
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
    _, scale = _prior_centre(data, prior)
    free2 = data.free[:, :, None] & data.free[:, None, :]
    return np.where(free2, hess, 0.0) + np.eye(hess.shape[1]) * np.where(data.free, scale**-2.0, 1.0)[:, :, None]


def _log_beta_prior(log_beta, data, prior):
    return -0.5 * ((log_beta - np.log(1.0 / data.dt)) / prior.beta_log_sd) ** 2


def _mode_given_beta(beta, data, prior, start):
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
    centre, _ = _prior_centre(data, prior)
    cache = {"theta": centre.copy()}

    def negative_profile(log_beta):
        theta, value = _mode_given_beta(np.exp(log_beta), data, prior, cache["theta"])
        cache["theta"] = theta
        return -value - _log_beta_prior(log_beta, data, prior)

    middle = np.log(1.0 / data.dt)
    spread = 2 * prior.beta_log_sd
    log_beta = minimize_scalar(
        negative_profile, bounds=(middle - spread, middle + spread), method="bounded", options={"xatol": BETA_TOLERANCE}
    ).x
    theta, _ = _mode_given_beta(np.exp(log_beta), data, prior, cache["theta"])
    return theta, float(np.exp(log_beta))


def _laplace_marginal(log_beta, data, prior, start):
    """The Laplace approximation of ``log beta``'s marginal log posterior (up to a constant): the
    profile at every target's mode less half the log determinant of its Hessian there.

    Returns (value, the mode (D, P), every target's negative Hessian there (D, P, P))."""
    theta, value = _mode_given_beta(np.exp(log_beta), data, prior, start)
    x = coupling_inputs(data.spikes, np.exp([log_beta]), data.dt)[0]
    hessians = target_hessians(theta, x, data, prior)
    log_det = np.linalg.slogdet(hessians)[1].sum()  # identity rows of fixed parameters add 0
    return value + _log_beta_prior(log_beta, data, prior) - 0.5 * log_det, theta, hessians


def ridge(mode, data, prior):
    """The ridge of modes along ``log beta``, which ``beta_move`` follows.

    Centred on the mode of ``log beta``'s Laplace-approximated marginal posterior (searched as
    ``find_mode`` searches the profile, from its ``mode``), not on the joint mode: with many
    couplings the Hessian's determinant changes with beta, and the marginal's mass can lie several
    of its sd away. Its sd there from the curvature (the prior's where it is not concave), and
    every target's mode and Laplace spread at ``RIDGE_SPAN`` such sd on either side.

    Returns
    -------
    grid : ndarray, shape (G,)
        Increasing values of ``log beta``, the centre at ``RIDGE_SPAN``.
    path : ndarray, shape (G, D, P)
        Every target's mode there.
    spread : ndarray, shape (G, D, P, P)
        Cholesky factors of each target's Laplace covariance there, identity on the parameters not
        fitted.
    sd : float
        The marginal's sd of ``log beta``.
    """
    cache = {"theta": mode}

    def negative_marginal(log_beta):
        value, cache["theta"], _ = _laplace_marginal(log_beta, data, prior, cache["theta"])
        return -value

    middle, spread_range = np.log(1.0 / data.dt), 2 * prior.beta_log_sd
    centre = minimize_scalar(
        negative_marginal,
        bounds=(middle - spread_range, middle + spread_range),
        method="bounded",
        options={"xatol": BETA_TOLERANCE},
    ).x
    deltas = (-CURVATURE_DELTA, 0, CURVATURE_DELTA)
    values = [_laplace_marginal(centre + d, data, prior, cache["theta"])[0] for d in deltas]
    curvature = (values[0] - 2 * values[1] + values[2]) / CURVATURE_DELTA**2
    sd = 1 / np.sqrt(-curvature) if curvature < 0 else prior.beta_log_sd
    offsets = np.arange(-RIDGE_SPAN, RIDGE_SPAN + 1)
    grid = centre + offsets * sd
    points = {}
    for k in (0, *range(1, RIDGE_SPAN + 1), *range(-1, -RIDGE_SPAN - 1, -1)):  # outwards from the centre
        start = cache["theta"] if k == 0 else points[k - np.sign(k)][0]
        points[k] = _laplace_marginal(grid[k + RIDGE_SPAN], data, prior, start)[1:]
    eye = np.eye(data.free.shape[1])
    spread = [_metric_factor(np.linalg.inv(points[k][1]), data.free) + eye * ~data.free[:, :, None] for k in offsets]
    return grid, np.stack([points[k][0] for k in offsets]), np.stack(spread), float(sd)


def ridge_point(log_beta, grid, table):
    """``table`` (G, ...) at each ``log beta`` (C,): (C, ...), linear between the grid's points and
    constant beyond them."""
    at = np.clip(log_beta, grid[0], grid[-1])
    k = np.clip(np.searchsorted(grid, at) - 1, 0, len(grid) - 2)
    t = ((at - grid[k]) / (grid[k + 1] - grid[k])).reshape(-1, *[1] * (table.ndim - 1))
    return table[k] + t * (table[k + 1] - table[k])


def _metric_factor(cov, free):
    """Cholesky factors (D, P, P) of the covariances, zero on the parameters not fitted."""
    free2 = free[:, :, None] & free[:, None, :]
    eye = np.eye(cov.shape[1])
    chol = np.linalg.cholesky(np.where(free2, cov, eye) + 1e-12 * eye)
    return np.where(free2, chol, 0.0)


@dataclass
class SignedPosterior:
    """Draws of ``fit_signed``: C chains of S kept draws.

    Attributes
    ----------
    m : ndarray, shape (C, S, D)
    w : ndarray, shape (C, S, D, D)
        Signed couplings ``[target, source]``; 0 where not fitted (the diagonal always).
    h : ndarray, shape (C, S, D, L)
    beta : ndarray, shape (C, S)
        Decay rate, 1/s: its draws where sampled, else the fixed decay (the joint posterior mode's,
        ``find_mode``, or the one given) in every draw.
    acceptance : dict
        ``hmc`` -> (C,) acceptance rate over the kept draws, averaged over the targets; where beta
        is sampled, ``beta`` -> (C,), of ``beta_move``.
    free : ndarray of bool, shape (D, P)
    beta_sampled : bool
    """

    m: np.ndarray
    w: np.ndarray
    h: np.ndarray
    beta: np.ndarray
    acceptance: dict
    free: np.ndarray
    beta_sampled: bool = False

    def summary(self):
        """``summarise_draws`` of ``mu = exp(m)`` (1/s), ``w``, ``h`` and ``beta``."""
        return {
            "mu": summarise_draws(np.exp(self.m)),
            "w": summarise_draws(self.w),
            "h": summarise_draws(self.h),
            "beta": summarise_draws(self.beta),
        }

    def beta_mean(self):
        """The posterior mean of beta in 1/s; the fixed decay itself where beta is not sampled."""
        return float(self.beta.mean()) if self.beta_sampled else float(self.beta[0, 0])

    def diagnostics(self):
        """Largest split R-hat and smallest bulk ESS over every fitted parameter, beta where sampled."""
        n_dims = self.m.shape[2]
        blocks = [self.m, self.w[..., self.free[:, 1 : 1 + n_dims]], self.h]
        if self.beta_sampled:
            blocks.append(np.log(self.beta))
        return worst_diagnostics(*(block for block in blocks if block.size))


class _Chains:
    """The chain state: ``theta`` (C, D, P), ``log_beta`` (C,), the inputs ``x`` (``design``) and the
    log posterior given beta and its gradient of every (chain, target) there."""

    def __init__(self, theta, log_beta, inputs, data, prior):
        self.theta, self.log_beta, self.x = theta, log_beta, inputs
        self.logp, self.grad = log_posterior_and_gradient(theta, self.x, data, prior)


def ridge_map(theta, log_beta, new_log_beta, ridge_parts):
    """``beta_move``'s map of ``theta`` (C, D, P) from ``log_beta`` (C,) to ``new_log_beta`` (C,):
    ``g(b') + S(b') S(b)^-1 (theta - g(b))`` with ``ridge_parts = (grid, path, spread)`` from
    ``ridge``; returns the new ``theta`` and the log of the map's Jacobian determinant (C,)."""
    grid, path, spread = ridge_parts
    old_spread, new_spread = ridge_point(log_beta, grid, spread), ridge_point(new_log_beta, grid, spread)
    whitened = np.linalg.solve(old_spread, (theta - ridge_point(log_beta, grid, path))[..., None])
    log_diagonals = np.log(np.diagonal(new_spread, axis1=2, axis2=3)) - np.log(
        np.diagonal(old_spread, axis1=2, axis2=3)
    )
    return ridge_point(new_log_beta, grid, path) + (new_spread @ whitened)[..., 0], log_diagonals.sum(axis=(1, 2))


def beta_move(chains, data, prior, ridge_parts, scale, rng):
    """One Metropolis move of every chain's ``log beta`` along the ridge of modes; returns the
    acceptance probabilities (C,).

    ``log beta`` takes a Gaussian step of sd ``scale`` and each target's ``theta`` moves with it:
    its deviation from the ridge's mode, in units of the Laplace spread there, is kept,
    ``theta' = g(b') + S(b') S(b)^-1 (theta - g(b))`` with ``g`` and ``S`` the ridge's modes and
    Cholesky factors (``ridge``, ``ridge_point``). The couplings follow the decay instead of holding
    it in place (a step of beta alone barely moves, so tightly do they go together). For a given
    step the map's reverse step maps back, so the acceptance is the ratio of joint posteriors (every
    target's and beta's prior) times the map's Jacobian, ``det S(b') / det S(b)``."""
    proposal = chains.log_beta + scale * rng.standard_normal(len(chains.log_beta))
    theta, log_jacobian = ridge_map(chains.theta, chains.log_beta, proposal, ridge_parts)
    x = design(coupling_inputs(data.spikes, np.exp(proposal), data.dt))
    with np.errstate(over="ignore", invalid="ignore"):  # an impossible proposal is rejected below
        logp, grad = log_posterior_and_gradient(theta, x, data, prior)
        new = logp.sum(axis=1) + _log_beta_prior(proposal, data, prior) + log_jacobian
        old = chains.logp.sum(axis=1) + _log_beta_prior(chains.log_beta, data, prior)
        accept_prob = np.where(np.isfinite(new), np.minimum(1.0, np.exp(new - old)), 0.0)
    accept = rng.random(accept_prob.shape) < accept_prob
    chains.theta = np.where(accept[:, None, None], theta, chains.theta)
    chains.x = np.where(accept[:, None, None], x, chains.x)
    chains.logp = np.where(accept[:, None], logp, chains.logp)
    chains.grad = np.where(accept[:, None, None], grad, chains.grad)
    chains.log_beta = np.where(accept, proposal, chains.log_beta)
    return accept_prob


def hmc_move(chains, data, prior, chol, step, rng):
    """One HMC trajectory for every (chain, target), accepted each on its own; returns the acceptance
    probabilities (C, D). Whitened momenta: ``theta`` moves by ``chol r``, so the metric is ``chol chol^T``.

    ``step`` (C, D) is jittered by a factor U(0.8, 1.2) per chain and the number of leapfrog steps
    drawn from 1 .. 2 ``N_LEAPFROG`` - 1, both before the trajectory and independently of the state,
    which keeps every trajectory reversible."""
    eps = step[:, :, None] * rng.uniform(0.8, 1.2, size=(len(chains.theta), 1, 1))
    n_leapfrog = rng.integers(1, 2 * N_LEAPFROG)  # varied lengths avoid periodic orbits
    momentum = rng.standard_normal(chains.theta.shape)
    start_energy = -chains.logp + 0.5 * np.sum(momentum**2, axis=2)
    theta, grad = chains.theta, chains.grad
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging trajectory is rejected below
        momentum = momentum + 0.5 * eps * np.einsum("dpq,cdp->cdq", chol, grad)
        for leap in range(n_leapfrog):
            theta = theta + eps * np.einsum("dpq,cdq->cdp", chol, momentum)
            logp, grad = log_posterior_and_gradient(theta, chains.x, data, prior)
            kick = 1.0 if leap < n_leapfrog - 1 else 0.5
            momentum = momentum + kick * eps * np.einsum("dpq,cdp->cdq", chol, grad)
        energy = -logp + 0.5 * np.sum(momentum**2, axis=2)
        accept_prob = np.where(np.isfinite(energy), np.minimum(1.0, np.exp(start_energy - energy)), 0.0)
    accept = rng.random(accept_prob.shape) < accept_prob
    chains.theta = np.where(accept[..., None], theta, chains.theta)
    chains.logp = np.where(accept, logp, chains.logp)
    chains.grad = np.where(accept[..., None], grad, chains.grad)
    return accept_prob


def fit_signed(
    data,
    prior=SignedPrior(),
    n_samples=500,
    n_warmup=300,
    n_chains=4,
    seed=0,
    max_samples=None,
    beta=None,
    sample_beta=False,
):
    """Posterior draws of the signed Hawkes model (``SignedPosterior``).

    Parameters
    ----------
    data : SignedData
        From ``prepare``.
    prior : SignedPrior
    n_samples, n_warmup, n_chains : int
        Kept sweeps per chain, discarded warm-up sweeps, chains. A warm-up shorter than
        ``hawkes_warmup.MIN_WARMUP_WINDOWS`` keeps the Laplace metric.
    max_samples : int, optional
        While the draws miss the convergence limits (``mcmc_diagnostics.is_converged``), the same
        chains go on for another ``n_samples`` sweeps, up to this many kept draws per chain.
    seed : int or numpy.random.SeedSequence
    beta : float, optional
        The decay in 1/s, when it is known; None: fixed at the joint posterior mode (``find_mode``).
    sample_beta : bool
        Sample beta too: after every sweep's HMC move, ``beta_move`` along the ridge of modes
        (``ridge``), so that the couplings' intervals carry beta's uncertainty. Not with ``beta``.
    """
    if beta is not None and not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a positive, finite decay rate in 1/s, not {beta}")
    if beta is not None and sample_beta:
        raise ValueError("a known beta is not sampled: pass beta or sample_beta, not both")
    # Single-threaded BLAS, as in hawkes_sampler: threaded reductions would change the rounding with
    # the machine's load, and the thin products here gain nothing from a second thread.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_signed(data, prior, n_samples, n_warmup, n_chains, seed, max_samples, beta, sample_beta)


def _fit_signed(data, prior, n_samples, n_warmup, n_chains, seed, max_samples, beta, sample_beta):
    rng = np.random.default_rng(seed)
    if beta is None:
        mode, beta = find_mode(data, prior)
    else:
        mode, _ = _mode_given_beta(float(beta), data, prior, _prior_centre(data, prior)[0])
    inputs = design(coupling_inputs(data.spikes, np.array([beta]), data.dt))
    laplace = np.linalg.inv(target_hessians(mode, inputs[0, :, : mode.shape[0]], data, prior))
    chol = _metric_factor(laplace, data.free)
    z = rng.standard_normal((n_chains, *mode.shape))
    if sample_beta:  # starts about the ridge's centre, spread along it as well, each with its decay's inputs
        grid, path, spread, sd = ridge(mode, data, prior)
        log_beta = grid[RIDGE_SPAN] + START_SPREAD * sd * rng.standard_normal(n_chains)
        anchor = ridge_point(log_beta, grid, path)
        start = anchor + START_SPREAD * np.einsum("cdpq,cdq->cdp", ridge_point(log_beta, grid, spread), z * data.free)
        laplace = np.einsum("dpq,drq->dpr", spread[RIDGE_SPAN], spread[RIDGE_SPAN])
        chol = _metric_factor(laplace, data.free)
        inputs = design(coupling_inputs(data.spikes, np.exp(log_beta), data.dt))
    else:
        start = mode + START_SPREAD * np.einsum("dpq,cdq->cdp", chol, z)
        log_beta = np.full(n_chains, np.log(beta))
        anchor = mode
        inputs = np.broadcast_to(inputs, (n_chains, *inputs.shape[1:]))
    logp, _ = log_posterior_and_gradient(start, inputs, data, prior)
    start = np.where(np.isfinite(logp)[..., None], start, anchor)  # a start where a spike is impossible: the mode
    chains = _Chains(start, log_beta, inputs, data, prior)

    def sweep():
        """One sweep: HMC of every target given beta, then beta along the ridge where sampled."""
        accept_hmc = hmc_move(chains, data, prior, chol, step, rng)
        if not sample_beta:
            return accept_hmc, None
        return accept_hmc, beta_move(chains, data, prior, (grid, path, spread), beta_step, rng)

    beta_step = np.full(n_chains, RIDGE_STEP * sd) if sample_beta else None

    adapt = StepAdaptation(np.full(start.shape[:2], 0.5))  # a step per chain and target
    step = adapt.final()
    quarter = n_warmup // 4
    window = []
    for it in range(n_warmup):
        accept_hmc, accept_beta = sweep()
        step = adapt.update(accept_hmc)
        if sample_beta:  # Robbins-Monro on the log of each chain's step, fixed after the warm-up
            beta_step = beta_step * np.exp((accept_beta - BETA_ACCEPTANCE) / np.sqrt(it + 1))
        if quarter <= it < 2 * quarter:  # given beta: each draw less the ridge's point at its decay
            window.append(chains.theta - ridge_point(chains.log_beta, grid, path) if sample_beta else chains.theta)
        if (
            n_warmup >= MIN_WARMUP_WINDOWS and it == 2 * quarter - 1
        ):  # the draws' covariance, each chain about its own mean, shrunk to Laplace's
            draws = np.stack(window, axis=1)  # (C, Q, D, P)
            centred = (draws - draws.mean(axis=1, keepdims=True)).reshape(-1, *mode.shape)
            n = len(centred) - n_chains
            cov = np.einsum("ndp,ndq->dpq", centred, centred) / n
            chol = _metric_factor((n * cov + LAPLACE_DRAWS * laplace) / (n + LAPLACE_DRAWS), data.free)
            adapt.restart(adapt.final())
    step = adapt.final()

    kept, kept_log_beta, accepted, accepted_beta = [], [], np.zeros(n_chains), np.zeros(n_chains)
    while True:  # rounds of n_samples sweeps, until converged or max_samples
        for _ in range(n_samples):
            accept_hmc, accept_beta = sweep()
            accepted += accept_hmc.mean(axis=1)
            kept.append(chains.theta)
            if sample_beta:
                accepted_beta += accept_beta
                kept_log_beta.append(chains.log_beta)
        m, w, h = split_theta(np.stack(kept, axis=1), mode.shape[0])  # (C, S, ...)
        acceptance = {"hmc": accepted / len(kept)}
        if sample_beta:
            acceptance["beta"] = accepted_beta / len(kept)
            betas = np.exp(np.stack(kept_log_beta, axis=1))
        else:
            betas = np.full(m.shape[:2], beta)
        post = SignedPosterior(m, w, h, betas, acceptance, data.free, sample_beta)
        if len(kept) + n_samples > max(max_samples or 0, n_samples) or is_converged(*post.diagnostics()):
            return post


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
