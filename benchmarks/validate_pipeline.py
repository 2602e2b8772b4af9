"""Validate fit_hawkes_process.py and the AUC on spike trains whose Hawkes truth is known.

The trained network's spike file supplies everything but the spikes: layer sizes, labels,
predictions, the train/test split, the stimuli and the true weights. The spikes are replaced
by a discrete-time Hawkes process over the network's graph: ``alpha = ALPHA_EDGE`` on every
pair with a positive weight and 0 elsewhere (the AUC's positives and negatives), one shared
``beta = BETA`` and background ``MU_LIF`` for the LIF neurons; the input neuron has no
incoming edge and fires with its class's stimulus probability per step, ``0.5 (1 + sin)`` or
``0.5 (1 + cos)`` as in training (a Hawkes node whose background is locked to the stimulus).
``fit_hawkes_process.py``, run as a subprocess, then fits these trains with its defaults, with ``--background
constant``, with ``--input coupled`` (the input's row fitted too) and with ``--per-trial``
(the original's summed matrices), and the connectivity AUC of every group is printed, over all
pairs and over the observable pairs (alpha fitted, both neurons fire): the pipeline's own
ceiling, and what the stimulus background and the exogenous input are for.

Reads:  data/spike_trains.pkl  (written by ``python train_snn.py``)
Writes: nothing in the repo (temporary files only)
Commands for the README numbers, from the repository root:
    python -m benchmarks.validate_pipeline                    (about 2.5 min)
    python -m benchmarks.validate_pipeline --max-spikes 4000
"""

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter

import numpy as np

import connectivity
from benchmarks.report import printed_section
from cli_types import int_at_least
from hawkes_model import simulate_hawkes
from mcmc_diagnostics import is_converged
from posterior_file import load_posterior
from safe_files import InputFileError

# class_rates is the stimulus the network was trained on, defined once beside the training that
# draws it, and the simulated input must fire with exactly those probabilities. It describes the
# data set, not the spike file's format, so spike_file.py is no home for it; a copy here could
# drift from it, and an estimate from the stored input spikes would put a noisy stand-in where
# the truth is known. The price is importing torch with snn_training.
from snn_training import class_rates
from spike_file import events_to_raster, load_spike_trains, save_spike_trains

ROOT = Path(__file__).resolve().parent.parent
ALPHA_EDGE = 0.12  # branching ratio of every excitatory synapse (sum over a row stays < 1)
BETA = 1000.0  # 1/s: with dt = 1 ms most of an effect falls on the next step, like a synapse
MU_LIF = 20.0  # 1/s background of the hidden and output neurons
# The stimulus's probability reaches 0 and 1, where the intensity -log(1 - p) / dt would be
# infinite or zero; clipped to this range it changes by at most 0.1% of the steps.
P_RANGE = (1e-3, 1 - 1e-3)
VARIANTS = {
    "default (stimulus bg., exogenous)": [],
    "--background constant": ["--background", "constant"],
    "--input coupled": ["--input", "coupled"],
    "--per-trial (summed matrices)": ["--per-trial"],
}


def hawkes_truth(record):
    """Hawkes parameters over the network's graph and the stimulus background of each class.

    Parameters
    ----------
    record : dict
        A spike file as returned by ``load_spike_trains``.

    Returns
    -------
    mu : ndarray, shape (D,)
        1/s; the input's is its mean stimulus intensity.
    alpha : ndarray, shape (D, D)
        ``ALPHA_EDGE`` where the true weight ``[target, source]`` is positive, else 0.
    backgrounds : ndarray, shape (n_classes, D, n_steps)
        Relative background per class: the input's stimulus intensity over its mean, ones
        for the LIF neurons.
    """
    config, dt = record["config"], record["dt"]
    true_weights, _ = connectivity.connection_matrix(record["weights"], record["layer_sizes"])
    n_dims, n_in = true_weights.shape[0], record["layer_sizes"]["input"]
    probability = np.clip(
        class_rates(record["n_steps"], config["sine_freq"], config["cosine_freq"]), *P_RANGE
    )  # (n_classes, n_steps)
    intensity = -np.log1p(-probability) / dt  # 1/s, P(spike) = p
    mu = np.full(n_dims, MU_LIF)
    mu[:n_in] = intensity.mean()
    backgrounds = np.ones((probability.shape[0], n_dims, record["n_steps"]))
    backgrounds[:, :n_in] = (intensity / intensity.mean())[:, None, :]
    return mu, np.where(true_weights > 0, ALPHA_EDGE, 0.0), backgrounds


def simulated_record(record, seed):
    """The spike file with its spikes replaced by the Hawkes truth, one realisation per trial."""
    mu, alpha, backgrounds = hawkes_truth(record)
    dt, n_steps = record["dt"], record["n_steps"]
    seeds = np.random.SeedSequence(seed).spawn(len(record["spikes"]))
    events = [
        simulate_hawkes(
            mu, alpha, BETA, n_steps * dt, seed=trial_seed, time="discrete", dt=dt, background=backgrounds[label]
        )
        for label, trial_seed in zip(record["labels"], seeds)
    ]  # one realisation per trial
    return {**record, "spikes": events_to_raster(events, n_steps, dt)}  # (trials, D, n_steps)


def fit_and_score(spike_file, workdir, options, seed, max_spikes):
    """Run fit_hawkes_process.py on ``spike_file`` in a subprocess; its table goes to stdout.

    Returns {group: (trials, AUC over all pairs, AUC over the observable pairs, converged)}.
    """
    posterior_file = workdir / "posterior.npz"
    files = ["--spike-file", str(spike_file), "--posterior-file", str(posterior_file)]
    fit = subprocess.run(
        [sys.executable, str(ROOT / "fit_hawkes_process.py"), *files, "--seed", str(seed)]
        + ["--max-spikes", str(max_spikes), *options],
        stderr=subprocess.PIPE,
        text=True,
    )
    if fit.returncode:  # the script's one-line error is the last line it printed
        raise RuntimeError((fit.stderr.strip().splitlines() or [f"exit status {fit.returncode}"])[-1])
    sys.stderr.write(fit.stderr)  # its warnings (skipped or unconverged groups) still reach the reader
    posterior = load_posterior(posterior_file)
    true_weights, _ = connectivity.connection_matrix(posterior.weights, posterior.layer_sizes)
    auc_all = connectivity.group_aucs(posterior, true_weights)
    auc_seen = connectivity.group_aucs(posterior, true_weights, observable=True)
    return {
        name: (len(group.trials), auc_all[name], auc_seen[name], is_converged(group.max_rhat, group.min_ess_bulk))
        for name, group in posterior.groups.items()
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--spike-file",
        type=Path,
        default=ROOT / "data" / "spike_trains.pkl",
        help="trained network's spike file (its graph and labels are used)",
    )
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the simulation and the fits")
    parser.add_argument(
        "--max-spikes",
        type=int_at_least(0),
        default=1000,
        help="fit_hawkes_process.py's spike budget per group (0: every trial, the script's default)",
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    return parser.parse_args(argv)


def run(args):
    """The benchmark itself, printing its tables."""
    try:
        record = load_spike_trains(args.spike_file)
    except InputFileError as err:
        sys.exit(f"validate_pipeline.py: error: {err}")
    start = perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        spike_file = workdir / "spike_trains.pkl"
        save_spike_trains(simulated_record(record, args.seed), spike_file)
        print(
            f"simulated {len(record['spikes'])} trials over the network's graph "
            f"(alpha {ALPHA_EDGE} on every positive weight) in {perf_counter() - start:.1f} s",
            flush=True,
        )  # before the fits' own output
        try:
            results = {
                variant: fit_and_score(spike_file, workdir, options, args.seed, args.max_spikes)
                for variant, options in VARIANTS.items()
            }
        except RuntimeError as err:
            sys.exit(f"validate_pipeline.py: error: {err}")
    print(f"\n{'fit':<34} {'group':<16} {'trials':>6} {'AUC all':>8} {'observable':>10}  converged")
    for variant, groups in results.items():
        for name, (n_trials, auc, auc_seen, converged) in groups.items():
            print(
                f"{variant:<34} {name:<16} {n_trials:>6} {auc:>8.3f} {auc_seen:>10.3f}  {'yes' if converged else 'NO'}"
            )
    print(f"\ntotal {perf_counter() - start:.0f} s")


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.validate_pipeline", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "validate-pipeline",
        "The fit script on Hawkes data over the network's graph",
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
