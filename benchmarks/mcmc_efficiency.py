"""One timed MCMC fit of a benchmark problem, its mixing diagnostics and their table rows.

Its own module because it is the efficiency half of ``bench_hawkes.py`` (the likelihood
timings are the other), and ``check_against_nuts.py`` names its parameters the same way.
"""

from time import perf_counter, process_time

import numpy as np

from mcmc_diagnostics import MAX_RHAT, MIN_ESS_BULK


def parameter_names(alpha_true, beta_kind):
    """Names of the flattened parameters in the order ``mu, alpha, beta`` of ``summary()``."""
    n = len(alpha_true)
    names = [f"mu[{i}]" for i in range(n)]
    names += [f"alpha[{i},{j}] ({'edge' if alpha_true[i, j] > 0 else 'absent'})" for i in range(n) for j in range(n)]
    if beta_kind == "shared":
        return names + ["beta"]
    return names + [f"beta[{i},{j}]" for i in range(n) for j in range(n)]


def fit_and_diagnose(model, events, end_time, truth, n_samples, n_warmup, n_chains, seed):
    """Fit, time the fit, and gather the mixing diagnostics of the posterior.

    Returns
    -------
    dict
        ``wall_s``, ``cpu_s``, ``max_rhat``, ``min_ess``, ``ess_per_s``, ``slowest`` (name of the
        parameter of least bulk ESS), per-group minimum ESS, acceptance, and the posterior
        mean's largest alpha error.
    """
    alpha_true = truth[1]
    start, start_cpu = perf_counter(), process_time()
    post = model.fit(
        events, end_time, n_samples=n_samples, n_warmup=n_warmup, n_chains=n_chains, seed=seed, progress=False
    )
    wall, cpu = perf_counter() - start, process_time() - start_cpu
    summary = post.summary()
    ess = np.concatenate([np.ravel(summary[k]["ess_bulk"]) for k in ("mu", "alpha", "beta")])
    names = parameter_names(alpha_true, "shared" if np.ndim(summary["beta"]["mean"]) == 0 else "pair")
    alpha_ess = np.asarray(summary["alpha"]["ess_bulk"])
    edge = alpha_true > 0
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "s_per_sweep": wall / (n_samples + n_warmup),
        "max_rhat": float(post.max_rhat),
        "min_ess": float(post.min_ess_bulk),
        "ess_per_s": float(post.min_ess_bulk) / wall,
        "slowest": names[int(np.argmin(ess))],
        "min_ess_mu": float(np.min(summary["mu"]["ess_bulk"])),
        "min_ess_edge": float(np.min(alpha_ess[edge])),
        "min_ess_absent": float(np.min(alpha_ess[~edge])),
        "min_ess_beta": float(np.min(summary["beta"]["ess_bulk"])),
        "acceptance": acceptance_text(post.acceptance),
        "max_alpha_error": float(np.max(np.abs(summary["alpha"]["mean"] - alpha_true))),
        "beta_mean": float(np.mean(summary["beta"]["mean"])),
        "beta_true": float(np.mean(truth[2])),
    }


def acceptance_text(acceptance):
    """A short text of the sampler's acceptance rates, whatever their container."""
    if isinstance(acceptance, dict):
        return ", ".join(f"{k} {np.mean(v):.2f}" for k, v in acceptance.items())
    return f"{np.mean(acceptance):.2f}"


def mcmc_rows(result, wall_goal, goal_ess_per_s):
    """(quantity, measured, goal) rows of one MCMC benchmark."""
    r = result
    return [
        ("wall time (s)", f"{r['wall_s']:.2f}", wall_goal),
        ("CPU time of the process (s; below wall time when other jobs share the cores)", f"{r['cpu_s']:.2f}", "-"),
        ("time per sweep, 4 chains (s)", f"{r['s_per_sweep']:.4f}", "-"),
        ("max R-hat", f"{r['max_rhat']:.4f}", f"<= {MAX_RHAT}"),
        ("min bulk ESS", f"{r['min_ess']:.0f}", f">= {MIN_ESS_BULK}"),
        ("min bulk ESS per second", f"{r['ess_per_s']:.1f}", f">= {goal_ess_per_s:g}"),
        ("min bulk ESS per CPU-second", f"{r['min_ess'] / r['cpu_s']:.1f}", "-"),
        ("slowest parameter", r["slowest"], "-"),
        (
            "min ESS: mu / alpha edges / absent alpha / beta",
            f"{r['min_ess_mu']:.0f} / {r['min_ess_edge']:.0f} / {r['min_ess_absent']:.0f} / {r['min_ess_beta']:.0f}",
            "-",
        ),
        ("acceptance", r["acceptance"], "-"),
        ("posterior-mean max |alpha - truth|", f"{r['max_alpha_error']:.3f}", "-"),
        ("posterior-mean beta (truth), 1/s", f"{r['beta_mean']:.4g} ({r['beta_true']:g})", "-"),
    ]
