"""The chain state and the moves of one sweep of the Hawkes sampler.

Its own module because every move reads and updates one ``ChainState`` under one ``Tuning``,
which the warm-up sets and the run then keeps fixed.

One sweep, every move leaving the posterior invariant:

1. **HMC per target** (Metropolis-Hastings with the Hamiltonian's full ratio) on
   ``u = log theta``: positivity by construction, the Jacobian ``sum u`` in the density. All
   chains and targets move in one batch; each (chain, target) is accepted on its own, which
   is valid because targets are conditionally independent given beta. The trajectory uses
   float32 gradients (any deterministic gradient keeps the leapfrog map volume-preserving and
   reversible) and the acceptance the float64 density. Dense metric per target.
2. **Transfer moves** (random-walk Metropolis in ``theta``) along the principal axis of pairs
   of a target's parameters whose warm-up draws correlate below
   ``hawkes_warmup.TRANSFER_CORRELATION``: sources that can substitute for each other, or a
   source against the background. Such a ridge is straight in ``theta`` but curved in
   ``log theta``, where HMC crawls along it.
3. **Exact Gibbs draws**: a target with no events has a conjugate posterior (its likelihood is
   ``exp(-theta . c)``); the alphas of a source with no events have no likelihood and are
   drawn from the prior; identical sources (same spike trains, shared beta) are seen by the
   likelihood only through the sum of their alphas, whose split is Dirichlet.
4. **beta**: log-scale random-walk Metropolis (Jacobian included) during warm-up; after a
   warm-up of at least ``hawkes_warmup.MIN_WARMUP_INDEPENDENT`` sweeps, every decay is
   proposed independently from a Gaussian kernel density estimate of its own warm-up draws
   mixed with a wide normal (``LogBetaProposal``; full Hastings ratio). Per-pair betas move
   one source column at a time, accepted per target.
5. **Conjugate independence proposals** (optional, after warm-up; ``conjugate_columns``): for a
   few parameter columns chosen at random, every (chain, excited target) proposes its parameter
   afresh from ``Gamma(shape, rate + c)``, the prior times the parameter's compensator factor
   ``exp(-theta_p c)``. The proposal is that part of the conditional exactly, so the Hastings
   ratio is the ratio of the event terms alone. A weak alpha, whose events barely see it, is
   accepted nearly always and so drawn almost independently, where HMC on its log crawls.

The per-target densities are those of ``hawkes_targets``; the numbers of the prior come as one
``PriorRates``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from hawkes_inputs import segment_sums
from hawkes_targets import event_term, gradient_u, intensity, jacobian, log_likelihood, log_prior

# Leapfrog steps per HMC trajectory: uniform on 1 .. 2 N_LEAPFROG - 1, one draw per sweep for
# all chains and targets. A fixed length resonates with the period of some posterior direction
# (a half period maps x to about -x, so |x - median| barely moves and the folded R-hat fails);
# a uniform length decorrelates x and |x| alike. Each step is also jittered by U(1 -/+ j).
N_LEAPFROG = 6
THETA_ROUNDS = 2
STEP_JITTER = 0.2
# After a warm-up of at least hawkes_warmup.MIN_WARMUP_INDEPENDENT sweeps, each decay is
# proposed independently from a kernel density estimate of the second half of the warm-up's
# draws of its log (Gaussian kernels, Scott's bandwidth), mixed with weight DEFENSIVE_WEIGHT
# with a normal DEFENSIVE_SCALE times wider than the draws, so the proposal's tails stay
# heavier than the posterior's. A KDE follows the skewed posterior of log beta that a normal
# does not. For a pair whose alpha is near 0 the likelihood hardly sees its decay, whose
# posterior is then about the wide prior: a random walk crawls across it, the independence
# proposal jumps.
DEFENSIVE_WEIGHT = 0.1
DEFENSIVE_SCALE = 3.0


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
    comp: np.ndarray  # (C, D, S) kernel mass of source s inside the windows, outside target i's dead steps
    log_lik: np.ndarray  # (C, D) log-likelihood of each target


@dataclass(frozen=True)
class LogBetaProposal:
    """Independence proposal of log beta: a Gaussian KDE of warm-up draws and a wide normal.

    One proposal per decay: a shared beta's, or each pair's (``E = (D, D)``), every decay
    proposed from its own warm-up draws.
    """

    points: np.ndarray  # (n, *E) warm-up draws of log beta
    bandwidth: np.ndarray  # (*E)
    centre: np.ndarray  # (*E) mean and DEFENSIVE_SCALE x sd of the draws: the wide component
    wide: np.ndarray  # (*E)

    @classmethod
    def fit(cls, draws):
        """From warm-up draws of log beta, (n, *E)."""
        sd = draws.std(axis=0)
        return cls(
            points=draws,
            bandwidth=1.06 * sd * draws.shape[0] ** -0.2,
            centre=draws.mean(axis=0),
            wide=DEFENSIVE_SCALE * sd,
        )

    def column(self, j):
        """The proposal of the decays ``[:, j]`` of a per-pair proposal, ``E = (D,)``."""
        return LogBetaProposal(self.points[:, :, j], self.bandwidth[:, j], self.centre[:, j], self.wide[:, j])

    def draw(self, rng, size):
        """Proposals of shape ``size``, (..., *E). Random numbers: uniforms, indices, normals, each ``size``."""
        wide = rng.random(size) < DEFENSIVE_WEIGHT
        index = rng.integers(0, self.points.shape[0], size)
        near = np.take_along_axis(self._by_element(index.ndim), index[..., None], axis=-1)[..., 0]
        z = rng.standard_normal(size)
        return np.where(wide, self.centre + self.wide * z, near + self.bandwidth * z)

    def log_density(self, x):
        """Log proposal density at x, (..., *E)."""
        x = np.asarray(x, dtype=float)
        kde = logsumexp(
            -0.5 * ((x[..., None] - self._by_element(x.ndim)) / self.bandwidth[..., None]) ** 2, axis=-1
        ) - np.log(self.points.shape[0] * self.bandwidth)
        wide = -0.5 * ((x - self.centre) / self.wide) ** 2 - np.log(self.wide)
        return np.logaddexp(np.log1p(-DEFENSIVE_WEIGHT) + kde, np.log(DEFENSIVE_WEIGHT) + wide) - 0.5 * np.log(
            2 * np.pi
        )

    def _by_element(self, ndim):
        """The draws with the decays first, (1, ..., 1, *E, n): ``ndim`` + 1 axes."""
        points = np.moveaxis(self.points, 0, -1)
        return points.reshape((1,) * (ndim + 1 - points.ndim) + points.shape)


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
        energy = -(state.log_lik + log_prior(targets, state.theta) + jacobian(targets, state.theta))
        energy += 0.5 * (momentum**2).sum(axis=2)
        momentum = momentum + 0.5 * step * _whitened_force(tuning.chol, gradient_u(targets, u, state.h32, state.comp))
        for k in range(n_leapfrog):
            u = u + step * _leapfrog_drift(tuning.chol, momentum)
            force = _whitened_force(tuning.chol, gradient_u(targets, u, state.h32, state.comp))
            momentum = momentum + (0.5 if k == n_leapfrog - 1 else 1.0) * step * force
        theta_new = np.where(moving, np.exp(u), state.theta)
        log_lik_new = log_likelihood(targets, theta_new, state.h, state.comp)
        energy_new = -(log_lik_new + log_prior(targets, theta_new) + jacobian(targets, theta_new))
        energy_new += 0.5 * (momentum**2).sum(axis=2)
        log_ratio = np.where(np.isfinite(energy_new), energy - energy_new, -np.inf)
    accepted = (np.log(uniform) < log_ratio) & moving.any(axis=1)
    state.theta[accepted] = theta_new[accepted]
    state.log_lik[accepted] = log_lik_new[accepted]
    return accepted, np.exp(np.minimum(log_ratio, 0.0))


# ---------------------------------------------------------------------- transfer moves
def transfer_move(state, targets, tuning, rng, prior_density=None):
    """Random-walk Metropolis along each chosen pair's principal axis in theta.

    For slot ``q`` every target with a pair there proposes ``theta[p] + z a_p``,
    ``theta[r] + z a_r`` (``(p, r) = pairs[i, q]``, ``a = pair_axis[i, q]``,
    ``z ~ N(0, exp(pair_log_step)^2)``): symmetric, so the ratio is the posterior ratio; a
    negative proposal is rejected. ``prior_density(theta)`` -> (C, D) is the log prior density
    (default: the targets' Gamma priors, ``log_prior``). Random numbers per slot: normals (C, D),
    uniforms (C, D).

    Returns
    -------
    ndarray of bool, shape (C, D, Q)
        Acceptance indicators (False where a target has no pair in the slot).
    """
    n_chains, n_dims = state.theta.shape[:2]
    accepted = np.zeros((n_chains, n_dims, tuning.pairs.shape[1]), dtype=bool)
    rows = np.arange(n_dims)
    prior_density = prior_density or (lambda theta: log_prior(targets, theta))
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
            log_ratio = log_lik_new + prior_density(theta_new) - state.log_lik - prior_density(state.theta)
            acc = valid & (np.log(uniform) < log_ratio)
        state.theta[acc] = theta_new[acc]
        state.log_lik[acc] = log_lik_new[acc]
        accepted[:, :, q] = acc
    return accepted


# ---------------------------------------------------------------------- exact Gibbs draws
def compensator_coefficients(state, targets):
    """Each parameter's factor in its target's compensator: ``int b_i`` for mu, the source's
    compensator mass for alpha, so that the compensator is ``theta . c``. Shape (C, D, P)."""
    n_chains, n_dims = state.theta.shape[:2]
    base = np.broadcast_to(targets.base_mass[None, :, None], (n_chains, n_dims, 1))
    return np.concatenate([base, state.comp], axis=2)


def gibbs_silent_targets(state, targets, silent, rng):
    """Draw the parameters of targets without events from their conjugate posterior.

    Such a target's likelihood is ``exp(-theta . c)``, so each free parameter is
    ``Gamma(shape, rate + c)`` given the rest (``c``: ``int b_i`` for mu, the compensator
    mass of the source for alpha). Updates ``state.theta`` and ``state.log_lik`` of ``silent``.
    """
    if silent.size == 0:
        return
    coef = compensator_coefficients(state, targets)[:, silent]  # (C, n_silent, P)
    # The priors as (C, n_silent, P), whether given per chain or not.
    shape, rate = (np.broadcast_to(x, state.theta.shape)[:, silent] for x in (targets.shape, targets.rate))
    draws = rng.gamma(shape, 1.0 / (rate + coef)) * targets.free[silent]
    state.theta[:, silent] = draws
    state.log_lik[:, silent] = -(draws * coef).sum(axis=2)


def conjugate_move(state, targets, n_columns, rng):
    """Independence Metropolis-Hastings on ``n_columns`` random parameter columns (move 5).

    For each chosen column ``p`` in turn, every (chain, excited target) with a free parameter
    there proposes ``theta_p' ~ Gamma(shape_p, rate_p + c_p)`` (``c_p``: ``int b_i`` for mu, the
    source's compensator mass for alpha). Given the rest, the target's density is
    ``theta_p^(shape - 1) exp(-(rate + c) theta_p) prod_n F(lambda_n)`` over its events, so the
    Hastings ratio is ``prod_n F(lambda_n') / F(lambda_n)``, each event's intensity moving by
    ``(theta_p' - theta_p) x_np``. Random numbers: the columns, then per column gamma draws
    (C, D) and uniforms (C, D). Updates ``state.theta`` and ``state.log_lik``.

    Returns
    -------
    accepted : ndarray of bool, shape (C, D, P)
        Acceptance indicators (False where nothing was proposed).
    proposed : ndarray of bool, shape (D, P)
        Where every chain proposed: the chosen columns' free parameters of excited targets.
    """
    n_chains, n_dims, n_params = state.theta.shape
    accepted = np.zeros(state.theta.shape, dtype=bool)
    proposed = np.zeros((n_dims, n_params), dtype=bool)
    excited = np.zeros(n_dims, dtype=bool)
    excited[targets.excited] = True
    columns = rng.choice(n_params, size=min(n_columns, n_params), replace=False)
    coefs = compensator_coefficients(state, targets)  # beta fixed here, so these stay put
    lam = intensity(targets, state.theta, state.h)  # (C, N)
    terms = event_term(targets, lam)
    for p in columns:
        coef = coefs[:, :, p]
        proposal = rng.gamma(targets.shape[..., p], 1.0 / (targets.rate[..., p] + coef))  # (C, D)
        uniform = rng.random((n_chains, n_dims))
        moving = targets.moving[:, p] & excited
        step = np.where(moving, proposal - state.theta[:, :, p], 0.0)  # (C, D)
        x = targets.base if p == 0 else state.h[:, p - 1]  # (N,) or (C, N): d lambda / d theta_p
        lam_new = lam + step[:, targets.dim] * x
        terms_new = event_term(targets, lam_new)
        log_ratio = segment_sums(terms_new - terms, targets.start)  # (C, D); -inf where an intensity hits 0
        acc = moving & (np.log(uniform) < log_ratio)
        state.theta[:, :, p] = np.where(acc, proposal, state.theta[:, :, p])
        state.log_lik += np.where(acc, log_ratio - step * coef, 0.0)
        at_events = acc[:, targets.dim]
        lam = np.where(at_events, lam_new, lam)
        terms = np.where(at_events, terms_new, terms)
        accepted[:, :, p] = acc
        proposed[:, p] = moving
    return accepted, proposed


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
        comp = np.repeat(comp[:, None, data.sources], data.n_dims, axis=1)
        dead = model._dead_mass(data, beta, h)
        return h, comp if dead is None else comp - dead
    h, comp = model._all_stats(data, beta)  # comp (C, D, D), dead steps left out
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
    """Metropolis-Hastings on ``beta[:, :, j]`` on the log scale, one source at a time.

    A random walk with steps ``exp(tuning.beta_log_step)`` until ``tuning.beta_independent``
    is set, then an independence proposal from each decay's own part of it (the ratio gains
    ``q(current) / q(proposal)``). The ``D`` decays of one source are proposed together and
    accepted per target, since the likelihood factorises over targets. Decays of sources
    without events have no likelihood and are drawn from the prior. Random numbers per source:
    the proposal's (normals (C, D) for the walk), then uniforms (C, D); then the prior draws
    (C, D, n_silent).

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
        if tuning.beta_independent is None:
            log_proposal = log_beta + np.exp(tuning.beta_log_step[:, :, j]) * rng.standard_normal((n_chains, n_dims))
            log_q_ratio = 0.0
        else:
            q = tuning.beta_independent.column(j)
            log_proposal = q.draw(rng, (n_chains, n_dims))
            log_q_ratio = q.log_density(log_beta) - q.log_density(log_proposal)
        uniform = rng.random((n_chains, n_dims))
        h_new, comp_new = model._stats_pair_column(data, np.exp(log_proposal), s)  # (C, N), (C, D)
        alpha_ev = np.repeat(state.theta[:, :, 1 + s], data.n_events, axis=1)  # (C, N)
        lam_new = lam + alpha_ev * (h_new - state.h[:, s])
        term_new = event_term(targets, lam_new)
        with np.errstate(invalid="ignore"):
            delta = segment_sums(term_new - term, targets.start) - state.theta[:, :, 1 + s] * (
                comp_new - state.comp[:, :, s]
            )  # (C, D)
            log_ratio = (
                delta
                + log_q_ratio
                - ((log_proposal - prior.log_beta_mean) ** 2 - (log_beta - prior.log_beta_mean) ** 2)
                / (2 * prior.log_beta_sd**2)
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


# ---------------------------------------------------------------------- one sweep
@dataclass
class SweepMoves:
    """Acceptance of the moves of one sweep."""

    hmc: np.ndarray  # (C, D) mean over the sweep's HMC trajectories
    accept_prob: np.ndarray  # (C, D) their mean acceptance probability
    transfer: np.ndarray | None  # (C, D, Q) mean over the sweep's transfer moves; None before pairs exist
    beta: np.ndarray  # (C,) or (C, D, D)
    conjugate: tuple | None = None  # conjugate_move's (accepted, proposed); None when it did not run


def sweep(state, model, data, targets, prior, tuning, silent_targets, rng, conjugate_columns=0):
    """One sweep: ``THETA_ROUNDS`` x (HMC, transfer moves), conjugate draws, then beta.

    beta costs a pass of kernel sums over every event, the other moves only products with
    them, so theta gets more than one round per beta move. With ``conjugate_columns`` > 0,
    ``conjugate_move`` on that many columns follows the conjugate draws.
    """
    hmc, transfer = [], []
    for _ in range(THETA_ROUNDS):
        hmc.append(hmc_move(state, targets, tuning, rng))
        if tuning.pairs is not None:
            transfer.append(transfer_move(state, targets, tuning, rng))
    gibbs_silent_targets(state, targets, silent_targets, rng)
    conjugate = conjugate_move(state, targets, conjugate_columns, rng) if conjugate_columns else None
    move_beta = beta_move_pair if model.beta_kind == "pair" else beta_move_shared
    accepted_beta = move_beta(state, model, data, targets, prior, tuning, rng)
    return SweepMoves(
        hmc=np.mean([a for a, _ in hmc], axis=0),
        accept_prob=np.mean([p for _, p in hmc], axis=0),
        transfer=np.mean(transfer, axis=0) if transfer else None,
        beta=accepted_beta,
        conjugate=conjugate,
    )
