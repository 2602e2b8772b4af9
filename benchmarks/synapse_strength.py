"""Which synapses the Hawkes posterior shows: the AUC by synapse strength and by refractory share.

For every fitted group of the default pipeline's posterior, the excitatory synapses among the
observable pairs (alpha fitted, both neurons fire) are split into bins, and each bin's synapses
are scored against every absent pair (weight exactly 0) by the ROC AUC of their posterior-mean
alpha: 1 when every synapse of the bin outranks every absent pair, 0.5 at chance. Two splits:

- by true weight, in threshold units: whether the missing AUC sits in the weak synapses, which
  ``train_snn.py --min-weight`` removes;
- by refractory share, the share of the source's spikes (in the group's trials) that reach the
  target while it is refractory, where the LIF neuron discards them: such a spike leaves no
  trace in the target's spike train, however strong the synapse. The table gives each bin's
  mean weight too, as the two splits are not independent.

Reads:  data/hawkes_posterior.npz (``make fit`` writes it; it holds the true weights) and the
        spike file it was fitted to, data/spike_trains.pkl (checked by its SHA-256).
Writes: the "synapse-strength" section of docs/RESULTS.md (unless ``--no-report``); prints it.
Command:  python -m benchmarks.synapse_strength
"""

import argparse
import hashlib
import shlex
import sys
from pathlib import Path

import numpy as np

from benchmarks.report import ROOT, printed_section
from connectivity import connection_matrix, connectivity_auc, observable_pairs
from posterior_file import load_posterior
from safe_files import InputFileError
from spike_file import load_spike_trains
from spiking_network import LIFParams

BIN_EDGES = (0.0, 0.3, 0.6, 1.0, np.inf)  # true weight, threshold units
SHARE_EDGES = (0.0, 0.2, 0.5, 1.0)  # refractory share; the last bin includes 1


def bin_aucs(alpha, true_weights, pairs, bins):
    """AUC of each bin's synapses against every absent pair, and the bin's number of synapses.

    Parameters
    ----------
    alpha, true_weights : ndarray, shape (D, D), [target, source]
    pairs : ndarray of bool, shape (D, D)
        The pairs that count (e.g. ``observable_pairs``).
    bins : iterable of ndarray of bool, shape (D, D)
        The pairs of each bin; only its synapses (weight > 0) are scored.

    Returns
    -------
    list of (float, int)
        Per bin: the AUC (NaN without synapses or absent pairs) and its number of synapses.
    """
    absent = true_weights == 0
    return [connectivity_auc(alpha, true_weights, pairs & (in_bin | absent))[:2] for in_bin in bins]


def strength_aucs(alpha, true_weights, pairs, edges=BIN_EDGES):
    """``bin_aucs`` over bins of true weight: bin ``k`` holds the synapses with
    ``edges[k] < weight <= edges[k + 1]``.

    Returns
    -------
    list of (float, int)
        Per bin: the AUC (NaN without synapses or absent pairs) and its number of synapses.
    """
    bins = ((true_weights > low) & (true_weights <= high) for low, high in zip(edges[:-1], edges[1:]))
    return bin_aucs(alpha, true_weights, pairs, bins)


def refractory_share(spikes, n_ref):
    """Share of each source's spikes that reach the target while the target is refractory.

    A spike of source ``j`` at step ``k`` reaches target ``i`` at step ``k + 1`` (the one-step
    delay), where the LIF neuron discards it if ``i`` spiked at one of the steps
    ``k + 1 - n_ref``, ..., ``k``. Spikes of a trial's last step reach nothing and are not counted.

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, D, n_steps)
    n_ref : int
        Refractory steps after a spike (``LIFParams.refractory_steps``).

    Returns
    -------
    ndarray, shape (D, D), [target, source]
        NaN in the columns of sources without a counted spike.
    """
    y = np.asarray(spikes, dtype=bool)
    refractory_next = np.zeros_like(y)  # [n, i, k]: i discards what arrives at step k + 1
    for lag in range(n_ref):  # n_ref shifted copies, no loop over spikes
        refractory_next[:, :, lag:] |= y[:, :, : y.shape[2] - lag]
    arriving = y[:, :, :-1].astype(float)  # (n, D, n_steps - 1): spikes that reach step k + 1
    blocked = np.einsum("nik,njk->ij", refractory_next[:, :, :-1].astype(float), arriving)
    n_arriving = arriving.sum(axis=(0, 2))  # (D,)
    return np.divide(blocked, n_arriving[None, :], out=np.full(blocked.shape, np.nan), where=n_arriving[None, :] > 0)


def share_aucs(alpha, true_weights, pairs, share, edges=SHARE_EDGES):
    """AUC of the synapses in each refractory-share bin against every absent pair.

    Parameters
    ----------
    alpha, true_weights, share : ndarray, shape (D, D), [target, source]
    pairs : ndarray of bool, shape (D, D)
    edges : sequence of float
        Bin ``k`` holds the synapses with ``edges[k] <= share < edges[k + 1]``; the last bin
        includes its upper edge.

    Returns
    -------
    list of (float, int, float)
        Per bin: the AUC (NaN without synapses or absent pairs), its number of synapses and
        their mean true weight (NaN without synapses).
    """
    synapse = (true_weights > 0) & pairs & np.isfinite(share)
    index = np.clip(np.searchsorted(edges, np.nan_to_num(share), side="right") - 1, 0, len(edges) - 2)
    bins = [synapse & (index == k) for k in range(len(edges) - 1)]
    return [
        (auc, n, float(true_weights[in_bin].mean()) if n else float("nan"))
        for (auc, n), in_bin in zip(bin_aucs(alpha, true_weights, pairs, bins), bins)
    ]


def bin_names(edges=BIN_EDGES):
    return [f"({low:g}, {high:g}]" if np.isfinite(high) else f"> {low:g}" for low, high in zip(edges[:-1], edges[1:])]


def share_names(edges=SHARE_EDGES):
    closing = [")"] * (len(edges) - 2) + ["]"]  # the last bin includes its upper edge
    return [f"[{low:g}, {high:g}{end}" for low, high, end in zip(edges[:-1], edges[1:], closing)]


def share_table(posterior, spikes, n_ref):
    """One row per fitted group: each refractory-share bin's AUC, synapses and mean weight."""
    true_weights, _ = connection_matrix(posterior.weights, posterior.layer_sizes)
    lines = ["| group | " + " | ".join(f"share {name}" for name in share_names()) + " |"]
    lines.append("|---|" + "---|" * (len(SHARE_EDGES) - 1))
    for name, group in posterior.groups.items():
        share = refractory_share(spikes[group.trials], n_ref)
        observable = observable_pairs(group.n_spikes, posterior.alpha_free)
        cells = [
            f"{auc:.3f} ({n}; {weight:.1f})" if np.isfinite(auc) else f"- ({n})"
            for auc, n, weight in share_aucs(group.summary["alpha"]["mean"], true_weights, observable, share)
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(posterior):
    """One row per fitted group: each bin's AUC and, in brackets, its number of synapses."""
    true_weights, _ = connection_matrix(posterior.weights, posterior.layer_sizes)
    lines = ["| group | " + " | ".join(f"weight {name}" for name in bin_names()) + " |"]
    lines.append("|---|" + "---|" * (len(BIN_EDGES) - 1))
    for name, group in posterior.groups.items():
        observable = observable_pairs(group.n_spikes, posterior.alpha_free)
        cells = [
            f"{auc:.3f} ({n})" if np.isfinite(auc) else f"- ({n})"
            for auc, n in strength_aucs(group.summary["alpha"]["mean"], true_weights, observable)
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--posterior-file", type=Path, default=ROOT / "data" / "hawkes_posterior.npz")
    parser.add_argument("--spike-file", type=Path, default=ROOT / "data" / "spike_trains.pkl")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    try:
        posterior = load_posterior(args.posterior_file)
        spike_data = load_spike_trains(args.spike_file)
    except InputFileError as err:
        sys.exit(f"synapse_strength: error: {err}")
    if hashlib.sha256(args.spike_file.read_bytes()).hexdigest() != posterior.config.get("spike_file_sha256"):
        sys.exit(
            f"synapse_strength: error: {args.posterior_file} was not fitted to {args.spike_file}; "
            "rerun python fit_hawkes_process.py on it"
        )
    n_ref = LIFParams(**spike_data["lif"]).refractory_steps(spike_data["dt"])
    command = shlex.join(["python", "-m", "benchmarks.synapse_strength", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "synapse-strength",
        "The connectivity AUC by synapse strength and by refractory share (default pipeline, observable pairs)",
        command,
        enabled=not args.no_report,
    ):
        print(
            "AUC of the posterior-mean alpha of each bin's excitatory synapses (true weight in "
            "threshold units) against every absent pair; in brackets, the bin's synapses.\n"
        )
        print(markdown_table(posterior))
        print(
            "\nThe same by refractory share: the share of the source's spikes in the group's trials "
            f"that reach the target within {n_ref} steps after one of its own spikes, where the LIF "
            "neuron discards them. In brackets: the bin's synapses; their mean true weight.\n"
        )
        print(share_table(posterior, spike_data["spikes"], n_ref))


if __name__ == "__main__":
    main()
