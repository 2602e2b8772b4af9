"""The two ends of the Bayesian Hawkes fit: the prior it assumes (``HawkesPrior``, and for
given data in numbers, ``PriorRates``) and the posterior draws it returns (``HawkesPosterior``).

Its own module because these are plain records that the model, the sampler and the scripts pass
around; the model of ``hawkes_model.py`` turns the one into the other.
"""

import functools
from dataclasses import dataclass

import numpy as np

from hawkes_inputs import check_positive_number
from mcmc_diagnostics import summarise_draws


@dataclass(frozen=True)
class HawkesPrior:
    """Independent priors of the Hawkes parameters (all weakly informative).

    ``mu_i ~ Gamma(mu_shape, mean=mu_mean)``; ``alpha[i, j] ~ Gamma(alpha_shape,
    mean=alpha_mean)``; ``log beta ~ Normal(log beta_median, beta_log_sd)`` (log-normal, so the
    density vanishes at beta -> 0 and the sampler cannot drift into the beta ~ 0 false mode).

    Attributes
    ----------
    mu_shape : float
        Shape of the background-rate prior (1: exponential).
    mu_mean : float or None
        Prior mean of ``mu`` in 1/s. None: the data's mean rate per neuron (events / (n_dims x
        total observed time), with a background: events / sum_i int b_i); ``0.1 / dt`` when
        there are no events or no observed time.
    alpha_shape : float
        Shape of the branching-ratio prior. The default 1 (exponential, mode at 0) favours
        sparsity without the pole at 0 of a shape < 1, which would trap the natural-scale
        ridge move of absent edges near 0.
    alpha_mean : float or array_like, shape (n_dims, n_dims)
        Prior mean of ``alpha``, one for every pair or one per pair ``[target, source]`` (the
        cut fit of ``--partial-pooling cut`` centres a group's alphas on another group's
        posterior means). Stored as a read-only float array when given per pair.
    beta_median : float or None
        Prior median of ``beta`` in 1/s. None: ``1 / dt`` in discrete time (a kernel lasting
        about one step); in continuous time the data's merged event rate (events / total
        observed time), ``1 / dt`` without events.
    beta_log_sd : float
        Standard deviation of ``log beta`` (1.5: a factor of about 12 either way covers 90%).
    """

    mu_shape: float = 1.0
    mu_mean: float | None = None
    alpha_shape: float = 1.0
    alpha_mean: float | np.ndarray = 0.1
    beta_median: float | None = None
    beta_log_sd: float = 1.5

    def __post_init__(self):
        for name in ("mu_shape", "alpha_shape", "beta_log_sd"):
            check_positive_number(getattr(self, name), f"prior.{name}")
        if np.ndim(self.alpha_mean) == 0:
            check_positive_number(self.alpha_mean, "prior.alpha_mean")
        else:
            means = np.array(self.alpha_mean, dtype=float)
            if means.ndim != 2 or means.shape[0] != means.shape[1] or not (np.isfinite(means) & (means > 0)).all():
                raise ValueError("prior.alpha_mean per pair must be a square matrix of finite positive numbers")
            means.flags.writeable = False
            object.__setattr__(self, "alpha_mean", means)
        for name in ("mu_mean", "beta_median"):
            if getattr(self, name) is not None:
                check_positive_number(getattr(self, name), f"prior.{name}")


@dataclass(frozen=True)
class PriorRates:
    """The prior of one fit in numbers: ``mu ~ Gamma(mu_shape, rate=mu_rate)``, ``alpha ~
    Gamma(alpha_shape, rate=alpha_rate)``, ``log beta ~ Normal(log_beta_mean, log_beta_sd)``."""

    mu_shape: float
    mu_rate: float
    alpha_shape: float
    alpha_rate: float | np.ndarray  # (D, D) [target, source] where the prior mean is per pair
    log_beta_mean: float
    log_beta_sd: float


@dataclass
class HawkesPosterior:
    """Posterior draws of ``HawkesProcessModel.fit``.

    Attributes
    ----------
    mu : ndarray, shape (n_chains, n_samples, n_dims)
    alpha : ndarray, shape (n_chains, n_samples, n_dims, n_dims)
    beta : ndarray, shape (n_chains, n_samples) or (n_chains, n_samples, n_dims, n_dims)
    acceptance : dict
        Move name -> (n_chains,) acceptance rate over the kept draws: ``hmc`` (averaged over
        the targets that have events), ``transfer`` (over the chosen pairs), ``beta`` (over
        the decays that have a likelihood) and, when the fit asked for it, ``conjugate`` (over
        the parameters it proposed); NaN for a move with nothing to move.

    The summary (with R-hat and ESS) is computed once, on first use; the draws are not meant
    to be modified.
    """

    mu: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    acceptance: dict

    @functools.cached_property
    def _summary(self):
        """``summarise_draws`` of every parameter, computed once."""
        return {name: summarise_draws(getattr(self, name)) for name in ("mu", "alpha", "beta")}

    def summary(self):
        """Mean, sd, 5% and 95% quantiles, R-hat and bulk ESS of every parameter.

        Returns
        -------
        dict
            ``{"mu": {...}, "alpha": {...}, "beta": {...}}``, each as ``summarise_draws``.
        """
        return {name: dict(stats_) for name, stats_ in self._summary.items()}

    @property
    def max_rhat(self):
        """Largest split R-hat over all parameters."""
        return float(max(np.nanmax(s["rhat"]) for s in self._summary.values()))

    @property
    def min_ess_bulk(self):
        """Smallest bulk ESS over all parameters."""
        return float(min(np.nanmin(s["ess_bulk"]) for s in self._summary.values()))
