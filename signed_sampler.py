"""The signed Hawkes model's sampler (``fit_signed``): HMC of every target given the decay, and
optionally a move that samples the decay; the model, its likelihood and mode are
``signed_hawkes.py``.

By default beta is not sampled: it is fixed at the joint posterior mode's (``find_mode``: the
profile posterior of ``log beta``, every target at its mode), or at a decay the caller knows, so
the draws are of the couplings given that decay. A random walk on beta alone stalled here: where
beta dt is far above 1 or far below it the kernel barely changes with beta (one step's delay, or a
slow count of every spike so far), and chains that strayed there stayed. ``sample_beta`` samples
it by a move that carries the couplings along with the decay (``beta_move``).

Every target's ``theta_i = (m_i, w[i, :], h[i, :])`` moves by HMC with a dense metric, all chains
and targets in one batch, each (chain, target) accepted on its own, valid because the targets are
independent given beta. Warm-up (discarded): every target's mode and Laplace covariance there (the
first metric), starts drawn from that Laplace approximation, step sizes adapted per chain and
target by dual averaging, the metric re-estimated once from the draws of the warm-up's second
quarter; nothing adapts after warm-up. As in ``hawkes_sampler``, while the draws miss the
convergence limits the same chains run on.
"""

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from hawkes_warmup import LAPLACE_DRAWS, MIN_WARMUP_WINDOWS, StepAdaptation
from mcmc_diagnostics import is_converged, summarise_draws, worst_diagnostics
from signed_hawkes import (
    SignedPrior,
    coupling_inputs,
    design,
    find_mode,
    laplace_marginal,
    log_beta_prior,
    log_posterior_and_gradient,
    mode_given_beta,
    prior_centre,
    search_log_beta,
    split_theta,
    target_hessians,
)

N_LEAPFROG = 3  # mean leapfrog steps per HMC trajectory (uniform on 1 .. 2 N - 1): the dense metric
# makes the posterior near round, and a step near 1 then travels about half its period in three
START_SPREAD = 1.0  # the starts: draws from the Laplace approximation at the mode
RIDGE_SPAN = 3  # the ridge of modes is computed at log beta's marginal mode +- 0, 1, .., 3 of its sd
RIDGE_STEP = 1.0  # the first step of log beta's random walk along the ridge, in the marginal's sd
BETA_ACCEPTANCE = 0.44  # the warm-up adapts each chain's step of log beta towards this acceptance
CURVATURE_DELTA = 0.05  # of log beta, in the finite difference of the marginal's curvature


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
        value, cache["theta"], _ = laplace_marginal(log_beta, data, prior, cache["theta"])
        return -value

    centre = search_log_beta(negative_marginal, data, prior)
    at_centre = laplace_marginal(centre, data, prior, cache["theta"])
    below, above = (
        laplace_marginal(centre + d, data, prior, cache["theta"])[0] for d in (-CURVATURE_DELTA, CURVATURE_DELTA)
    )
    curvature = (below - 2 * at_centre[0] + above) / CURVATURE_DELTA**2
    sd = 1 / np.sqrt(-curvature) if curvature < 0 else prior.beta_log_sd
    offsets = np.arange(-RIDGE_SPAN, RIDGE_SPAN + 1)
    grid = centre + offsets * sd
    points = {0: at_centre[1:]}
    for k in (*range(1, RIDGE_SPAN + 1), *range(-1, -RIDGE_SPAN - 1, -1)):  # outwards from the centre
        points[k] = laplace_marginal(grid[k + RIDGE_SPAN], data, prior, points[k - np.sign(k)][0])[1:]
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
        new = logp.sum(axis=1) + log_beta_prior(proposal, data, prior) + log_jacobian
        old = chains.logp.sum(axis=1) + log_beta_prior(chains.log_beta, data, prior)
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
        mode, _ = mode_given_beta(float(beta), data, prior, prior_centre(data, prior)[0])
    if sample_beta:
        chains, kernel, laplace = _start_on_ridge(mode, data, prior, n_chains, rng)
    else:
        chains, kernel, laplace = _start_at_mode(mode, beta, data, prior, n_chains, rng)
    _warm_up(chains, kernel, laplace, data, prior, n_warmup, rng)
    return _draw(chains, kernel, data, prior, n_samples, max_samples, beta, rng)


@dataclass
class _Kernel:
    """What one sweep needs besides the chains: the HMC metric's Cholesky factors ``chol`` (D, P, P)
    and steps ``step`` (C, D); where beta is sampled, the ridge ``(grid, path, spread)`` (``ridge``)
    and each chain's step of ``log beta`` (C,). The warm-up adapts them; the draws keep them."""

    chol: np.ndarray
    step: np.ndarray
    ridge_parts: tuple | None = None
    beta_step: np.ndarray | None = None

    def sweep(self, chains, data, prior, rng):
        """HMC of every target given beta, then beta along the ridge where sampled; the acceptance
        probabilities (C, D) and (C,) or None."""
        accept_hmc = hmc_move(chains, data, prior, self.chol, self.step, rng)
        if self.ridge_parts is None:
            return accept_hmc, None
        return accept_hmc, beta_move(chains, data, prior, self.ridge_parts, self.beta_step, rng)


def _start_at_mode(mode, beta, data, prior, n_chains, rng):
    """Chains at the fixed ``beta``, started from the Laplace approximation at its ``mode``
    (D, P); the chains, their kernel and the Laplace covariance (D, P, P)."""
    inputs = design(coupling_inputs(data.spikes, np.array([beta]), data.dt))
    laplace = np.linalg.inv(target_hessians(mode, inputs[0, :, : mode.shape[0]], data, prior))
    chol = _metric_factor(laplace, data.free)
    z = rng.standard_normal((n_chains, *mode.shape))
    start = mode + START_SPREAD * np.einsum("dpq,cdq->cdp", chol, z)
    inputs = np.broadcast_to(inputs, (n_chains, *inputs.shape[1:]))
    chains = _started_chains(start, mode, np.full(n_chains, np.log(beta)), inputs, data, prior)
    return chains, _Kernel(chol, np.full(start.shape[:2], 0.5)), laplace


def _start_on_ridge(mode, data, prior, n_chains, rng):
    """Chains started about the ridge's centre (``ridge``, searched from the joint ``mode``),
    spread along it as well, each with its decay's inputs; the chains, their kernel and the
    Laplace covariance (D, P, P) at the centre."""
    z = rng.standard_normal((n_chains, *mode.shape))
    grid, path, spread, sd = ridge(mode, data, prior)
    log_beta = grid[RIDGE_SPAN] + START_SPREAD * sd * rng.standard_normal(n_chains)
    anchor = ridge_point(log_beta, grid, path)
    start = anchor + START_SPREAD * np.einsum("cdpq,cdq->cdp", ridge_point(log_beta, grid, spread), z * data.free)
    laplace = np.einsum("dpq,drq->dpr", spread[RIDGE_SPAN], spread[RIDGE_SPAN])
    inputs = design(coupling_inputs(data.spikes, np.exp(log_beta), data.dt))
    chains = _started_chains(start, anchor, log_beta, inputs, data, prior)
    kernel = _Kernel(
        _metric_factor(laplace, data.free),
        np.full(start.shape[:2], 0.5),
        (grid, path, spread),
        np.full(n_chains, RIDGE_STEP * sd),
    )
    return chains, kernel, laplace


def _started_chains(start, anchor, log_beta, inputs, data, prior):
    """``_Chains`` at ``start`` (C, D, P), or at ``anchor`` where the start makes a spike impossible."""
    logp, _ = log_posterior_and_gradient(start, inputs, data, prior)
    return _Chains(np.where(np.isfinite(logp)[..., None], start, anchor), log_beta, inputs, data, prior)


def _warm_up(chains, kernel, laplace, data, prior, n_warmup, rng):
    """``n_warmup`` discarded sweeps that adapt ``kernel``: HMC steps per chain and target by dual
    averaging, the metric re-estimated once from the draws of the second quarter (about the ridge's
    point at each draw's decay where beta is sampled) and shrunk to ``laplace``, and the steps of
    ``log beta`` by Robbins-Monro towards ``BETA_ACCEPTANCE``."""
    adapt = StepAdaptation(kernel.step)
    kernel.step = adapt.final()
    quarter = n_warmup // 4
    window = []
    for it in range(n_warmup):
        accept_hmc, accept_beta = kernel.sweep(chains, data, prior, rng)
        kernel.step = adapt.update(accept_hmc)
        if kernel.ridge_parts is not None:
            kernel.beta_step = kernel.beta_step * np.exp((accept_beta - BETA_ACCEPTANCE) / np.sqrt(it + 1))
        if quarter <= it < 2 * quarter:
            window.append(chains.theta - _ridge_path(chains.log_beta, kernel.ridge_parts))
        if n_warmup >= MIN_WARMUP_WINDOWS and it == 2 * quarter - 1:  # each chain about its own mean
            draws = np.stack(window, axis=1)  # (C, Q, D, P)
            centred = (draws - draws.mean(axis=1, keepdims=True)).reshape(-1, *laplace.shape[:2])
            n = len(centred) - len(draws)
            cov = np.einsum("ndp,ndq->dpq", centred, centred) / n
            kernel.chol = _metric_factor((n * cov + LAPLACE_DRAWS * laplace) / (n + LAPLACE_DRAWS), data.free)
            adapt.restart(adapt.final())
    kernel.step = adapt.final()


def _ridge_path(log_beta, ridge_parts):
    """The ridge's modes at each chain's ``log_beta`` (C, D, P); 0 where beta is fixed."""
    if ridge_parts is None:
        return 0.0
    grid, path, _ = ridge_parts
    return ridge_point(log_beta, grid, path)


def _draw(chains, kernel, data, prior, n_samples, max_samples, beta, rng):
    """Rounds of ``n_samples`` kept sweeps, until the draws converge or reach ``max_samples``; the
    ``SignedPosterior``, with the fixed decay ``beta`` in every draw where beta is not sampled."""
    n_chains, n_dims = chains.theta.shape[:2]
    sampled = kernel.ridge_parts is not None
    kept, kept_log_beta, accepted, accepted_beta = [], [], np.zeros(n_chains), np.zeros(n_chains)
    while True:
        for _ in range(n_samples):
            accept_hmc, accept_beta = kernel.sweep(chains, data, prior, rng)
            accepted += accept_hmc.mean(axis=1)
            kept.append(chains.theta)
            if sampled:
                accepted_beta += accept_beta
                kept_log_beta.append(chains.log_beta)
        m, w, h = split_theta(np.stack(kept, axis=1), n_dims)  # (C, S, ...)
        acceptance = {"hmc": accepted / len(kept)}
        if sampled:
            acceptance["beta"] = accepted_beta / len(kept)
            betas = np.exp(np.stack(kept_log_beta, axis=1))
        else:
            betas = np.full(m.shape[:2], beta)
        post = SignedPosterior(m, w, h, betas, acceptance, data.free, sampled)
        if len(kept) + n_samples > max(max_samples or 0, n_samples) or is_converged(*post.diagnostics()):
            return post
