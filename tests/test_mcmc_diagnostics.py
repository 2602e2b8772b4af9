"""R-hat, bulk ESS and summaries of mcmc_diagnostics, with arviz-stats (a test-only dependency)
as the oracle."""

import numpy as np
import pytest
from arviz_stats.base import array_stats

from mcmc_diagnostics import MAX_RHAT, MIN_ESS_BULK, ess_bulk, is_converged, split_rhat, summarise_draws


def ar1_draws(rng, shape, rho):
    """(chains, draws, ...) AR(1) chains with autocorrelation rho."""
    x = np.empty(shape)
    x[:, 0] = rng.standard_normal((shape[0],) + shape[2:])
    for t in range(1, shape[1]):
        x[:, t] = rho * x[:, t - 1] + np.sqrt(1 - rho**2) * rng.standard_normal((shape[0],) + shape[2:])
    return x


@pytest.mark.parametrize("n_draws", [7, 8, 51, 400])
def test_rhat_and_ess_match_arviz_stats(n_draws):
    rng = np.random.default_rng(n_draws)
    draws = ar1_draws(rng, (4, n_draws, 3, 2), 0.7) + rng.normal(0, 0.2, (4, 1, 3, 2))
    draws[..., 0, 1] = np.exp(draws[..., 0, 1])  # a skewed parameter
    expected_ess = array_stats.ess(draws, chain_axis=0, draw_axis=1, method="bulk")
    expected_rhat = array_stats.rhat(draws, chain_axis=0, draw_axis=1)
    assert np.allclose(ess_bulk(draws), expected_ess, rtol=1e-10)
    assert np.allclose(split_rhat(draws), expected_rhat, rtol=1e-10)


def test_rhat_flags_chains_stuck_apart():
    rng = np.random.default_rng(0)
    mixed = rng.standard_normal((4, 500))
    stuck = mixed + np.array([0.0, 0.0, 3.0, 3.0])[:, None]  # two chains in another mode
    assert split_rhat(mixed) < 1.01
    assert split_rhat(stuck) > 1.5
    # A chain that drifts (not stationary) is caught by the split.
    drifting = mixed + np.linspace(0, 3, 500)[None, :]
    assert split_rhat(drifting) > 1.1
    assert ess_bulk(stuck) < 0.1 * ess_bulk(mixed)


def test_summary_of_draws_against_numpy():
    draws = np.random.default_rng(1).gamma(2.0, 1.0, (3, 40, 2))
    s = summarise_draws(draws)
    pooled = draws.reshape(-1, 2)
    np.testing.assert_allclose(s["mean"], pooled.mean(axis=0))
    np.testing.assert_allclose(s["sd"], pooled.std(axis=0, ddof=1))
    np.testing.assert_allclose(s["q05"], np.quantile(pooled, 0.05, axis=0))
    np.testing.assert_allclose(s["rhat"], split_rhat(draws))


def test_convergence_limits():
    assert is_converged(MAX_RHAT, MIN_ESS_BULK)
    assert not is_converged(MAX_RHAT + 1e-6, MIN_ESS_BULK)
    assert not is_converged(1.0, MIN_ESS_BULK - 1)
