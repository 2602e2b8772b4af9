"""The sampler of hawkes_model: validity (prior reproduction), recovery, coverage, diagnostics.

R-hat and bulk ESS are checked against arviz-stats (a test-only dependency) as the oracle.
"""
import warnings

import numpy as np
import pytest
from arviz_stats.base import array_stats
from scipy.optimize import minimize

from hawkes_model import HawkesPrior, HawkesProcessModel, _Workspace, ess_bulk, simulate_hawkes, split_rhat


def chain_state(model, data, mu, alpha, beta):
    """Kernel statistics, alpha laid out per event and intensities of chains, as ``fit`` builds them."""
    h, comp = model._all_stats(data, beta.copy())
    alpha_src = model._source_alpha(data, alpha)
    lam = model._background_rate(mu, data) + np.einsum("csk,csk->ck", alpha_src, h)
    return h, comp, alpha_src, lam


def ar1_draws(rng, shape, rho):
    """(chains, draws, ...) AR(1) chains with autocorrelation rho."""
    x = np.empty(shape)
    x[:, 0] = rng.standard_normal((shape[0],) + shape[2:])
    for t in range(1, shape[1]):
        x[:, t] = rho * x[:, t - 1] + np.sqrt(1 - rho ** 2) * rng.standard_normal((shape[0],) + shape[2:])
    return x


@pytest.mark.parametrize("n_draws", [7, 8, 51, 400])
def test_rhat_and_ess_match_arviz_stats(n_draws):
    rng = np.random.default_rng(n_draws)
    draws = ar1_draws(rng, (4, n_draws, 3, 2), 0.7) + rng.normal(0, 0.2, (4, 1, 3, 2))
    draws[..., 0, 1] = np.exp(draws[..., 0, 1])                    # a skewed parameter
    expected_ess = array_stats.ess(draws, chain_axis=0, draw_axis=1, method="bulk")
    expected_rhat = array_stats.rhat(draws, chain_axis=0, draw_axis=1)
    assert np.allclose(ess_bulk(draws), expected_ess, rtol=1e-10)
    assert np.allclose(split_rhat(draws), expected_rhat, rtol=1e-10)


def test_rhat_flags_chains_stuck_apart():
    rng = np.random.default_rng(0)
    mixed = rng.standard_normal((4, 500))
    stuck = mixed + np.array([0.0, 0.0, 3.0, 3.0])[:, None]        # two chains in another mode
    assert split_rhat(mixed) < 1.01
    assert split_rhat(stuck) > 1.5
    # A chain that drifts (not stationary) is caught by the split.
    drifting = mixed + np.linspace(0, 3, 500)[None, :]
    assert split_rhat(drifting) > 1.1
    assert ess_bulk(stuck) < 0.1 * ess_bulk(mixed)


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_zero_length_window_reproduces_the_prior(time):
    # With T = 0 the likelihood is constant, so the moves that run must leave the prior
    # invariant: the Gibbs draws of mu and alpha and the beta move (a plain Metropolis-Hastings
    # step, so this checks its Jacobian). With no events there are no sources, so the ridge,
    # transfer and split moves do not run; the exact replays and the split test cover them.
    prior = HawkesPrior(mu_shape=2.0, mu_mean=3.0, alpha_shape=1.0, alpha_mean=0.2,
                        beta_median=5.0, beta_log_sd=0.8)
    model = HawkesProcessModel(2, time=time, dt=0.1, prior=prior)
    post = model.fit([np.array([]), np.array([])], 0.0, n_samples=2000, n_warmup=300,
                     n_chains=4, seed=3, progress=False)
    checks = [(post.mu, 3.0, 3.0 ** 2 / 2.0), (post.alpha, 0.2, 0.2 ** 2), (np.log(post.beta), np.log(5.0), 0.8 ** 2)]
    for draws, mean, var in checks:
        ess = ess_bulk(draws)
        flat = draws.reshape(-1, *draws.shape[2:])
        assert np.all(np.abs(flat.mean(axis=0) - mean) < 4.5 * np.sqrt(var / ess))
        # Variance: relative MC error about sqrt(2 (1 + kurtosis/2) / ESS); a generous 6 sigma.
        assert np.all(np.abs(flat.var(axis=0) / var - 1) < 6 * np.sqrt(4.0 / ess))
    assert post.max_rhat < 1.02


@pytest.mark.parametrize("time", ["continuous", "discrete"])
@pytest.mark.parametrize("modulated", [False, True])
def test_posterior_moments_match_numerical_integration(time, modulated):
    # One neuron with data; beta pinned by a very tight prior, so the posterior of (mu, alpha)
    # is a 2-D density that a grid integrates directly. This checks all moves on real data
    # (the branching Gibbs moves, the ridge moves) against an independent computation.
    mu_true, alpha_true, beta, dt, end = 2.0, 0.4, 5.0, 0.05, 100.0
    n_bins = round(end / dt)
    background = (1 + 0.9 * np.sin(np.arange(n_bins) / 30))[None, :] if modulated else np.ones((1, n_bins))
    events = simulate_hawkes([mu_true], [[alpha_true]], beta, end, seed=6, time=time, dt=dt,
                             background=background)[0]
    prior = HawkesPrior(mu_shape=2.0, mu_mean=2.0, alpha_shape=1.0, alpha_mean=0.3,
                        beta_median=beta, beta_log_sd=1e-4)
    post = HawkesProcessModel(1, time=time, dt=dt, prior=prior, background=background if modulated else None).fit(
        [events], end, n_samples=1500, n_warmup=300, seed=4, progress=False)

    # Reference: excitation at each event by a direct O(N^2) sum, then the log posterior on a grid.
    lag = events[:, None] - events[None, :]                        # (N, N) t_k - t_l
    decay = np.where(lag > 0, np.exp(-beta * np.where(lag > 0, lag, 0.0)), 0.0).sum(axis=1)
    base = background[0, np.floor(events / dt + 1e-9).astype(int)]  # b in each event's bin
    exposure = background.sum() * dt                               # int b over the window
    if time == "continuous":
        h, comp = beta * decay, np.sum(1 - np.exp(-beta * (end - events)))
    else:
        h = np.expm1(beta * dt) / dt * decay                       # S[k] = (e^{beta dt} - 1) R / dt
        comp = np.sum(1 - np.exp(-beta * (end - dt - events)))
    mu_grid = np.linspace(0.5, 4.0, 300)[:, None, None]
    alpha_grid = np.linspace(1e-4, 0.9, 300)[None, :, None]
    lam = mu_grid * base[None, None, :] + alpha_grid * h[None, None, :]
    if time == "continuous":
        event_terms = np.log(lam).sum(axis=2)
    else:
        event_terms = (np.log(-np.expm1(-lam * dt)) + lam * dt).sum(axis=2)
    log_post = (event_terms - mu_grid[..., 0] * exposure - alpha_grid[..., 0] * comp
                + np.log(mu_grid[..., 0]) - mu_grid[..., 0] - alpha_grid[..., 0] / 0.3)
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    for draws, grid in ((post.mu[..., 0], mu_grid[:, 0, 0][:, None]), (post.alpha[..., 0, 0], alpha_grid[0, :, 0][None, :])):
        mean = np.sum(weight * grid)
        sd = np.sqrt(np.sum(weight * (grid - mean) ** 2))
        assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(ess_bulk(draws))
        assert abs(draws.std() / sd - 1) < 0.12


@pytest.mark.parametrize("time", ["continuous", "discrete"])
@pytest.mark.parametrize("kind", ["shared", "pair"])
@pytest.mark.parametrize("modulated", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_ridge_move_accepts_with_the_exact_posterior_ratio(time, kind, modulated, masked):
    # Replays the ridge move's random numbers (same seed) and recomputes every acceptance
    # decision from the public log-likelihood and the prior density written here. Masked:
    # alpha[0, 1] is fixed at 0 (a point mass), never moved and outside the prior density.
    dt, end, n_chains = 0.05, 60.0, 3
    mu0, alpha0 = np.array([2.0, 1.0]), np.array([[0.2, 0.3], [0.5, 0.0]])
    # A time-varying background changes mu's exposure: int b_i instead of the window length.
    steps = np.arange(round(end / dt))
    background = np.stack([1 + 0.8 * np.sin(steps / 40), 1 + 0.5 * np.cos(steps / 25)]) if modulated else None
    events = simulate_hawkes(mu0, alpha0, 4.0, end, seed=9, time=time, dt=dt, background=background)
    # Shapes other than 1 so that both prior densities enter the ratio.
    model = HawkesProcessModel(2, time=time, dt=dt, beta=kind, prior=HawkesPrior(mu_shape=2.0, alpha_shape=1.5),
                               background=background)
    rng = np.random.default_rng(0)
    mu = mu0 * rng.uniform(0.7, 1.3, (n_chains, 2))
    alpha = rng.uniform(0.0, 0.6, (n_chains, 2, 2))
    beta = rng.uniform(2.0, 6.0, (n_chains,) if kind == "shared" else (n_chains, 2, 2))
    log_step = np.log(rng.uniform(0.05, 0.5, (n_chains, 2, 2)))
    free = np.ones((2, 2), dtype=bool)
    if masked:
        free[0, 1] = False
        alpha[:, 0, 1] = 0.0

    data = model._prepare(events, end)
    prior = model._resolve_prior(data)
    h, comp, alpha_src, lam = chain_state(model, data, mu, alpha, beta)
    mu_moved, alpha_moved = mu.copy(), alpha.copy()                # moved in place by the sampler
    acc, lam_moved = model._move_ridge(data, np.random.default_rng(5), mu_moved, alpha_moved, alpha_src, lam,
                                       h, comp, log_step, prior, free)

    mu_a, mu_b, al_a, al_b = prior[:4]
    window = end - (dt if time == "discrete" else 0.0)             # the kernel's mass counts until here
    exposure = np.full(2, end) if background is None else background.sum(axis=1) * dt

    def log_post(m, a, b):
        log_prior = np.sum((mu_a - 1) * np.log(m) - mu_b * m) + np.sum((al_a - 1) * np.log(a[free]) - al_b * a[free])
        return model.log_likelihood(events, end, m, a, b) + log_prior

    replay = np.random.default_rng(5)
    # The move draws the normals of every source first, then the uniforms: (source, chain, target).
    z_all, u_all = replay.standard_normal((2, n_chains, 2)), replay.random((2, n_chains, 2))
    expected = np.zeros_like(acc)
    for j in range(2):
        z, u = z_all[j], u_all[j]
        for c in range(n_chains):
            b = beta[c]
            for i in range(2):
                b_ij = b if kind == "shared" else b[i, j]
                comp_ij = np.sum(1 - np.exp(-b_ij * (window - events[j])))
                # A random walk reflected at alpha = 0, along the line of constant compensator.
                step = abs(alpha[c, i, j] + np.exp(log_step[c, i, j]) * z[c, i]) - alpha[c, i, j]
                mu_new, alpha_new = mu[c].copy(), alpha[c].copy()
                mu_new[i] -= step * comp_ij / exposure[i]
                alpha_new[i, j] += step
                if mu_new[i] > 0 and alpha_new[i, j] > 0 and free[i, j]:
                    ratio = log_post(mu_new, alpha_new, b) - log_post(mu[c], alpha[c], b)
                    if np.log(u[c, i]) < ratio:
                        expected[c, i, j] = 1.0
                        mu[c], alpha[c] = mu_new, alpha_new
    assert np.array_equal(acc, expected)
    assert 0 < acc.mean() < 1
    assert np.allclose(mu_moved, mu, rtol=1e-12) and np.allclose(alpha_moved, alpha, rtol=1e-12)
    assert np.all(alpha_moved[:, ~free] == 0.0)
    assert np.allclose(lam_moved, model._background_rate(mu, data) + np.einsum("csk,csk->ck", alpha_src, h),
                       rtol=1e-10)
    # alpha_src is updated in place, entry by entry, and must equal a fresh layout exactly.
    assert np.array_equal(alpha_src, model._source_alpha(data, alpha_moved))


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_moves_with_reused_work_buffers_equal_moves_with_fresh_ones(time):
    # fit passes one workspace to every sweep; stale contents must never leak into a result.
    dt, end, n_chains = 0.05, 60.0, 3
    events = simulate_hawkes([2.0, 1.0], [[0.2, 0.3], [0.5, 0.0]], 4.0, end, seed=9, time=time, dt=dt)
    model = HawkesProcessModel(2, time=time, dt=dt)
    data = model._prepare(events, end)
    prior = model._resolve_prior(data)
    rng = np.random.default_rng(1)
    mu, alpha = rng.uniform(0.7, 2.0, (n_chains, 2)), rng.uniform(0.0, 0.6, (n_chains, 2, 2))
    beta, log_step = rng.uniform(2.0, 6.0, n_chains), np.log(rng.uniform(0.05, 0.5, (n_chains, 2, 2)))
    work = _Workspace.allocate(n_chains, data.sources.size, data.dim.size)
    for buffer in vars(work).values():
        buffer.fill(np.nan)
    results = []
    for buffers in (None, work):
        m, a, b = mu.copy(), alpha.copy(), beta.copy()
        h, comp, alpha_src, lam = chain_state(model, data, m, a, b)
        acc_ridge, lam = model._move_ridge(data, np.random.default_rng(5), m, a, alpha_src, lam, h, comp,
                                           log_step, prior, np.ones(a.shape[1:], dtype=bool), buffers)
        acc_beta, excite = model._move_beta_shared(data, np.random.default_rng(6), m, a, alpha_src, lam, b, h,
                                                   comp, np.full(n_chains, np.log(0.5)), prior, buffers)
        results.append((acc_ridge, acc_beta, m, a, b, lam, h, comp, excite))
    assert 0 < results[0][0].mean() < 1 and 0 < results[0][1].mean() < 1
    for fresh, reused in zip(*results):
        assert np.array_equal(fresh, reused)


@pytest.mark.parametrize("time", ["continuous", "discrete"])
@pytest.mark.parametrize("kind", ["shared", "pair"])
def test_transfer_move_accepts_with_the_exact_posterior_ratio(time, kind):
    # As for the ridge move: neurons 0 and 1 nearly coincide (1 is 0 with a few spikes
    # dropped), so the move transfers alpha between them for every target.
    dt, end, n_chains = 0.05, 60.0, 3
    base = simulate_hawkes([2.0, 1.0], [[0.2, 0.0], [0.5, 0.0]], 4.0, end, seed=9, time=time, dt=dt)
    keep = np.random.default_rng(2).random(base[0].size) < 0.9
    events = [base[0], base[0][keep], base[1]]
    model = HawkesProcessModel(3, time=time, dt=dt, beta=kind, prior=HawkesPrior(alpha_shape=1.5))
    rng = np.random.default_rng(0)
    mu = rng.uniform(0.5, 2.0, (n_chains, 3))
    alpha = rng.uniform(0.05, 0.6, (n_chains, 3, 3))
    beta = rng.uniform(2.0, 6.0, (n_chains,) if kind == "shared" else (n_chains, 3, 3))
    data = model._prepare(events, end)
    prior = model._resolve_prior(data)
    h, comp, alpha_src, lam = chain_state(model, data, mu, alpha, beta)
    pairs = model._transfer_pairs(h[0])
    assert pairs.tolist() == [[0, 1]]
    log_step = np.log(rng.uniform(0.05, 0.5, (n_chains, 3, 1)))
    alpha_moved = alpha.copy()
    acc, lam_moved = model._move_transfer(data, np.random.default_rng(5), pairs, mu, alpha_moved, alpha_src,
                                          lam, h, comp, log_step, prior, np.ones((3, 3), dtype=bool))

    al_a, al_b = prior[2:4]
    window = end - (dt if time == "discrete" else 0.0)

    def log_post(c, a):
        return model.log_likelihood(events, end, mu[c], a, beta[c]) + np.sum((al_a - 1) * np.log(a) - al_b * a)

    replay = np.random.default_rng(5)
    z, u = replay.standard_normal((n_chains, 3)), replay.random((n_chains, 3))
    expected = np.zeros_like(acc)
    for c in range(n_chains):
        for i in range(3):
            b0, b1 = (beta[c], beta[c]) if kind == "shared" else (beta[c][i, 0], beta[c][i, 1])
            comp0 = np.sum(1 - np.exp(-b0 * (window - events[0])))
            comp1 = np.sum(1 - np.exp(-b1 * (window - events[1])))
            delta = np.exp(log_step[c, i, 0]) * z[c, i]
            proposal = alpha[c].copy()
            proposal[i, 0] += delta
            proposal[i, 1] -= delta * comp0 / comp1
            if proposal[i, 0] > 0 and proposal[i, 1] > 0 and np.log(u[c, i]) < log_post(c, proposal) - log_post(c, alpha[c]):
                expected[c, i, 0] = 1.0
                alpha[c] = proposal
    assert np.array_equal(acc, expected)
    assert 0 < acc.mean() < 1
    assert np.allclose(alpha_moved, alpha, rtol=1e-12)
    assert np.allclose(lam_moved, model._per_event(mu, data) + np.einsum("csk,csk->ck", alpha_src, h), rtol=1e-10)


@pytest.mark.parametrize("time", ["continuous", "discrete"])
@pytest.mark.parametrize("kind", ["shared", "pair"])
def test_beta_move_accepts_with_the_exact_posterior_ratio(time, kind):
    # As above, for the log-scale random walk on beta: the target density of log beta is the
    # likelihood times the log-normal prior times the Jacobian beta, i.e. a normal in log beta.
    dt, end, n_chains = 0.05, 60.0, 8
    events = simulate_hawkes([2.0, 1.0], [[0.2, 0.3], [0.5, 0.0]], 4.0, end, seed=9, time=time, dt=dt)
    model = HawkesProcessModel(2, time=time, dt=dt, beta=kind)
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.7, 2.0, (n_chains, 2))
    alpha = rng.uniform(0.0, 0.6, (n_chains, 2, 2))
    beta = rng.uniform(2.0, 6.0, (n_chains,) if kind == "shared" else (n_chains, 2, 2))
    log_step = np.log(rng.uniform(0.3, 1.5, beta.shape))

    data = model._prepare(events, end)
    prior = model._resolve_prior(data)
    lb_mean, lb_sd = prior[4:]
    h, comp, alpha_src, lam = chain_state(model, data, mu, alpha, beta)
    beta_moved = beta.copy()
    move = model._move_beta_shared if kind == "shared" else model._move_beta_pair
    acc, excite = move(data, np.random.default_rng(5), mu, alpha, alpha_src, lam, beta_moved, h, comp,
                       log_step, prior)

    def log_target(c, b):
        return model.log_likelihood(events, end, mu[c], alpha[c], b) - np.sum((np.log(b) - lb_mean) ** 2) / (2 * lb_sd ** 2)

    replay = np.random.default_rng(5)
    expected = np.zeros_like(acc)
    if kind == "shared":
        z, u = replay.standard_normal(n_chains), replay.random(n_chains)
        for c in range(n_chains):
            proposal = beta[c] * np.exp(np.exp(log_step[c]) * z[c])
            if np.log(u[c]) < log_target(c, proposal) - log_target(c, beta[c]):
                expected[c], beta[c] = 1.0, proposal
    else:
        for j in range(2):
            z, u = replay.standard_normal((n_chains, 2)), replay.random((n_chains, 2))
            for c in range(n_chains):
                current = beta[c].copy()
                for i in range(2):                # targets are independent: each against `current`
                    proposal = current.copy()
                    proposal[i, j] = current[i, j] * np.exp(np.exp(log_step[c, i, j]) * z[c, i])
                    if np.log(u[c, i]) < log_target(c, proposal) - log_target(c, current):
                        expected[c, i, j], beta[c, i, j] = 1.0, proposal[i, j]
    assert np.array_equal(acc, expected)
    assert 0 < acc.mean() < 1
    assert np.allclose(beta_moved, beta, rtol=1e-12)
    h_new, comp_new = model._all_stats(data, beta.copy())
    assert np.allclose(h, h_new, rtol=1e-10) and np.allclose(comp, comp_new, rtol=1e-10)
    assert np.allclose(excite, model._source_alpha(data, alpha) * h_new, rtol=1e-10)


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_independent_beta_proposal_accepts_with_the_exact_hastings_ratio(time):
    # After warm-up a shared beta is proposed from a fixed log-normal q whatever the current
    # value: the ratio is target(proposal) q(current) / (target(current) q(proposal)).
    dt, end, n_chains = 0.05, 60.0, 8
    events = simulate_hawkes([2.0, 1.0], [[0.2, 0.3], [0.5, 0.0]], 4.0, end, seed=9, time=time, dt=dt)
    model = HawkesProcessModel(2, time=time, dt=dt)
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.7, 2.0, (n_chains, 2))
    alpha = rng.uniform(0.0, 0.6, (n_chains, 2, 2))
    beta = rng.uniform(2.0, 6.0, n_chains)
    centre, scale = np.log(4.0), 0.3
    data = model._prepare(events, end)
    prior = model._resolve_prior(data)
    lb_mean, lb_sd = prior[4:]
    h, comp, alpha_src, lam = chain_state(model, data, mu, alpha, beta)
    beta_moved = beta.copy()
    acc, excite = model._move_beta_shared(data, np.random.default_rng(5), mu, alpha, alpha_src, lam, beta_moved,
                                          h, comp, np.zeros(n_chains), prior, independent=(centre, scale))

    def log_target(c, b):
        return model.log_likelihood(events, end, mu[c], alpha[c], b) - (np.log(b) - lb_mean) ** 2 / (2 * lb_sd ** 2)

    def log_q(b):
        return -(np.log(b) - centre) ** 2 / (2 * scale ** 2)

    replay = np.random.default_rng(5)
    z, u = replay.standard_normal(n_chains), replay.random(n_chains)
    expected = np.zeros_like(acc)
    for c in range(n_chains):
        proposal = np.exp(centre + scale * z[c])
        ratio = log_target(c, proposal) - log_target(c, beta[c]) + log_q(beta[c]) - log_q(proposal)
        if np.log(u[c]) < ratio:
            expected[c], beta[c] = 1.0, proposal
    assert np.array_equal(acc, expected)
    assert 0 < acc.mean() < 1
    assert np.allclose(beta_moved, beta, rtol=1e-12)
    h_new, comp_new = model._all_stats(data, beta.copy())
    assert np.allclose(h, h_new, rtol=1e-10) and np.allclose(comp, comp_new, rtol=1e-10)
    assert np.allclose(excite, model._source_alpha(data, alpha) * h_new, rtol=1e-10)


def small_network():
    mu = np.array([0.6, 0.4, 0.5])
    alpha = np.array([[0.0, 0.0, 0.3], [0.5, 0.2, 0.0], [0.0, 0.4, 0.0]])
    return mu, alpha, 1.5


def maximum_likelihood(model, events, end, x0):
    """MLE of (mu, alpha, beta) by L-BFGS-B on the exact log-likelihood (the reference)."""
    d = model.n_dims

    def negative(x):
        return -model.log_likelihood(events, end, x[:d], x[d:-1].reshape(d, d), x[-1])

    bounds = [(1e-6, None)] * d + [(0.0, None)] * (d * d) + [(0.05, 50.0)]
    return minimize(negative, x0, method="L-BFGS-B", bounds=bounds).x


def test_continuous_fit_recovers_parameters_with_mle_accuracy():
    mu, alpha, beta = small_network()
    end = 1500.0
    events = simulate_hawkes(mu, alpha, beta, end, seed=11)
    model = HawkesProcessModel(3)
    post = model.fit(events, end, n_samples=500, n_warmup=300, seed=1, progress=False)
    summary = post.summary()
    mle = maximum_likelihood(model, events, end, np.concatenate([mu, alpha.ravel() + 0.05, [beta]]))
    mle_error = np.max(np.abs(mle[3:-1].reshape(3, 3) - alpha))
    bayes_error = np.max(np.abs(summary["alpha"]["mean"] - alpha))
    assert bayes_error < 1.5 * mle_error + 0.02
    assert np.max(np.abs(summary["mu"]["mean"] - mu) / mu) < 0.2
    assert abs(summary["beta"]["mean"] - beta) / beta < 0.2
    assert post.max_rhat < 1.05
    assert set(post.acceptance) >= {"parents", "mu", "alpha", "beta"}
    assert all(v.shape == (4,) for v in post.acceptance.values())
    assert 0.2 < post.acceptance["beta"].mean() < 0.7


def test_ninety_percent_intervals_cover_at_about_the_nominal_rate():
    mu, alpha, beta = np.array([0.8, 0.5]), np.array([[0.3, 0.2], [0.0, 0.4]]), 2.0
    truth = np.concatenate([mu, alpha.ravel(), [beta]])
    model = HawkesProcessModel(2)
    covered = []
    for rep in range(10):
        events = simulate_hawkes(mu, alpha, beta, 400.0, seed=100 + rep)
        s = model.fit(events, 400.0, n_samples=400, n_warmup=300, n_chains=2, seed=rep, progress=False).summary()
        low = np.concatenate([s["mu"]["q05"], s["alpha"]["q05"].ravel(), [s["beta"]["q05"]]])
        high = np.concatenate([s["mu"]["q95"], s["alpha"]["q95"].ravel(), [s["beta"]["q95"]]])
        covered.append((low <= truth) & (truth <= high))
    # A parameter on the boundary (alpha = 0) lies outside every equal-tailed interval; count
    # the 60 interior ones (not independent within a fit; a binomial 3-sigma band is +-0.12).
    rate = np.mean(np.array(covered)[:, truth > 0])
    assert 0.78 <= rate <= 0.99


def test_discrete_model_ranks_edges_on_tied_grid_data_and_continuous_fit_shrinks_alpha():
    # A dense raster (about 0.35 spikes per neuron and step, dt = 1 time unit, so spike times
    # are integers and many coincide) from the discrete model.
    d = 4
    mu = np.full(d, 0.3)
    alpha = np.zeros((d, d))
    alpha[1, 0], alpha[2, 1], alpha[3, 1], alpha[0, 3] = 0.5, 0.6, 0.4, 0.3
    realisations = [simulate_hawkes(mu, alpha, 1.0, 100.0, seed=r, time="discrete", dt=1.0) for r in range(40)]
    discrete = HawkesProcessModel(d, time="discrete", dt=1.0).fit(
        realisations, 100.0, n_samples=300, n_warmup=300, seed=2, progress=False)
    alpha_hat = discrete.summary()["alpha"]["mean"]
    true_edge = alpha > 0
    pos, neg = alpha_hat[true_edge], alpha_hat[~true_edge]
    assert np.mean(pos[:, None] > neg[None, :]) >= 0.99          # AUC of true against absent edges
    assert np.all(np.abs(pos / alpha[true_edge] - 1) < 0.25)        # not shrunk
    # The continuous model on the same integer times falls into a beta ~ 0 mode and shrinks
    # the true edges several-fold (about 5x here).
    continuous = HawkesProcessModel(d, time="continuous").fit(
        realisations, 100.0, n_samples=300, n_warmup=300, seed=2, progress=False)
    shrink = alpha[true_edge].sum() / continuous.summary()["alpha"]["mean"][true_edge].sum()
    assert shrink > 3.0


def test_stimulus_background_removes_the_false_self_excitation_of_a_driven_neuron():
    # Neuron 0 follows a trial-locked stimulus (rate x (1 + 0.95 sin)), neuron 1 is driven by
    # it. A constant background explains the stimulus's rhythm by self-excitation of neuron
    # 0; given the stimulus's shape as background, that false edge goes away and the true
    # one stays.
    dt, n_steps = 1.0, 100
    stimulus = np.stack([1 + 0.95 * np.sin(2 * np.pi * np.arange(n_steps) / 20), np.ones(n_steps)])
    mu, alpha = np.array([0.4, 0.05]), np.array([[0.0, 0.0], [0.6, 0.0]])
    trials = [simulate_hawkes(mu, alpha, 1.0, n_steps * dt, seed=r, time="discrete", dt=dt, background=stimulus)
              for r in range(30)]
    fits = {name: HawkesProcessModel(2, time="discrete", dt=dt, background=background).fit(
                trials, n_steps * dt, n_samples=500, n_warmup=200, seed=1, progress=False).summary()["alpha"]
            for name, background in (("constant", None), ("stimulus", stimulus))}
    assert fits["constant"]["q05"][0, 0] > 0.1
    assert fits["stimulus"]["q95"][0, 0] < 0.1
    for summary in fits.values():
        assert abs(summary["mean"][1, 0] - 0.6) < 3 * summary["sd"][1, 0]


def test_silent_neuron_and_empty_trials_fall_back_to_the_prior():
    prior = HawkesPrior(alpha_mean=0.1)
    mu = np.array([5.0, 5.0, 0.0])
    realisations = [simulate_hawkes(mu, np.zeros((3, 3)), 10.0, 10.0, seed=r) for r in range(3)]
    realisations.append([np.array([]), np.array([]), np.array([])])   # a trial without spikes
    for time in ("continuous", "discrete"):
        for kind in ("shared", "pair"):
            model = HawkesProcessModel(3, time=time, dt=0.01, beta=kind, prior=prior)
            grid = [[np.round(a / 0.01) * 0.01 for a in r] for r in realisations]
            post = model.fit(grid, 10.0, n_samples=300, n_warmup=200, n_chains=2, seed=0, progress=False)
            assert np.all(np.isfinite(post.alpha)) and np.all(post.mu > 0)
            # Alpha from the silent source: no likelihood at all, so exactly the prior (mean 0.1).
            assert abs(post.alpha[:, :, :, 2].mean() - 0.1) < 0.02
            assert post.mu[:, :, 2].mean() < 0.5                     # silent neuron: tiny background
            assert post.beta.shape == ((2, 300) if kind == "shared" else (2, 300, 3, 3))


def test_fit_without_any_spike_reports_nan_for_moves_with_nothing_to_move_and_warns_nothing():
    model = HawkesProcessModel(3, time="discrete", dt=0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = model.fit([[np.array([])] * 3] * 2, 0.04, n_samples=20, n_warmup=20, progress=False)
    # No source has an event: no ridge or transfer move exists (documented NaN); beta still moves.
    assert np.all(np.isnan(post.acceptance["ridge"])) and np.all(np.isnan(post.acceptance["transfer"]))
    assert np.all((post.acceptance["beta"] > 0) & (post.acceptance["beta"] < 1))
    assert np.all(np.isfinite(post.alpha)) and np.all(post.mu > 0)


def test_identical_sources_share_their_alpha_evenly_and_mix():
    # Neurons 0 and 1 spike identically (as some hidden neurons of the network do): only
    # alpha[i, 0] + alpha[i, 1] is identified, and under the exponential prior the posterior
    # split of that sum is uniform, which the exact Dirichlet split move samples directly.
    source = simulate_hawkes([0.8], [[0.0]], 1.0, 1500.0, seed=3)[0]
    driven = simulate_hawkes([0.3, 0.0], [[0.0, 0.0], [0.0, 0.0]], 1.0, 1500.0, seed=4)[0]
    # Target 2: background plus offspring of the source with total branching ratio 0.6.
    rng = np.random.default_rng(5)
    parents = source[rng.random(source.size) < 0.6]
    offspring = parents + rng.exponential(1 / 3.0, parents.size)
    target = np.sort(np.concatenate([driven, offspring[offspring < 1500.0]]))
    events = [source, source.copy(), target]
    model = HawkesProcessModel(3)
    assert [g.tolist() for g in model._prepare(events, 1500.0).duplicates] == [[0, 1]]
    post = model.fit(events, 1500.0, n_samples=600, n_warmup=300, seed=0, progress=False)
    pair = post.alpha[:, :, 2, :2]                                   # (C, S, 2)
    total = pair.sum(axis=2)
    assert abs(total.mean() - 0.6) < 0.08
    fraction = pair[..., 0] / total
    assert abs(fraction.mean() - 0.5) < 0.03 and abs(fraction.std() - np.sqrt(1 / 12)) < 0.02
    assert np.max(split_rhat(post.alpha)) < 1.05


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_masked_row_is_exactly_zero_and_its_background_posterior_is_closed_form(time):
    # Neuron 0 drives neuron 1 and is driven by nothing; fixing its row at 0 makes it a
    # Poisson process of rate mu_0 (a Bernoulli raster of rate mu_0 in discrete time), whose
    # posterior under mu_0 ~ Gamma(a, b) is Gamma(a + n, b + T) in continuous time and, in
    # discrete time with n spike bins of K, the density of mu^(a-1) e^(-b mu)
    # (1 - e^(-mu dt))^n e^(-mu dt (K - n)), integrated here on a grid.
    dt, end = 0.01, 300.0
    events = simulate_hawkes([3.0, 1.0], [[0.0, 0.0], [0.6, 0.0]], 20.0, end, seed=3, time=time, dt=dt)
    mask = np.array([[False, False], [True, True]])
    prior = HawkesPrior(mu_shape=2.0, mu_mean=4.0)
    model = HawkesProcessModel(2, time=time, dt=dt, prior=prior, alpha_mask=mask)
    post = model.fit(events, end, n_samples=1500, n_warmup=300, seed=2, progress=False)
    assert np.all(post.alpha[:, :, 0, :] == 0.0) and np.all(post.alpha[:, :, 1, 0] > 0)
    a, b, n = 2.0, 2.0 / 4.0, len(events[0])
    if time == "continuous":
        mean, var = (a + n) / (b + end), (a + n) / (b + end) ** 2
    else:
        grid = np.linspace(1.5, 5.0, 20_001)
        log_density = ((a - 1) * np.log(grid) - b * grid + n * np.log(-np.expm1(-grid * dt))
                       - grid * dt * (round(end / dt) - n))
        weight = np.exp(log_density - log_density.max())
        mean = np.sum(grid * weight) / weight.sum()
        var = np.sum((grid - mean) ** 2 * weight) / weight.sum()
    draws = post.mu[:, :, 0]
    ess = ess_bulk(draws)
    assert abs(draws.mean() - mean) < 4 * np.sqrt(var / ess)
    assert abs(draws.var() / var - 1) < 6 * np.sqrt(2.0 / ess)
    assert abs(post.summary()["alpha"]["mean"][1, 0] - 0.6) < 0.15
    assert np.all(np.isfinite(post.acceptance["ridge"]))


@pytest.mark.parametrize("mask", [np.ones((3, 3), dtype=bool), np.ones((2, 2)), [[True, False]]])
def test_bad_alpha_mask_is_refused(mask):
    with pytest.raises(ValueError, match="alpha_mask"):
        HawkesProcessModel(2, alpha_mask=mask)


def test_split_of_three_identical_sources_is_dirichlet_over_the_free_ones():
    source = simulate_hawkes([2.0], [[0.0]], 1.0, 50.0, seed=1)[0]
    events = [source, source.copy(), source.copy(), simulate_hawkes([1.0], [[0.0]], 1.0, 50.0, seed=2)[0]]
    model = HawkesProcessModel(4)
    data = model._prepare(events, 50.0)
    assert [g.tolist() for g in data.duplicates] == [[0, 1, 2]]
    n_chains, shape = 20_000, 2.0
    free = np.ones((4, 4), dtype=bool)
    free[1, 1] = False                                # target 1 may not be excited by source 1
    alpha = np.random.default_rng(0).random((n_chains, 4, 4)) * free
    before = alpha.copy()
    alpha_src = model._source_alpha(data, alpha)
    model._split_duplicates(data, np.random.default_rng(1), alpha, alpha_src, shape, free)
    np.testing.assert_allclose(alpha[:, :, :3].sum(axis=2), before[:, :, :3].sum(axis=2), rtol=1e-12)
    np.testing.assert_array_equal(alpha[:, :, 3], before[:, :, 3])        # not a duplicate
    np.testing.assert_array_equal(alpha_src, model._source_alpha(data, alpha))
    share = alpha[:, 2, :3] / alpha[:, 2, :3].sum(axis=1, keepdims=True)     # (C, 3)
    # Dirichlet(a, a, a): mean 1/3, variance (1/3)(2/3) / (3a + 1).
    np.testing.assert_allclose(share.mean(axis=0), 1 / 3, atol=0.006)
    np.testing.assert_allclose(share.var(axis=0), 2 / 9 / (3 * shape + 1), rtol=0.04)
    # With a fixed member, the split is Dirichlet(a, a) over the two free ones.
    assert np.all(alpha[:, 1, 1] == 0)
    share = alpha[:, 1, [0, 2]] / alpha[:, 1, :3].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(share.mean(axis=0), 1 / 2, atol=0.008)
    np.testing.assert_allclose(share.var(axis=0), 1 / 4 / (2 * shape + 1), rtol=0.04)


def test_pair_beta_fit_recovers_decays_of_strong_edges():
    mu, alpha = np.array([0.5, 0.5]), np.array([[0.0, 0.6], [0.0, 0.0]])
    beta = np.array([[1.0, 4.0], [1.0, 1.0]])
    events = simulate_hawkes(mu, alpha, beta, 3000.0, seed=8)
    post = HawkesProcessModel(2, beta="pair").fit(events, 3000.0, n_samples=400, n_warmup=400,
                                                  n_chains=2, seed=0, progress=False)
    s = post.summary()
    assert abs(s["alpha"]["mean"][0, 1] - 0.6) < 0.1
    assert abs(s["beta"]["mean"][0, 1] - 4.0) < 1.0
    assert s["beta"]["mean"].shape == (2, 2) and s["alpha"]["rhat"].shape == (2, 2)


def test_same_seed_gives_same_draws_and_seed_types_are_accepted():
    mu, alpha, beta = small_network()
    events = simulate_hawkes(mu, alpha, beta, 200.0, seed=0)
    model = HawkesProcessModel(3)
    run = lambda seed: model.fit(events, 200.0, n_samples=50, n_warmup=50, n_chains=2, seed=seed, progress=False)
    a, b, c = run(7), run(7), run(8)
    assert np.array_equal(a.alpha, b.alpha) and np.array_equal(a.beta, b.beta)
    assert not np.array_equal(a.alpha, c.alpha)
    child = np.random.SeedSequence(7).spawn(2)[1]
    assert np.array_equal(run(child).mu, run(np.random.SeedSequence(7).spawn(2)[1]).mu)
    assert run(np.random.default_rng(1)).mu.shape == (2, 50, 3)
    with pytest.raises(ValueError, match="seed"):
        run("seven")
    for name in ("n_samples", "n_chains", "n_warmup"):
        with pytest.raises(ValueError, match=name):
            model.fit(events, 200.0, **{name: -1}, progress=False)
    # Split R-hat needs two draws in each half chain.
    with pytest.raises(ValueError, match="n_samples must be an integer >= 4"):
        model.fit(events, 200.0, n_samples=3, progress=False)
    assert np.isfinite(model.fit(events, 200.0, n_samples=4, n_warmup=5, progress=False).max_rhat)


def test_summary_keys_and_shapes():
    mu, alpha, beta = small_network()
    events = simulate_hawkes(mu, alpha, beta, 200.0, seed=0)
    post = HawkesProcessModel(3).fit(events, 200.0, n_samples=60, n_warmup=40, n_chains=3, progress=False)
    s = post.summary()
    assert post.mu.shape == (3, 60, 3) and post.alpha.shape == (3, 60, 3, 3) and post.beta.shape == (3, 60)
    for name, shape in (("mu", (3,)), ("alpha", (3, 3)), ("beta", ())):
        assert set(s[name]) == {"mean", "sd", "q05", "q95", "rhat", "ess_bulk"}
        assert all(np.shape(v) == shape for v in s[name].values())
        assert np.all(s[name]["q05"] <= s[name]["q95"])
    assert post.max_rhat == pytest.approx(max(np.max(s[n]["rhat"]) for n in s))
    assert post.min_ess_bulk == pytest.approx(min(np.min(s[n]["ess_bulk"]) for n in s))
