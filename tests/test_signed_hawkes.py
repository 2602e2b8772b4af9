"""The signed Hawkes model: its likelihood against loops over steps, its derivatives against finite
differences, its sampler against grid integration and against simulated truths."""

import warnings

import numpy as np
import pytest
from scipy.signal import lfilter
from scipy.special import logsumexp

import signed_hawkes as sh
import signed_sampler as ss
from mcmc_diagnostics import MAX_RHAT

DT = 0.001


def loop_log_likelihood(spikes, m, w, h, beta, dt, background):
    """Each target's log-likelihood by loops over trials, steps and neurons, the kernel summed
    over every earlier spike directly."""
    n_trials, n_dims, n_steps = spikes.shape
    r = np.exp(-beta * dt)
    total = np.zeros(n_dims)
    for trial in range(n_trials):
        for k in range(n_steps):
            for i in range(n_dims):
                eta = m[i] + np.log(background[i, k])
                for j in range(n_dims):
                    if j != i:
                        past = sum((1 - r) * r ** (k - q - 1) for q in range(k) if spikes[trial, j, q])
                        eta += w[i, j] * past
                for lag in range(1, h.shape[1] + 1):
                    if k - lag >= 0 and spikes[trial, i, k - lag]:
                        eta += h[i, lag - 1]
                p = 1 - np.exp(-np.exp(eta) * dt)
                total[i] += np.log(p) if spikes[trial, i, k] else np.log1p(-p)
    return total


def small_problem(seed=0, n_dims=3, n_lags=2, n_trials=3, n_steps=25):
    rng = np.random.default_rng(seed)
    spikes = rng.random((n_trials, n_dims, n_steps)) < 0.2
    background = rng.uniform(0.5, 2.0, (n_dims, n_steps))
    theta = rng.normal(0, 1, (2, n_dims, 1 + n_dims + n_lags))
    theta[..., 0] += np.log(150.0)
    data = sh.prepare(spikes, DT, n_lags=n_lags, background=background)
    theta *= data.free
    return spikes, background, theta, data


def test_log_likelihood_is_the_loop_over_steps():
    spikes, background, theta, data = small_problem()
    beta = np.array([700.0, 2500.0])
    inputs = sh.design(sh.coupling_inputs(data.spikes, beta, DT))
    got = sh.log_likelihood(theta, inputs, data)
    for c in range(2):
        m, w, h = sh.split_theta(theta[c], 3)
        want = loop_log_likelihood(spikes, m, w, h, beta[c], DT, background)
        np.testing.assert_allclose(got[c], want, rtol=1e-10)


def test_gradient_and_hessian_match_finite_differences():
    _, _, theta, data = small_problem(seed=1)
    prior = sh.SignedPrior()
    inputs = sh.design(sh.coupling_inputs(data.spikes, np.array([1000.0, 1000.0]), DT))
    value, grad = sh.log_posterior_and_gradient(theta, inputs, data, prior)
    hess = sh.target_hessians(theta[0], inputs[0, :, :-1], data, prior)
    eps = 1e-6
    for index in np.ndindex(theta.shape[1:]):
        if not data.free[index]:
            assert grad[(0, *index)] == 0
            continue
        step = np.zeros_like(theta)
        step[(slice(None), *index)] = eps
        up_value, up_grad = sh.log_posterior_and_gradient(theta + step, inputs, data, prior)
        down_value, down_grad = sh.log_posterior_and_gradient(theta - step, inputs, data, prior)
        target = index[0]
        np.testing.assert_allclose(
            grad[:, target, index[1]], (up_value - down_value)[:, target] / (2 * eps), rtol=1e-6, atol=1e-6
        )
        numeric = -(up_grad - down_grad)[0, target] / (2 * eps)
        np.testing.assert_allclose(
            hess[target, index[1]][data.free[target]], numeric[data.free[target]], rtol=1e-5, atol=1e-5
        )


def test_intensity_that_overflows_is_an_impossible_point_not_nan():
    _, _, theta, data = small_problem()
    theta[0, :, 0] = 1e4
    inputs = sh.design(sh.coupling_inputs(data.spikes, np.array([1000.0, 1000.0]), DT))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = sh.log_likelihood(theta, inputs, data)
    assert np.all(value[0] == -np.inf) and np.all(np.isfinite(value[1]))


def test_background_must_be_positive_and_finite():
    spikes = np.zeros((2, 2, 5), dtype=bool)
    for bad in (np.zeros((2, 5)), np.full((2, 5), np.nan), np.ones((2, 4))):
        with pytest.raises(ValueError, match="background"):
            sh.prepare(spikes, DT, background=bad)


def test_simulated_spike_probability_is_the_intensitys():
    # One neuron, no coupling, a lag-1 history of -50 (a spike probability of e^-50 after a spike):
    # a spike every other step at most, and otherwise one with probability 1 - exp(-e^m dt).
    m = np.array([np.log(300.0)])
    spikes = sh.simulate(m, np.zeros((1, 1)), np.array([[-50.0]]), 1000.0, DT, 4000, 40, seed=3)
    after_spike = spikes[:, 0, 1:][spikes[:, 0, :-1]]
    assert not after_spike.any()
    free_steps = spikes[:, 0, 1:][~spikes[:, 0, :-1]]
    p = 1 - np.exp(-300.0 * DT)
    assert abs(free_steps.mean() - p) < 4 * np.sqrt(p * (1 - p) / free_steps.size)


def test_profile_mode_of_beta_is_the_best_of_a_grid():
    rng = np.random.default_rng(4)
    w = np.array([[0.0, 3.0], [-3.0, 0.0]])
    spikes = sh.simulate(np.log([80.0, 80.0]), w, np.full((2, 1), -2.0), 500.0, DT, 200, 60, seed=rng)
    data = sh.prepare(spikes, DT, n_lags=1)
    prior = sh.SignedPrior()
    mode, beta = sh.find_mode(data, prior)

    def profile(b):
        theta, value = sh.mode_given_beta(b, data, prior, mode)
        return value + sh.log_beta_prior(np.log(b), data, prior)

    grid = np.exp(np.linspace(np.log(beta) - 1.5, np.log(beta) + 1.5, 13))
    assert profile(beta) >= max(profile(b) for b in grid) - 1e-3


def test_posterior_moments_match_grid_integration():
    # One neuron with a lag-1 history: the posterior of (m, h) is a 2-D density a grid integrates.
    spikes = sh.simulate(np.array([np.log(200.0)]), np.zeros((1, 1)), np.array([[-1.0]]), 1000.0, DT, 60, 50, seed=5)
    data = sh.prepare(spikes, DT, n_lags=1)
    prior = sh.SignedPrior()
    post = ss.fit_signed(data, prior, n_samples=1500, n_warmup=200, n_chains=4, seed=6)

    m_grid = np.linspace(3.5, 7.0, 351)[:, None]
    h_grid = np.linspace(-6.0, 3.0, 451)[None, :]
    y = spikes[:, 0, :]
    n_after = np.sum(y[:, 1:] & y[:, :-1]), np.sum(~y[:, 1:] & y[:, :-1])  # spikes / silences after a spike
    n_fresh = np.sum(y[:, 1:] & ~y[:, :-1]) + y[:, 0].sum(), np.sum(~y[:, 1:] & ~y[:, :-1]) + (~y[:, 0]).sum()
    rate_fresh = np.exp(m_grid) * DT
    rate_after = np.exp(m_grid + h_grid) * DT
    centre = np.log(y.mean() / DT)
    log_post = (
        n_fresh[0] * np.log(-np.expm1(-rate_fresh))
        - n_fresh[1] * rate_fresh
        + n_after[0] * np.log(-np.expm1(-rate_after))
        - n_after[1] * rate_after
        - 0.5 * ((m_grid - centre) / prior.m_sd) ** 2
        - 0.5 * (h_grid / prior.w_sd) ** 2
    )
    weight = np.exp(log_post - logsumexp(log_post))
    for draws, grid in ((post.m[..., 0], m_grid), (post.h[..., 0, 0], h_grid)):
        mean = np.sum(weight * grid)
        sd = np.sqrt(np.sum(weight * (grid - mean) ** 2))
        monte_carlo_error = sd / np.sqrt(400)
        assert abs(draws.mean() - mean) < 4 * monte_carlo_error
        assert draws.std() == pytest.approx(sd, rel=0.1)
    assert post.diagnostics()[0] <= MAX_RHAT


def test_fit_recovers_excitation_and_inhibition():
    w = np.array([[0.0, 3.0, -3.0], [0.0, 0.0, 0.0], [2.5, 0.0, 0.0]])
    h = np.array([[-3.0, -1.0], [-3.0, -1.0], [-3.0, -1.0]])
    m = np.log([60.0, 120.0, 80.0])
    spikes = sh.simulate(m, w, h, 1000.0, DT, 150, 100, seed=7)
    data = sh.prepare(spikes, DT, n_lags=2)
    post = ss.fit_signed(data, n_samples=400, n_warmup=200, seed=8)
    summary = post.summary()["w"]
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(summary["mean"] - w)[off] < 4 * summary["sd"][off])
    assert summary["q05"][0, 1] > 0 and summary["q05"][2, 0] > 0  # excitation found
    assert summary["q95"][0, 2] < 0  # inhibition found
    assert np.all(post.beta == post.beta[0, 0]) and post.beta[0, 0] == pytest.approx(1000.0, rel=0.5)
    max_rhat, min_ess = post.diagnostics()
    assert max_rhat <= MAX_RHAT and min_ess > 200
    assert np.all((post.acceptance["hmc"] > 0.6) & (post.acceptance["hmc"] < 0.95))


def test_same_seed_same_draws():
    spikes, _, _, data = small_problem(seed=2, n_trials=10)
    first = ss.fit_signed(data, n_samples=20, n_warmup=20, n_chains=2, seed=9)
    second = ss.fit_signed(data, n_samples=20, n_warmup=20, n_chains=2, seed=9)
    np.testing.assert_array_equal(first.w, second.w)
    np.testing.assert_array_equal(first.h, second.h)


def test_time_rescaling_passes_the_true_model_and_rejects_a_wrong_one():
    w = np.array([[0.0, 3.0], [-3.0, 0.0]])
    h = np.array([[-3.0], [-3.0]])
    m = np.log([80.0, 120.0])
    spikes = sh.simulate(m, w, h, 1000.0, DT, 300, 100, seed=10)
    data = sh.prepare(spikes, DT, n_lags=1)
    truth = np.concatenate([m[:, None], w, h], axis=1)
    ks_true = sh.goodness_of_fit(truth, 1000.0, data, seed=11)
    n_spikes = spikes.sum(axis=(0, 2))
    critical = 1.63 / np.sqrt(n_spikes)  # the KS test's 1% critical value
    assert np.all(ks_true < critical)
    wrong = truth.copy()
    wrong[:, 1:3] = 0.0  # no coupling
    assert np.all(sh.goodness_of_fit(wrong, 1000.0, data, seed=11) > critical)


def test_ninety_percent_intervals_cover_simulated_truths_at_about_the_nominal_rate():
    # Ten networks of three neurons, their couplings drawn from N(0, 1.5): with beta fixed at its
    # mode the intervals are conditional on it, so the check allows a little under 90%.
    rng = np.random.default_rng(12)
    covered = []
    for _ in range(10):
        w = rng.normal(0, 1.5, (3, 3)) * (1 - np.eye(3))
        h = np.column_stack([rng.normal(-2, 0.5, 3), rng.normal(-0.5, 0.5, 3)])
        m = np.log(rng.uniform(40, 120, 3))
        spikes = sh.simulate(m, w, h, 1000.0, DT, 100, 60, seed=rng)
        post = ss.fit_signed(sh.prepare(spikes, DT, n_lags=2), n_samples=300, n_warmup=150, seed=rng)
        truth = np.concatenate([m[:, None], w, h], axis=1)[post.free]
        draws = np.concatenate([post.m[..., None], post.w, post.h], axis=3)[..., post.free]
        low, high = np.quantile(draws.reshape(-1, draws.shape[-1]), [0.05, 0.95], axis=0)
        covered.extend((low <= truth) & (truth <= high))
    assert 0.8 <= np.mean(covered) <= 0.97, np.mean(covered)


def test_a_known_decay_is_the_one_the_draws_are_given():
    # The draws given a decay centre on the posterior mode at that decay, not at another.
    w = np.array([[0.0, 3.0], [-3.0, 0.0]])
    spikes = sh.simulate(np.log([80.0, 80.0]), w, np.full((2, 1), -2.0), 1000.0, DT, 150, 100, seed=13)
    data = sh.prepare(spikes, DT, n_lags=1)
    prior = sh.SignedPrior()
    start = np.zeros(data.free.shape)
    for beta, other in ((200.0, 3000.0), (3000.0, 200.0)):
        post = ss.fit_signed(data, prior, n_samples=300, n_warmup=150, seed=14, beta=beta)
        assert np.all(post.beta == beta)
        mean, sd = post.summary()["w"]["mean"], post.summary()["w"]["sd"]
        here, _ = sh.mode_given_beta(beta, data, prior, start)
        there, _ = sh.mode_given_beta(other, data, prior, start)
        off = ~np.eye(2, dtype=bool)
        assert np.all(np.abs(mean - here[:, 1:3])[off] < 0.5 * sd[off])
        assert np.any(np.abs(mean - there[:, 1:3])[off] > 2 * sd[off])
    for nonsense in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="positive, finite"):
            ss.fit_signed(data, prior, beta=nonsense)


def test_sampled_beta_matches_grid_integration():
    # One coupling fitted (source 1 onto target 0), no own history: the posterior of target 0 is a
    # density over (log beta, m_0, w_01) that a grid integrates; target 1 does not depend on beta.
    spikes = sh.simulate(
        np.log([60.0, 60.0]), np.array([[0.0, 2.5], [0.0, 0.0]]), np.zeros((2, 0)), 1000.0, DT, 100, 100, seed=21
    )
    data = sh.prepare(spikes, DT, n_lags=0, coupling_free=np.array([[False, True], [False, False]]))
    prior = sh.SignedPrior()
    post = ss.fit_signed(data, prior, n_samples=1000, n_warmup=300, seed=22, max_samples=4000, sample_beta=True)
    max_rhat, min_ess = post.diagnostics()
    assert max_rhat <= MAX_RHAT and np.all(post.acceptance["beta"] > 0.2)

    y = spikes[:, 0, :].ravel()
    source = spikes[:, 1, :].astype(float)
    centre = data.log_rate
    log_betas = np.linspace(np.log(1000.0) - 2.5, np.log(1000.0) + 2.5, 61)
    m_grid = np.linspace(centre - 1.5, centre + 1.5, 81)[:, None]
    w_grid = np.linspace(-2.0, 8.0, 121)[None, :]
    log_mass, w_moments = [], []
    for log_beta in log_betas:
        r = np.exp(-np.exp(log_beta) * DT)
        x = lfilter([0.0, 1 - r], [1.0, -r], source, axis=1).ravel()
        silent = np.exp(w_grid[..., None] * x[~y]).sum(axis=2)  # (1, W): the rows without a spike
        at_spikes = m_grid[..., None] + w_grid[..., None] * x[y] + np.log(DT)
        log_post = (
            np.log(-np.expm1(-np.exp(at_spikes))).sum(axis=2)
            - np.exp(m_grid) * DT * silent
            - 0.5 * ((m_grid - centre) / prior.m_sd) ** 2
            - 0.5 * (w_grid / prior.w_sd) ** 2
        )
        log_mass.append(logsumexp(log_post))
        weight = np.exp(log_post - logsumexp(log_post)).sum(axis=0)
        w_moments.append((np.sum(weight * w_grid[0]), np.sum(weight * w_grid[0] ** 2)))
    log_mass = np.array(log_mass) - 0.5 * ((log_betas - np.log(1.0 / DT)) / prior.beta_log_sd) ** 2
    weight = np.exp(log_mass - logsumexp(log_mass))
    beta_mean = np.sum(weight * log_betas)
    beta_sd = np.sqrt(np.sum(weight * (log_betas - beta_mean) ** 2))
    w_first, w_second = np.sum(weight[:, None] * np.array(w_moments), axis=0)
    w_mean, w_sd = w_first, np.sqrt(w_second - w_first**2)
    for draws, mean, sd in ((np.log(post.beta), beta_mean, beta_sd), (post.w[..., 0, 1], w_mean, w_sd)):
        assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(min_ess)
        assert draws.std() == pytest.approx(sd, rel=0.1)


def test_the_ridge_map_is_reversed_by_its_reverse_step_and_its_jacobian_is_the_determinant():
    spikes, _, _, data = small_problem(seed=3, n_trials=20)
    prior = sh.SignedPrior()
    mode, _ = sh.find_mode(data, prior)
    grid, path, spread, sd = ss.ridge(mode, data, prior)
    parts = (grid, path, spread)
    rng = np.random.default_rng(15)
    theta = path[3] + 0.3 * rng.standard_normal(mode.shape) * data.free
    before, after = np.array([grid[3] - 0.4 * sd]), np.array([grid[3] + 1.7 * sd])  # across grid points
    moved, log_jacobian = ss.ridge_map(theta[None], before, after, parts)
    back, log_back = ss.ridge_map(moved, after, before, parts)
    np.testing.assert_allclose(back[0], theta, atol=1e-12)
    assert log_back[0] == pytest.approx(-log_jacobian[0])
    free = np.flatnonzero(data.free)
    jacobian = np.empty((free.size, free.size))
    for col, index in enumerate(free):  # central differences, one fitted parameter at a time
        bump = np.zeros(theta.size)
        bump[index] = 1e-6
        plus = ss.ridge_map((theta.ravel() + bump).reshape(theta.shape)[None], before, after, parts)[0]
        minus = ss.ridge_map((theta.ravel() - bump).reshape(theta.shape)[None], before, after, parts)[0]
        jacobian[:, col] = (plus - minus).ravel()[free] / 2e-6
    assert np.linalg.slogdet(jacobian)[1] == pytest.approx(log_jacobian[0], abs=1e-6)
    assert abs(log_jacobian[0]) > 1e-3  # the spread changes with beta here, so the test can fail
