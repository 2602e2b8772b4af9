"""Scores of a Hawkes posterior against its known truth, and the table rows that pool them.

Per data set: credible-interval hits, estimation errors, edge AUC, absent-edge mass and
time-rescaling KS pass fractions; over data sets: the rows of the recovery, coverage,
diagnostics, calibration and grid-bias tables, read from the per-data-set records.

Its own module because how a fit is judged is independent of which data sets are simulated
and how they are fitted.
"""

import numpy as np
from sklearn.metrics import roc_auc_score

KS_CRITICAL_5PCT = 1.358  # sqrt(n) * KS above this rejects at 5%


# ----------------------------------------------------------------------------- scoring
def interval_hits(draws, truth, level):
    """Whether each parameter's central ``level`` credible interval contains its truth.

    Parameters
    ----------
    draws : ndarray, shape (n_chains, n_samples, ...)
    truth : ndarray, shape (...)

    Returns
    -------
    ndarray of bool, shape (...)
    """
    pooled = np.reshape(draws, (-1,) + np.shape(truth))
    lo, hi = np.quantile(pooled, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return (lo <= truth) & (truth <= hi)


def coverage_by_kind(post, truth, level):
    """Hits of the ``level`` intervals, grouped as mu / alpha of true edges / beta.

    Absent edges are left out: their truth, 0, lies on the boundary of a prior with support
    ``alpha > 0``, so a central interval never contains it (``absent_alpha`` reports them).
    """
    mu, alpha, beta = truth
    return {
        "mu": interval_hits(post.mu, mu, level).ravel(),
        "alpha edges": interval_hits(post.alpha, alpha, level)[alpha > 0],
        "beta": np.ravel(interval_hits(post.beta, np.full(np.shape(post.beta)[2:], beta), level)),
    }


def absent_alpha(post, alpha_true):
    """Mean over absent edges of the posterior mean and of the 95% quantile of alpha."""
    absent = alpha_true == 0
    if not absent.any():
        return float("nan"), float("nan")
    pooled = post.alpha.reshape(-1, *alpha_true.shape)[:, absent]  # (C*S, n_absent)
    return float(pooled.mean()), float(np.quantile(pooled, 0.95, axis=0).mean())


def errors(mu, alpha, beta, truth):
    """Estimation errors against the truth: alpha RMSE and max, mu and beta relative."""
    mu_t, alpha_t, beta_t = truth
    return {
        "alpha_rmse": float(np.sqrt(np.mean((alpha - alpha_t) ** 2))),
        "alpha_max": float(np.max(np.abs(alpha - alpha_t))),
        "mu_rel_rmse": float(np.sqrt(np.mean((mu / mu_t - 1) ** 2))),
        "beta_rel": float(np.mean(beta) / beta_t - 1),
    }


def edge_auc(scores, alpha_true):
    """ROC AUC of ``scores`` separating true edges from absent ones (nan if only one class)."""
    labels = (alpha_true > 0).ravel()
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, np.ravel(scores)))


def posterior_means(post):
    return (post.mu.mean(axis=(0, 1)), post.alpha.mean(axis=(0, 1)), post.beta.mean(axis=(0, 1)))


def ks_pass_fraction(ks, counts):
    """Fraction of neurons whose KS statistic is below the 5% critical value (nan: no spikes)."""
    counts = np.asarray(counts, dtype=float)
    has = counts > 0
    return float(np.mean(np.asarray(ks)[has] * np.sqrt(counts[has]) < KS_CRITICAL_5PCT))


# ----------------------------------------------------------------------------- tables
def calibration_rows(records):
    """Pooled coverage of the 50% and 90% intervals with binomial standard errors."""
    rows = []
    for level in (50, 90):
        hits = np.concatenate([r[f"hits{level}"] for r in records])
        rate = hits.mean()
        rows.append((f"{level}%", f"{hits.size}", f"{rate:.3f} +- {np.sqrt(rate * (1 - rate) / hits.size):.3f}"))
    return rows


def recovery_rows(records):
    """Mean over data sets of each error, posterior mean beside MLE."""
    rows = []
    for key, label in (
        ("alpha_rmse", "alpha RMSE"),
        ("alpha_max", "alpha max |error|"),
        ("mu_rel_rmse", "mu relative RMSE"),
        ("beta_rel", "beta relative error"),
    ):
        post = np.array([r["posterior"][key] for r in records])
        mle = np.array([r["mle"][key] for r in records])
        stat = np.mean(np.abs(post)), np.mean(np.abs(mle))
        rows.append(
            (
                label,
                f"{stat[0]:.4f}",
                f"{stat[1]:.4f}",
                f"{stat[0] / stat[1]:.2f}",
                f"{np.mean(np.abs(post) <= np.abs(mle)):.2f}",
            )
        )
    return rows


def coverage_rows(records):
    """Pooled coverage of 50% and 90% intervals per kind, with a binomial standard error."""
    rows = []
    kinds = list(records[0]["hits50"])
    for kind in kinds + ["all"]:
        group = kinds if kind == "all" else [kind]
        cells = [kind]
        for level in ("hits50", "hits90"):
            hits = np.concatenate([np.asarray(r[level][k], dtype=float) for r in records for k in group])
            p = hits.mean() if hits.size else float("nan")
            se = np.sqrt(p * (1 - p) / hits.size) if hits.size else float("nan")
            cells.append(f"{p:.3f} ± {se:.3f}")
        cells.append(hits.size)
        rows.append(tuple(cells))
    return rows


def diagnostics_rows(records):
    """AUC, goodness of fit, fit time and convergence, summarised over data sets."""

    def span(key, fmt=".3f"):
        v = np.array([r[key] for r in records], dtype=float)
        if np.all(np.isnan(v)):
            return "n/a"
        return f"{np.nanmean(v):{fmt}} (min {np.nanmin(v):{fmt}}, max {np.nanmax(v):{fmt}})"

    return [
        ("edge AUC, posterior-mean alpha", span("auc_posterior")),
        ("edge AUC, MLE alpha", span("auc_mle")),
        (
            "absent edges (truth 0): mean posterior mean / mean 95% quantile / mean MLE",
            f"{np.mean([r['absent_mean_q95'][0] for r in records]):.4f} / "
            f"{np.mean([r['absent_mean_q95'][1] for r in records]):.4f} / "
            f"{np.mean([r['absent_mle_mean'] for r in records]):.4f}",
        ),
        ("KS below 5% critical value, true parameters", span("ks_pass_truth")),
        ("KS below 5% critical value, posterior mean", span("ks_pass_fit")),
        ("KS below 5% critical value, Poisson (alpha = 0)", span("ks_pass_poisson")),
        (
            "mean KS, posterior mean / Poisson",
            f"{np.mean([r['ks_mean_fit'] for r in records]):.4f} / "
            f"{np.mean([r['ks_mean_poisson'] for r in records]):.4f}",
        ),
        ("max R-hat", span("max_rhat")),
        ("min bulk ESS", span("min_ess", ".0f")),
        ("fit time (s)", span("fit_s", ".1f")),
        ("events per data set", span("n_events", ".0f")),
        ("|log L ours - log L here| / |log L| at truth", span("loglik_rel_diff", ".1e")),
    ]


def bias_rows(names, results):
    rows = []
    for name, res in zip(names, results):
        d, c = res["discrete"], res["continuous"]
        rows.append(
            (
                name,
                f"{d['alpha_scale']:.3f} / {d['mle_alpha_scale']:.3f}",
                f"{c['alpha_scale']:.3f} / {c['mle_alpha_scale']:.3f}",
                f"{d['alpha_scale'] / c['alpha_scale']:.1f}",
                f"{d['auc']:.3f} / {c['auc']:.3f}",
                f"{d['beta_dt']:.3g} / {c['beta_dt']:.3g}",
                f"{d['max_rhat']:.3f} / {c['max_rhat']:.3f}",
            )
        )
    return rows
