"""Fit a multivariate Hawkes process to the network's test-trial spike trains.

The test trials are grouped by true class and by whether the network classified them
correctly ("sine_correct", "cosine_correct", "sine_wrong", "cosine_wrong"). Each group gets
one posterior, pooled over its trials (every trial starts with empty history), by the
hand-written Metropolis-Hastings sampler of ``hawkes_model.py``. Groups are fitted in
parallel through joblib; each gets its own child of ``SeedSequence(seed)``, so the result
does not depend on ``--n-jobs`` or on the joblib backend. ``--per-trial`` instead fits every
trial alone and sums each group's alpha matrices, as the original did. The input layer is
driven by the stimulus alone: its rows of alpha are fixed at 0 and its background follows the
stimulus (``--input coupled`` and ``--background constant`` fit it like any other neuron).

Reads:  data/spike_trains.pkl      (written by ``python train_snn.py``; see ``spike_file.py``)
Writes: data/hawkes_posterior.npz  (read by ``python plot_alpha_heatmaps.py``; its keys are
        listed in ``save_posterior`` and in the README)
Command that reproduces the README figures' input:  python fit_hawkes_process.py
"""
import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path
from time import perf_counter, process_time

import numpy as np
from joblib import Parallel, delayed

from cli_types import int_at_least, worker_count
from hawkes_model import HawkesProcessModel
from mcmc_diagnostics import MAX_RHAT, MIN_ESS_BULK, MIN_SAMPLES, summarise_draws
from mcmc_diagnostics import is_converged as limits_met
from safe_files import InputFileError, atomic_write, check_writable
from spike_file import load_spike_trains, spikes_to_events

ROOT = Path(__file__).resolve().parent
POSTERIOR_FORMAT = "snn-hawkes-posterior"
POSTERIOR_VERSION = 3  # 2: alpha_free (which alphas were fitted); 3: acceptance of the HMC sampler
PARAMETERS = ("mu", "alpha", "beta")
SUMMARY_STATS = ("mean", "sd", "q05", "q95", "rhat", "ess_bulk")
OUTCOMES = ("correct", "wrong")
# Fixed zip member timestamp (the earliest a zip can hold): np.savez_compressed stamps the
# wall-clock time into every member, which would make two identical fits differ in bytes.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# Draws are stored as float32: 7 significant digits are far below their Monte Carlo error,
# and it halves the file. Summaries are computed from the float64 draws and kept float64.
DRAW_DTYPE = np.float32


def group_test_trials(labels, predictions, split, class_names):
    """Index the test trials by true class and by correct/wrong prediction.

    Parameters
    ----------
    labels, predictions : ndarray of int, shape (n_trials,)
        True and predicted class indices into ``class_names``.
    split : ndarray of str, shape (n_trials,)
        ``"train"`` or ``"test"``; only test trials are grouped.
    class_names : sequence of str

    Returns
    -------
    dict
        ``"<class>_<correct|wrong>"`` -> int64 array of trial indices, ordered as
        all classes' correct groups, then all classes' wrong groups; empty groups left out.
    """
    labels = np.asarray(labels)
    is_test = np.asarray(split) == "test"
    is_correct = np.asarray(predictions) == labels
    groups = {}
    for outcome in OUTCOMES:
        for label, name in enumerate(class_names):
            members = is_test & (labels == label) & (is_correct == (outcome == "correct"))
            if members.any():
                groups[f"{name}_{outcome}"] = np.flatnonzero(members)
    return groups


def select_trials(groups, spike_counts, min_trials, max_spikes, max_trials=0):
    """Keep the groups with enough trials, each cut to its first trials within the budgets.

    The sampler's cost grows linearly with the number of spikes, so a spike budget bounds the
    run time whatever the network's firing rates. The test trials are independent random
    draws, so a group's first trials are a random sample of it. Both budgets are off by default.

    Parameters
    ----------
    groups : dict
        Group name -> trial indices, as from ``group_test_trials``.
    spike_counts : ndarray of int, shape (n_trials,)
        Spikes of each trial of the spike file, all neurons together.
    min_trials : int
        Groups with fewer trials are skipped.
    max_spikes : int
        Each group keeps its longest run of first trials whose spikes total at most this
        (at least one trial); 0: no limit.
    max_trials : int
        Each group keeps at most this many first trials; 0: no limit.

    Returns
    -------
    selected : dict
        Group name -> the trial indices to fit.
    skipped : list of str
        Names of the groups with fewer than ``min_trials`` trials.
    """
    selected = {}
    for name, trials in groups.items():
        if len(trials) < min_trials:
            continue
        if max_trials > 0:
            trials = trials[:max_trials]
        if max_spikes > 0:
            within = np.searchsorted(np.cumsum(spike_counts[trials]), max_spikes, side="right")
            trials = trials[:max(int(within), 1)]
        selected[name] = trials
    return selected, [name for name in groups if name not in selected]


def stimulus_background(spikes, labels, split, trials, stimulus_neurons):
    """Relative background of one group: the stimulus neurons follow their training PSTH.

    The input layer fires at a rate set by the stimulus, locked to the trial's onset (the
    sine or the cosine); a constant Hawkes background cannot follow that rhythm, and the fit
    then explains it by excitation from the neurons that follow the input (the strongest
    false edges of the plain model). The stimulus neurons' background is therefore their
    peri-stimulus time histogram over the *training* trials of the group's class (the same
    stimulus, trials the fit does not use), read as an intensity, ``-log(1 - p)`` per step for
    a spike probability ``p`` (as in the discrete likelihood), normalised to mean 1, so ``mu``
    stays their mean background rate; every other neuron keeps a constant background. A
    class without training trials gets a constant background (the estimate is 1/2 at every
    step).

    Parameters
    ----------
    spikes : ndarray of bool, shape (n_trials, n_neurons, n_steps)
    labels : ndarray of int, shape (n_trials,)
    split : ndarray of str, shape (n_trials,)
    trials : ndarray of int, shape (n,)
        The group's trials (all of one class).
    stimulus_neurons : ndarray of int, shape (k,)
        Neurons driven by the stimulus (the input layer).

    Returns
    -------
    ndarray, shape (n_neurons, n_steps)
        Relative background, > 0, mean 1 per row; ones outside ``stimulus_neurons``.
    """
    same_class = (np.asarray(split) == "train") & (np.asarray(labels) == labels[trials[0]])
    counts = spikes[same_class][:, stimulus_neurons].sum(axis=0)          # (k, n_steps)
    # Jeffreys' estimate (count + 1/2) / (n + 1) lies strictly inside (0, 1): the intensity
    # is finite and no step is impossible.
    intensity = -np.log1p(-(counts + 0.5) / (same_class.sum() + 1.0))      # (k, n_steps) per step
    background = np.ones(spikes.shape[1:])
    background[stimulus_neurons] = intensity / intensity.mean(axis=1, keepdims=True)
    return background


def exogenous_input_mask(layer_sizes):
    """Mask of the fitted alphas when the input layer is driven by the stimulus alone.

    The input neurons' spikes are drawn from the stimulus (Bernoulli at the class's rate): no
    neuron of the network projects onto them. Their rows of alpha are therefore fixed at 0 and
    only their (stimulus) background is fitted; left free, those rows are weakly identified
    (the input fires in half of all steps) and hold false edges at about the prior's scale.

    Parameters
    ----------
    layer_sizes : dict
        Layer name -> size, in neuron order; the first layer is the input.

    Returns
    -------
    ndarray of bool, shape (n_neurons, n_neurons)
        ``[target, source]``; False on the input neurons' rows.
    """
    n_neurons = sum(layer_sizes.values())
    free = np.ones((n_neurons, n_neurons), dtype=bool)
    free[:next(iter(layer_sizes.values()))] = False
    return free


def fit_group(events, end_time, n_dims, model_options, sampler_options, seed):
    """Fit one pooled posterior to a list of realisations (one joblib task).

    Parameters
    ----------
    events : list of realisations, each a list of n_dims sorted float arrays (seconds)
    end_time : float
        Length of every realisation in seconds.
    n_dims : int
    model_options : dict
        ``time``, ``dt``, ``beta``, ``background`` and ``alpha_mask`` for
        ``HawkesProcessModel``.
    sampler_options : dict
        ``n_samples``, ``n_warmup``, ``n_chains`` for ``HawkesProcessModel.fit``.
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        ``mu`` (C, S, D), ``alpha`` (C, S, D, D), ``beta`` (C, S) or (C, S, D, D) draws;
        ``summary`` as ``HawkesPosterior.summary()``; ``max_rhat``, ``min_ess_bulk``;
        ``acceptance`` move -> (C,); ``gof_ks`` (D,) KS statistics at the posterior mean;
        ``seconds`` of wall time and ``cpu_seconds`` of this process's CPU time (the
        load-independent cost on a shared machine).
    """
    start, cpu_start = perf_counter(), process_time()
    model = HawkesProcessModel(n_dims, **model_options)
    post = model.fit(events, end_time, seed=seed, progress=False, **sampler_options)
    summary = post.summary()
    gof_ks = model.goodness_of_fit(events, end_time, *(summary[p]["mean"] for p in PARAMETERS))
    return {"mu": post.mu, "alpha": post.alpha, "beta": post.beta, "summary": summary,
            "max_rhat": post.max_rhat, "min_ess_bulk": post.min_ess_bulk,
            "acceptance": dict(post.acceptance), "gof_ks": np.asarray(gof_ks, dtype=float),
            "seconds": perf_counter() - start, "cpu_seconds": process_time() - cpu_start}


def sum_trial_fits(fits):
    """Combine one group's per-trial fits into the original's summed alpha matrix.

    The trials' posteriors are independent, so adding their draws index by index gives draws
    of the summed ``mu`` and ``alpha``; ``beta`` is averaged instead (a typical decay rate).
    Convergence is judged trial by trial: the worst R-hat and ESS over trials are reported.

    Parameters
    ----------
    fits : list of dict
        Outputs of ``fit_group``, one per trial, all with the same chains and samples.

    Returns
    -------
    dict
        Same keys as ``fit_group``'s output, plus ``trial_alpha_mean`` (n_trials, D, D), each
        trial's posterior-mean alpha.
    """
    draws = {p: np.stack([fit[p] for fit in fits]) for p in PARAMETERS}  # (n_trials, C, S, ...)
    combined = {"mu": draws["mu"].sum(axis=0), "alpha": draws["alpha"].sum(axis=0),
                "beta": draws["beta"].mean(axis=0)}
    combined["summary"] = {p: summarise_draws(combined[p]) for p in PARAMETERS}
    combined["max_rhat"] = max(fit["max_rhat"] for fit in fits)
    combined["min_ess_bulk"] = min(fit["min_ess_bulk"] for fit in fits)
    combined["acceptance"] = {move: np.mean([fit["acceptance"][move] for fit in fits], axis=0)
                              for move in fits[0]["acceptance"]}
    ks = np.stack([fit["gof_ks"] for fit in fits])  # (n_trials, D); NaN: < 2 spikes in a trial
    n_finite = np.isfinite(ks).sum(axis=0)
    combined["gof_ks"] = np.divide(np.nansum(ks, axis=0), n_finite,
                                   out=np.full(ks.shape[1], np.nan), where=n_finite > 0)
    combined["seconds"] = sum(fit["seconds"] for fit in fits)
    combined["cpu_seconds"] = sum(fit["cpu_seconds"] for fit in fits)
    combined["trial_alpha_mean"] = draws["alpha"].mean(axis=(1, 2))
    return combined


def fit_groups(events, end_time, groups, n_dims, model_options, sampler_options, per_trial,
               seed, n_jobs, backgrounds=None):
    """Fit every group (or, with ``per_trial``, every trial of every group) in parallel.

    Parameters
    ----------
    events : list of realisations, one per trial of the spike file
    end_time : float
        Seconds per trial.
    groups : dict
        Group name -> trial indices, as from ``group_test_trials``.
    n_dims : int
    model_options, sampler_options : dict
        As for ``fit_group``.
    per_trial : bool
        Fit each trial alone and sum the group's matrices (``sum_trial_fits``).
    seed : int
    n_jobs : int
        joblib workers (-1: all cores). The result does not depend on it.
    backgrounds : dict or None
        Group name -> relative background (n_dims, n_steps) of its fits; None: constant.

    Returns
    -------
    dict
        Group name -> ``fit_group``-style result.
    """
    if per_trial:
        tasks = [(name, [trial]) for name, trials in groups.items() for trial in trials]
    else:
        tasks = [(name, list(trials)) for name, trials in groups.items()]
    seeds = np.random.SeedSequence(seed).spawn(len(tasks))
    backgrounds = backgrounds or {}
    fits = Parallel(n_jobs=n_jobs)(
        delayed(fit_group)([events[t] for t in trials], end_time, n_dims,
                           {**model_options, "background": backgrounds.get(name)},
                           sampler_options, task_seed)
        for (name, trials), task_seed in zip(tasks, seeds))
    if not per_trial:
        return {name: fit for (name, _), fit in zip(tasks, fits)}
    return {name: sum_trial_fits([fit for (task_name, _), fit in zip(tasks, fits)
                                  if task_name == name])
            for name in groups}


def is_converged(fit):
    """True if the fit meets ``MAX_RHAT`` and ``MIN_ESS_BULK`` (see ``mcmc_diagnostics``)."""
    return limits_met(fit["max_rhat"], fit["min_ess_bulk"])


def format_diagnostics(fits, groups, n_available, n_spikes):
    """One table row per group: trials, spikes, max R-hat, min bulk ESS, acceptance, KS, time.

    Parameters
    ----------
    fits : dict
        Group name -> ``fit_group``-style result.
    groups : dict
        Group name -> fitted trial indices.
    n_available : dict
        Group name -> number of test trials in the group (fitted or not).
    n_spikes : dict
        Group name -> total spike count of the fitted trials.

    Returns
    -------
    str
        The table, header first. ``acc(hmc)`` and ``acc(beta)`` are the acceptance rates of
        the HMC and beta moves averaged over chains; ``KS`` the goodness-of-fit KS statistic
        averaged over neurons; ``seconds`` wall and ``cpu s`` CPU time of the group's fit.
    """
    lines = [f"{'group':<16} {'trials':>9} {'spikes':>7} {'max R-hat':>9} {'min ESS':>8} "
             f"{'acc(hmc)':>8} {'acc(beta)':>9} {'KS':>6} {'seconds':>7} {'cpu s':>6}  converged"]
    for name, fit in fits.items():
        ks = fit["gof_ks"][np.isfinite(fit["gof_ks"])]  # NaN for neurons with < 2 spikes
        trials = f"{len(groups[name])}/{n_available[name]}"
        lines.append(f"{name:<16} {trials:>9} {n_spikes[name]:>7} "
                     f"{fit['max_rhat']:>9.4f} {fit['min_ess_bulk']:>8.0f} "
                     f"{np.mean(fit['acceptance']['hmc']):>8.2f} "
                     f"{np.mean(fit['acceptance']['beta']):>9.2f} "
                     f"{ks.mean() if ks.size else np.nan:>6.3f} "
                     f"{fit['seconds']:>7.1f} {fit['cpu_seconds']:>6.1f}  "
                     f"{'yes' if is_converged(fit) else 'NO'}")
    return "\n".join(lines)


def save_npz(arrays, path):
    """Write arrays as an ``.npz`` (deflated) that is byte-identical for identical input.

    ``np.load(path, allow_pickle=False)`` reads it like any ``np.savez_compressed`` file;
    unlike that function, every member gets the fixed timestamp ``ZIP_DATE_TIME``.

    Parameters
    ----------
    arrays : dict
        Key -> array-like of numeric or str dtype (object arrays are refused).
    path : str or Path
        Written atomically (temporary name, then rename).
    """
    with atomic_write(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for key, value in arrays.items():
            member = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(member, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asarray(value), allow_pickle=False)


def posterior_arrays(spike_data, groups, skipped, fits, config, backgrounds=None, alpha_free=None):
    """Lay the fit out as the flat key -> array mapping of ``data/hawkes_posterior.npz``.

    Keys (D neurons, C chains, S samples; ``<g>`` a group name, ``<p>`` one of mu, alpha,
    beta, ``<s>`` one of mean, sd, q05, q95, rhat, ess_bulk):

    ``format`` str, ``version`` int64, ``config`` str (JSON of the fit settings), ``dt``
    float64 (seconds per step), ``n_steps`` int64, ``neuron_labels`` str (D,),
    ``layer_names`` str (L,), ``layer_sizes`` int64 (L,), ``class_names`` str (K,),
    ``weight_names`` str (W,), ``weights/<name>`` float64 (n_source, n_target) as in the
    spike file, ``alpha_free`` bool (D, D), False where alpha was fixed at 0 (``--input
    exogenous``: the input's rows), ``group_names`` str (G,) of the fitted groups,
    ``skipped_groups`` str of groups with too few trials; per fitted group ``<g>/trials``
    int64 (n,) indices into the spike file's trials, ``<g>/n_spikes`` int64 (D,), ``<g>/mu``
    float32 (C, S, D),
    ``<g>/alpha`` float32 (C, S, D, D) [target, source], ``<g>/beta`` float32 (C, S) or
    (C, S, D, D), ``<g>/<p>/<s>`` float64 (parameter shape), ``<g>/max_rhat`` and
    ``<g>/min_ess_bulk`` float64 (), ``<g>/acceptance/<move>`` float64 (C,), ``<g>/gof_ks``
    float64 (D,), ``<g>/background`` float64 (D, n_steps) the relative background the group
    was fitted with (ones: constant); with ``--per-trial`` also ``<g>/trial_alpha_mean``
    float64 (n, D, D).
    """
    backgrounds = backgrounds or {}
    weights = spike_data["weights"]
    n_dims = len(spike_data["neuron_labels"])
    arrays = {
        "format": np.str_(POSTERIOR_FORMAT), "version": np.int64(POSTERIOR_VERSION),
        "config": np.str_(json.dumps(config, sort_keys=True)),
        "dt": np.float64(spike_data["dt"]), "n_steps": np.int64(spike_data["n_steps"]),
        "neuron_labels": np.array(spike_data["neuron_labels"], dtype=str),
        "layer_names": np.array(list(spike_data["layer_sizes"]), dtype=str),
        "layer_sizes": np.array(list(spike_data["layer_sizes"].values()), dtype=np.int64),
        "class_names": np.array(spike_data["class_names"], dtype=str),
        "weight_names": np.array(list(weights), dtype=str),
        **{f"weights/{name}": np.asarray(w, dtype=np.float64) for name, w in weights.items()},
        "alpha_free": (np.ones((n_dims, n_dims), dtype=bool) if alpha_free is None
                       else np.asarray(alpha_free, dtype=bool)),
        "group_names": np.array(list(fits), dtype=str),
        "skipped_groups": np.array(skipped, dtype=str),
    }
    for name, fit in fits.items():
        arrays[f"{name}/trials"] = np.asarray(groups[name], dtype=np.int64)
        spikes = spike_data["spikes"][groups[name]]  # (n_trials, D, n_steps)
        arrays[f"{name}/n_spikes"] = spikes.sum(axis=(0, 2)).astype(np.int64)
        for p in PARAMETERS:
            arrays[f"{name}/{p}"] = np.asarray(fit[p], dtype=DRAW_DTYPE)
            for stat in SUMMARY_STATS:
                arrays[f"{name}/{p}/{stat}"] = np.asarray(fit["summary"][p][stat], dtype=np.float64)
        arrays[f"{name}/max_rhat"] = np.float64(fit["max_rhat"])
        arrays[f"{name}/min_ess_bulk"] = np.float64(fit["min_ess_bulk"])
        for move, rate in fit["acceptance"].items():
            arrays[f"{name}/acceptance/{move}"] = np.asarray(rate, dtype=np.float64)
        arrays[f"{name}/gof_ks"] = np.asarray(fit["gof_ks"], dtype=np.float64)
        background = backgrounds.get(name)
        arrays[f"{name}/background"] = (np.ones(spikes.shape[1:]) if background is None
                                        else np.asarray(background, dtype=np.float64))
        if "trial_alpha_mean" in fit:
            arrays[f"{name}/trial_alpha_mean"] = np.asarray(fit["trial_alpha_mean"],
                                                            dtype=np.float64)
    return arrays


def load_posterior(path):
    """Read ``data/hawkes_posterior.npz`` (no pickles) and check it against its format.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        ``config`` (dict), ``dt``, ``n_steps``, ``neuron_labels`` (list of str),
        ``layer_sizes`` (ordered dict layer -> size), ``class_names``, ``weights`` (name ->
        (n_source, n_target) array), ``alpha_free`` (D, D) bool, ``group_names``,
        ``skipped_groups`` (lists of str), and
        ``groups``: name -> {``trials``, ``n_spikes``, ``mu``, ``alpha``, ``beta``,
        ``summary`` (param -> stat -> array), ``max_rhat``, ``min_ess_bulk``,
        ``acceptance`` (move -> (C,)), ``gof_ks``, ``background`` (D, n_steps), and
        ``trial_alpha_mean`` if per-trial}.

    Raises
    ------
    InputFileError
        If the file is missing, not an npz, holds pickled objects, has another format or
        version, lacks keys, or its shapes disagree with its neuron count.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise InputFileError(f"posterior file {path} does not exist; "
                             "run `python fit_hawkes_process.py` first") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise InputFileError(f"{path} is not a readable posterior file ({type(err).__name__}: "
                             f"{err}); rerun `python fit_hawkes_process.py`") from None
    try:
        return _unpack_posterior(arrays)
    except (KeyError, ValueError, TypeError, IndexError) as err:
        raise InputFileError(f"{path} is not a valid posterior file ({type(err).__name__}: "
                             f"{err}); rerun `python fit_hawkes_process.py`") from None


def _expect_shape(what, array, shape):
    if np.shape(array) != shape:
        raise ValueError(f"{what} has shape {np.shape(array)}, expected {shape}")


def _unpack_posterior(arrays):
    """Nest and validate the flat arrays of a posterior file (see ``load_posterior``)."""
    if arrays.get("format") != POSTERIOR_FORMAT or arrays.get("version") != POSTERIOR_VERSION:
        raise ValueError(f"format {arrays.get('format')!s} version {arrays.get('version')!s}, "
                         f"expected {POSTERIOR_FORMAT} version {POSTERIOR_VERSION}")
    labels = [str(label) for label in arrays["neuron_labels"]]
    n_dims = len(labels)
    layer_sizes = {str(k): int(v) for k, v in zip(arrays["layer_names"], arrays["layer_sizes"])}
    if sum(layer_sizes.values()) != n_dims:
        raise ValueError(f"layer sizes {layer_sizes} do not add up to {n_dims} neuron labels")
    config = json.loads(str(arrays["config"]))
    if not isinstance(config, dict):
        raise ValueError("config is not a JSON object")
    posterior = {
        "config": config, "dt": float(arrays["dt"]),
        "n_steps": int(arrays["n_steps"]), "neuron_labels": labels, "layer_sizes": layer_sizes,
        "class_names": [str(name) for name in arrays["class_names"]],
        "weights": {str(name): arrays[f"weights/{name}"] for name in arrays["weight_names"]},
        "alpha_free": arrays["alpha_free"],
        "group_names": [str(name) for name in arrays["group_names"]],
        "skipped_groups": [str(name) for name in arrays["skipped_groups"]],
        "groups": {},
    }
    for name, weight in posterior["weights"].items():
        source, target = name.split("_")  # "<source layer>_<target layer>"
        _expect_shape(f"weights/{name}", weight, (layer_sizes[source], layer_sizes[target]))
    _expect_shape("alpha_free", posterior["alpha_free"], (n_dims, n_dims))
    if posterior["alpha_free"].dtype != bool:
        raise ValueError(f"alpha_free has dtype {posterior['alpha_free'].dtype}, expected bool")
    if not posterior["group_names"]:
        raise ValueError("it holds no fitted group")
    for name in posterior["group_names"]:
        group = {key: arrays[f"{name}/{key}"]
                 for key in ("trials", "n_spikes", *PARAMETERS, "gof_ks", "background")}
        group["summary"] = {p: {s: arrays[f"{name}/{p}/{s}"] for s in SUMMARY_STATS}
                            for p in PARAMETERS}
        group["max_rhat"] = float(arrays[f"{name}/max_rhat"])
        group["min_ess_bulk"] = float(arrays[f"{name}/min_ess_bulk"])
        prefix = f"{name}/acceptance/"
        group["acceptance"] = {key[len(prefix):]: arrays[key] for key in arrays
                               if key.startswith(prefix)}
        if f"{name}/trial_alpha_mean" in arrays:
            group["trial_alpha_mean"] = arrays[f"{name}/trial_alpha_mean"]
        if group["alpha"].ndim != 4:
            raise ValueError(f"{name}/alpha has {group['alpha'].ndim} dimensions, expected 4")
        draws = group["alpha"].shape[:2]  # (C, S)
        _expect_shape(f"{name}/alpha", group["alpha"], (*draws, n_dims, n_dims))
        _expect_shape(f"{name}/mu", group["mu"], (*draws, n_dims))
        if group["beta"].shape not in ((*draws,), (*draws, n_dims, n_dims)):
            raise ValueError(f"{name}/beta has shape {group['beta'].shape}, expected {draws} "
                             f"or {(*draws, n_dims, n_dims)}")
        for p in PARAMETERS:
            for stat, value in group["summary"][p].items():
                _expect_shape(f"{name}/{p}/{stat}", value, group[p].shape[2:])
        _expect_shape(f"{name}/trials", group["trials"], (group["trials"].size,))
        for key in ("n_spikes", "gof_ks"):
            _expect_shape(f"{name}/{key}", group[key], (n_dims,))
        _expect_shape(f"{name}/background", group["background"],
                      (n_dims, posterior["n_steps"]))
        posterior["groups"][name] = group
    return posterior


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--spike-file", type=Path, default=ROOT / "data" / "spike_trains.pkl",
                        help="spike trains written by train_snn.py")
    parser.add_argument("--posterior-file", type=Path,
                        default=ROOT / "data" / "hawkes_posterior.npz",
                        help="where to write the posterior (.npz)")
    parser.add_argument("--time", choices=("discrete", "continuous"), default="discrete",
                        help="discrete-time model on the dt grid (right for rasters) or the "
                             "continuous-time model of the spike times k*dt")
    parser.add_argument("--background", choices=("stimulus", "constant"), default="stimulus",
                        help="stimulus: the input layer's background follows its PSTH over the "
                             "training trials of the group's class (the stimulus is locked to "
                             "the trial), the other neurons' is constant; constant: the plain "
                             "Hawkes model, every background constant")
    parser.add_argument("--input", choices=("exogenous", "coupled"), default="exogenous",
                        help="exogenous: the input layer is driven by the stimulus alone, its "
                             "rows of alpha are fixed at 0; coupled: they are fitted like any "
                             "other (the original)")
    parser.add_argument("--beta", choices=("shared", "pair"), default="shared",
                        help="one decay rate (1/s) for all pairs, or one per (target, source)")
    parser.add_argument("--n-samples", type=int_at_least(MIN_SAMPLES), default=500,
                        help="kept MCMC draws per chain (split R-hat needs at least "
                             f"{MIN_SAMPLES})")
    parser.add_argument("--n-warmup", type=int_at_least(0), default=200,
                        help="warm-up (adaptation) sweeps per chain, discarded")
    parser.add_argument("--n-chains", type=int_at_least(2), default=4,
                        help="MCMC chains per fit (R-hat needs at least 2)")
    parser.add_argument("--min-trials", type=int_at_least(1), default=5,
                        help="groups with fewer test trials are reported and not fitted")
    parser.add_argument("--max-spikes", type=int_at_least(0), default=0,
                        help="fit each group's first test trials up to this many spikes in "
                             "all (0: every trial); bounds the run time, which grows with spikes")
    parser.add_argument("--max-trials", type=int_at_least(0), default=0,
                        help="fit at most each group's first this many test trials (0: every "
                             "trial)")
    parser.add_argument("--per-trial", action="store_true",
                        help="fit every test trial alone and sum each group's posterior draws "
                             "of alpha and mu (the original's summed matrices)")
    parser.add_argument("--n-jobs", type=worker_count, default=-1,
                        help="parallel joblib workers over groups (-1: all cores); the result "
                             "does not depend on it")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the MCMC chains")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        spike_data = load_spike_trains(args.spike_file)
    except InputFileError as err:
        sys.exit(f"fit_hawkes_process.py: error: {err}")
    try:  # fail before fitting, not after, if the posterior cannot be written
        check_writable(args.posterior_file)
    except OSError as err:
        sys.exit(f"fit_hawkes_process.py: error: cannot write {args.posterior_file} ({err}); "
                 "pass a writable --posterior-file")

    all_groups = group_test_trials(spike_data["labels"], spike_data["predictions"],
                                   spike_data["split"], spike_data["class_names"])
    groups, skipped = select_trials(all_groups, spike_data["spikes"].sum(axis=(1, 2)),
                                    args.min_trials, args.max_spikes, args.max_trials)
    for name in skipped:
        print(f"fit_hawkes_process.py: group {name} has only {len(all_groups[name])} test "
              f"trial(s) (< --min-trials {args.min_trials}); not fitted", file=sys.stderr)
    if not groups:
        sys.exit(f"fit_hawkes_process.py: error: no group of test trials has at least "
                 f"--min-trials {args.min_trials} trials")

    dt = float(spike_data["dt"])
    events = spikes_to_events(spike_data["spikes"], dt)
    n_dims = spike_data["spikes"].shape[1]
    alpha_free = (exogenous_input_mask(spike_data["layer_sizes"]) if args.input == "exogenous"
                  else None)
    model_options = {"time": args.time, "dt": dt, "beta": args.beta, "alpha_mask": alpha_free}
    backgrounds = {}
    if args.background == "stimulus":
        stimulus_neurons = np.arange(spike_data["layer_sizes"]["input"])
        backgrounds = {name: stimulus_background(spike_data["spikes"], spike_data["labels"],
                                                 spike_data["split"], trials, stimulus_neurons)
                       for name, trials in groups.items()}
    sampler_options = {"n_samples": args.n_samples, "n_warmup": args.n_warmup,
                       "n_chains": args.n_chains}
    print(f"fitting {len(groups)} group(s) of test trials "
          f"({'per trial' if args.per_trial else 'pooled'}, {args.time} time, "
          f"{args.background} background, {args.input} input, {args.beta} beta, "
          f"{args.n_chains} chains x {args.n_samples} draws)")
    start = perf_counter()
    fits = fit_groups(events, spike_data["n_steps"] * dt, groups, n_dims, model_options,
                      sampler_options, args.per_trial, args.seed, args.n_jobs, backgrounds)
    seconds = perf_counter() - start

    n_spikes = {name: int(spike_data["spikes"][groups[name]].sum()) for name in fits}
    n_available = {name: len(all_groups[name]) for name in fits}
    print(format_diagnostics(fits, groups, n_available, n_spikes))
    for name, fit in fits.items():
        if not is_converged(fit):
            print(f"WARNING: group {name} has NOT converged (max R-hat {fit['max_rhat']:.4f}, "
                  f"limit {MAX_RHAT}; min bulk ESS {fit['min_ess_bulk']:.0f}, limit "
                  f"{MIN_ESS_BULK}); do not trust its alpha, rerun with larger --n-warmup "
                  "and --n-samples", file=sys.stderr)

    # Only settings that change the result: a run differing in --n-jobs or in where its files
    # live writes the same bytes.
    config = {**sampler_options, "time": args.time, "beta": args.beta, "seed": args.seed,
              "background": args.background, "input": args.input,
              "per_trial": args.per_trial, "min_trials": args.min_trials,
              "max_spikes": args.max_spikes, "max_trials": args.max_trials,
              # The input's content, not its path: the same data give the same bytes anywhere.
              "spike_file_sha256": hashlib.sha256(args.spike_file.read_bytes()).hexdigest(),
              "max_rhat_limit": MAX_RHAT,
              "min_ess_bulk_limit": MIN_ESS_BULK}
    try:
        save_npz(posterior_arrays(spike_data, groups, skipped, fits, config, backgrounds,
                                  alpha_free), args.posterior_file)
    except OSError as err:
        sys.exit(f"fit_hawkes_process.py: error: cannot write {args.posterior_file}: {err}")
    print(f"fitted {len(fits)} group(s) in {seconds:.1f} s; wrote {args.posterior_file}")


if __name__ == "__main__":
    main()
