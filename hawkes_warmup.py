"""The warm-up of the Hawkes sampler: dispersed starts, the mode, and adaptation.

Its own module because all of it runs before the first kept draw and none of it after: it builds
the starting ``ChainState`` and the ``Tuning`` that the moves of ``hawkes_moves`` then keep.

Warm-up (discarded): dispersed starts, moved to the conditional mode of each target by damped
Newton steps in ``u``; the Laplace covariance there is the first metric. Step sizes adapt by
dual averaging (Hoffman & Gelman 2014), the dense metric is re-estimated from the draws of
three windows (each chain's draws about their own mean, shrunk towards the first metric), the
transfer pairs are chosen from the second; nothing adapts after warm-up.
"""

import numpy as np

from hawkes_moves import ChainState, LogBetaProposal, Tuning, kernel_statistics
from hawkes_targets import jacobian, log_likelihood, log_prior, score_and_fisher

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
MIN_WARMUP_INDEPENDENT = 100  # shorter warm-ups keep the random walk of beta
LAPLACE_DRAWS = 10  # weight of the first metric, in draws, in each re-estimated one


# ---------------------------------------------------------------------- starts
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
        score, fisher = score_and_fisher(targets, theta, state.h, state.comp)
        score -= targets.rate
        curv_u = theta[..., :, None] * fisher * theta[..., None, :]
        if step_no == n_steps:
            return np.where(both, curv_u + eye * targets.shape[..., None, :], eye)
        grad_u = (theta * score + targets.shape) * moving
        lhs = np.where(both, curv_u + eye * (np.abs(theta * score) + 1e-12)[..., None], eye)
        move = np.clip(np.linalg.solve(lhs, grad_u[..., None])[..., 0], -NEWTON_MAX_MOVE, NEWTON_MAX_MOVE)
        with np.errstate(divide="ignore"):
            u = np.log(np.where(moving, theta, 1.0))
        current = state.log_lik + log_prior(targets, theta) + jacobian(targets, theta)
        shrink = np.ones(theta.shape[:2])
        pending = np.broadcast_to(moving.any(axis=1), theta.shape[:2]).copy()
        for _ in range(30):  # step halving, vectorised over (chain, target)
            trial = np.where(moving, np.exp(u + shrink[..., None] * move), theta)
            trial_lik = log_likelihood(targets, trial, state.h, state.comp)
            better = trial_lik + log_prior(targets, trial) + jacobian(targets, trial) >= current
            take = pending & better
            state.theta[take] = trial[take]
            state.log_lik[take] = trial_lik[take]
            pending &= ~better
            if not pending.any():
                break
            shrink = np.where(pending, shrink / 2, shrink)


# ---------------------------------------------------------------------- adaptation
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


def metric_from_draws(u_draws, moving, laplace):
    """Cholesky factor of each target's covariance of ``u`` from a window's draws, (D, P, P).

    ``u_draws``: (n, C, D, P), n sweeps of C chains; ``laplace``: (D, P, P), the first metric's
    covariance. Each chain's draws are taken about their own mean: chains that have not yet
    met would otherwise stretch the metric along the line between them, which the next window,
    run under it, then barely explores across. The covariance is then shrunk towards
    ``laplace`` with the weight of ``LAPLACE_DRAWS`` draws, so that it is positive definite,
    and a window in which a target hardly moved cannot collapse its metric.
    """
    n_sweeps, n_chains = u_draws.shape[:2]
    centred = u_draws - u_draws.mean(axis=0)
    n = n_sweeps * n_chains
    cov = np.einsum("ncdp,ncdq->dpq", centred, centred) / max(n - n_chains, 1)
    return cholesky_on((n * cov + LAPLACE_DRAWS * laplace) / (n + LAPLACE_DRAWS), moving)


def cholesky_on(cov, moving):
    """Cholesky factor of ``cov`` restricted to the moving parameters (zero elsewhere)."""
    both = moving[:, :, None] & moving[:, None, :]
    safe = np.where(both, cov, np.eye(cov.shape[-1]))
    return np.linalg.cholesky(safe) * both


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


class WarmUp:
    """Everything that adapts, and when; nothing changes after ``n_warmup`` sweeps.

    Each sweep, the HMC steps follow dual averaging and the random-walk steps of beta and of
    the transfer pairs a Robbins-Monro rule towards ``TARGET_ACCEPTANCE_WALK``. At the ends of
    three windows (a quarter, half and three quarters of the warm-up) the metric becomes the
    covariance of the second half of the window's draws of ``u`` (``metric_from_draws``) and
    dual averaging restarts;
    at the second, the transfer pairs are chosen from the same draws. At the end, the steps
    take their averaged values and beta switches to the independence proposal.
    Warm-ups shorter than ``MIN_WARMUP_WINDOWS`` keep the starting metric and have no pairs.
    """

    def __init__(self, n_warmup, state, targets, tuning):
        self.n_warmup, self.targets, self.tuning = n_warmup, targets, tuning
        self.windows = [] if n_warmup < MIN_WARMUP_WINDOWS else [n_warmup // 4, n_warmup // 2, 3 * n_warmup // 4]
        self.steps = StepAdaptation(tuning.step)
        self.laplace = tuning.chol @ np.swapaxes(tuning.chol, -1, -2)  # (D, P, P), the first metric
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
            window = self.u[(begin + it + 1) // 2 : it + 1]  # (n, C, D, P)
            tuning.chol = metric_from_draws(window, targets.moving, self.laplace)
            self.steps.restart(self.steps.final())
            tuning.step = np.where(hmc_targets, self.steps.final(), tuning.step)
            if k == 1:
                pooled = window.reshape((-1,) + state.theta.shape[1:])  # chains pooled
                tuning.pairs, tuning.pair_axis = choose_pairs(np.exp(pooled) * targets.moving, targets)
                tuning.pair_log_step = np.zeros(tuning.pairs.shape[:2])
                self.pairs_since = it
        if it == self.n_warmup - 1:
            tuning.step = np.where(hmc_targets, self.steps.final(), tuning.step)
            settled = self.log_beta[self.n_warmup // 2 :].reshape((-1,) + state.beta.shape[1:])  # chains pooled
            if self.n_warmup >= MIN_WARMUP_INDEPENDENT and (settled.std(axis=0) > 0).all():
                tuning.beta_independent = LogBetaProposal.fit(settled)
