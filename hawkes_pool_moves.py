"""The pooled fit's moves that carry a group's alphas along with the pair means or the
hyperparameters, and its jumps between two sources of one target.

Where the data say little about an alpha, it sits where its prior puts it, and its prior's
parameters (the pair's mean m_ij, the shared shape k, the scale b) sit where those alphas put
them: moves of either given the other crawl. Each of the first three moves proposes both
together, so that the alphas keep their place in their prior, and needs the groups' likelihood
ratio and only the prior terms that the map does not cancel: ``scale_move`` a pair's mean with
its alphas, ``carried_k_move`` and ``carried_b_move`` the shared k and b with every alpha.
``resplit_move`` hands a target's drive from one source to another that can stand in for it
(``hawkes_partial_pooling`` runs them all; its docstring gives the model).
"""

import numpy as np
from scipy.special import gammainc, gammaincc, gammainccinv, gammaincinv

from hawkes_inputs import segment_sums
from hawkes_moves import compensator_coefficients
from hawkes_targets import event_term, intensity, log_likelihood

# Standard deviation of the log factor by which a resplit also scales the pair's summed drive.
# Where two sources stand in for each other, the ends of the ridge rarely carry the same
# compensator: one source's alpha must also make up for the events it explains less well.
RESPLIT_LOG_SCALE_SD = 0.25


def scale_move(chains, observed, m, b, prior, log_step, rng):
    """Joint log-scale moves of each pair's mean with its observed alphas (in place; ``observed``
    from ``observed_mask``); the accepted and proposed counts.

    Given m, a pair's alphas are held near m_ij by their prior; given the alphas, m_ij is held
    near them: a pair whose alpha sits near 0 with a small m (the typical pair's) leaves only
    by many small steps, the funnel of a hierarchical prior. Here, source column by column,
    every (chain, target i) proposes ``m_ij`` and every observed ``alpha_g[i, j]`` times one
    factor ``exp(eps)``, ``eps ~ Normal(0, exp(log_step))``. Their priors and the Jacobian
    ``exp((n_ij + 1) eps)`` change the log density by ``-m_shape eps + b (1 - exp(-eps)) / m_ij``;
    each group's likelihood by its event terms and compensator (the event terms as
    ``hawkes_moves.conjugate_move`` updates them). Random numbers per column: normals (C, D),
    then uniforms (C, D).

    Returns
    -------
    accepted : ndarray, shape (C,)
        Each chain's accepted proposals.
    proposed : int
        Each chain's proposals: the pairs some group observes.
    """
    lams = [intensity(g.targets, g.state.theta, g.state.h) for g in chains]
    terms = [event_term(g.targets, lam) for g, lam in zip(chains, lams)]
    coefs = [compensator_coefficients(g.state, g.targets) for g in chains]
    accepted, proposed = np.zeros(m.shape[0]), 0
    for j in range(m.shape[1]):
        eps = np.exp(log_step) * rng.standard_normal(m.shape[:2])  # (C, D)
        uniform = rng.random(m.shape[:2])
        seen = observed[:, :, j].any(axis=0)  # (D,)
        if not seen.any():
            continue
        log_ratio = np.where(seen, -prior.m_shape * eps - b[:, None] * np.expm1(-eps) / m[:, :, j], 0.0)
        changes = {}
        for g, group in enumerate(chains):
            if observed[g, :, j].any():
                p = 1 + int(np.searchsorted(group.data.sources, j))
                step = np.where(observed[g, :, j], group.state.theta[:, :, p] * np.expm1(eps), 0.0)  # (C, D)
                lam_new = lams[g] + step[:, group.targets.dim] * group.state.h[:, p - 1]
                terms_new = event_term(group.targets, lam_new)
                change = segment_sums(terms_new - terms[g], group.targets.start) - step * coefs[g][:, :, p]
                log_ratio = log_ratio + change
                changes[g] = (p, step, change, lam_new, terms_new)
        take = seen & (np.log(uniform) < log_ratio)
        m[:, :, j] = np.where(take, m[:, :, j] * np.exp(eps), m[:, :, j])
        for g, (p, step, change, lam_new, terms_new) in changes.items():
            state, at_events = chains[g].state, take[:, chains[g].targets.dim]
            state.theta[:, :, p] += np.where(take, step, 0.0)
            state.log_lik += np.where(take, change, 0.0)
            lams[g] = np.where(at_events, lam_new, lams[g])
            terms[g] = np.where(at_events, terms_new, terms[g])
        accepted += take.sum(axis=1)
        proposed += int(seen.sum())
    return accepted, proposed


def accept_alphas(chains, observed, alphas, log_ratio, uniform):
    """Accept each chain's proposal of every group's observed alphas (in place); which chains took it.

    ``alphas``: per group, the proposed alphas (C, D, S) of its sources; ``log_ratio`` (C,): the
    proposal's log acceptance ratio but for the groups' likelihoods, which are added here.
    """
    proposals = []
    for g, (group, alpha) in enumerate(zip(chains, alphas)):
        state = group.state
        theta = state.theta.copy()
        theta[..., 1:] = np.where(observed[g][:, group.data.sources], alpha, state.theta[..., 1:])
        with np.errstate(divide="ignore", invalid="ignore"):  # a failed proposal: NaN, rejected
            log_lik = log_likelihood(group.targets, theta, state.h, state.comp)
        log_ratio = log_ratio + (log_lik - state.log_lik).sum(axis=1)
        proposals.append((theta, log_lik))
    take = np.log(uniform) < log_ratio  # NaN compares False
    for group, (theta, log_lik) in zip(chains, proposals):
        group.state.theta[take], group.state.log_lik[take] = theta[take], log_lik[take]
    return take


def quantile_map(alpha, mean, k, k_new):
    """Each alpha moved to its quantile of ``Gamma(k, rate k / mean)`` under ``Gamma(k_new, rate k_new / mean)``.

    ``alpha_new = mean / k_new * P^-1(k_new, P(k, alpha k / mean))``, P the regularised lower
    incomplete gamma function, or through the upper one where it is the nearer tail, so that the
    map inverts to rounding. Arrays broadcast together; NaN where an alpha is 0 or not finite.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        x = alpha * k / mean
        lower = gammainc(k, x)
        x_new = np.where(lower < 0.5, gammaincinv(k_new, lower), gammainccinv(k_new, gammaincc(k, x)))
        return np.where(alpha > 0, x_new * mean / k_new, np.nan)


def carried_k_move(chains, observed, m, v, prior, log_step, rng):
    """A random-walk step of v = log(k - 1) that carries every observed alpha with it (in place).

    Given the alphas, the walks of ``move_hyper`` draw k nearly afresh; but where the data say
    little, an alpha sits where its prior ``Gamma(k, k / m_ij)`` puts it, the prior follows k, and
    k and those alphas hold each other. Here each chain proposes ``v' = v + eps`` and moves every
    observed alpha to the same quantile of its prior under ``k'`` (``quantile_map``); m is held.
    The alphas' prior ratio and the map's Jacobian cancel, so the acceptance ratio is every
    group's likelihood ratio times v's prior ratio (a non-centred update). Random numbers:
    normals (C,), uniforms (C,).

    Returns the new v (C,) and which chains moved (C,) bool.
    """
    v_new = v + np.exp(log_step) * rng.standard_normal(v.shape)
    uniform = rng.random(v.shape)
    k, k_new = (1.0 + np.exp(x)[:, None, None] for x in (v, v_new))
    alphas = [quantile_map(group.state.theta[..., 1:], m[:, :, group.data.sources], k, k_new) for group in chains]
    log_ratio = -0.5 * (v_new**2 - v**2) / prior.v_sd**2
    take = accept_alphas(chains, observed, alphas, log_ratio, uniform)
    return np.where(take, v_new, v), take


def carried_b_move(chains, observed, m, log_b, prior, log_step, rng):
    """A random-walk step of log b that scales every pair mean and every observed alpha with it
    (in place on ``m`` and the groups' states).

    m given b and the alphas given m are scale families: multiplying b, every m_ij and every
    observed alpha by one factor ``c = exp(eps)`` keeps each at its quantile, their prior ratios
    cancel the Jacobian, and the acceptance ratio is every group's likelihood ratio times that of
    b's exponential prior with the Jacobian of log b. Random numbers: normals (C,), uniforms (C,).

    Returns the new log b (C,) and which chains moved (C,) bool.
    """
    eps = np.exp(log_step) * rng.standard_normal(log_b.shape)
    uniform = rng.random(log_b.shape)
    scale = np.exp(eps)[:, None, None]
    alphas = [group.state.theta[..., 1:] * scale for group in chains]
    log_ratio = eps - np.exp(log_b) * np.expm1(eps) / prior.b_mean
    take = accept_alphas(chains, observed, alphas, log_ratio, uniform)
    m[take] *= scale[take]
    return np.where(take, log_b + eps, log_b), take


def resplit_move(state, targets, tuning, rng, prior_density):
    """Each chosen pair of alphas given a fresh split of the drive they carry together (in place;
    ``prior_density(theta)`` -> (C, D) as for ``hawkes_moves.transfer_move``).

    Where two sources can stand in for each other, the posterior can put a target's drive on
    either, with a valley between: a random walk along the ridge (the transfer move) crosses it
    rarely. For slot ``q`` every target with a pair of alphas ``(p, r) = pairs[i, q]`` takes their
    compensator ``S = theta_p c_p + theta_r c_r`` (``c``: ``compensator_coefficients``, fixed
    while beta is) and proposes ``theta_p' = t S' / c_p``, ``theta_r' = (1 - t) S' / c_r`` with
    ``t ~ U(0, 1)`` and ``log S' ~ Normal(log S, RESPLIT_LOG_SCALE_SD)``: a fresh split of a
    drive near the present one. In the coordinates ``(log S, t)`` the proposal is symmetric, and
    the density there is the posterior's times the Jacobian ``S^2 / (c_p c_r)``, so the
    acceptance ratio is the posterior's times ``(S' / S)^2``. Random numbers per slot: uniforms
    (C, D) for t, uniforms (C, D), then, where a target has a pair of alphas, normals (C, its
    number).

    Returns
    -------
    ndarray of bool, shape (C, D, Q)
        Acceptance indicators (False where a target has no pair of alphas in the slot).
    """
    n_chains, n_dims = state.theta.shape[:2]
    coef = compensator_coefficients(state, targets)
    accepted = np.zeros((n_chains, n_dims, tuning.pairs.shape[1]), dtype=bool)
    rows = np.arange(n_dims)
    for q in range(tuning.pairs.shape[1]):
        split, uniform = rng.random((n_chains, n_dims)), rng.random((n_chains, n_dims))
        has = (tuning.pairs[:, q] >= 1).all(axis=1)  # two alphas; a background has no source's drive
        if not has.any():
            continue
        i, p, r = rows[has], tuning.pairs[has, q, 0], tuning.pairs[has, q, 1]
        c_p, c_r = coef[:, i, p], coef[:, i, r]
        valid = np.zeros((n_chains, n_dims), dtype=bool)
        valid[:, has] = (c_p > 0) & (c_r > 0)
        scale = np.exp(RESPLIT_LOG_SCALE_SD * rng.standard_normal(c_p.shape))
        total = state.theta[:, i, p] * c_p + state.theta[:, i, r] * c_r
        theta_new = state.theta.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            theta_new[:, i, p] = np.where(valid[:, has], split[:, has] * scale * total / c_p, state.theta[:, i, p])
            theta_new[:, i, r] = np.where(
                valid[:, has], (1.0 - split[:, has]) * scale * total / c_r, state.theta[:, i, r]
            )
            log_lik_new = log_likelihood(targets, theta_new, state.h, state.comp, which=np.flatnonzero(has))
            log_ratio = log_lik_new + prior_density(theta_new) - state.log_lik - prior_density(state.theta)
            log_ratio[:, has] += 2.0 * np.log(scale)
            acc = valid & (np.log(uniform) < log_ratio)
        state.theta[acc] = theta_new[acc]
        state.log_lik[acc] = log_lik_new[acc]
        accepted[:, :, q] = acc
    return accepted
