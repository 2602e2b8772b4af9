"""Each target's posterior given beta: the fixed ``Targets`` record and its log densities.

Its own module because every move and the warm-up evaluate these pure functions of the data and
the parameters, which hold no chain state and draw no random numbers.

Given beta, the log-likelihood factorises over targets, and the intensity of target ``i`` is
linear in its parameters ``theta_i = (mu_i, alpha_i,s for every source s that fires)``::

    lambda_i(t_n) = theta_i . x_n,     x_n = (b_i(t_n), h_1(t_n), ..., h_S(t_n))
    log L_i = sum_{n: events of i} f(theta_i . x_n) - theta_i . c_i

with ``f = log`` (continuous time) or ``f(lam) = log(exp(lam dt) - 1)`` (discrete time: the
non-spike bins enter only through the compensator), ``b_i`` the relative background, ``h_s``
the kernel sums of source ``s`` and ``c_i = (int b_i, comp_i1, ..., comp_iS)`` the compensator
per unit of each parameter. So only the events need a logarithm, and every target's
posterior given beta is a small (1 + S dimensions) log-concave problem over its own events.

Here: the ``Targets`` record of a fit (``build_targets``), the intensities and event terms, each
target's log-likelihood and log prior, the Jacobian of ``u = log theta``, the gradient in ``u``
that steers HMC, and the score and Fisher information of the warm-up's Newton steps.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from hawkes_inputs import segment_sums


@dataclass
class Targets:
    """What every target's log density needs from the data; fixed for a fit.

    Parameter ``p`` of target ``i`` is ``mu_i`` for ``p = 0`` and ``alpha[i, sources[p - 1]]``
    otherwise; for a group of identical sources, the first member's column holds the sum of
    the group's alphas and the others are fixed at 0 (see ``build_targets``). Targets with
    events come in two kinds: *excited* ones (a free alpha), whose
    events are the block ``start[i]:start[i + 1]`` of the kernel sums, and *plain* ones (every
    alpha fixed at 0, e.g. an exogenous input), whose likelihood depends on ``mu_i`` alone
    through the relative background at their events: those events are kept as the distinct
    background values with their counts, an exact and much shorter sum.
    """

    time: str  # "continuous" or "discrete"
    dt: float
    start: np.ndarray  # (D + 1,) events of target i: start[i]:start[i + 1]
    dim: np.ndarray  # (N,) target of each event
    excited: np.ndarray  # targets with events and a free alpha
    base: np.ndarray  # (N,) relative background at each event
    base32: np.ndarray  # (N,) the same in float32
    base_mass: np.ndarray  # (D,) integral of each target's relative background, s
    plain: np.ndarray  # (B,) targets with events and no free alpha
    plain_value: np.ndarray  # (R,) distinct relative backgrounds at their events
    plain_count: np.ndarray  # (R,) number of events at each
    plain_start: np.ndarray  # (B + 1,) rows of plain target k: plain_start[k]:plain_start[k + 1]
    free: np.ndarray  # (D, P) parameters not fixed at 0 (alpha_mask; see `build_targets`)
    moving: np.ndarray  # (D, P) free parameters of targets with events: those HMC moves
    # The Gamma prior of each parameter; the pooled sampler (``hawkes_partial_pooling``) replaces both
    # by per-chain arrays (C, D, P) before each sweep.
    shape: np.ndarray  # (D, P) shape of each parameter
    rate: np.ndarray  # (P,) rate of each column, or (D, P) where alpha's prior mean is per pair


def build_targets(model, data, prior):
    """The fixed ``Targets`` record of a fit.

    Identical sources (``data.duplicates``; ``identical_groups``) are collapsed: the first member's
    column carries the group's sum, with the prior of a sum of the free members' independent
    Gamma(a, b) alphas, Gamma(k a, b); the others are fixed at 0. The sum is all the likelihood
    sees; ``hawkes_moves.split_identical_sources`` draws the split of every kept draw exactly.
    """
    n_dims, sources = data.n_dims, data.sources
    free_alpha = np.ones((n_dims, n_dims), dtype=bool) if model.alpha_mask is None else model.alpha_mask
    free = np.concatenate([np.ones((n_dims, 1), dtype=bool), free_alpha[:, sources]], axis=1)
    column = np.arange(1 + sources.size)
    shape = np.where(column == 0, prior.mu_shape, prior.alpha_shape) * np.ones((n_dims, 1))
    for group in identical_groups(model, data):
        cols = 1 + np.searchsorted(sources, group)
        n_free = free[:, cols].sum(axis=1)
        shape[:, cols[0]] = prior.alpha_shape * np.maximum(n_free, 1)
        free[:, cols[0]] = n_free > 0
        free[:, cols[1:]] = False
    has_events = data.n_events > 0
    some_alpha = free[:, 1:].any(axis=1)
    base = np.ones(data.dim.size) if data.base is None else data.base
    plain = np.flatnonzero(has_events & ~some_alpha)
    distinct = [np.unique(base[data.start[i] : data.start[i + 1]], return_counts=True) for i in plain]
    return Targets(
        time=model.time,
        dt=model.dt,
        start=data.start,
        dim=data.dim,
        excited=np.flatnonzero(has_events & some_alpha),
        base=base,
        base32=base.astype(np.float32),
        base_mass=data.base_mass,
        plain=plain,
        plain_value=np.concatenate([v for v, _ in distinct] or [np.zeros(0)]),
        plain_count=np.concatenate([c for _, c in distinct] or [np.zeros(0)]).astype(float),
        plain_start=np.concatenate([[0], np.cumsum([v.size for v, _ in distinct], dtype=np.int64)]),
        free=free,
        moving=free & has_events[:, None],
        shape=shape,
        rate=_rates(prior, sources),
    )


def _rates(prior, sources):
    """The Gamma rate of each parameter column, (P,), or (D, P) where alpha's prior is per pair."""
    alpha_rate = np.asarray(prior.alpha_rate, dtype=float)
    if alpha_rate.ndim == 0:
        return np.concatenate([[prior.mu_rate], np.full(sources.size, float(alpha_rate))])
    return np.concatenate([np.full((alpha_rate.shape[0], 1), prior.mu_rate), alpha_rate[:, sources]], axis=1)


def identical_groups(model, data):
    """Groups of neurons with identical spike trains whose alphas only count as a sum (shared beta
    and one prior for every alpha: a sum of Gamma alphas is Gamma only when their rates agree)."""
    return [] if model.beta_kind == "pair" or np.ndim(model.prior.alpha_mean) else data.duplicates


# ---------------------------------------------------------------------- log densities
# The functions below loop over excited targets and do one matrix product per target: a
# target's events are one contiguous block, so the products need no copy of the parameters
# per event (a per-event gather costs more than the whole loop), and no (C, N) temporary is
# built. Plain targets are handled together, on their few distinct background values.
def _block_intensity(theta_i, h, block, base):
    """Intensities (C, n_i) at one target's events from its parameters theta_i (C, P), 1/s."""
    lam = np.matmul(theta_i[:, None, 1:], h[:, :, block])[:, 0]  # (C, n_i)
    lam += theta_i[:, :1] * base[block]
    return lam


def _plain_intensity(targets, theta):
    """Intensities (C, R) of the plain targets at their distinct background values, 1/s."""
    owner = np.repeat(targets.plain, np.diff(targets.plain_start))  # (R,)
    return theta[:, owner, 0] * targets.plain_value


def intensity(targets, theta, h):
    """Intensity at every event, (C, N) in 1/s."""
    lam = theta[:, targets.dim, 0] * targets.base  # the background part
    for i in targets.excited:
        block = slice(targets.start[i], targets.start[i + 1])
        lam[:, block] = _block_intensity(theta[:, i], h, block, targets.base)
    return lam


def event_term(targets, lam):
    """``f(lambda)``: log lambda, or log(exp(lambda dt) - 1) in discrete time."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if targets.time == "continuous":
            return np.log(lam)
        x = lam * targets.dt
        return np.log(-np.expm1(-x)) + x


def log_likelihood(targets, theta, h, comp, which=None):
    """Log-likelihood of each target, (C, D); -inf where an intensity is 0 at an event.

    ``which``: the excited targets whose event terms are computed; the default computes every
    target's. With ``which``, all other targets (plain ones too) get only their compensator
    term, for callers that know those targets did not change.
    """
    log_lik = -(theta[..., 0] * targets.base_mass + (theta[..., 1:] * comp).sum(axis=2))
    for i in targets.excited if which is None else which:
        block = slice(targets.start[i], targets.start[i + 1])
        log_lik[:, i] += event_term(targets, _block_intensity(theta[:, i], h, block, targets.base)).sum(axis=1)
    if which is None and targets.plain.size:
        terms = event_term(targets, _plain_intensity(targets, theta)) * targets.plain_count
        log_lik[:, targets.plain] += segment_sums(terms, targets.plain_start)
    return log_lik


def log_prior(targets, theta):
    """Log density of the Gamma priors of each target's free parameters, (C, D), constants dropped."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = xlogy(targets.shape - 1.0, theta) - targets.rate * theta
    return np.where(targets.free, terms, 0.0).sum(axis=2)


def jacobian(targets, theta):
    """log |d theta / d u| = sum of the moving parameters' logs, (C, D)."""
    with np.errstate(divide="ignore"):
        return np.where(targets.moving, np.log(np.where(targets.moving, theta, 1.0)), 0.0).sum(axis=2)


def _event_slopes(targets, lam):
    """``f'(lambda)``, computed in place in lam's dtype (float32 on HMC trajectories).

    Discrete time: ``dt / (1 - exp(-lambda dt))``, its denominator as ``-expm1(-lambda dt)``.
    In float32, ``1 - exp(-lambda dt)`` keeps few digits where ``lambda dt`` is small and is 0
    below float32's epsilon: an infinite slope, a NaN trajectory, rejected, and rejected again
    on every later trajectory of a chain whose target sits at such an intensity.
    """
    if targets.time == "continuous":
        return np.reciprocal(lam, out=lam)
    x = np.multiply(lam, -targets.dt, out=lam)
    np.expm1(x, out=x)
    np.negative(x, out=x)
    return np.divide(x.dtype.type(targets.dt), x, out=x)


def _event_curvatures(targets, lam):
    """``f'(lambda)`` and ``-f''(lambda)`` (float64)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if targets.time == "continuous":
            return 1.0 / lam, 1.0 / lam**2
        x = lam * targets.dt
        slope = -targets.dt / np.expm1(-x)
        return slope, slope**2 * np.exp(-x)


def _plain_score(targets, theta):
    """Gradient and -Hessian of the plain targets' event terms in their mu, (C, B) each."""
    slope, curvature = _event_curvatures(targets, _plain_intensity(targets, theta))
    weight = targets.plain_count * targets.plain_value
    return (
        segment_sums(slope * weight, targets.plain_start),
        segment_sums(curvature * weight * targets.plain_value, targets.plain_start),
    )


def gradient_u(targets, u, h32, comp):
    """Gradient of the log posterior of ``u = log theta`` (Jacobian included), (C, D, P).

    The excited targets' event terms are computed in float32: the gradient only steers HMC
    trajectories, whose acceptance uses the float64 density.
    """
    theta = np.exp(u) * targets.moving
    theta32 = theta.astype(np.float32)
    score = np.zeros(theta.shape)
    for i in targets.excited:
        block = slice(targets.start[i], targets.start[i + 1])
        slopes = _event_slopes(targets, _block_intensity(theta32[:, i], h32, block, targets.base32))
        score[:, i, 1:] = np.matmul(h32[:, :, block], slopes[:, :, None])[..., 0]
        score[:, i, 0] = slopes @ targets.base32[block]
    if targets.plain.size:
        score[:, targets.plain, 0] = _plain_score(targets, theta)[0]
    score[..., 0] -= targets.base_mass
    score[..., 1:] -= comp
    return (theta * (score - targets.rate) + targets.shape) * targets.moving


def score_and_fisher(targets, theta, h, comp):
    """Gradient (C, D, P) and Fisher information (C, D, P, P) of the log-likelihood in theta.

    The Fisher information is ``sum_n -f''(lambda_n) x_n x_n^T`` over each target's events:
    the negative Hessian of the log-likelihood, which is linear in theta apart from f.
    """
    score = np.zeros(theta.shape)
    fisher = np.zeros(theta.shape + theta.shape[-1:])
    for i in targets.excited:
        block = slice(targets.start[i], targets.start[i + 1])
        slope, curvature = _event_curvatures(targets, _block_intensity(theta[:, i], h, block, targets.base))
        x_i = np.concatenate(
            [np.broadcast_to(targets.base[block], (theta.shape[0], 1, slope.shape[1])), h[:, :, block]], axis=1
        )  # (C, P, n_i)
        score[:, i] = np.matmul(x_i, slope[:, :, None])[..., 0]
        fisher[:, i] = np.matmul(x_i * curvature[:, None, :], x_i.transpose(0, 2, 1))
    if targets.plain.size:
        score[:, targets.plain, 0], fisher[:, targets.plain, 0, 0] = _plain_score(targets, theta)
    score[..., 0] -= targets.base_mass
    score[..., 1:] -= comp
    return score, fisher
