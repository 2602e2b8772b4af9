"""The hand-written Metropolis-Hastings sampler behind ``HawkesProcessModel.fit``.

One piece because its moves share one chain state and one set of per-target log densities,
and the warm-up adapts all of them together; read it top to bottom: densities, moves, warm-up,
the sweep loop.

Given beta, the log-likelihood factorises over targets, and the intensity of target ``i`` is
linear in its parameters ``theta_i = (mu_i, alpha_i,s for every source s that fires)``::

    lambda_i(t_n) = theta_i . x_n,     x_n = (b_i(t_n), h_1(t_n), ..., h_S(t_n))
    log L_i = sum_{n: events of i} f(theta_i . x_n) - theta_i . c_i

with ``f = log`` (continuous time) or ``f(lam) = log(exp(lam dt) - 1)`` (discrete time: the
non-spike bins enter only through the compensator), ``b_i`` the relative background, ``h_s``
the kernel sums of source ``s`` and ``c_i = (int b_i, comp_i1, ..., comp_iS)`` the compensator
per unit of each parameter. So only the events need a logarithm, and every target's
posterior given beta is a small (1 + S dimensions) log-concave problem over its own events.

One sweep, every move leaving the posterior invariant:

1. **HMC per target** (Metropolis-Hastings with the Hamiltonian's full ratio) on
   ``u = log theta``: positivity by construction, the Jacobian ``sum u`` in the density. All
   chains and targets move in one batch; each (chain, target) is accepted on its own, which
   is valid because targets are conditionally independent given beta. The trajectory uses
   float32 gradients (any deterministic gradient keeps the leapfrog map volume-preserving and
   reversible) and the acceptance the float64 density. Dense metric per target.
2. **Transfer moves** (random-walk Metropolis in ``theta``) along the principal axis of pairs
   of a target's parameters whose warm-up draws correlate below ``TRANSFER_CORRELATION``:
   sources that can substitute for each other, or a source against the background. Such a
   ridge is straight in ``theta`` but curved in ``log theta``, where HMC crawls along it.
3. **Exact Gibbs draws**: a target with no events has a conjugate posterior (its likelihood is
   ``exp(-theta . c)``); the alphas of a source with no events have no likelihood and are
   drawn from the prior; identical sources (same spike trains, shared beta) are seen by the
   likelihood only through the sum of their alphas, whose split is Dirichlet.
4. **beta**: log-scale random-walk Metropolis (Jacobian included). A shared beta is, after a
   warm-up of at least ``MIN_WARMUP_INDEPENDENT`` sweeps, proposed independently from a
   log-normal fitted to the warm-up draws (full Hastings ratio). Per-pair betas move one source
   column at a time, accepted per target.

Warm-up (discarded): dispersed starts, moved to the conditional mode of each target by damped
Newton steps in ``u``; the Laplace covariance there is the first metric. Step sizes adapt by
dual averaging (Hoffman & Gelman 2014), the dense metric is re-estimated from the draws of
three windows, the transfer pairs are chosen from the second; nothing adapts after warm-up.

Run length: ``n_samples`` draws are kept; with ``max_samples`` larger, while the draws so far miss
the repository's convergence limits (``mcmc_diagnostics.is_converged``) the same chains go on for
another ``n_samples`` sweeps, up to ``max_samples`` draws. The kernel is fixed after warm-up, so
the longer chains are longer runs of the same Markov chains and every draw kept before is kept;
only where the run stops depends on the diagnostics.

The chain state is one ``ChainState``; the numbers of the prior come as one ``PriorRates``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, xlogy
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from hawkes_model import _segment_sums
from mcmc_diagnostics import is_converged, worst_diagnostics

# Leapfrog steps per HMC trajectory: uniform on 1 .. 2 N_LEAPFROG - 1, one draw per sweep for
# all chains and targets. A fixed length resonates with the period of some posterior direction
# (a half period maps x to about -x, so |x - median| barely moves and the folded R-hat fails);
# a uniform length decorrelates x and |x| alike. Each step is also jittered by U(1 -/+ j).
N_LEAPFROG = 6
THETA_ROUNDS = 2
STEP_JITTER = 0.2
INITIAL_STEP = 0.4  # HMC step before adaptation, in units of the Laplace metric
TARGET_ACCEPTANCE_HMC = 0.75
TARGET_ACCEPTANCE_WALK = 0.44  # one-dimensional random walks (Roberts & Rosenthal)
ADAPT_DECAY = 0.6  # Robbins-Monro gain (iteration + 1) ** -ADAPT_DECAY of the walks
# Dual averaging of the HMC step (Hoffman & Gelman 2014, their defaults).
DA_GAMMA, DA_T0, DA_KAPPA = 0.05, 10.0, 0.75
NEWTON_STEPS = 25  # damped Newton steps from the dispersed starts to the mode
NEWTON_MAX_MOVE = 2.0  # largest change of one log parameter in one Newton step
MIN_WARMUP_WINDOWS = 40  # shorter warm-ups keep the Laplace metric and pick no transfer pairs
TRANSFER_CORRELATION = -0.5
# After a warm-up of at least MIN_WARMUP_INDEPENDENT sweeps, a shared beta is proposed
# independently from a kernel density estimate of the second half of the warm-up's log beta
# draws (Gaussian kernels, Scott's bandwidth), mixed with weight DEFENSIVE_WEIGHT with a normal
# DEFENSIVE_SCALE times wider than the draws, so the proposal's tails stay heavier than the
# posterior's. A KDE follows the skewed posterior of log beta that a normal does not.
MIN_WARMUP_INDEPENDENT = 100
DEFENSIVE_WEIGHT = 0.1
DEFENSIVE_SCALE = 3.0


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
    shape: np.ndarray  # (D, P) Gamma prior shape of each parameter
    rate: np.ndarray  # (P,) Gamma prior rate of each column


@dataclass
class ChainState:
    """State of all chains; every move reads and updates it in place.

    ``log_lik`` is kept consistent with ``theta``, ``h`` and ``comp`` by every move.
    """

    theta: np.ndarray  # (C, D, P) parameters (> 0 where free, 0 where fixed)
    beta: np.ndarray  # (C,) shared, or (C, D, D) per pair, 1/s
    h: np.ndarray  # (C, S, N) kernel sums of each source at every event, 1/s
    h32: np.ndarray  # (C, S, N) the same in float32, for HMC gradients
    h_proposal: np.ndarray  # (C, S, N) kernel sums at a proposed beta (a reused buffer)
    scratch: np.ndarray  # (C, S, N) a reused buffer of the kernel-sum computation
    comp: np.ndarray  # (C, D, S) kernel mass of source s inside the windows, as seen by target i
    log_lik: np.ndarray  # (C, D) log-likelihood of each target


@dataclass(frozen=True)
class LogBetaProposal:
    """Independence proposal of log beta: a Gaussian KDE of warm-up draws and a wide normal."""

    points: np.ndarray  # (n,) warm-up draws of log beta
    bandwidth: float
    centre: float  # mean and DEFENSIVE_SCALE x sd of the draws: the wide component
    wide: float

    @classmethod
    def fit(cls, draws):
        draws = np.ravel(draws)
        sd = draws.std()
        return cls(
            points=draws, bandwidth=1.06 * sd * draws.size**-0.2, centre=float(draws.mean()), wide=DEFENSIVE_SCALE * sd
        )

    def draw(self, rng, size):
        """Random numbers: uniforms (size,), indices (size,), normals (size,)."""
        wide = rng.random(size) < DEFENSIVE_WEIGHT
        near = self.points[rng.integers(0, self.points.size, size)]
        z = rng.standard_normal(size)
        return np.where(wide, self.centre + self.wide * z, near + self.bandwidth * z)

    def log_density(self, x):
        """Log proposal density at x (any shape)."""
        x = np.asarray(x, dtype=float)
        kde = logsumexp(-0.5 * ((x[..., None] - self.points) / self.bandwidth) ** 2, axis=-1) - np.log(
            self.points.size * self.bandwidth
        )
        wide = -0.5 * ((x - self.centre) / self.wide) ** 2 - np.log(self.wide)
        return np.logaddexp(np.log1p(-DEFENSIVE_WEIGHT) + kde, np.log(DEFENSIVE_WEIGHT) + wide) - 0.5 * np.log(
            2 * np.pi
        )


@dataclass
class Tuning:
    """Proposal settings, adapted during warm-up and fixed afterwards."""

    step: np.ndarray  # (D,) HMC step size of each target
    chol: np.ndarray  # (D, P, P) Cholesky factor of each target's metric (covariance of u)
    beta_log_step: np.ndarray  # (C,) or (C, D, D) random-walk step of log beta
    beta_independent: LogBetaProposal | None = None  # once fixed, after warm-up
    pairs: np.ndarray | None = None  # (D, Q, 2) parameter pairs of transfer moves (-1: none)
    pair_axis: np.ndarray | None = None  # (D, Q, 2) principal axis of each pair, in theta
    pair_log_step: np.ndarray | None = None  # (D, Q) log step along it


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
        log_lik[:, targets.plain] += _segment_sums(terms, targets.plain_start)
    return log_lik


def log_prior(targets, theta):
    """Log density of the Gamma priors of each target's free parameters, (C, D), constants dropped."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = xlogy(targets.shape - 1.0, theta) - targets.rate * theta
    return np.where(targets.free, terms, 0.0).sum(axis=2)


def _jacobian(targets, theta):
    """log |d theta / d u| = sum of the moving parameters' logs, (C, D)."""
    with np.errstate(divide="ignore"):
        return np.where(targets.moving, np.log(np.where(targets.moving, theta, 1.0)), 0.0).sum(axis=2)


def _event_slopes(targets, lam):
    """``f'(lambda)``, computed in place in lam's dtype (float32 on HMC trajectories)."""
    if targets.time == "continuous":
        return np.reciprocal(lam, out=lam)
    x = np.multiply(lam, -targets.dt, out=lam)
    np.exp(x, out=x)
    np.subtract(1.0, x, out=x)
    return np.divide(x.dtype.type(targets.dt), x, out=x)  # dt / (1 - exp(-lambda dt))


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
        _segment_sums(slope * weight, targets.plain_start),
        _segment_sums(curvature * weight * targets.plain_value, targets.plain_start),
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


# ---------------------------------------------------------------------- HMC
def _leapfrog_drift(chol, momentum):
    """Velocity of u for whitened momentum: chol @ momentum per target, (C, D, P)."""
    return np.einsum("dpq,cdq->cdp", chol, momentum)


def _whitened_force(chol, grad):
    """chol^T @ grad per target, (C, D, P)."""
    return np.einsum("dqp,cdq->cdp", chol, grad)


def hmc_move(state, targets, tuning, rng):
    """One HMC trajectory for every (chain, target with events), accepted one by one.

    The metric is ``chol chol^T`` (the covariance of ``u``), so in whitened coordinates
    ``u = chol w`` the momentum is standard normal. Random numbers, in order: the number of
    leapfrog steps, momenta (C, D, P), step jitters (C, D), uniforms (C, D). Updates
    ``state.theta`` and ``state.log_lik``.

    Returns
    -------
    accepted : ndarray of bool, shape (C, D)
    accept_prob : ndarray, shape (C, D)
        ``min(1, exp(-energy error))``, for step-size adaptation (0 for a non-finite one).
    """
    moving = targets.moving
    n_leapfrog = int(rng.integers(1, 2 * N_LEAPFROG))
    momentum = rng.standard_normal(state.theta.shape) * moving
    step = (tuning.step * rng.uniform(1 - STEP_JITTER, 1 + STEP_JITTER, state.theta.shape[:2]))[..., None]
    uniform = rng.random(state.theta.shape[:2])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        u = np.where(moving, np.log(np.where(moving, state.theta, 1.0)), 0.0)
        energy = -(state.log_lik + log_prior(targets, state.theta) + _jacobian(targets, state.theta))
        energy += 0.5 * (momentum**2).sum(axis=2)
        momentum = momentum + 0.5 * step * _whitened_force(tuning.chol, gradient_u(targets, u, state.h32, state.comp))
        for k in range(n_leapfrog):
            u = u + step * _leapfrog_drift(tuning.chol, momentum)
            force = _whitened_force(tuning.chol, gradient_u(targets, u, state.h32, state.comp))
            momentum = momentum + (0.5 if k == n_leapfrog - 1 else 1.0) * step * force
        theta_new = np.where(moving, np.exp(u), state.theta)
        log_lik_new = log_likelihood(targets, theta_new, state.h, state.comp)
        energy_new = -(log_lik_new + log_prior(targets, theta_new) + _jacobian(targets, theta_new))
        energy_new += 0.5 * (momentum**2).sum(axis=2)
        log_ratio = np.where(np.isfinite(energy_new), energy - energy_new, -np.inf)
    accepted = (np.log(uniform) < log_ratio) & moving.any(axis=1)
    state.theta[accepted] = theta_new[accepted]
    state.log_lik[accepted] = log_lik_new[accepted]
    return accepted, np.exp(np.minimum(log_ratio, 0.0))


# ---------------------------------------------------------------------- transfer moves
def transfer_move(state, targets, tuning, rng):
    """Random-walk Metropolis along each chosen pair's principal axis in theta.

    For slot ``q`` every target with a pair there proposes ``theta[p] + z a_p``,
    ``theta[r] + z a_r`` (``(p, r) = pairs[i, q]``, ``a = pair_axis[i, q]``,
    ``z ~ N(0, exp(pair_log_step)^2)``): symmetric, so the ratio is the posterior ratio; a
    negative proposal is rejected. Random numbers per slot: normals (C, D), uniforms (C, D).

    Returns
    -------
    ndarray of bool, shape (C, D, Q)
        Acceptance indicators (False where a target has no pair in the slot).
    """
    n_chains, n_dims = state.theta.shape[:2]
    accepted = np.zeros((n_chains, n_dims, tuning.pairs.shape[1]), dtype=bool)
    rows = np.arange(n_dims)
    for q in range(tuning.pairs.shape[1]):  # a few slots; all targets move together in each
        first, second = tuning.pairs[:, q, 0], tuning.pairs[:, q, 1]
        has = first >= 0
        z = np.exp(tuning.pair_log_step[:, q]) * rng.standard_normal((n_chains, n_dims))
        uniform = rng.random((n_chains, n_dims))
        theta_new = state.theta.copy()
        theta_new[:, rows[has], first[has]] += z[:, has] * tuning.pair_axis[has, q, 0]
        theta_new[:, rows[has], second[has]] += z[:, has] * tuning.pair_axis[has, q, 1]
        valid = has & (theta_new >= 0).all(axis=2)
        theta_new = np.maximum(theta_new, 0.0)
        log_lik_new = log_likelihood(targets, theta_new, state.h, state.comp, which=np.flatnonzero(has))
        with np.errstate(invalid="ignore"):
            log_ratio = log_lik_new + log_prior(targets, theta_new) - state.log_lik - log_prior(targets, state.theta)
            acc = valid & (np.log(uniform) < log_ratio)
        state.theta[acc] = theta_new[acc]
        state.log_lik[acc] = log_lik_new[acc]
        accepted[:, :, q] = acc
    return accepted


def choose_pairs(theta_draws, targets):
    """Transfer pairs of each target from warm-up draws of theta.

    Pairs of moving parameters whose draws correlate below ``TRANSFER_CORRELATION``, the most
    negative first, each parameter in at most one pair; the axis is the principal axis of the
    pair's covariance, scaled by its standard deviation.

    Parameters
    ----------
    theta_draws : ndarray, shape (n, D, P)
    targets : Targets

    Returns
    -------
    pairs : ndarray of int, shape (D, Q, 2)
        -1 where a target has fewer than Q pairs; Q >= 1.
    axis : ndarray, shape (D, Q, 2)
    """
    n_dims = theta_draws.shape[1]
    found = []
    for i in range(n_dims):  # once per fit, on (n, P) draws
        cols = np.flatnonzero(targets.moving[i] & (theta_draws[:, i].std(axis=0) > 0))
        chosen = []
        if cols.size >= 2:
            corr = np.corrcoef(theta_draws[:, i, cols].T)
            corr[np.tril_indices_from(corr)] = 0.0
            used = set()
            for k in np.argsort(corr, axis=None):  # most negative first
                a, b = divmod(int(k), cols.size)
                if corr[a, b] >= TRANSFER_CORRELATION:
                    break
                if a not in used and b not in used:
                    variance, vectors = np.linalg.eigh(np.cov(theta_draws[:, i, cols[[a, b]]].T))
                    chosen.append(((cols[a], cols[b]), vectors[:, -1] * np.sqrt(variance[-1])))
                    used.update((a, b))
        found.append(chosen)
    n_slots = max([1] + [len(chosen) for chosen in found])
    pairs = np.full((n_dims, n_slots, 2), -1)
    axis = np.zeros((n_dims, n_slots, 2))
    for i, chosen in enumerate(found):
        for q, (pair, vector) in enumerate(chosen):
            pairs[i, q], axis[i, q] = pair, vector
    return pairs, axis


# ---------------------------------------------------------------------- exact Gibbs draws
def gibbs_silent_targets(state, targets, silent, rng):
    """Draw the parameters of targets without events from their conjugate posterior.

    Such a target's likelihood is ``exp(-theta . c)``, so each free parameter is
    ``Gamma(shape, rate + c)`` given the rest (``c``: ``int b_i`` for mu, the compensator
    mass of the source for alpha). Updates ``state.theta`` and ``state.log_lik`` of ``silent``.
    """
    if silent.size == 0:
        return
    n_chains = state.theta.shape[0]
    coef = np.concatenate(
        [np.broadcast_to(targets.base_mass[None, silent, None], (n_chains, silent.size, 1)), state.comp[:, silent]],
        axis=2,
    )  # (C, n_silent, P)
    draws = rng.gamma(targets.shape[silent], 1.0 / (targets.rate + coef)) * targets.free[silent]
    state.theta[:, silent] = draws
    state.log_lik[:, silent] = -(draws * coef).sum(axis=2)


def split_identical_sources(alpha, groups, free_alpha, alpha_shape, rng):
    """Exact draw of how each target's alpha splits over each group of identical sources.

    Identical sources with a shared beta have identical kernel sums and compensators, so the
    likelihood sees only the sum of a group's alphas, which the chains carry in the group's
    first member. Given the sum, independent Gamma(a, b) priors make the split over the free
    members Dirichlet(a, ..., a), drawn here as normalised Gamma(a) variates.

    Parameters
    ----------
    alpha : ndarray, shape (C, D, D)
        Draws with each group's sum in its first member; split in place.
    groups : list of int arrays
        Neurons of each group.
    free_alpha : ndarray of bool, shape (D, D)
    alpha_shape : float
    """
    n_chains, n_dims = alpha.shape[:2]
    for group in groups:  # a few groups at most
        total = alpha[:, :, group].sum(axis=2, keepdims=True)  # (C, D, 1)
        weight = rng.standard_gamma(alpha_shape, (n_chains, n_dims, group.size)) * free_alpha[:, group]
        norm = weight.sum(axis=2, keepdims=True)  # 0: no free member
        alpha[:, :, group] = total * np.divide(weight, norm, out=np.zeros_like(weight), where=norm > 0)


# ---------------------------------------------------------------------- beta
def kernel_statistics(model, data, beta, out=None, scratch=None):
    """Kernel sums ``h`` (C, S, N) and compensator masses ``comp`` (C, D, S) at ``beta``.

    ``out`` and ``scratch`` (C, S, N): buffers for a shared beta's sums (see ``_stats_shared``).
    """
    if model.beta_kind == "shared":
        h, comp = model._stats_shared(data, beta, out, scratch)  # comp (C, D)
        return h, np.repeat(comp[:, None, data.sources], data.n_dims, axis=1)
    h, comp = model._all_stats(data, beta)  # comp (C, D, D)
    return h, comp[:, :, data.sources]


def beta_move_shared(state, model, data, targets, prior, tuning, rng):
    """Metropolis-Hastings on the shared beta of every chain, on the log scale.

    A random walk with steps ``exp(tuning.beta_log_step)`` until ``tuning.beta_independent``
    is set, then an independence proposal from it (the ratio gains ``q(current) /
    q(proposal)``). Random numbers: the proposal's (normals (C,) for the walk), then uniforms
    (C,).

    Returns
    -------
    ndarray of bool, shape (C,)
    """
    log_beta = np.log(state.beta)
    if tuning.beta_independent is None:
        log_proposal = log_beta + np.exp(tuning.beta_log_step) * rng.standard_normal(state.beta.shape)
        log_q_ratio = 0.0
    else:
        log_proposal = tuning.beta_independent.draw(rng, state.beta.shape)
        log_q_ratio = tuning.beta_independent.log_density(log_beta) - tuning.beta_independent.log_density(log_proposal)
    uniform = rng.random(state.beta.shape)
    h_new, comp_new = kernel_statistics(model, data, np.exp(log_proposal), state.h_proposal, state.scratch)
    # Plain targets do not see beta: their log-likelihood stays.
    log_lik_new = log_likelihood(targets, state.theta, h_new, comp_new, which=targets.excited)
    log_lik_new[:, targets.plain] = state.log_lik[:, targets.plain]
    with np.errstate(invalid="ignore"):
        log_ratio = (
            (log_lik_new - state.log_lik).sum(axis=1)
            + log_q_ratio
            - ((log_proposal - prior.log_beta_mean) ** 2 - (log_beta - prior.log_beta_mean) ** 2)
            / (2 * prior.log_beta_sd**2)
        )
        accepted = np.log(uniform) < log_ratio  # NaN ratio: rejected
    state.beta[accepted] = np.exp(log_proposal[accepted])
    np.copyto(state.h, h_new, where=accepted[:, None, None])
    np.copyto(state.h32, h_new, where=accepted[:, None, None], casting="same_kind")
    state.comp[accepted] = comp_new[accepted]
    state.log_lik[accepted] = log_lik_new[accepted]
    return accepted


def beta_move_pair(state, model, data, targets, prior, tuning, rng):
    """Log-scale random-walk Metropolis on ``beta[:, :, j]``, one source at a time.

    The ``D`` decays of one source are proposed together and accepted per target, since the
    likelihood factorises over targets. Decays of sources without events have no likelihood
    and are drawn from the prior. Random numbers per source: normals (C, D), uniforms (C, D);
    then the prior draws (C, D, n_silent).

    Returns
    -------
    ndarray of bool, shape (C, D, D)
    """
    n_chains, n_dims = state.theta.shape[:2]
    accepted = np.zeros(state.beta.shape, dtype=bool)
    lam = intensity(targets, state.theta, state.h)
    term = event_term(targets, lam)
    for s, j in enumerate(data.sources):  # sequential Metropolis-within-Gibbs over sources
        log_beta = np.log(state.beta[:, :, j])
        log_proposal = log_beta + np.exp(tuning.beta_log_step[:, :, j]) * rng.standard_normal((n_chains, n_dims))
        uniform = rng.random((n_chains, n_dims))
        h_new, comp_new = model._stats_pair_column(data, np.exp(log_proposal), s)  # (C, N), (C, D)
        alpha_ev = np.repeat(state.theta[:, :, 1 + s], data.n_events, axis=1)  # (C, N)
        lam_new = lam + alpha_ev * (h_new - state.h[:, s])
        term_new = event_term(targets, lam_new)
        with np.errstate(invalid="ignore"):
            delta = _segment_sums(term_new - term, targets.start) - state.theta[:, :, 1 + s] * (
                comp_new - state.comp[:, :, s]
            )  # (C, D)
            log_ratio = delta - ((log_proposal - prior.log_beta_mean) ** 2 - (log_beta - prior.log_beta_mean) ** 2) / (
                2 * prior.log_beta_sd**2
            )
            acc = np.log(uniform) < log_ratio
        on_event = np.repeat(acc, data.n_events, axis=1)  # (C, N)
        state.beta[:, :, j] = np.where(acc, np.exp(log_proposal), state.beta[:, :, j])
        state.comp[:, :, s] = np.where(acc, comp_new, state.comp[:, :, s])
        state.h[:, s] = np.where(on_event, h_new, state.h[:, s])
        state.log_lik += np.where(acc, delta, 0.0)
        lam = np.where(on_event, lam_new, lam)
        term = np.where(on_event, term_new, term)
        accepted[:, :, j] = acc
    state.h32[...] = state.h
    silent = np.setdiff1d(np.arange(n_dims), data.sources)
    if silent.size:
        state.beta[:, :, silent] = np.exp(
            prior.log_beta_mean + prior.log_beta_sd * rng.standard_normal((n_chains, n_dims, silent.size))
        )
    return accepted


# ---------------------------------------------------------------------- warm-up
def _score_and_fisher(targets, theta, h, comp):
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


def newton_to_mode(state, targets, n_steps=NEWTON_STEPS):
    """Move every (chain, target) to the mode of its log posterior in ``u = log theta``.

    Damped Newton steps with a positive-definite curvature (Fisher information plus the prior
    terms, with ``|.|`` on the indefinite part), halving each step until the density does not
    decrease. Part of the warm-up: it only sets the starts and the first metric.

    Returns
    -------
    ndarray, shape (C, D, P, P)
        Negative Hessian of the log density of ``u`` at the mode (identity outside ``moving``).
    """
    moving = targets.moving
    both = moving[:, :, None] & moving[:, None, :]
    eye = np.eye(moving.shape[1])
    for step_no in range(n_steps + 1):
        theta = state.theta
        score, fisher = _score_and_fisher(targets, theta, state.h, state.comp)
        score -= targets.rate
        curv_u = theta[..., :, None] * fisher * theta[..., None, :]
        if step_no == n_steps:
            return np.where(both, curv_u + eye * targets.shape[:, None, :], eye)
        grad_u = (theta * score + targets.shape) * moving
        lhs = np.where(both, curv_u + eye * (np.abs(theta * score) + 1e-12)[..., None], eye)
        move = np.clip(np.linalg.solve(lhs, grad_u[..., None])[..., 0], -NEWTON_MAX_MOVE, NEWTON_MAX_MOVE)
        with np.errstate(divide="ignore"):
            u = np.log(np.where(moving, theta, 1.0))
        current = state.log_lik + log_prior(targets, theta) + _jacobian(targets, theta)
        shrink = np.ones(theta.shape[:2])
        pending = np.broadcast_to(moving.any(axis=1), theta.shape[:2]).copy()
        for _ in range(30):  # step halving, vectorised over (chain, target)
            trial = np.where(moving, np.exp(u + shrink[..., None] * move), theta)
            trial_lik = log_likelihood(targets, trial, state.h, state.comp)
            better = trial_lik + log_prior(targets, trial) + _jacobian(targets, trial) >= current
            take = pending & better
            state.theta[take] = trial[take]
            state.log_lik[take] = trial_lik[take]
            pending &= ~better
            if not pending.any():
                break
            shrink = np.where(pending, shrink / 2, shrink)


class StepAdaptation:
    """Dual averaging of each target's HMC step towards ``TARGET_ACCEPTANCE_HMC``."""

    def __init__(self, step):
        self.restart(step)

    def restart(self, step):
        self.mu = np.log(10 * step)
        self.error = np.zeros_like(step)
        self.log_avg = np.log(step)
        self.count = 0

    def update(self, accept_prob):
        """The next step, from the acceptance probabilities averaged over chains, (D,)."""
        self.count += 1
        m = self.count
        self.error += ((TARGET_ACCEPTANCE_HMC - accept_prob) - self.error) / (m + DA_T0)
        log_step = self.mu - np.sqrt(m) / DA_GAMMA * self.error
        weight = m**-DA_KAPPA
        self.log_avg = weight * log_step + (1 - weight) * self.log_avg
        return np.exp(log_step)

    def final(self):
        """The averaged step, used once adaptation stops."""
        return np.exp(self.log_avg)


def metric_from_draws(u_draws, moving):
    """Cholesky factor of each target's regularised covariance of ``u``, (D, P, P).

    ``u_draws``: (n, D, P). The covariance is shrunk a little towards its diagonal (Stan's
    regulariser, made scale-free), so that it is positive definite however few the draws.
    """
    n = u_draws.shape[0]
    centred = u_draws - u_draws.mean(axis=0)
    cov = np.einsum("ndp,ndq->dpq", centred, centred) / max(n - 1, 1)
    diag = np.einsum("dpp->dp", cov)
    cov = (n * cov + 5e-3 * diag[:, :, None] * np.eye(cov.shape[1])) / (n + 5)
    return cholesky_on(cov, moving)


def cholesky_on(cov, moving):
    """Cholesky factor of ``cov`` restricted to the moving parameters (zero elsewhere)."""
    both = moving[:, :, None] & moving[:, None, :]
    safe = np.where(both, cov, np.eye(cov.shape[-1]))
    return np.linalg.cholesky(safe) * both


class WarmUp:
    """Everything that adapts, and when; nothing changes after ``n_warmup`` sweeps.

    Each sweep, the HMC steps follow dual averaging and the random-walk steps of beta and of
    the transfer pairs a Robbins-Monro rule towards ``TARGET_ACCEPTANCE_WALK``. At the ends of
    three windows (a quarter, half and three quarters of the warm-up) the metric becomes the
    covariance of the second half of the window's draws of ``u`` and dual averaging restarts;
    at the second, the transfer pairs are chosen from the same draws. At the end, the steps
    take their averaged values and a shared beta switches to the independence proposal.
    Warm-ups shorter than ``MIN_WARMUP_WINDOWS`` keep the starting metric and have no pairs.
    """

    def __init__(self, n_warmup, state, targets, tuning):
        self.n_warmup, self.targets, self.tuning = n_warmup, targets, tuning
        self.windows = [] if n_warmup < MIN_WARMUP_WINDOWS else [n_warmup // 4, n_warmup // 2, 3 * n_warmup // 4]
        self.steps = StepAdaptation(tuning.step)
        self.u = np.empty((max(n_warmup, 1),) + state.theta.shape)  # (W, C, D, P)
        self.log_beta = np.empty((max(n_warmup, 1),) + state.beta.shape)
        self.pairs_since = 0

    def update(self, it, state, moves):
        """Adapt after sweep ``it`` (0-based) of the warm-up, given its ``SweepMoves``."""
        targets, tuning = self.targets, self.tuning
        with np.errstate(divide="ignore"):
            self.u[it] = np.log(np.where(targets.moving, state.theta, 1.0))
        self.log_beta[it] = np.log(state.beta)
        hmc_targets = targets.moving.any(axis=1)
        tuning.step = np.where(hmc_targets, self.steps.update(moves.accept_prob.mean(axis=0)), tuning.step)
        tuning.beta_log_step += (moves.beta - TARGET_ACCEPTANCE_WALK) * (it + 1) ** -ADAPT_DECAY
        if moves.transfer is not None:
            tuning.pair_log_step += (moves.transfer.mean(axis=0) - TARGET_ACCEPTANCE_WALK) * (
                it + 1 - self.pairs_since
            ) ** -ADAPT_DECAY
        if it + 1 in self.windows:
            k = self.windows.index(it + 1)
            begin = self.windows[k - 1] if k else 0
            recent = self.u[(begin + it + 1) // 2 : it + 1].reshape((-1,) + state.theta.shape[1:])
            tuning.chol = metric_from_draws(recent, targets.moving)
            self.steps.restart(self.steps.final())
            tuning.step = np.where(hmc_targets, self.steps.final(), tuning.step)
            if k == 1:
                tuning.pairs, tuning.pair_axis = choose_pairs(np.exp(recent) * targets.moving, targets)
                tuning.pair_log_step = np.zeros(tuning.pairs.shape[:2])
                self.pairs_since = it
        if it == self.n_warmup - 1:
            tuning.step = np.where(hmc_targets, self.steps.final(), tuning.step)
            settled = self.log_beta[self.n_warmup // 2 :]
            if state.beta.ndim == 1 and self.n_warmup >= MIN_WARMUP_INDEPENDENT and settled.std() > 0:
                tuning.beta_independent = LogBetaProposal.fit(settled)


# ---------------------------------------------------------------------- the sampler
def build_targets(model, data, prior):
    """The fixed ``Targets`` record of a fit.

    Identical sources (``data.duplicates``, shared beta only) are collapsed: the first member's
    column carries the group's sum, with the prior of a sum of the free members' independent
    Gamma(a, b) alphas, Gamma(k a, b); the others are fixed at 0. The sum is all the likelihood
    sees; ``split_identical_sources`` draws the split of every kept draw exactly.
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
        rate=np.where(column == 0, prior.mu_rate, prior.alpha_rate),
    )


def identical_groups(model, data):
    """Groups of neurons with identical spike trains whose alphas only count as a sum (shared beta)."""
    return [] if model.beta_kind == "pair" else data.duplicates


def initial_state(model, data, targets, prior, n_chains, rng):
    """Dispersed starts: mu around half the observed rates, small random alpha, beta around
    the prior median (random numbers in that order)."""
    n_dims, n_src = data.n_dims, data.sources.size
    rate = np.maximum(data.n_events / np.maximum(data.base_mass, 1e-300), 0.01 * prior.mu_shape / prior.mu_rate)
    mu = 0.5 * rate * rng.lognormal(0.0, 0.5, (n_chains, n_dims))
    alpha = rng.exponential(0.5 / n_dims, (n_chains, n_dims, n_src))
    beta_shape = (n_chains, n_dims, n_dims) if model.beta_kind == "pair" else (n_chains,)
    beta = np.exp(prior.log_beta_mean + rng.normal(0.0, 0.5, beta_shape))
    theta = np.concatenate([mu[..., None], alpha], axis=2) * targets.free
    h, comp = kernel_statistics(model, data, beta)
    state = ChainState(
        theta=theta,
        beta=beta,
        h=h,
        h32=h.astype(np.float32),
        h_proposal=np.empty_like(h),
        scratch=np.empty_like(h),
        comp=comp,
        log_lik=np.zeros((n_chains, n_dims)),
    )
    state.log_lik[...] = log_likelihood(targets, theta, h, comp)
    return state


def start_at_the_mode(state, targets, rng):
    """Newton steps to each target's conditional mode, then a start drawn around it.

    The start is one draw from the Laplace approximation there (so chains stay apart), and
    its covariance, averaged over chains, is the first metric. Random numbers: normals (C, D, P).

    Returns
    -------
    Tuning
    """
    cov_u = np.linalg.inv(newton_to_mode(state, targets))  # (C, D, P, P)
    jitter = np.einsum("cdpq,cdq->cdp", np.linalg.cholesky(cov_u), rng.standard_normal(state.theta.shape))
    state.theta = np.where(targets.moving, state.theta * np.exp(jitter), state.theta)
    state.log_lik = log_likelihood(targets, state.theta, state.h, state.comp)
    return Tuning(
        step=np.full(state.theta.shape[1], INITIAL_STEP),
        chol=cholesky_on(cov_u.mean(axis=0), targets.moving),
        beta_log_step=np.full(state.beta.shape, np.log(0.5)),
    )


def sample(model, data, prior, n_samples, n_warmup, n_chains, rng, progress=True, max_samples=None):
    """Run the chains; returns draws of theta and beta and the acceptance per move.

    Parameters
    ----------
    model : HawkesProcessModel
    data : indexed events of the model (``model._prepare``)
    prior : PriorRates
    n_samples, n_warmup, n_chains : int
    rng : numpy.random.Generator
    progress : bool
    max_samples : int or None
        Go on by ``n_samples`` draws at a time, up to this many (at least ``n_samples``), while
        the draws miss the convergence limits; None: keep ``n_samples``.

    Returns
    -------
    dict
        ``mu`` (C, S, D), ``alpha`` (C, S, D, D), ``beta`` (C, S) or (C, S, D, D) draws (S:
        ``n_samples`` times the blocks run) and ``acceptance``: move -> (C,) rate over the
        kept sweeps (NaN for a move with nothing to move).
    """
    max_samples = n_samples if max_samples is None else max_samples  # >= n_samples: checked by fit
    # Single-threaded BLAS: threaded reductions would change the rounding, so the same seed
    # would not give the same draws on every machine load.
    with threadpool_limits(limits=1, user_api="blas"):
        return _sample(model, data, prior, n_samples, n_warmup, n_chains, rng, progress, max_samples)


@dataclass
class SweepMoves:
    """Acceptance of the moves of one sweep."""

    hmc: np.ndarray  # (C, D) mean over the sweep's HMC trajectories
    accept_prob: np.ndarray  # (C, D) their mean acceptance probability
    transfer: np.ndarray | None  # (C, D, Q) mean over the sweep's transfer moves; None before pairs exist
    beta: np.ndarray  # (C,) or (C, D, D)


def sweep(state, model, data, targets, prior, tuning, silent_targets, rng):
    """One sweep: ``THETA_ROUNDS`` x (HMC, transfer moves), conjugate draws, then beta.

    beta costs a pass of kernel sums over every event, the other moves only products with
    them, so theta gets more than one round per beta move.
    """
    hmc, transfer = [], []
    for _ in range(THETA_ROUNDS):
        hmc.append(hmc_move(state, targets, tuning, rng))
        if tuning.pairs is not None:
            transfer.append(transfer_move(state, targets, tuning, rng))
    gibbs_silent_targets(state, targets, silent_targets, rng)
    move_beta = beta_move_pair if model.beta_kind == "pair" else beta_move_shared
    accepted_beta = move_beta(state, model, data, targets, prior, tuning, rng)
    return SweepMoves(
        hmc=np.mean([a for a, _ in hmc], axis=0),
        accept_prob=np.mean([p for _, p in hmc], axis=0),
        transfer=np.mean(transfer, axis=0) if transfer else None,
        beta=accepted_beta,
    )


class Recorder:
    """Kept draws of (mu, alpha, beta) and the acceptance rate of each move."""

    def __init__(self, model, data, prior, targets, max_samples, state):
        n_chains, n_dims = state.theta.shape[:2]
        self.sources, self.prior, self.targets = data.sources, prior, targets
        self.silent_sources = np.setdiff1d(np.arange(n_dims), data.sources)
        self.groups = identical_groups(model, data)
        self.free_alpha = np.ones((n_dims, n_dims), dtype=bool) if model.alpha_mask is None else model.alpha_mask
        self.beta_moves = data.sources if model.beta_kind == "pair" else None
        self.mu = np.empty((n_chains, max_samples, n_dims))
        self.alpha = np.zeros((n_chains, max_samples, n_dims, n_dims))
        self.beta = np.empty((n_chains, max_samples) + state.beta.shape[1:])
        self.accepted = {move: [] for move in ("hmc", "transfer", "beta")}
        self.n_kept = 0

    def record(self, k, state, moves, tuning, rng):
        """Store draw ``k``. Random numbers: the prior draws of silent sources, then the splits."""
        n_chains, n_dims = state.theta.shape[:2]
        self.mu[:, k] = state.theta[..., 0]
        alpha = self.alpha[:, k]
        alpha[:, :, self.sources] = state.theta[..., 1:]
        if self.silent_sources.size:  # no likelihood: exact draws from the prior
            alpha[:, :, self.silent_sources] = (
                rng.gamma(
                    self.prior.alpha_shape, 1.0 / self.prior.alpha_rate, (n_chains, n_dims, self.silent_sources.size)
                )
                * self.free_alpha[:, self.silent_sources]
            )
        split_identical_sources(alpha, self.groups, self.free_alpha, self.prior.alpha_shape, rng)
        self.beta[:, k] = state.beta
        hmc_targets = self.targets.moving.any(axis=1)
        if hmc_targets.any():
            self.accepted["hmc"].append(moves.hmc[:, hmc_targets].mean(axis=1))
        if moves.transfer is not None and (tuning.pairs[:, :, 0] >= 0).any():
            self.accepted["transfer"].append(moves.transfer[:, tuning.pairs[:, :, 0] >= 0].mean(axis=1))
        beta = moves.beta if self.beta_moves is None else moves.beta[:, :, self.beta_moves]
        if beta.size:
            self.accepted["beta"].append(beta.reshape(n_chains, -1).mean(axis=1))
        self.n_kept = k + 1

    def draws(self):
        """The draws kept so far: ``mu``, ``alpha``, ``beta``, each (C, n_kept, ...)."""
        return {name: getattr(self, name)[:, : self.n_kept] for name in ("mu", "alpha", "beta")}

    def converged(self):
        """Whether the draws kept so far meet the convergence limits."""
        return is_converged(*worst_diagnostics(*self.draws().values()))

    def result(self):
        n_chains = self.mu.shape[0]
        acceptance = {
            move: np.mean(rates, axis=0) if rates else np.full(n_chains, np.nan)
            for move, rates in self.accepted.items()
        }
        # Copies: views would keep the buffers of max_samples draws alive.
        return {**{name: np.ascontiguousarray(x) for name, x in self.draws().items()}, "acceptance": acceptance}


def _sample(model, data, prior, n_samples, n_warmup, n_chains, rng, progress, max_samples):
    targets = build_targets(model, data, prior)
    silent_targets = np.flatnonzero(data.n_events == 0)
    state = initial_state(model, data, targets, prior, n_chains, rng)
    tuning = start_at_the_mode(state, targets, rng)
    warmup = WarmUp(n_warmup, state, targets, tuning)
    recorder = Recorder(model, data, prior, targets, max_samples, state)
    disable = None if progress else True
    for it in tqdm(range(n_warmup + n_samples), disable=disable, desc="Hawkes MCMC"):
        moves = sweep(state, model, data, targets, prior, tuning, silent_targets, rng)
        if it < n_warmup:
            warmup.update(it, state, moves)
        else:
            recorder.record(it - n_warmup, state, moves, tuning, rng)
    while recorder.n_kept < max_samples and not recorder.converged():
        block = range(recorder.n_kept, min(recorder.n_kept + n_samples, max_samples))
        for k in tqdm(block, disable=disable, desc="Hawkes MCMC, longer chains"):
            moves = sweep(state, model, data, targets, prior, tuning, silent_targets, rng)
            recorder.record(k, state, moves, tuning, rng)
    return recorder.result()
