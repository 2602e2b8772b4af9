"""Fit a multivariate Hawkes process to the network's test-trial spike trains.

This script holds what a command line asks to fit (``plan_fit``) and the command line; the groups
and what each is fitted with are in ``trial_groups.py``, the fits, their diagnostics table and
the posterior record in ``group_fits.py``, the model in ``hawkes_model.py``, the file in
``posterior_file.py``.

The test trials are grouped by true class and by whether the network classified them
correctly ("sine_correct", "cosine_correct", "sine_wrong", "cosine_wrong"). Each group gets
one posterior, pooled over its trials (every trial starts with empty history), by the
hand-written Metropolis-Hastings sampler (``hawkes_sampler.py``). Groups are fitted in
parallel through joblib; each gets its own child of ``SeedSequence(seed)``, so the result
does not depend on ``--n-jobs`` or on the joblib backend. ``--per-trial`` instead fits every
trial alone and sums each group's alpha matrices, as the original did. The input layer is
driven by the stimulus alone: its rows of alpha are fixed at 0 and its background follows the
stimulus (``--input coupled`` and ``--background constant`` fit it like any other neuron).

Reads:  data/spike_trains.pkl      (written by ``python train_snn.py``; see ``spike_file.py``)
Writes: data/hawkes_posterior.npz  (read by ``python plot_alpha_heatmaps.py``; its layout and
        reader are in ``posterior_file.py``)
Command that reproduces the README figures' input:  python fit_hawkes_process.py
"""

import argparse
import hashlib
import sys
from pathlib import Path
from time import perf_counter

import numpy as np

from cli_types import int_at_least, number, positive_float, seed_int, worker_count
from group_fits import fit_groups, format_diagnostics, posterior_record
from hawkes_model import HawkesPrior
from mcmc_diagnostics import MAX_RHAT, MIN_ESS_BULK, MIN_SAMPLES, is_converged
from posterior_file import save_posterior
from safe_files import InputFileError, check_writable
from signed_hawkes import SignedPrior
from spike_file import load_spike_trains, spikes_to_events
from trial_groups import (
    exogenous_input_mask,
    group_backgrounds,
    group_test_trials,
    lif_dead_steps,
    neurons_firing_inside_dead_steps,
    select_trials,
)

ROOT = Path(__file__).resolve().parent
N_WARMUP = 200  # sweeps per chain, with one decay or one per pair (docs/MODEL.md, The sampler)
# alpha is the expected number of the target's spikes per spike of the source (the network's
# strongest are a few); a prior expecting hundreds is no prior a fit could want, and near the
# floats' limit its draws overflow.
MAX_ALPHA_PRIOR_MEAN = 100.0
POOLING_WORDS = {
    "none": "each group alone, ",
    "class": "groups of a class partially pooled, ",
    "cut": "wrong groups' alpha priors from their correct groups, ",
}
_alpha_prior_mean = number(
    float, lambda v: 0 < v <= MAX_ALPHA_PRIOR_MEAN, f"a positive number, at most {MAX_ALPHA_PRIOR_MEAN}"
)


def sampler_settings(args):
    """The sampler's settings of ``parse_args``'s ``args``, as ``group_fits.fit_group`` takes them."""
    options = {
        "n_samples": args.n_samples,
        # The trials' draws of --per-trial are added draw by draw, so every trial keeps as many.
        "max_samples": args.n_samples if args.per_trial else max(args.max_samples, args.n_samples),
        "n_warmup": args.n_warmup,
        "n_chains": args.n_chains,
    }
    if args.model == "signed":
        options["sample_beta"] = args.sample_beta
    else:
        options["conjugate_columns"] = args.conjugate_columns
    return options


def plan_fit(spike_data, args):
    """What the command line ``args`` fit in a spike file: its groups and every option of their fits.

    Parameters
    ----------
    spike_data : dict
        The spike file, as from ``spike_file.load_spike_trains``.
    args : argparse.Namespace
        As from ``parse_args``.

    Returns
    -------
    dict
        ``all_groups`` (group name -> its test trials), ``groups`` (the fitted ones -> the
        trials fitted), ``skipped`` (names); ``events`` (one realisation per trial of the
        file), ``end_time`` (seconds per trial), ``n_dims``; ``model_options`` and
        ``sampler_options`` as ``fit_groups`` takes them; ``backgrounds`` (group name ->
        relative background (D, n_steps)); ``alpha_free`` (D, D) bool, or None: every alpha.

    Raises
    ------
    ValueError
        One line, when the spike file and the settings do not go together.
    """
    if args.refractory == "lif" and args.time != "discrete":
        raise ValueError("--refractory lif needs --time discrete; pass --refractory none")
    if args.model == "signed":
        for flag, value, plain in (
            ("--time", args.time, "discrete"),
            ("--refractory", args.refractory, "none"),
            ("--beta", args.beta, "shared"),
            ("--conjugate-columns", args.conjugate_columns, 0),
        ):
            if value != plain:
                raise ValueError(f"--model signed fits {flag} {plain} only; drop {flag} {value}")
        if args.alpha_prior_mean != HawkesPrior.alpha_mean:
            raise ValueError(f"--model signed has priors of its own; drop --alpha-prior-mean {args.alpha_prior_mean}")
        if args.per_trial:
            raise ValueError("--model signed fits pooled groups only; drop --per-trial")
        if args.partial_pooling != "none":
            raise ValueError(f"--model signed fits each group alone; drop --partial-pooling {args.partial_pooling}")
    elif args.partial_pooling != "none" and args.per_trial:
        raise ValueError(f"--per-trial fits every trial alone; drop --partial-pooling {args.partial_pooling}")
    elif args.sample_beta:
        raise ValueError("--sample-beta samples the signed model's decay; pass --model signed or drop --sample-beta")
    elif args.coupling_prior_sd != SignedPrior.w_sd:
        raise ValueError(
            "--coupling-prior-sd sets the signed model's prior; pass --model signed or drop --coupling-prior-sd"
        )
    all_groups = group_test_trials(
        spike_data["labels"], spike_data["predictions"], spike_data["split"], spike_data["class_names"]
    )
    groups, skipped = select_trials(
        all_groups, spike_data["spikes"].sum(axis=(1, 2)), args.min_trials, args.max_spikes, args.max_trials
    )
    dt = float(spike_data["dt"])
    alpha_free = exogenous_input_mask(spike_data["layer_sizes"]) if args.input == "exogenous" else None
    if args.model == "signed":
        model_options = {
            "model": "signed",
            "dt": dt,
            "alpha_mask": alpha_free,
            "prior": SignedPrior(w_sd=args.coupling_prior_sd),
        }
    else:
        model_options = {
            "time": args.time,
            "dt": dt,
            "beta": args.beta,
            "alpha_mask": alpha_free,
            "prior": HawkesPrior(alpha_mean=args.alpha_prior_mean),
        }
    if args.refractory == "lif":
        try:
            dead = lif_dead_steps(spike_data["layer_sizes"], spike_data["lif"], dt)
        except ValueError as err:
            raise ValueError(f"{err}; pass --refractory none") from None
        inside = neurons_firing_inside_dead_steps(spike_data["spikes"], dead)
        if inside.size:
            raise ValueError(
                f"neuron(s) {', '.join(map(str, inside))} fire inside the refractory period of the "
                "spike file's LIF parameters; pass --refractory none"
            )
        model_options["refractory"] = dead
    backgrounds = group_backgrounds(spike_data, groups, args.background)
    return {
        "all_groups": all_groups,
        "groups": groups,
        "skipped": skipped,
        "events": spikes_to_events(spike_data["spikes"], dt),
        "end_time": spike_data["n_steps"] * dt,
        "n_dims": spike_data["spikes"].shape[1],
        "model_options": model_options,
        "sampler_options": sampler_settings(args),
        "backgrounds": backgrounds,
        "alpha_free": alpha_free,
    }


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every default but None, whose meaning the flag's help gives."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="fit_hawkes_process.py",
        allow_abbrev=False,
        description=__doc__.split("\n\n")[0],
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument(
        "--spike-file",
        type=Path,
        default=ROOT / "data" / "spike_trains.pkl",
        help="spike trains written by train_snn.py",
    )
    parser.add_argument(
        "--posterior-file",
        type=Path,
        default=ROOT / "data" / "hawkes_posterior.npz",
        help="where to write the posterior (.npz)",
    )
    parser.add_argument(
        "--model",
        choices=("hawkes", "signed"),
        default="hawkes",
        help="hawkes: the linear Hawkes process, every alpha >= 0 (excitation only); signed: the "
        "nonlinear Hawkes process with an exponential link (signed_hawkes.py), whose couplings "
        "excite or inhibit and whose own last 3 spikes model refractoriness, written as alpha; "
        "discrete time, pooled groups, one decay fixed at its joint posterior mode (docs/MODEL.md)",
    )
    parser.add_argument(
        "--sample-beta",
        action="store_true",
        help="--model signed: sample the decay with the couplings, so that their intervals carry its "
        "uncertainty, instead of fixing it at the joint posterior mode (slower)",
    )
    parser.add_argument(
        "--coupling-prior-sd",
        type=positive_float,
        default=SignedPrior.w_sd,
        help="--model signed: sd of the Normal(0, sd) prior of every coupling and own-history weight, "
        "in units of log intensity (docs/MODEL.md, the signed model)",
    )
    parser.add_argument(
        "--time",
        choices=("discrete", "continuous"),
        default="discrete",
        help="discrete-time model on the dt grid (right for rasters) or the "
        "continuous-time model of the spike times k*dt",
    )
    parser.add_argument(
        "--background",
        choices=("stimulus", "constant"),
        default="stimulus",
        help="stimulus: the input layer's background follows its PSTH over the "
        "training trials of the group's class (the stimulus is locked to "
        "the trial), the other neurons' is constant; constant: the plain "
        "Hawkes model, every background constant",
    )
    parser.add_argument(
        "--input",
        choices=("exogenous", "coupled"),
        default="exogenous",
        help="exogenous: the input layer is driven by the stimulus alone, its "
        "rows of alpha are fixed at 0; coupled: they are fitted like any "
        "other (the original)",
    )
    parser.add_argument(
        "--refractory",
        choices=("lif", "none"),
        default="none",
        help="none: every step counts, the plain Hawkes model; lif (discrete time only): a LIF "
        "neuron's intensity is 0 for the refractory steps after each of its spikes (tau_ref of "
        "the spike file), in which the neuron discards its input, so a source spike that "
        "reaches it then is no evidence against the synapse; the input layer has none. It fits "
        "the spike trains better; on fresh seeds it ranked the synapses no better than the plain "
        "model (docs/DEFAULTS.md, step 8)",
    )
    parser.add_argument(
        "--beta",
        choices=("shared", "pair"),
        default="shared",
        help="one decay rate (1/s) for all pairs, or one per (target, source)",
    )
    parser.add_argument(
        "--alpha-prior-mean",
        type=_alpha_prior_mean,
        default=HawkesPrior.alpha_mean,
        help=f"mean of every alpha's exponential prior, at most {MAX_ALPHA_PRIOR_MEAN} (docs/MODEL.md, Priors; "
        "the other priors are set from the data and dt; under the cut a wrong group's alphas take their "
        "correct group's posterior means instead)",
    )
    parser.add_argument(
        "--n-samples",
        type=int_at_least(MIN_SAMPLES),
        default=500,
        help=f"kept MCMC draws per chain (split R-hat needs at least {MIN_SAMPLES})",
    )
    parser.add_argument(
        "--max-samples",
        type=int_at_least(MIN_SAMPLES),
        default=2000,
        help=f"while a group's draws miss the convergence limits (max R-hat {MAX_RHAT}, min "
        f"bulk ESS {MIN_ESS_BULK}), run its chains on by --n-samples draws at a time, up to "
        "this many per chain (at most --n-samples: never); pooled fits only, --per-trial "
        "keeps --n-samples",
    )
    parser.add_argument(
        "--n-warmup",
        type=int_at_least(0),
        default=N_WARMUP,
        help="warm-up (adaptation) sweeps per chain, discarded",
    )
    parser.add_argument(
        "--n-chains", type=int_at_least(2), default=4, help="MCMC chains per fit (R-hat needs at least 2)"
    )
    parser.add_argument(
        "--conjugate-columns",
        type=int_at_least(0),
        default=0,
        help="after the warm-up, every sweep also proposes this many of each target's parameter "
        "columns, chosen at random, afresh from their prior times compensator factor: weak alphas "
        "then mix in a few sweeps, each sweep costs more (docs/MODEL.md, the sampler; 0: off)",
    )
    parser.add_argument(
        "--min-trials",
        type=int_at_least(1),
        default=5,
        help="groups with fewer test trials are reported and not fitted",
    )
    parser.add_argument(
        "--max-spikes",
        type=int_at_least(0),
        default=0,
        help="fit each group's first test trials up to this many spikes in "
        "all (0: every trial); bounds the run time, which grows with spikes",
    )
    parser.add_argument(
        "--max-trials",
        type=int_at_least(0),
        default=0,
        help="fit at most each group's first this many test trials (0: every trial)",
    )
    parser.add_argument(
        "--per-trial",
        action="store_true",
        help="fit every test trial alone and sum each group's posterior draws "
        "of alpha and mu (the original's summed matrices)",
    )
    parser.add_argument(
        "--partial-pooling",
        choices=("none", "class", "cut"),
        default=None,
        help="cut (the default for the Hawkes model fitted by group): fit each group alone, a class's wrong "
        "group after its correct group, each of its alphas under an exponential prior whose mean is the "
        "correct group's posterior mean of that alpha (one-way borrowing; docs/MODEL.md, A cut). none: each "
        "group alone under the one prior (the default with --model signed or --per-trial; to compare a "
        "class's correct and wrong groups on equal terms). class: fit the correct and wrong groups of each "
        "class jointly, their alphas sharing a hierarchical prior whose mean per pair and spread the data "
        "learn (docs/MODEL.md, Partial pooling); a small group then borrows strength from the large one as "
        "far as the groups agree; a class with one group to fit is fitted alone",
    )
    parser.add_argument(
        "--n-jobs",
        type=worker_count,
        default=-1,
        help="parallel joblib workers over groups (-1: all cores; at most one per group and per core); "
        "the result does not depend on it",
    )
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the MCMC chains")
    args = parser.parse_args(argv)
    if args.partial_pooling is None:  # the signed model and per-trial fits have no prior to borrow into
        args.partial_pooling = "none" if args.model == "signed" or args.per_trial else "cut"
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        spike_data = load_spike_trains(args.spike_file)
    except InputFileError as err:
        sys.exit(f"fit_hawkes_process.py: error: {err}")
    try:  # fail before fitting, not after, if the posterior cannot be written
        check_writable(args.posterior_file)
    except OSError as err:
        sys.exit(
            f"fit_hawkes_process.py: error: cannot write {args.posterior_file} ({err}); "
            "pass a writable --posterior-file"
        )

    try:
        plan = plan_fit(spike_data, args)
    except ValueError as err:
        sys.exit(f"fit_hawkes_process.py: error: {err}")
    groups, all_groups, sampler_options = plan["groups"], plan["all_groups"], plan["sampler_options"]
    for name in plan["skipped"]:
        print(
            f"fit_hawkes_process.py: group {name} has only {len(all_groups[name])} test "
            f"trial(s) (< --min-trials {args.min_trials}); not fitted",
            file=sys.stderr,
        )
    if not groups:
        sys.exit(
            f"fit_hawkes_process.py: error: no group of test trials has at least --min-trials {args.min_trials} trials"
        )

    print(
        f"fitting {len(groups)} group(s) of test trials "
        f"({'signed Hawkes model, ' if args.model == 'signed' else ''}"
        f"{'per trial' if args.per_trial else 'pooled'}, "
        f"{POOLING_WORDS[args.partial_pooling]}{args.time} time, "
        f"{args.background} background, {args.input} input, {args.beta} beta, "
        f"{'LIF dead steps' if args.refractory == 'lif' else 'no dead steps'}, "
        f"{args.n_chains} chains x {args.n_samples} draws, up to {sampler_options['max_samples']}"
        f"{f', conjugate proposals on {args.conjugate_columns} columns a sweep' if args.conjugate_columns else ''})"
    )
    start = perf_counter()
    try:
        fits = fit_groups(
            plan["events"],
            plan["end_time"],
            groups,
            plan["n_dims"],
            plan["model_options"],
            sampler_options,
            args.per_trial,
            args.seed,
            args.n_jobs,
            plan["backgrounds"],
            pooling=args.partial_pooling,
        )
    except MemoryError:
        sys.exit(
            "fit_hawkes_process.py: error: not enough memory for these settings; use fewer --n-chains, "
            "--n-samples, --max-samples or --max-trials"
        )
    except np.linalg.LinAlgError as err:
        # The Laplace covariance that starts the chains (and sets the signed model's metric) cannot
        # be factored: the prior leaves the posterior too flat for the data at hand.
        remedy = "a smaller --coupling-prior-sd or more trials" if args.model == "signed" else "more trials"
        sys.exit(f"fit_hawkes_process.py: error: the posterior is too flat to sample ({err}); use {remedy}")
    seconds = perf_counter() - start

    n_spikes = {name: int(spike_data["spikes"][groups[name]].sum()) for name in fits}
    n_available = {name: len(all_groups[name]) for name in fits}
    print(format_diagnostics(fits, groups, n_available, n_spikes))
    for name, fit in fits.items():
        if not is_converged(fit["max_rhat"], fit["min_ess_bulk"]):
            print(
                f"WARNING: group {name} has NOT converged (max R-hat {fit['max_rhat']:.4f}, "
                f"limit {MAX_RHAT}; min bulk ESS {fit['min_ess_bulk']:.0f}, limit "
                f"{MIN_ESS_BULK}); do not trust its alpha, rerun with larger --n-warmup, "
                "--n-samples and --max-samples"
                + ("" if args.conjugate_columns or args.model == "signed" else ", or with --conjugate-columns 3"),
                file=sys.stderr,
            )

    # Only settings that change the result: a run differing in --n-jobs or in where its files
    # live writes the same bytes.
    config = {
        **sampler_options,
        "model": args.model,
        "time": args.time,
        "beta": args.beta,
        "seed": args.seed,
        "background": args.background,
        "input": args.input,
        "refractory": args.refractory,
        "alpha_prior_mean": args.alpha_prior_mean,
        **({"coupling_prior_sd": args.coupling_prior_sd} if args.model == "signed" else {}),
        "per_trial": args.per_trial,
        "partial_pooling": args.partial_pooling,
        "min_trials": args.min_trials,
        "max_spikes": args.max_spikes,
        "max_trials": args.max_trials,
        # The input's content, not its path: the same data give the same bytes anywhere.
        "spike_file_sha256": hashlib.sha256(args.spike_file.read_bytes()).hexdigest(),
        "max_rhat_limit": MAX_RHAT,
        "min_ess_bulk_limit": MIN_ESS_BULK,
    }
    try:
        save_posterior(
            posterior_record(
                spike_data, groups, plan["skipped"], fits, config, plan["backgrounds"], plan["alpha_free"]
            ),
            args.posterior_file,
        )
    except OSError as err:
        sys.exit(f"fit_hawkes_process.py: error: cannot write {args.posterior_file}: {err}")
    print(f"fitted {len(fits)} group(s) in {seconds:.1f} s; wrote {args.posterior_file}")


if __name__ == "__main__":
    main()
