"""Small valid posterior records for tests: draws scattered around a chosen alpha."""

import numpy as np

from mcmc_diagnostics import summarise_draws
from posterior_file import PARAMETERS, SUMMARY_STATS, GroupPosterior, Posterior
from spike_file import neuron_labels


def fake_group(
    alpha_mean, trials, n_steps, n_chains=2, n_samples=40, seed=0, pair_beta=False, per_trial=False, pooled=False
):
    """A ``GroupPosterior`` whose alpha draws scatter around ``alpha_mean`` (D, D).

    Every neuron has 50 spikes per trial; the background is constant; with ``per_trial`` each
    trial's posterior-mean alpha is ``alpha_mean`` split evenly over the trials; with ``pooled``
    it holds draws of the pooled prior's k and b.
    """
    rng = np.random.default_rng(seed)
    n = len(alpha_mean)
    draws = {
        "mu": rng.gamma(5.0, 2.0, (n_chains, n_samples, n)),
        "alpha": alpha_mean * rng.gamma(50.0, 1 / 50, (n_chains, n_samples, n, n)),
        "beta": rng.gamma(50.0, 4.0, (n_chains, n_samples, *((n, n) if pair_beta else ()))),
    }
    return GroupPosterior(
        trials=np.asarray(trials, dtype=np.int64),
        n_spikes=np.full(n, 50 * len(trials)),
        **draws,
        summary={p: summarise_draws(d) for p, d in draws.items()},
        max_rhat=1.001,
        min_ess_bulk=500.0,
        acceptance={"hmc": np.full(n_chains, 0.8), "beta": np.full(n_chains, 0.3)},
        gof_ks=np.full(n, 0.05),
        background=np.ones((n, n_steps)),
        trial_alpha_mean=(np.repeat(alpha_mean[None] / len(trials), len(trials), axis=0) if per_trial else None),
        pool=(
            {"k": 1.0 + rng.gamma(2.0, 1.0, (n_chains, n_samples)), "b": rng.gamma(5.0, 0.001, (n_chains, n_samples))}
            if pooled
            else None
        ),
    )


def fake_posterior(groups, layer_sizes, weights, n_steps, alpha_free=None, config=None, skipped_groups=()):
    """A ``Posterior`` of these ``GroupPosterior`` records (name -> record), dt = 1 ms."""
    n = sum(layer_sizes.values())
    return Posterior(
        config={"per_trial": False} if config is None else config,
        dt=0.001,
        n_steps=n_steps,
        neuron_labels=neuron_labels(layer_sizes),
        layer_sizes=dict(layer_sizes),
        class_names=["sine", "cosine"],
        weights=weights,
        alpha_free=np.ones((n, n), dtype=bool) if alpha_free is None else alpha_free,
        group_names=list(groups),
        skipped_groups=list(skipped_groups),
        groups=dict(groups),
    )


def expected_keys(posterior):
    """The keys ``posterior_arrays`` documents, for this posterior's groups and moves."""
    keys = {
        "format",
        "version",
        "config",
        "dt",
        "n_steps",
        "neuron_labels",
        "layer_names",
        "layer_sizes",
        "class_names",
        "weight_names",
        "group_names",
        "skipped_groups",
        "alpha_free",
        *(f"weights/{name}" for name in posterior.weights),
    }
    for g, group in posterior.groups.items():
        keys |= {
            f"{g}/{key}"
            for key in ("trials", "n_spikes", "mu", "alpha", "beta", "max_rhat", "min_ess_bulk", "gof_ks", "background")
        }
        keys |= {f"{g}/{p}/{s}" for p in PARAMETERS for s in SUMMARY_STATS}
        keys |= {f"{g}/acceptance/{move}" for move in group.acceptance}
        if group.trial_alpha_mean is not None:
            keys.add(f"{g}/trial_alpha_mean")
        keys |= {f"{g}/pool/{hyper}" for hyper in group.pool or {}}
    return keys
