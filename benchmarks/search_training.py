"""Random search over the training settings: can one network be accurate and Hawkes-visible?

Each run trains the network (`train_snn.py`, the given seed) with settings drawn at random
from ``SPACE``; a network whose test accuracy reaches ``--min-accuracy`` is fitted with the
default Hawkes settings (`fit_hawkes_process.py`) and scored by the connectivity AUC of
posterior-mean alpha in every fitted group, over all pairs and over the observable pairs
(alpha fitted, both neurons fire in the group's trials). One JSON line per run, then a
summary.

    python -m benchmarks.search_training              # 120 runs, about 1 hour on 2 cores
    python -m benchmarks.search_training --runs 4     # a quick look
"""

import argparse
import json
import tempfile

import numpy as np
from joblib import Parallel, delayed

from benchmarks import seeds
from spike_file import load_spike_trains

# Flag -> values drawn uniformly; a weight limit of 0 is none (an unbounded weight).
SPACE = {
    "--noise-sigma": [0.1, 0.15, 0.2, 0.25, 0.3],
    "--temperature": [1, 2, 3, 5, 8],
    "--rate-target": [0.05, 0.08, 0.1, 0.15, 0.2],
    "--rate-floor": [0.0, 0.02, 0.03, 0.05],
    "--rate-penalty": [0, 0.5, 1, 2, 5],
    "--max-input-weight": [0, 1.5, 2, 3, 5],
    "--max-lateral-weight": [0, 3, 4, 6, 10],
    "--tau-mem": [0.005, 0.01, 0.02],
}


def draw_settings(n_runs, seed):
    """``n_runs`` dicts flag -> value, drawn from ``SPACE`` with one seeded generator."""
    rng = np.random.default_rng(seed)
    return [{flag: values[rng.integers(len(values))] for flag, values in SPACE.items()} for _ in range(n_runs)]


def run_one(settings, train_seed, min_accuracy):
    """Train with ``settings``; fit and score the network if it is accurate enough."""
    flags = [str(x) for flag, value in settings.items() for x in (flag, value)]
    with tempfile.TemporaryDirectory() as tmp:
        spike_file = seeds.train(train_seed, tmp, flags)
        result = {"settings": settings, "accuracy": load_spike_trains(spike_file)["metrics"]["test"]["accuracy"]}
        if result["accuracy"] < min_accuracy:
            return result
        scores = seeds.score(seeds.fit(train_seed, spike_file))
    for key, name in (("auc", "auc_all"), ("auc_observable", "auc_observable")):
        # A group with no scorable synapse or absent pair has no AUC: null, left out below.
        result[key] = {group: round(auc, 3) if np.isfinite(auc) else None for group, auc in scores[name].items()}
    result["converged"] = scores["converged"] == scores["groups"]
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=120, help="settings to try")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawn settings")
    parser.add_argument("--train-seed", type=int, default=0, help="train_snn.py --seed")
    parser.add_argument("--min-accuracy", type=float, default=0.9, help="test accuracy from which a network is fitted")
    parser.add_argument("--n-jobs", type=int, default=-1, help="parallel runs (-1: all cores)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.seed < 0 or args.train_seed < 0 or args.n_jobs == 0 or not 0.0 <= args.min_accuracy <= 1.0:
        parser.error("need --runs >= 1, seeds >= 0, --n-jobs != 0 and --min-accuracy in [0, 1]")

    results = Parallel(n_jobs=args.n_jobs)(
        delayed(run_one)(settings, args.train_seed, args.min_accuracy)
        for settings in draw_settings(args.runs, args.seed)
    )
    for result in results:
        print(json.dumps(result))
    fitted = [r for r in results if "auc" in r]
    accuracies = np.array([r["accuracy"] for r in results])
    print(
        f"{len(results)} runs: test accuracy >= {args.min_accuracy} in {len(fitted)}, "
        f">= 0.95 in {int((accuracies >= 0.95).sum())}"
    )
    for key, pairs in (("auc", "all pairs"), ("auc_observable", "observable pairs")):
        scored = [(r["accuracy"], [auc for auc in r[key].values() if auc is not None]) for r in fitted]
        scored = [(accuracy, aucs) for accuracy, aucs in scored if aucs]
        for threshold in (args.min_accuracy, 0.95):
            lows = [min(aucs) for accuracy, aucs in scored if accuracy >= threshold]
            highs = [max(aucs) for accuracy, aucs in scored if accuracy >= threshold]
            if lows:
                print(
                    f"AUC over {pairs}, accuracy >= {threshold}: worst group per run "
                    f"{min(lows):.3f}-{max(lows):.3f}, best group anywhere {max(highs):.3f}"
                )
        both = [aucs for accuracy, aucs in scored if accuracy >= 0.95 and min(aucs) >= 0.9]
        print(f"runs with accuracy >= 0.95 and AUC over {pairs} >= 0.9 in every scored group: {len(both)}")


if __name__ == "__main__":
    main()
