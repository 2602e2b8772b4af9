"""MCMC convergence diagnostics: rank-normalised split R-hat, bulk ESS and posterior summaries.

The estimators follow Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat for assessing convergence of MCMC", and are checked
against arviz-stats in the tests. ``MAX_RHAT`` and ``MIN_ESS_BULK`` are the limits every fit of
the repository is judged by.
"""

import numpy as np
from scipy import stats

# Convergence: every parameter's split R-hat at most MAX_RHAT and its bulk ESS at least MIN_ESS_BULK.
MAX_RHAT = 1.01
MIN_ESS_BULK = 400
# Split R-hat and bulk ESS halve every chain; each half needs two draws for a variance.
MIN_SAMPLES = 4


def _split_chains(draws):
    """(C, S, ...) -> (2C, S // 2, ...): first and last halves of every chain."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half :]], axis=0)


def _z_scale(draws):
    """Rank-normalise over all chains and draws (average ranks, Blom offset 3/8)."""
    flat = draws.reshape(draws.shape[0] * draws.shape[1], -1)
    ranks = stats.rankdata(flat, method="average", axis=0)
    z = stats.norm.ppf((ranks - 0.375) / (flat.shape[0] + 0.25))
    return z.reshape(draws.shape)


def _classic_rhat(draws):
    """Gelman-Rubin R-hat of (M, S, ...) draws."""
    n = draws.shape[1]
    within = draws.var(axis=1, ddof=1).mean(axis=0)
    between = n * draws.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def split_rhat(draws):
    """Rank-normalised split R-hat (Vehtari et al. 2021): max of the bulk and folded versions.

    Parameters
    ----------
    draws : array_like, shape (n_chains, n_samples, ...)

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    Two chains that each mix but sit apart are flagged; two that overlap are not:

    >>> rng = np.random.default_rng(0)
    >>> together = rng.standard_normal((2, 500))
    >>> bool(split_rhat(together) < 1.01), bool(split_rhat(together + [[0.0], [3.0]]) > 1.5)
    (True, True)
    """
    draws = _split_chains(np.asarray(draws, dtype=float))
    folded = np.abs(draws - np.median(draws.reshape(-1, *draws.shape[2:]), axis=0))
    return np.maximum(_classic_rhat(_z_scale(draws)), _classic_rhat(_z_scale(folded)))


def ess_bulk(draws):
    """Bulk effective sample size (Vehtari et al. 2021): ESS of rank-normalised split chains.

    Autocorrelations are averaged over chains (Stan's estimator) and truncated by Geyer's
    initial monotone sequence.

    Parameters
    ----------
    draws : array_like, shape (n_chains, n_samples, ...)

    Returns
    -------
    ndarray, shape (...)
    """
    draws = np.asarray(draws, dtype=float)
    trailing = draws.shape[2:]
    flat = draws.reshape(draws.shape[0], draws.shape[1], -1)  # (C, S, P)
    constant = np.ptp(flat, axis=(0, 1)) < np.finfo(float).resolution
    z = _z_scale(_split_chains(flat))  # (M, n, P)
    m, n = z.shape[:2]
    centred = z - z.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), n=2 * n, axis=1)[:, :n] / n  # (M, n, P)
    mean_var = acov[:, 0].mean(axis=0) * n / (n - 1.0)  # (P,)
    var_plus = mean_var * (n - 1.0) / n + (z.mean(axis=1).var(axis=0, ddof=1) if m > 1 else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant draws: 0 / 0, set below
        rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus  # (n, P)
    rho[0] = 1.0  # by definition, as in the reference estimator
    # The reference loop (Geyer's initial positive sequence) visits pairs m = 1..n_pairs of
    # (rho_2m, rho_2m+1) and stops at the first pair whose sum is <= 0.
    n_pairs = max((n - 1) // 2 - 1, 0)
    gamma = rho[: 2 * n_pairs + 2].reshape(n_pairs + 1, 2, -1).sum(axis=1)  # (n_pairs+1, P)
    sentinel = np.ones((1, gamma.shape[1]), dtype=bool)
    first = np.argmax(np.concatenate([gamma[1:] <= 0, sentinel]), axis=0) + 1  # n_pairs + 1: none
    found = first <= n_pairs
    stop = np.minimum(first, n_pairs)
    stop = np.where(gamma[0] > 0, stop, 0)
    ran_out = ~found & (gamma[0] > 0)
    gamma_mono = np.minimum.accumulate(gamma, axis=0)  # initial monotone sequence
    kept = np.arange(n_pairs + 1)[:, None] < stop[None, :]
    last_even = np.take_along_axis(rho, 2 * stop[None, :], axis=0)[0]
    # A pair that ran out of lags was kept whole; otherwise only a positive even term counts.
    extra = np.where(ran_out & (n_pairs > 0), last_even, np.maximum(last_even, 0.0))
    tau = -1.0 + 2.0 * np.where(kept, gamma_mono, 0.0).sum(axis=0) + extra
    total = m * n
    tau = np.maximum(tau, 1.0 / np.log10(total))
    ess = np.where(constant, float(flat.shape[0] * flat.shape[1]), total / tau)
    return ess.reshape(trailing) if trailing else ess.reshape(())[()]


def summarise_draws(draws):
    """Posterior summary of one parameter's draws.

    Parameters
    ----------
    draws : ndarray, shape (n_chains, n_samples, ...)

    Returns
    -------
    dict
        ``mean``, ``sd``, ``q05``, ``q95`` over all chains' draws; ``rhat`` (split R-hat) and
        ``ess_bulk``; each of shape ``draws.shape[2:]``.
    """
    draws = np.asarray(draws, dtype=float)
    pooled = draws.reshape((-1,) + draws.shape[2:])  # (C * S, ...)
    q05, q95 = np.quantile(pooled, [0.05, 0.95], axis=0)
    return {
        "mean": pooled.mean(axis=0),
        "sd": pooled.std(axis=0, ddof=1),
        "q05": q05,
        "q95": q95,
        "rhat": split_rhat(draws),
        "ess_bulk": ess_bulk(draws),
    }


def worst_diagnostics(*draws):
    """Largest split R-hat and smallest bulk ESS over every parameter.

    Parameters
    ----------
    *draws : ndarray, shape (n_chains, n_samples, ...)
        One array per parameter block (NaN diagnostics, from constant draws, are skipped).

    Returns
    -------
    max_rhat, min_ess_bulk : float
    """
    max_rhat = max(float(np.nanmax(split_rhat(d))) for d in draws)
    min_ess = min(float(np.nanmin(ess_bulk(d))) for d in draws)
    return max_rhat, min_ess


def is_converged(max_rhat, min_ess_bulk):
    """True if the worst split R-hat is at most ``MAX_RHAT`` and the worst bulk ESS at least ``MIN_ESS_BULK``."""
    return max_rhat <= MAX_RHAT and min_ess_bulk >= MIN_ESS_BULK
