"""Draw the fitted Hawkes excitation matrices and check them against the true weights.

``alpha[i, j]`` (row ``i`` the target, column ``j`` the source) is the expected number of
spikes of neuron ``i`` directly caused by one spike of neuron ``j``. A posterior of
``fit_hawkes_process.py --model signed`` holds signed couplings in its place (excitation above 0,
inhibition below), drawn on a diverging scale centred at 0. The scores against the network's
true weights live in ``connectivity.py``.

Reads:  data/hawkes_posterior.npz  (written by ``python fit_hawkes_process.py``; its layout and
        reader are in ``posterior_file.py``)
Writes: figures/example_alpha_matrix.png     posterior-mean alpha of the main group
        figures/alpha_heatmaps_by_group.png  all groups on one colour scale, weak entries grey
        figures/alpha_vs_weights.png         alpha against the true weight, with the ROC AUC
        figures/mcmc_traces.png              trace plots of four parameters, one line per chain
Command that reproduces the README figures:  python plot_alpha_heatmaps.py
"""

import argparse
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from cli_types import seed_int
from connectivity import (
    LATERAL,
    NONE,
    REVERSE,
    SELF,
    connection_matrix,
    connectivity_auc,
    format_aucs,
    group_aucs,
    observable_pairs,
    silent_sources,
)
from mcmc_diagnostics import is_converged
from posterior_file import load_posterior
from safe_files import InputFileError, check_writable, save_figure
from trial_groups import cut_leads

ROOT = Path(__file__).resolve().parent
# An entry counts as clear excitation when the lower end of its 90% credible interval (the
# 5% quantile) exceeds this: at least one target spike per 20 source spikes. Below it an
# effect is too weak to matter in 100-step trials, and the interval says it may be zero.
ALPHA_THRESHOLD = 0.05
CREDIBLE_LOWER, CREDIBLE_UPPER = "q05", "q95"
CMAP = "viridis"
SIGNED_CMAP = "RdBu_r"  # diverging: inhibition blue, excitation red, white at 0
# Up to this many neurons the example heatmap writes each value in its cell; beyond, the
# numbers no longer fit at a readable size and the colour alone carries them.
MAX_ANNOTATED_NEURONS = 16
MASK_COLOUR = "0.85"
ALPHA_LABEL = "alpha[target, source]: expected spikes of the target\ncaused by one spike of the source"
SUMMED_ALPHA_LABEL = "summed alpha over the group's per-trial fits\n(sum of expected target spikes per source spike)"
SIGNED_LABEL = "w[target, source]: change of the target's log intensity\nper unit of the source's filtered past"


def is_signed(posterior):
    """True for a posterior of the signed model (``fit_hawkes_process.py --model signed``)."""
    return posterior.config.get("model") == "signed"


def main_group(posterior):
    """The fitted group with the most trials (the first listed among equals)."""
    return max(posterior.group_names, key=lambda name: len(posterior.groups[name].trials))


def convergence_note(group):
    """'' for a converged group; otherwise a title line, newline first, of how far it missed the limits."""
    if is_converged(group.max_rhat, group.min_ess_bulk):
        return ""
    return f"\nNOT converged: max R-hat {group.max_rhat:.4f}, min bulk ESS {group.min_ess_bulk:.0f}"


def heatmap_inches(n_neurons):
    """Width and height (inches) of one heatmap panel with room for ``n_neurons`` labels."""
    side = max(5.5, 0.22 * n_neurons + 2.5)
    return side + 1.5, side


def plot_alpha_matrix(
    ax,
    alpha,
    neuron_labels,
    layer_sizes,
    vmin=None,
    vmax=None,
    cmap=CMAP,
    mask=None,
    cbar=True,
    cbar_ax=None,
    cbar_label=ALPHA_LABEL,
    annotate=False,
    title="",
):
    """Heatmap of an alpha matrix: source on x, target on y, layer boundaries drawn.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    alpha : ndarray, shape (n_neurons, n_neurons), [target, source]
    neuron_labels : sequence of str, (n_neurons,)
    layer_sizes : dict
        Layer name -> size, in neuron order (for the boundary lines).
    vmin, vmax : float, optional
        Colour scale; shared between panels when given.
    cmap : str
        Colour map.
    mask : ndarray of bool, shape (n_neurons, n_neurons), optional
        Entries drawn grey instead of coloured.
    cbar, cbar_ax, cbar_label :
        Whether to draw a colour bar, on which Axes, with which label.
    annotate : bool
        Write each value in its cell.
    title : str

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax.set_facecolor(MASK_COLOUR)  # masked cells are left transparent, so they show this
    sns.heatmap(
        alpha,
        ax=ax,
        mask=mask,
        vmin=vmin,
        vmax=vmax,
        cmap=cmap,
        square=True,
        xticklabels=neuron_labels,
        yticklabels=neuron_labels,
        cbar=cbar,
        cbar_ax=cbar_ax,
        cbar_kws={"label": cbar_label},
        annot=annotate,
        fmt=".2f",
        annot_kws={"fontsize": 5},
    )
    for boundary in np.cumsum(list(layer_sizes.values()))[:-1]:
        ax.axhline(boundary, color="white", linewidth=1.5)
        ax.axvline(boundary, color="white", linewidth=1.5)
    ax.set_xlabel("source neuron j (cause)")
    ax.set_ylabel("target neuron i (effect)")
    ax.tick_params(axis="y", labelrotation=0)
    ax.tick_params(axis="x", labelrotation=90)
    ax.set_title(title)
    return ax


def plot_alpha_vs_weights(
    ax,
    alpha_mean,
    alpha_low,
    alpha_high,
    true_weights,
    connection_types,
    title="",
    observable=None,
    seed=0,
    signed=False,
):
    """Posterior-mean alpha (90% interval bars) against the true weight, one colour per type.

    Pairs without a synapse all have weight 0; they are spread over a narrow band around 0
    (uniform jitter drawn from ``seed``) so that they do not hide each other. Pairs outside
    ``observable`` are drawn hollow: their alpha is the prior's, a fixed 0, or pushed to 0 by a
    target that never fires, not what the spikes show of a synapse.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    alpha_mean, alpha_low, alpha_high : ndarray, shape (n_neurons, n_neurons), [target, source]
        Posterior mean and the 90% credible interval's ends.
    true_weights : ndarray, shape (n_neurons, n_neurons), [target, source]
    connection_types : ndarray of str, shape (n_neurons, n_neurons)
    title : str
    observable : ndarray of bool, shape (n_neurons, n_neurons), optional
        ``observable_pairs``; None: every pair is drawn filled.
    seed : int
        Seed of the jitter: only where the weight-0 points lie, never a number.
    signed : bool
        The couplings of the signed model: a line at 0 instead of the alpha threshold.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if observable is None:
        observable = np.ones(true_weights.shape, dtype=bool)
    present = list(dict.fromkeys(connection_types.ravel()))  # forward types in layer order
    others = (LATERAL, REVERSE, NONE, SELF)
    types = [kind for kind in present if kind not in others] + [k for k in others if k in present]
    palette = dict(zip(types, sns.color_palette("colorblind", len(types))))
    spread = 0.015 * max(np.ptp(true_weights), 1e-12)
    jitter = np.where(true_weights == 0, np.random.default_rng(seed).uniform(-spread, spread, true_weights.shape), 0.0)
    for kind in types:
        of_kind = connection_types == kind
        label = f"{kind} ({of_kind.sum()})"  # on the first series drawn, filled or hollow
        for seen in (True, False):
            pairs = of_kind & (observable == seen)
            if pairs.any():
                ax.errorbar(
                    true_weights[pairs] + jitter[pairs],
                    alpha_mean[pairs],
                    # A skewed posterior's mean can lie outside its 90% interval: no bar of negative length.
                    yerr=np.maximum([alpha_mean[pairs] - alpha_low[pairs], alpha_high[pairs] - alpha_mean[pairs]], 0.0),
                    fmt="o",
                    markersize=3.5,
                    elinewidth=0.6,
                    alpha=0.8,
                    color=palette[kind],
                    markerfacecolor=None if seen else "none",
                    label=label,
                )
                label = None
    if signed:
        ax.axhline(0, color="0.4", linestyle=":", linewidth=1)
    else:
        ax.axhline(ALPHA_THRESHOLD, color="0.4", linestyle=":", linewidth=1, label=f"threshold {ALPHA_THRESHOLD}")
    if not observable.all():
        ax.plot([], [], "o", markersize=3.5, color="0.4", markerfacecolor="none", label="hollow: not observable")
    ax.axvline(0, color="0.7", linewidth=0.8)
    ax.set_xlabel("true weight, source → target (network units)")
    ax.set_ylabel(f"posterior-mean {'w' if signed else 'alpha'} (90% credible interval)")
    ax.legend(fontsize=7, title="connection (pairs)", title_fontsize=7)
    ax.set_title(title, fontsize=9)
    return ax


def plot_trace(ax, draws, title="", log_scale=False):
    """Trace plot of one scalar parameter, one line per chain.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    draws : ndarray, shape (n_chains, n_samples)
    title : str
    log_scale : bool
        Logarithmic y axis (for a decay rate, which the sampler moves on the log scale).

    Returns
    -------
    matplotlib.axes.Axes
    """
    for chain, values in enumerate(draws):
        ax.plot(values, linewidth=0.5, alpha=0.8, label=f"chain {chain}")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("draw (after warm-up)")
    ax.set_title(title, fontsize=9)
    return ax


def trace_parameters(group, neuron_labels, alpha_free, symbol="alpha"):
    """Pick four parameters to trace: beta, the largest alpha, a near-zero alpha, one mu.

    Parameters
    ----------
    group : posterior_file.GroupPosterior
    neuron_labels : sequence of str
    alpha_free : ndarray of bool, shape (D, D)
        The fitted alphas; the near-zero one is chosen among them (a fixed 0 never moves).
    symbol : str
        What the alphas are called ("w" for the signed model's couplings).

    Returns
    -------
    list of (str, ndarray (n_chains, n_samples), float)
        Name, draws and split R-hat of each parameter.
    """
    mean, rhat = group.summary["alpha"]["mean"], group.summary["alpha"]["rhat"]
    big = np.unravel_index(np.argmax(mean), mean.shape)
    candidates = np.where(~np.eye(len(mean), dtype=bool) & alpha_free, mean, np.inf)
    small = np.unravel_index(np.argmin(np.abs(candidates)), mean.shape)

    def pair(ij):
        return f"{neuron_labels[ij[1]]}→{neuron_labels[ij[0]]}"

    beta_rhat = group.summary["beta"]["rhat"]
    if group.beta.ndim == 2:
        fixed = np.all(group.beta == group.beta.flat[0])  # the signed model's, at its mode
        beta = (f"beta ({'fixed' if fixed else 'shared'}, 1/s)", group.beta, float(beta_rhat))
    else:
        beta = (f"beta {pair(big)} (1/s)", group.beta[:, :, big[0], big[1]], float(beta_rhat[big]))
    return [
        beta,
        (f"largest {symbol} {pair(big)}", group.alpha[:, :, big[0], big[1]], float(rhat[big])),
        (f"near-zero {symbol} {pair(small)}", group.alpha[:, :, small[0], small[1]], float(rhat[small])),
        (f"mu {neuron_labels[big[0]]} (1/s)", group.mu[:, :, big[0]], float(group.summary["mu"]["rhat"][big[0]])),
    ]


def figure_example(posterior, name, cbar_label):
    """Figure of the main group's posterior-mean alpha, values written in the cells while they
    can be read (up to ``MAX_ANNOTATED_NEURONS`` neurons)."""
    group = posterior.groups[name]
    silent, fixed = silent_sources(group.n_spikes), ~posterior.alpha_free
    n_neurons = len(posterior.neuron_labels)
    fig, ax = plt.subplots(figsize=heatmap_inches(n_neurons))
    signed = is_signed(posterior)
    what, symbol = ("Signed Hawkes coupling", "w") if signed else ("Hawkes excitation", "alpha")
    title = f"{what} {symbol}, posterior mean: {name} ({len(group.trials)} test trials)"
    notes = [
        note
        for note, shown in (
            (f"{symbol} fixed at 0 (the input is driven by the stimulus alone)", fixed.any()),
            (f"sources that never fired in these trials ({symbol} = prior)", silent.any()),
        )
        if shown
    ]
    title += "".join(f"\ngrey: {note}" for note in notes) + convergence_note(group)
    mean = group.summary["alpha"]["mean"]
    extent = float(np.abs(mean[~(silent | fixed)]).max(initial=0.0)) or 1.0
    plot_alpha_matrix(
        ax,
        mean,
        posterior.neuron_labels,
        posterior.layer_sizes,
        vmin=-extent if signed else 0,
        vmax=extent if signed else None,
        cmap=SIGNED_CMAP if signed else CMAP,
        mask=silent | fixed,
        cbar_label=cbar_label,
        annotate=n_neurons <= MAX_ANNOTATED_NEURONS,
        title=title,
    )
    return fig


def figure_by_group(posterior, cbar_label):
    """Figure of all groups side by side on one colour scale, unclear entries grey."""
    names = posterior.group_names
    means = [posterior.groups[name].summary["alpha"]["mean"] for name in names]
    width, height = heatmap_inches(len(posterior.neuron_labels))
    fig, axes = plt.subplots(1, len(names), figsize=((width - 0.9) * len(names) + 1, height), squeeze=False)
    cbar_ax = fig.add_axes([0.92, 0.2, 0.012, 0.6])
    signed = is_signed(posterior)
    vmax = max(float(np.abs(mean).max()) for mean in means)
    # Under the cut a wrong group's alphas are shrunk towards its correct group's: say so where
    # the two are set side by side, as a difference between them is not the wrong trials' alone.
    leads = cut_leads(names) if posterior.config.get("partial_pooling") == "cut" else {}
    for index, (name, mean, ax) in enumerate(zip(names, means, axes[0])):
        summary = posterior.groups[name].summary["alpha"]
        if signed:  # unclear: the interval holds 0
            unclear = (summary[CREDIBLE_LOWER] <= 0) & (summary[CREDIBLE_UPPER] >= 0)
        else:
            unclear = summary[CREDIBLE_LOWER] <= ALPHA_THRESHOLD
        plot_alpha_matrix(
            ax,
            mean,
            posterior.neuron_labels,
            posterior.layer_sizes,
            vmin=-vmax if signed else 0,
            vmax=vmax,
            cmap=SIGNED_CMAP if signed else CMAP,
            mask=unclear,
            cbar=index == len(names) - 1,
            cbar_ax=cbar_ax,
            cbar_label=cbar_label,
            title=f"{name} ({len(posterior.groups[name].trials)} trials)"
            + (f"\nprior from {leads[name]}" if name in leads else "")
            + convergence_note(posterior.groups[name]),
        )
    if signed:
        fig.suptitle("Posterior-mean signed coupling w; grey: 90% credible interval holds 0", fontsize=10)
    else:
        fig.suptitle(
            f"Posterior-mean alpha; grey: 90% credible interval reaches {ALPHA_THRESHOLD} or below", fontsize=10
        )
    fig.subplots_adjust(right=0.9, wspace=0.35)
    return fig


def figure_vs_weights(posterior, name, true_weights, connection_types, seed=0):
    """Figure of the main group's alpha against the true weights, AUC in the title."""
    group = posterior.groups[name]
    summary = group.summary["alpha"]
    auc, n_pos, n_neg = connectivity_auc(summary["mean"], true_weights)
    observable = observable_pairs(group.n_spikes, posterior.alpha_free)
    seen_auc, seen_pos, seen_neg = connectivity_auc(summary["mean"], true_weights, observable)
    title = (
        f"{name}: ROC AUC of {'w' if is_signed(posterior) else 'alpha'} = {auc:.3f} for excitatory synapses "
        f"(weight > 0, n={n_pos}) vs no synapse (n={n_neg})\n"
        f"over the observable pairs (alpha fitted, both neurons fire): "
        f"{seen_auc:.3f} (n={seen_pos} vs {seen_neg})"
    )
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    plot_alpha_vs_weights(
        ax,
        summary["mean"],
        summary[CREDIBLE_LOWER],
        summary[CREDIBLE_UPPER],
        true_weights,
        connection_types,
        title=title,
        observable=observable,
        seed=seed,
        signed=is_signed(posterior),
    )
    return fig


def figure_traces(posterior, name):
    """Figure of trace plots of four parameters of the main group."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 6), sharex=True)
    for ax, (label, draws, rhat) in zip(
        axes.ravel(),
        trace_parameters(
            posterior.groups[name],
            posterior.neuron_labels,
            posterior.alpha_free,
            "w" if is_signed(posterior) else "alpha",
        ),
    ):
        plot_trace(ax, draws, title=f"{label}   R-hat {rhat:.3f}", log_scale=label.startswith("beta"))
    for ax in axes[0]:
        ax.set_xlabel("")  # the x axis is shared; label the bottom row only
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"MCMC traces, {name}", fontsize=10)
    fig.tight_layout()
    return fig


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="plot_alpha_heatmaps.py",
        allow_abbrev=False,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--posterior-file",
        type=Path,
        default=ROOT / "data" / "hawkes_posterior.npz",
        help="posterior written by fit_hawkes_process.py",
    )
    parser.add_argument("--figure-dir", type=Path, default=ROOT / "figures", help="folder for the four PNG figures")
    parser.add_argument(
        "--seed",
        type=seed_int,
        default=0,
        help="seed of the horizontal jitter that keeps the weight-0 points of alpha_vs_weights.png apart "
        "(the figures' only random draw)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        posterior = load_posterior(args.posterior_file)
    except InputFileError as err:
        sys.exit(f"plot_alpha_heatmaps.py: error: {err}")

    name = main_group(posterior)
    true_weights, connection_types = connection_matrix(posterior.weights, posterior.layer_sizes)
    if is_signed(posterior):
        cbar_label = SIGNED_LABEL
    else:
        cbar_label = SUMMED_ALPHA_LABEL if posterior.config.get("per_trial") else ALPHA_LABEL
    figures = {
        "example_alpha_matrix.png": figure_example(posterior, name, cbar_label),
        "alpha_heatmaps_by_group.png": figure_by_group(posterior, cbar_label),
        "alpha_vs_weights.png": figure_vs_weights(posterior, name, true_weights, connection_types, args.seed),
        "mcmc_traces.png": figure_traces(posterior, name),
    }
    try:
        for filename in figures:  # all or none: a path that cannot be written stops the run before any is
            check_writable(args.figure_dir / filename)
        for filename, fig in figures.items():
            save_figure(fig, args.figure_dir / filename)
    except OSError as err:
        sys.exit(f"plot_alpha_heatmaps.py: error: cannot write figures to {args.figure_dir}: {err}")
    finally:
        for fig in figures.values():
            plt.close(fig)

    print(
        "connectivity AUC of posterior-mean alpha: "
        + format_aucs(group_aucs(posterior, true_weights))
        + f" (main group {name})"
    )
    print(
        "  over the observable pairs (alpha fitted, both neurons fire): "
        + format_aucs(group_aucs(posterior, true_weights, observable=True))
    )
    print(f"wrote {len(figures)} figures to {args.figure_dir}")


if __name__ == "__main__":
    main()
