"""How well the Hawkes posterior shows synapses of each strength: the AUC, bin by bin.

For every fitted group of the default pipeline's posterior, the excitatory synapses among the
observable pairs (alpha fitted, both neurons fire) are split into bins of true weight, in
threshold units, and each bin's synapses are scored against every absent pair (weight exactly
0) by the ROC AUC of their posterior-mean alpha: 1 when every synapse of the bin outranks every
absent pair, 0.5 at chance. It shows whether the missing AUC sits in the weak synapses, which
``train_snn.py --min-weight`` removes.

Reads:  data/hawkes_posterior.npz (``make fit`` writes it; it holds the true weights).
Writes: the "synapse-strength" section of docs/RESULTS.md (unless ``--no-report``); prints it.
Command:  python -m benchmarks.synapse_strength
"""

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from benchmarks.report import ROOT, printed_section
from connectivity import connection_matrix, connectivity_auc, observable_pairs
from posterior_file import load_posterior
from safe_files import InputFileError

BIN_EDGES = (0.0, 0.3, 0.6, 1.0, np.inf)  # true weight, threshold units


def strength_aucs(alpha, true_weights, pairs, edges=BIN_EDGES):
    """AUC of the synapses in each strength bin against every absent pair.

    Parameters
    ----------
    alpha, true_weights : ndarray, shape (D, D), [target, source]
    pairs : ndarray of bool, shape (D, D)
        The pairs that count (e.g. ``observable_pairs``).
    edges : sequence of float
        Bin edges; bin ``k`` holds the synapses with ``edges[k] < weight <= edges[k + 1]``.

    Returns
    -------
    list of (float, int)
        Per bin: the AUC (NaN without synapses or absent pairs) and its number of synapses.
    """
    absent = true_weights == 0
    result = []
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (true_weights > low) & (true_weights <= high)
        auc, n_pos, _ = connectivity_auc(alpha, true_weights, pairs & (in_bin | absent))
        result.append((auc, n_pos))
    return result


def bin_names(edges=BIN_EDGES):
    return [f"({low:g}, {high:g}]" if np.isfinite(high) else f"> {low:g}" for low, high in zip(edges[:-1], edges[1:])]


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posterior-file", type=Path, default=ROOT / "data" / "hawkes_posterior.npz")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    args = parser.parse_args(argv)
    try:
        posterior = load_posterior(args.posterior_file)
    except InputFileError as err:
        sys.exit(f"synapse_strength: error: {err}")
    command = shlex.join(["python", "-m", "benchmarks.synapse_strength", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "synapse-strength",
        "The connectivity AUC by synapse strength (default pipeline, observable pairs)",
        command,
        enabled=not args.no_report,
    ):
        print(
            "AUC of the posterior-mean alpha of each bin's excitatory synapses (true weight in "
            "threshold units) against every absent pair; in brackets, the bin's synapses.\n"
        )
        print(markdown_table(posterior))


if __name__ == "__main__":
    main()
