"""Score the Hawkes posterior against what a neuroscientist would use instead, on the same trials.

For every fitted group of the spike file and a growing number of its test trials (the first n,
the trials ``fit_hawkes_process.py --max-trials n`` fits), the connectivity AUC of excitatory
synapses against absent pairs, over the observable pairs and over all pairs, of:

- **Hawkes**: the posterior-mean alpha of ``fit_hawkes_process.py`` with its default settings
  but each group fitted alone (``--partial-pooling none``: under the default cut a wrong group's
  prior carries its class's correct trials, which no other method sees), run as a subprocess,
  so it is exactly the script's fit;
- **signed Hawkes**: the posterior-mean couplings of ``fit_hawkes_process.py --model signed``, the
  nonlinear Hawkes process whose couplings excite or inhibit (``signed_hawkes.py``);
- **cross-correlogram**: the lag-1 excess firing ``P(y_i[k] | y_j[k-1]) - P(y_i[k])``;
- **logistic GLM**: per target, scikit-learn's ``LogisticRegression(C=1)`` (L2) of ``y_i[k]`` on
  every neuron's exponentially filtered past spikes (the discrete kernel with ``beta dt = 1``),
  the coefficient of source ``j`` as its score;
- **GLM, dead steps out**: the same GLM without the rows of each LIF target's refractory steps
  (the spike file's ``tau_ref``), in which it cannot fire;
- **history GLM, CV**: the GLM a neuroscientist would fit (Truccolo et al. 2005, Pillow et al.
  2008): per target, a logistic regression on the other neurons' filtered past (as above) and on
  its own spikes of the last ``HISTORY_LAGS`` steps (refractoriness and recovery), its L2
  strength chosen from ``GLM_CS`` by the held-out log-likelihood of ``GLM_FOLDS``-fold
  cross-validation over trials; signed, so an inhibitory input is modelled, not left to the
  other sources;
- **history GLM, excitatory**: the same GLM with its couplings held at >= 0, as a Hawkes process
  holds alpha: what modelling inhibition is worth to the ranking of the excitatory synapses;
- **tick MLE**: tick's ``HawkesExpKern`` maximum-likelihood adjacency of the spike times ``k dt``
  (continuous time, decay ``1 / dt``), when tick imports (``requirements-bench.txt``).

Every method is scored by ``connectivity.connectivity_auc`` against the network's true
weights; the observable pairs are those of the Hawkes fit (alpha fitted, both neurons fire in
the trials used), the same for every method.

Reads:  data/spike_trains.pkl (``python train_snn.py``)
Writes: figures/connectivity_vs_data.png (AUC over the observable pairs against trials used);
        prints a markdown table per trial count.
Command, from the repository root (about ten minutes on two cores):
    python -m benchmarks.compare_connectivity
"""

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.signal import lfilter  # noqa: E402
from scipy.special import expit, log_expit  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from benchmarks.report import README, write_section
from cli_types import int_at_least  # noqa: E402
from connectivity import connection_matrix, connectivity_auc, observable_pairs  # noqa: E402
from posterior_file import load_posterior  # noqa: E402
from safe_files import InputFileError, save_figure  # noqa: E402
from spike_file import load_spike_trains  # noqa: E402
from trial_groups import lif_dead_steps  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")  # formats the figure may be saved in
TRIAL_COUNTS = (4, 8, 16, 32, 64, 0)  # first n test trials of each group; 0: all of them
GLM_C = 1.0  # inverse L2 strength of the logistic GLM
GLM_CS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # inverse L2 strengths the history GLM's cross-validation tries
GLM_FOLDS = 5  # folds of that cross-validation; trial r falls in fold r % GLM_FOLDS
HISTORY_LAGS = 3  # steps of a target's own past in the history GLM
TICK_C = 1e6  # inverse strength of the ridge of the tick MLE: positivity, next to no shrinkage
TICK_STEP = 1e-5  # SVRG step of the tick MLE
KERNEL_BETA_DT = 1.0  # beta dt of the GLM's filter and the tick decay x dt
METHODS = (
    "Hawkes posterior",
    "signed Hawkes posterior",
    "logistic GLM",
    "GLM, dead steps out",
    "history GLM, CV",
    "history GLM, excitatory",
    "cross-correlogram",
    "tick MLE",
)


def lag1_excess(spikes):
    """Lag-1 cross-correlogram score ``P(y_i[k] = 1 | y_j[k-1] = 1) - P(y_i[k] = 1)``.

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, D, n_steps)

    Returns
    -------
    ndarray, shape (D, D), [target, source]; a source that never fires before the last step
    has no conditional probability and scores ``-P(y_i[k] = 1)``.
    """
    now = spikes[:, :, 1:].astype(float)  # (R, D, K-1) y_i[k]
    before = spikes[:, :, :-1].astype(float)  # (R, D, K-1) y_j[k-1]
    joint = np.einsum("rik,rjk->ij", now, before)  # (D, D) bins with both
    n_source = before.sum(axis=(0, 2))  # (D,)
    conditional = np.divide(joint, n_source[None, :], out=np.zeros_like(joint), where=n_source > 0)
    return conditional - now.mean(axis=(0, 2))[:, None]


def filtered_past(spikes, beta_dt):
    """Each neuron's past spikes through the discrete kernel ``g(m) = (1 - r) r^(m-1)``, r = e^(-beta dt).

    Returns
    -------
    ndarray, shape (n_trials, D, n_steps)
        ``sum_{m >= 1} g(m) y[k - m]`` at every step (0 at step 0).
    """
    r = np.exp(-beta_dt)
    return lfilter([0.0, 1.0 - r], [1.0, -r], spikes.astype(float), axis=2)


def logistic_glm(spikes, beta_dt=KERNEL_BETA_DT, c=GLM_C, dead=None):
    """Coefficients of an L2 logistic GLM of each neuron on every neuron's filtered past.

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, D, n_steps)
    beta_dt, c : float
        The filter's decay per step; the inverse L2 strength.
    dead : ndarray of int, shape (D,), optional
        Steps after each of its spikes in which target ``i`` cannot fire (its refractory
        period); they are left out of its regression. None: every step is a row.

    Returns
    -------
    ndarray, shape (D, D), [target, source]; 0 in the row of a target that never or always fires.
    """
    n_trials, n_dims, n_steps = spikes.shape
    features = filtered_past(spikes, beta_dt).transpose(0, 2, 1).reshape(-1, n_dims)  # (R K, D)
    scores = np.zeros((n_dims, n_dims))
    for i in range(n_dims):  # one regression per target
        live = np.ones((n_trials, n_steps), dtype=bool)
        for lag in range(1, 0 if dead is None else dead[i] + 1):
            live[:, lag:] &= ~spikes[:, i, :-lag]
        live = live.reshape(-1)
        y = spikes[:, i, :].reshape(-1)[live]
        if 0 < y.sum() < y.size:
            scores[i] = LogisticRegression(C=c, max_iter=1000).fit(features[live], y).coef_[0]
    return scores


def own_history(spikes, n_lags):
    """Each neuron's own spikes ``y_i[k - m]`` for ``m = 1 .. n_lags`` (0 before the trial).

    Returns
    -------
    ndarray, shape (n_trials, D, n_steps, n_lags)
    """
    history = np.zeros((*spikes.shape, n_lags))
    for lag in range(1, n_lags + 1):  # a loop over lags, not over steps
        history[:, :, lag:, lag - 1] = spikes[:, :, :-lag]
    return history


def penalised_logistic(features, y, c, nonnegative=0):
    """L2-penalised logistic regression, its first ``nonnegative`` coefficients held at >= 0.

    Maximises ``sum log p(y) - |w|^2 / (2 c)`` by L-BFGS-B, the objective of scikit-learn's
    ``LogisticRegression(C=c)`` (the intercept not penalised), whose solver takes no bounds.

    Parameters
    ----------
    features : ndarray, shape (n_rows, n_features)
    y : ndarray of bool, shape (n_rows,)
    c : float
        Inverse L2 strength.
    nonnegative : int
        How many of the leading coefficients are bounded below by 0.

    Returns
    -------
    coef : ndarray, shape (n_features,)
    intercept : float
    """
    n_rows, n_features = features.shape
    design = np.hstack([features, np.ones((n_rows, 1))])
    sign = np.where(y, 1.0, -1.0)

    def objective(params):
        z = sign * (design @ params)
        penalty = params[:-1] @ params[:-1] / (2 * c)
        gradient = -design.T @ (sign * expit(-z)) + np.append(params[:-1] / c, 0.0)
        return penalty - np.sum(log_expit(z)), gradient

    bounds = [(0.0, None)] * nonnegative + [(None, None)] * (n_features - nonnegative + 1)
    # Tolerances far below the defaults: a fit stopped early leaves the small coefficients short
    # of their optimum, and the ranking moves with them.
    params = minimize(
        objective,
        np.zeros(n_features + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"gtol": 1e-8, "ftol": 1e-13},
    ).x
    return params[:-1], params[-1]


def heldout_log_likelihood(features, y, folds, c, nonnegative=0):
    """Sum over ``folds`` of the log-likelihood of the test rows under ``penalised_logistic`` fitted to the rest.

    Parameters
    ----------
    features : ndarray, shape (n_rows, n_features)
    y : ndarray of bool, shape (n_rows,)
    folds : ndarray of int, shape (n_rows,)
        Fold of each row; a fold whose other rows hold only one outcome is left out.
    c : float
        Inverse L2 strength.
    nonnegative : int
        As in ``penalised_logistic``.
    """
    total = 0.0
    for fold in np.unique(folds):
        test = folds == fold
        if y[~test].all() or not y[~test].any():
            continue
        coef, intercept = penalised_logistic(features[~test], y[~test], c, nonnegative)
        z = features[test] @ coef + intercept
        total += np.sum(log_expit(np.where(y[test], z, -z)))  # log p(y), without log(0) at saturation
    return total


def history_glm(spikes, excitatory=False, beta_dt=KERNEL_BETA_DT, n_lags=HISTORY_LAGS, cs=GLM_CS, n_folds=GLM_FOLDS):
    """Logistic GLM with spike history, its L2 strength cross-validated per target.

    Target ``i`` is regressed on the other neurons' filtered past (``filtered_past``) and on its
    own spikes of the last ``n_lags`` steps; the inverse L2 strength is the one of ``cs`` whose
    fits, on all trials but one fold's (trial ``r`` in fold ``r % n_folds``), predict the held-out
    trials best (``heldout_log_likelihood``), and the scores are the coefficients of a fit to
    every trial with it.

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, D, n_steps)
    excitatory : bool
        Hold the coupling coefficients at >= 0, as a Hawkes process holds alpha: the same model
        without inhibition (its own history stays signed).

    Returns
    -------
    scores : ndarray, shape (D, D), [target, source]
        Coupling coefficients (negative for inhibition unless ``excitatory``); the diagonal
        holds the own lag-1 coefficient; 0 in the row of a target that never or always fires.
    chosen : ndarray, shape (D,)
        The inverse L2 strength chosen for each target (NaN for those rows of 0).
    """
    n_trials, n_dims, n_steps = spikes.shape
    coupling = filtered_past(spikes, beta_dt).transpose(0, 2, 1).reshape(-1, n_dims)  # (R K, D)
    history = own_history(spikes, n_lags).transpose(1, 0, 2, 3).reshape(n_dims, -1, n_lags)  # (D, R K, L)
    folds = np.repeat(np.arange(n_trials) % n_folds, n_steps)
    nonnegative = n_dims - 1 if excitatory else 0
    scores, chosen = np.zeros((n_dims, n_dims)), np.full(n_dims, np.nan)
    for i in range(n_dims):  # one regression per target
        y = spikes[:, i, :].reshape(-1)
        if not 0 < y.sum() < y.size:
            continue
        others = np.arange(n_dims) != i
        features = np.concatenate([coupling[:, others], history[i]], axis=1)
        chosen[i] = max(cs, key=lambda c: heldout_log_likelihood(features, y, folds, c, nonnegative))
        coef, _ = penalised_logistic(features, y, chosen[i], nonnegative)
        scores[i, others] = coef[: n_dims - 1]
        scores[i, i] = coef[n_dims - 1]
    return scores, chosen


def tick_mle(spikes, dt, seed, beta_dt=KERNEL_BETA_DT):
    """tick's ``HawkesExpKern`` adjacency of the spike times ``k dt``, or None without tick.

    ``seed`` seeds the SVRG solver's sampling, without which the adjacency changes between runs.

    Returns
    -------
    ndarray, shape (D, D), [target, source], or None.
    """
    try:
        from tick.hawkes import HawkesExpKern
    except ImportError:
        return None
    n_trials, n_dims, n_steps = spikes.shape
    realisations = [[np.flatnonzero(spikes[r, j]) * dt for j in range(n_dims)] for r in range(n_trials)]
    # A very weak ridge (tick enforces positivity through the penalty's proximal operator), and
    # SVRG with a fixed step: tick's line-search solvers step into negative intensities here.
    learner = HawkesExpKern(
        beta_dt / dt,
        gofit="likelihood",
        penalty="l2",
        C=TICK_C,
        solver="svrg",
        step=TICK_STEP,
        max_iter=500,
        random_state=seed,
    )
    learner.fit(realisations)  # tick's learner ends each trial at its last spike, a step or two early
    return np.asarray(learner.adjacency)


def fit_hawkes(spike_file, n_trials, seed, workdir, model="hawkes"):
    """Posterior file of ``fit_hawkes_process.py --model model`` on each group's first ``n_trials`` (0: all)."""
    posterior_file = Path(workdir) / f"posterior_{model}_{n_trials}.npz"
    files = ["--spike-file", str(spike_file), "--posterior-file", str(posterior_file)]
    fit = subprocess.run(
        [sys.executable, str(REPO_ROOT / "fit_hawkes_process.py"), *files, "--max-trials", str(n_trials)]
        + ["--seed", str(seed), "--model", model, "--partial-pooling", "none"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if fit.returncode:  # the script's one-line error is the last line it printed
        raise RuntimeError((fit.stderr.strip().splitlines() or [f"exit status {fit.returncode}"])[-1])
    sys.stderr.write(fit.stderr)  # its warnings (skipped or unconverged groups) still reach the reader
    return load_posterior(posterior_file)


def score_group(alpha_by_method, true_weights, observable):
    """Method -> (AUC over the observable pairs, AUC over all pairs); NaN for a missing method."""
    scores = {}
    for method, alpha in alpha_by_method.items():
        if alpha is None:
            scores[method] = (float("nan"), float("nan"))
        else:
            scores[method] = (
                connectivity_auc(alpha, true_weights, observable)[0],
                connectivity_auc(alpha, true_weights)[0],
            )
    return scores


def compare(spike_data, posterior, true_weights, seed, signed=None):
    """Group -> (number of trials, method -> (AUC observable, AUC all)) for one posterior file and,
    when given, the signed model's posterior file of the same groups (its method NaN without)."""
    results = {}
    dead = lif_dead_steps(spike_data["layer_sizes"], spike_data["lif"], spike_data["dt"])
    for name, group in posterior.groups.items():
        spikes = spike_data["spikes"][group.trials]
        alphas = {
            "Hawkes posterior": group.summary["alpha"]["mean"],
            "signed Hawkes posterior": None if signed is None else signed.groups[name].summary["alpha"]["mean"],
            "logistic GLM": logistic_glm(spikes),
            "GLM, dead steps out": logistic_glm(spikes, dead=dead),
            "history GLM, CV": history_glm(spikes)[0],
            "history GLM, excitatory": history_glm(spikes, excitatory=True)[0],
            "cross-correlogram": lag1_excess(spikes),
            "tick MLE": tick_mle(spikes, spike_data["dt"], seed),
        }
        observable = observable_pairs(group.n_spikes, posterior.alpha_free)
        results[name] = (len(group.trials), score_group(alphas, true_weights, observable))
    return results


def hawkes_standing(by_group):
    """One sentence: in how many (group, trials) cells the Hawkes posterior ranks best, and, method by
    method, in how many cells and by how much AUC over the observable pairs another ranks better.

    A cell where several methods rank above the posterior counts for each of them. Cells whose
    posterior has no AUC (no scorable pair) are left out.

    Parameters
    ----------
    by_group : dict
        Group -> {number of trials: method -> (AUC observable, AUC all)}.
    """
    cells = [scores for rows in by_group.values() for _, scores in sorted(rows.items())]
    cells = [scores for scores in cells if np.isfinite(scores["Hawkes posterior"][0])]
    margins = {}  # method -> its margins in the cells where it ranks above the posterior
    losses = 0
    for scores in cells:
        hawkes = scores["Hawkes posterior"][0]
        above = {m: scores[m][0] - hawkes for m in METHODS[1:] if scores[m][0] > hawkes}  # NaN is never above
        losses += bool(above)
        for method, margin in above.items():
            margins.setdefault(method, []).append(margin)
    text = (
        f"Over the observable pairs the Hawkes posterior ranks the synapses at least as well as every "
        f"other method in {len(cells) - losses} of {len(cells)} (group, trials) cells"
    )
    ordered = sorted(margins, key=lambda method: -len(margins[method]))  # stable: METHODS' order among ties
    better = "; ".join(f"{method} in {len(margins[method])} ({_by(margins[method])})" for method in ordered)
    return f"{text}; in the other {losses}, methods that rank better: {better}." if losses else f"{text}."


def _by(margins):
    """``"AUC higher by 0.003-0.024"``, or ``"AUC higher by 0.016"`` for one margin or equal ones."""
    low, high = f"{min(margins):.3f}", f"{max(margins):.3f}"
    return f"AUC higher by {low}" if low == high else f"AUC higher by {low}-{high}"


def plot_auc_against_trials(ax, rows, group):
    """One line per method: AUC over the observable pairs against the number of trials used."""
    for method in METHODS:
        points = [(n, scores[method][0]) for n, scores in rows if np.isfinite(scores[method][0])]
        if points:
            ax.plot(*zip(*points), marker="o", label=method)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("test trials used")
    ax.set_title(group)
    ax.grid(alpha=0.3)
    return ax


def markdown_table(results):
    """The AUC table at one trial count: one row per group, observable / all pairs per method."""
    lines = [
        "| group | trials | " + " | ".join(f"{m} (observable / all)" for m in METHODS) + " |",
        "|---|---|" + "---|" * len(METHODS),
    ]
    for name, (n, scores) in results.items():
        cells = [f"{scores[m][0]:.3f} / {scores[m][1]:.3f}" if np.isfinite(scores[m][0]) else "-" for m in METHODS]
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--spike-file",
        type=Path,
        default=REPO_ROOT / "data" / "spike_trains.pkl",
        help="spike trains written by train_snn.py",
    )
    parser.add_argument(
        "--figure",
        type=Path,
        default=REPO_ROOT / "figures" / "connectivity_vs_data.png",
        help="where to draw the AUC against the number of trials",
    )
    parser.add_argument(
        "--trial-counts",
        type=int_at_least(0),
        nargs="+",
        default=list(TRIAL_COUNTS),
        help="first n test trials of each group to use (0: all)",
    )
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the Hawkes fits and of tick's solver")
    parser.add_argument("--no-report", action="store_true", help="print only; write no document")
    args = parser.parse_args(argv)
    if args.figure.suffix.lower() not in FIGURE_SUFFIXES:  # say so before the fits, not after them
        parser.error(f"--figure: name a {', '.join(FIGURE_SUFFIXES)} file, got {args.figure}")
    if not args.figure.resolve().parent.is_dir() or args.figure.is_dir():
        parser.error(f"--figure: {args.figure} is a folder, or its folder does not exist")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        spike_data = load_spike_trains(args.spike_file)
    except InputFileError as err:
        sys.exit(f"compare_connectivity: error: {err}")
    by_group, sections = {}, []
    with tempfile.TemporaryDirectory() as workdir:
        for n_trials in args.trial_counts:
            try:
                posterior = fit_hawkes(args.spike_file, n_trials, args.seed, workdir)
                signed = fit_hawkes(args.spike_file, n_trials, args.seed, workdir, model="signed")
            except RuntimeError as err:
                sys.exit(f"compare_connectivity: error: {err}")
            true_weights, _ = connection_matrix(posterior.weights, posterior.layer_sizes)
            results = compare(spike_data, posterior, true_weights, args.seed, signed)
            which = f"First {n_trials}" if n_trials else "All"
            heading = f"{which} test trials of each group, each fitted alone (`--partial-pooling none`):"
            sections.append(f"{heading}\n\n{markdown_table(results)}")
            print(f"\n{sections[-1]}")
            for name, (n, scores) in results.items():
                by_group.setdefault(name, {})[n] = scores  # a group smaller than n_trials repeats a count
    fig, axes = plt.subplots(1, len(by_group), figsize=(4.5 * len(by_group), 4), sharey=True, squeeze=False)
    for ax, (name, rows) in zip(axes[0], by_group.items()):
        plot_auc_against_trials(ax, sorted(rows.items()), name)
    axes[0, 0].set_ylabel("connectivity AUC, observable pairs")
    axes[0, -1].legend(loc="lower right")
    save_figure(fig, args.figure)
    plt.close(fig)
    verdict = hawkes_standing(by_group)
    print(f"\n{verdict}\nwrote {args.figure}")
    if not args.no_report:
        command = shlex.join(["python", "-m", "benchmarks.compare_connectivity", *(argv or sys.argv[1:])])
        figure = f"![connectivity AUC against trials used]({args.figure.relative_to(REPO_ROOT)})"
        write_section(
            "comparison",
            "The Hawkes posterior against other methods, on the same trials",
            command,
            "\n\n".join([*sections, verdict, figure]).replace("](figures/", "](../figures/"),
        )
        write_section(
            "comparison",
            "The Hawkes posterior against other methods, on the same trials",
            command,
            f"{sections[-1]}\n\n{verdict}\n\n{figure}\n\nEvery trial count: "
            "[docs/RESULTS.md](docs/RESULTS.md#the-hawkes-posterior-against-other-methods-on-the-same-trials).",
            README,
        )


if __name__ == "__main__":
    main()
