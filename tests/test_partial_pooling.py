"""The partially pooled fit (``hawkes_partial_pooling``) against independent references.

Each hyperparameter move against its closed-form conditional (m) or a grid over the marginal
posterior of k with m integrated out analytically, the collapsed transfer move against a grid
along its line with m integrated out by quadrature; the whole joint sampler against a plain
random-walk Metropolis on every parameter of a one-neuron, two-group problem with its own
likelihood; the carried move of k's map against scipy's Gamma distribution and its Jacobian
against the prior ratio it is to cancel; and with no data, the recorded alphas against draws
from the hierarchical prior.
"""

import dataclasses

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad
from scipy.special import gammaln

from hawkes_model import HawkesPrior, HawkesProcessModel
from hawkes_partial_pooling import (
    PoolPrior,
    collapsed_transfers,
    draw_means,
    fit_pooled,
    log_density_hyper,
    move_hyper,
    observed_alphas,
    observed_mask,
    pair_statistics,
)
from hawkes_pool_moves import quantile_map, scale_move
from hawkes_sampler import Chains
from hawkes_simulation import simulate_hawkes
from hawkes_targets import log_likelihood
from mcmc_diagnostics import ess_bulk


def _fixed_alphas(seed=0, n_groups=2, n_chains=4, n_dims=5):
    rng = np.random.default_rng(seed)
    pair_mean = rng.gamma(1.0, 0.1, (n_dims, n_dims))
    alpha = rng.gamma(3.0, pair_mean / 3.0, (n_groups, n_dims, n_dims))
    observed = rng.random((n_groups, n_dims, n_dims)) < 0.8
    per_chain = np.broadcast_to(np.where(observed, alpha, 1.0), (n_chains, n_groups, n_dims, n_dims))
    return per_chain.swapaxes(0, 1), observed


def test_draw_means_has_the_inverse_gamma_conditional_mean():
    prior = PoolPrior(alpha_mean=0.1, m_shape=2.5)
    alpha, observed = _fixed_alphas()
    k, b = np.array([1.5, 2.0, 4.0, 9.0]), np.array([0.01, 0.05, 0.1, 0.3])
    pair_stats = pair_statistics(alpha, observed)
    rng = np.random.default_rng(1)
    draws = np.mean([draw_means(pair_stats, k, b, prior, rng) for _ in range(20000)], axis=0)
    n = observed.sum(axis=0)
    total = np.where(observed, alpha[:, 0], 0.0).sum(axis=0)
    kk = k[:, None, None]
    expected = (b[:, None, None] + kk * total) / (prior.m_shape + n * kk - 1.0)
    np.testing.assert_allclose(draws, expected, rtol=0.03)


def test_collapsed_density_integrates_each_pair_mean_out():
    """Differences of ``log_density_hyper`` between (v, log b) points against quadrature over m."""
    prior = PoolPrior(alpha_mean=0.1)
    alpha, observed = _fixed_alphas(seed=2, n_chains=1, n_dims=3)
    pair_stats = pair_statistics(alpha, observed)

    def pair_integral(values, k, b):
        def density(m):
            return np.prod(stats.gamma.pdf(values, k, scale=m / k)) * stats.invgamma.pdf(m, prior.m_shape, scale=b)

        middle = values.mean()
        return quad(density, 0, middle, limit=200)[0] + quad(density, middle, np.inf, limit=200)[0]

    def by_quadrature(v, log_b):
        k, b = 1.0 + np.exp(v), np.exp(log_b)
        total = 0.0
        for i, j in np.ndindex(observed.shape[1:]):
            values = alpha[observed[:, i, j], 0, i, j]
            if values.size:
                total += np.log(pair_integral(values, k, b))
        return total - 0.5 * (v / prior.v_sd) ** 2 + log_b - b / prior.b_mean

    points = [(0.0, np.log(0.1)), (1.0, np.log(0.02)), (-1.5, np.log(0.3))]
    closed = [log_density_hyper(np.array([v]), np.array([lb]), pair_stats, prior)[0] for v, lb in points]
    numeric = [by_quadrature(v, lb) for v, lb in points]
    np.testing.assert_allclose(np.diff(closed), np.diff(numeric), atol=1e-6)


def test_hyperparameter_moves_sample_the_collapsed_posterior():
    prior = PoolPrior(alpha_mean=0.1)
    alpha, observed = _fixed_alphas(seed=3)
    pair_stats = pair_statistics(alpha, observed)
    rng = np.random.default_rng(2)
    n_chains, n_iter = alpha.shape[1], 400  # K_STEPS walk steps a call
    v, log_b = rng.normal(0.0, 1.0, n_chains), np.log(rng.uniform(0.02, 0.2, n_chains))
    kept = np.empty((2, n_chains, n_iter))
    for it in range(n_iter):
        v, log_b, _ = move_hyper(v, log_b, np.log([0.4, 0.4]), pair_stats, prior, rng)
        kept[:, :, it] = v, log_b
    kept = kept[:, :, 20:]
    grid_v, grid_b = np.meshgrid(np.linspace(-6.0, 6.0, 601), np.linspace(-9.0, 1.0, 501), indexing="ij")
    one_chain = tuple(x if x.ndim == 2 else x[:1] for x in pair_stats)  # every chain sees the same alphas
    log_p = log_density_hyper(grid_v.ravel(), grid_b.ravel(), one_chain, prior).reshape(grid_v.shape)
    weight = np.exp(log_p - log_p.max())
    weight /= weight.sum()
    for draws, grid in zip(kept, (grid_v, grid_b)):
        mean = np.sum(weight * grid)
        sd = np.sqrt(np.sum(weight * (grid - mean) ** 2))
        mcse = draws.std() / np.sqrt(float(ess_bulk(draws)))
        assert abs(draws.mean() - mean) < 4 * mcse, (draws.mean(), mean, mcse)
        assert abs(draws.std() - sd) < 0.1 * sd


def _loglik_1d(mu, alpha, beta, times, end_time):
    """Continuous-time one-neuron Hawkes log-likelihood for parameter vectors (n,): a direct O(N^2) sum."""
    lag = times[:, None] - times[None, :]  # (N, N)
    earlier = lag > 0
    decay = np.where(earlier, np.exp(-beta[:, None, None] * np.where(earlier, lag, 0.0)), 0.0)  # (n, N, N)
    lam = mu[:, None] + alpha[:, None] * beta[:, None] * decay.sum(axis=2)
    compensator = mu * end_time + alpha * (1.0 - np.exp(-beta[:, None] * (end_time - times))).sum(axis=1)
    return np.log(lam).sum(axis=1) - compensator


def _reference_joint(groups, end_time, resolved, prior, n_chains=64, n_iter=10000, seed=5):
    """Random-walk Metropolis on (log mu_g, log alpha_g, log beta_g for each group, log m, v, log b).

    Returns the draws of alpha_g (G, C, n), of v = log(k - 1) (C, n) and of log b (C, n) after a burn-in.
    """
    rng = np.random.default_rng(seed)
    n_groups = len(groups)

    def log_post(x):
        total = np.zeros(x.shape[0])
        log_m, v, log_b = x[:, -3], x[:, -2], x[:, -1]
        m, k, b = np.exp(log_m), 1.0 + np.exp(v), np.exp(log_b)
        for g, (times, rates) in enumerate(zip(groups, resolved)):
            log_mu, log_alpha, log_beta = x[:, 3 * g], x[:, 3 * g + 1], x[:, 3 * g + 2]
            mu, alpha, beta = np.exp(log_mu), np.exp(log_alpha), np.exp(log_beta)
            total += _loglik_1d(mu, alpha, beta, times, end_time)
            total += rates.mu_shape * log_mu - rates.mu_rate * mu  # Gamma prior times the Jacobian mu
            total += k * np.log(k / m) - gammaln(k) + k * log_alpha - k * alpha / m
            total += -0.5 * ((log_beta - rates.log_beta_mean) / rates.log_beta_sd) ** 2
        # Inverse-Gamma prior of m given b, exponential prior of b, each times its Jacobian.
        total += prior.m_shape * log_b - gammaln(prior.m_shape) - prior.m_shape * log_m - b / m
        total += log_b - b / prior.b_mean
        return total - 0.5 * (v / prior.v_sd) ** 2

    x = np.zeros((n_chains, 3 * n_groups + 3))
    for g, times in enumerate(groups):
        x[:, 3 * g] = np.log(times.size / end_time / 2)
        x[:, 3 * g + 1] = np.log(0.3)
        x[:, 3 * g + 2] = resolved[g].log_beta_mean
    x[:, -1] = np.log(prior.b_mean)
    x += rng.normal(0.0, 0.1, x.shape)
    current = log_post(x)
    scale = np.full(x.shape[1], 0.3)
    alpha_draws, v_draws, b_draws = [], [], []
    for it in range(n_iter):
        proposal = x + scale * rng.standard_normal(x.shape) * (rng.random(x.shape) < 0.3)
        new = log_post(proposal)
        take = np.log(rng.random(n_chains)) < new - current
        x[take], current[take] = proposal[take], new[take]
        if it >= n_iter // 3:
            alpha_draws.append(np.exp(x[:, 1 : 3 * n_groups : 3]))
            v_draws.append(x[:, -2].copy())
            b_draws.append(x[:, -1].copy())
    return np.stack(alpha_draws, axis=2).swapaxes(0, 1), np.stack(v_draws, axis=1), np.stack(b_draws, axis=1)


def _agree(draws, reference):
    """Whether two sets of MCMC draws (chains, draws) have the same mean within 4 combined
    standard errors and standard deviations within 15% (alpha's posterior here has a heavy tail,
    whose sd a few thousand draws pin down to several percent)."""
    mcse = [d.std() / np.sqrt(float(ess_bulk(d))) for d in (draws, reference)]
    same_mean = abs(draws.mean() - reference.mean()) < 4 * np.hypot(*mcse)
    return same_mean and abs(draws.std() - reference.std()) < 0.15 * reference.std()


def test_quantile_map_keeps_each_alphas_prior_quantile_and_its_jacobian_cancels_the_prior_ratio():
    rng = np.random.default_rng(5)
    mean, k, k_new = rng.gamma(2.0, 0.05, 400), 1.0 + rng.exponential(2.0, 400), 1.0 + rng.exponential(2.0, 400)
    # From far in the lower tail to far in the upper, where a naive P^-1(1 - tiny) loses the digits.
    alpha = stats.gamma.ppf(np.linspace(1e-9, 1.0 - 1e-9, 400), k, scale=mean / k)
    moved = quantile_map(alpha, mean, k, k_new)
    np.testing.assert_allclose(
        stats.gamma.cdf(moved, k_new, scale=mean / k_new), stats.gamma.cdf(alpha, k, scale=mean / k), rtol=1e-8
    )
    np.testing.assert_allclose(quantile_map(moved, mean, k_new, k), alpha, rtol=1e-8)  # the reverse move
    # d alpha' / d alpha = p_k(alpha) / p_k'(alpha'): the prior ratio times the Jacobian is 1.
    step = 1e-6 * alpha
    slope = (quantile_map(alpha + step, mean, k, k_new) - quantile_map(alpha - step, mean, k, k_new)) / (2 * step)
    density_ratio = stats.gamma.pdf(alpha, k, scale=mean / k) / stats.gamma.pdf(moved, k_new, scale=mean / k_new)
    np.testing.assert_allclose(slope, density_ratio, rtol=1e-4)
    assert np.isnan(quantile_map(np.zeros(1), mean[:1], k[:1], k_new[:1])).all()  # a fixed alpha is never moved


def test_joint_sampler_matches_a_random_walk_on_every_parameter():
    end_time = 10.0  # few events (about 17 a group), so the pooled prior shapes the posterior
    first = [simulate_hawkes(np.array([1.0]), np.array([[0.4]]), 5.0, end_time, seed=1)]
    second = [simulate_hawkes(np.array([1.0]), np.array([[0.4]]), 5.0, end_time, seed=2)]
    models = [HawkesProcessModel(1, prior=HawkesPrior(alpha_mean=0.3)) for _ in range(2)]
    prior = PoolPrior(alpha_mean=0.3, v_sd=1.0)
    post = fit_pooled(models, [first, second], end_time, prior, n_samples=2000, n_warmup=500, seed=3)
    resolved = [m._resolve_prior(m._prepare(ev, end_time)) for m, ev in zip(models, (first, second))]
    ref_alpha, ref_v, ref_log_b = _reference_joint([first[0][0], second[0][0]], end_time, resolved, prior, n_iter=30000)
    for g, group in enumerate(post.groups):
        assert _agree(group.alpha[..., 0, 0], ref_alpha[g]), (g, group.alpha.mean(), ref_alpha[g].mean())
    v = np.log(post.k - 1.0)
    assert _agree(v, ref_v), (v.mean(), ref_v.mean(), v.std(), ref_v.std())
    log_b = np.log(post.b)
    assert _agree(log_b, ref_log_b), (log_b.mean(), ref_log_b.mean(), log_b.std(), ref_log_b.std())


def test_without_events_the_recorded_alphas_follow_the_hierarchical_prior():
    prior = PoolPrior(alpha_mean=0.2, v_sd=0.8)
    models = [HawkesProcessModel(3, prior=HawkesPrior(alpha_mean=0.2)) for _ in range(2)]
    empty = [[np.array([])] * 3]
    post = fit_pooled(models, [empty, empty], 1.0, prior, n_samples=1500, n_warmup=200, seed=4)
    sampled = post.groups[0].alpha.ravel()
    rng = np.random.default_rng(6)
    k = 1.0 + np.exp(rng.normal(0.0, prior.v_sd, 200000))
    b = rng.exponential(prior.b_mean, k.size)
    m = stats.invgamma.rvs(prior.m_shape, scale=b, random_state=rng)
    direct = rng.gamma(k, m / k)
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    np.testing.assert_allclose(np.quantile(sampled, quantiles), np.quantile(direct, quantiles), rtol=0.06)
    v = np.log(post.k - 1.0)
    assert abs(v.mean()) < 0.1 and abs(v.std() - prior.v_sd) < 0.08


def test_a_small_group_borrows_strength_from_a_large_one():
    rng = np.random.default_rng(1)
    n_dims = 6
    truth = (rng.random((n_dims, n_dims)) < 0.3) * rng.uniform(0.2, 0.5, (n_dims, n_dims))
    np.fill_diagonal(truth, 0.0)
    mu, beta, dt = np.full(n_dims, 8.0), 150.0, 0.002
    big = [simulate_hawkes(mu, truth, beta, 1.0, seed=s, time="discrete", dt=dt) for s in range(40)]
    small = [simulate_hawkes(mu, truth, beta, 1.0, seed=100 + s, time="discrete", dt=dt) for s in range(2)]
    models = [HawkesProcessModel(n_dims, time="discrete", dt=dt) for _ in range(2)]
    pooled = fit_pooled(models, [big, small], 1.0, n_samples=300, n_warmup=300, seed=0).groups[1]
    alone = models[1].fit(small, 1.0, n_samples=300, n_warmup=300, seed=0, progress=False)
    error = [np.abs(p.alpha.mean(axis=(0, 1)) - truth).sum() for p in (pooled, alone)]
    assert error[0] < 0.8 * error[1], error


def test_same_seed_same_draws_and_models_must_agree():
    models = [HawkesProcessModel(2, time="discrete", dt=0.002) for _ in range(2)]
    events = [
        [simulate_hawkes(np.full(2, 10.0), np.full((2, 2), 0.2), 100.0, 1.0, seed=s, time="discrete", dt=0.002)]
        for s in range(2)
    ]
    a, b = (fit_pooled(models, events, 1.0, n_samples=20, n_warmup=20, n_chains=2, seed=7) for _ in range(2))
    np.testing.assert_array_equal(a.groups[1].alpha, b.groups[1].alpha)
    np.testing.assert_array_equal(a.k, b.k)
    with pytest.raises(ValueError, match="same neurons"):
        fit_pooled([models[0], HawkesProcessModel(2, time="discrete", dt=0.001)], events, 1.0, n_samples=20)
    per_pair = HawkesProcessModel(2, time="discrete", dt=0.002, prior=HawkesPrior(alpha_mean=np.full((2, 2), 0.1)))
    with pytest.raises(ValueError, match="give prior.alpha_mean as one number"):
        fit_pooled([models[0], per_pair], events, 1.0, n_samples=20)


def test_scale_move_keeps_each_chains_log_likelihood_and_priors_in_step():
    """After joint scale moves the stored log-likelihoods equal a fresh evaluation, and every
    accepted pair moved its mean and its observed alphas by one factor."""
    rng = np.random.default_rng(3)
    n_dims = 4
    truth = np.where(rng.random((n_dims, n_dims)) < 0.5, 0.3, 0.0)
    mu, dt = np.full(n_dims, 15.0), 0.002
    models = [HawkesProcessModel(n_dims, time="discrete", dt=dt) for _ in range(2)]
    chains = []
    for g, model in enumerate(models):
        events = [simulate_hawkes(mu, truth, 150.0, 1.0, seed=10 * g + s, time="discrete", dt=dt) for s in range(3)]
        data = dataclasses.replace(model._prepare(events, 1.0), duplicates=[])
        chains.append(Chains(model, data, model._resolve_prior(data), 0, 3, rng, 4, 0))
    observed = observed_mask(chains)
    alpha_before = observed_alphas(chains, observed)
    m = rng.gamma(2.0, 0.05, (3, n_dims, n_dims))
    m_before = m.copy()
    accepted, proposed = scale_move(chains, observed, m, np.full(3, 0.01), PoolPrior(), np.log(0.5), rng)
    assert proposed > 0 and np.all((accepted > 0) & (accepted < proposed))
    for group in chains:
        fresh = log_likelihood(group.targets, group.state.theta, group.state.h, group.state.comp)
        np.testing.assert_allclose(group.state.log_lik, fresh, rtol=1e-10, atol=1e-8)
    factor = m / m_before
    alpha_after = observed_alphas(chains, observed)
    for g in range(2):
        expected = np.where(observed[g], alpha_before[g] * factor, alpha_before[g])
        np.testing.assert_allclose(alpha_after[g], expected, rtol=1e-12)


def test_collapsed_transfer_samples_the_line_with_the_pair_mean_integrated_out():
    """Transfer moves along a fixed line in one group's (mu, alpha), every chain started alike,
    against a grid of that line's density: the group's own O(N^2) likelihood, mu's Gamma prior,
    and alpha's pooled prior with the other group's alpha fixed and m integrated out by quadrature."""
    end_time, beta = 10.0, 5.0
    first = [simulate_hawkes(np.array([1.0]), np.array([[0.4]]), beta, end_time, seed=1)]
    second = [simulate_hawkes(np.array([1.0]), np.array([[0.4]]), beta, end_time, seed=2)]
    models = [HawkesProcessModel(1, prior=HawkesPrior(alpha_mean=0.3)) for _ in range(2)]
    rng = np.random.default_rng(0)
    n_chains = 64
    chains = []
    for model, events in zip(models, (first, second)):
        data = dataclasses.replace(model._prepare(events, end_time), duplicates=[])
        group = Chains(model, data, model._resolve_prior(data), 0, n_chains, rng, 4, 0)
        state = group.state
        for name in ("theta", "beta", "h", "h32", "comp", "log_lik"):
            getattr(state, name)[:] = getattr(state, name)[:1]  # every chain as the first
        chains.append(group)
    chains[1].state.theta[:, 0, 1] = 0.05  # the other group's alpha, far below this group's
    start = chains[0].state.theta[0, 0].copy()
    tuning = chains[0].tuning
    axis = np.array([0.4, -0.5])
    tuning.pairs, tuning.pair_axis, tuning.pair_log_step = np.array([[[0, 1]]]), axis[None, None], np.zeros((1, 1))
    prior = PoolPrior(alpha_mean=0.3)
    k, b = np.full(n_chains, 3.0), np.full(n_chains, 0.2)
    observed = observed_mask(chains)
    draws = []
    for it in range(1500):
        before = chains[0].state.theta.copy()
        accepted, proposed = collapsed_transfers(chains, observed, k, b, prior, rng)
        np.testing.assert_array_equal(proposed, [1, 0])  # one target, one pair, of mu and alpha: no resplit
        np.testing.assert_array_equal(accepted[0], (chains[0].state.theta != before).any(axis=(1, 2)))
        if it >= 300:
            draws.append((chains[0].state.theta[:, 0, 0] - start[0]) / axis[0])
    draws = np.array(draws).T  # (C, n): the position z along the line
    np.testing.assert_allclose(chains[0].state.theta[:, 0], start + draws[:, -1:] * axis, rtol=1e-9)

    rates = chains[0].prior
    times = first[0][0]
    z = np.linspace(-start[0] / axis[0], start[1] / -axis[1], 401)[1:-1]  # mu > 0 and alpha > 0
    mu, alpha = start[0] + z * axis[0], start[1] + z * axis[1]
    beta_0 = np.full(z.size, chains[0].state.beta[0])

    def pooled_prior(a):
        def density(m):
            alphas = stats.gamma.pdf([a, 0.05], 3.0, scale=m / 3.0)  # this group's, the other's
            return alphas.prod() * stats.invgamma.pdf(m, prior.m_shape, scale=0.2)

        return quad(density, 0, 1.0, limit=200)[0] + quad(density, 1.0, np.inf, limit=200)[0]

    log_density = (
        _loglik_1d(mu, alpha, beta_0, times, end_time)
        + stats.gamma.logpdf(mu, rates.mu_shape, scale=1.0 / rates.mu_rate)
        + np.log([pooled_prior(a) for a in alpha])
    )
    weight = np.exp(log_density - log_density.max())
    weight /= weight.sum()
    mean = (weight * z).sum()
    sd = np.sqrt((weight * (z - mean) ** 2).sum())
    mcse = draws.std() / np.sqrt(float(ess_bulk(draws)))
    assert abs(draws.mean() - mean) < 4 * mcse + 0.01 * sd, (draws.mean(), mean, mcse)
    assert abs(draws.std() - sd) < 0.05 * sd, (draws.std(), sd)
