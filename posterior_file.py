"""The contract of ``data/hawkes_posterior.npz``: what ``fit_hawkes_process.py`` writes and
``plot_alpha_heatmaps.py`` and the benchmarks read.

In memory the file is one ``Posterior``: the settings of the fit, the network it describes and
one ``GroupPosterior`` per fitted group of test trials; constructing either checks that its
parts agree. On disk it is an ``.npz`` of plain arrays (no pickles), format
``POSTERIOR_FORMAT``, version ``POSTERIOR_VERSION``, laid out by ``posterior_arrays`` (its
docstring lists every key). ``save_posterior`` writes it with a fixed zip timestamp, so the
same fit gives the same bytes; ``load_posterior`` reads it back and checks it. numpy, json and
zipfile only: readers need neither the sampler nor torch.
"""

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safe_files import InputFileError, atomic_write

POSTERIOR_FORMAT = "snn-hawkes-posterior"
# The pooled prior's hyperparameters (``--partial-pooling``) and their least values.
POOL_HYPERPARAMETERS = {"k": 1.0, "b": 0.0}
POSTERIOR_VERSION = 3  # 2: alpha_free (which alphas were fitted); 3: acceptance of the HMC sampler
PARAMETERS = ("mu", "alpha", "beta")
SUMMARY_STATS = ("mean", "sd", "q05", "q95", "rhat", "ess_bulk")
# Fixed zip member timestamp (the earliest a zip can hold): np.savez_compressed stamps the
# wall-clock time into every member, which would make two identical fits differ in bytes.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# Draws are stored as float32: 7 significant digits are far below their Monte Carlo error,
# and it halves the file. Summaries are computed from the float64 draws and kept float64.
DRAW_DTYPE = np.float32


@dataclass(frozen=True, eq=False)
class GroupPosterior:
    """The posterior of one group of test trials (D neurons, C chains, S draws per chain).

    Attributes
    ----------
    trials : ndarray of int, shape (n,)
        The fitted trials, indices into the spike file's trials.
    n_spikes : ndarray of int, shape (D,)
        Spikes of each neuron in those trials.
    mu : ndarray, shape (C, S, D)
        Draws of the background rates, 1/s.
    alpha : ndarray, shape (C, S, D, D)
        Draws of the excitation, ``[target, source]``: expected spikes of the target caused
        by one spike of the source.
    beta : ndarray, shape (C, S) or (C, S, D, D)
        Draws of the decay rate, 1/s: one shared, or one per ``[target, source]``.
    summary : dict
        Parameter (``PARAMETERS``) -> statistic (``SUMMARY_STATS``) -> float64 array of the
        shape of one draw.
    max_rhat, min_ess_bulk : float
        Worst split R-hat and bulk ESS over all parameters (with ``--per-trial``: over the
        trials' own fits).
    acceptance : dict
        Sampler move -> acceptance rate of each chain, shape (C,).
    gof_ks : ndarray, shape (D,)
        Time-rescaling KS statistic of each neuron at the posterior mean (NaN: fewer than 2
        spikes).
    background : ndarray, shape (D, n_steps)
        The relative background the group was fitted with (ones: constant).
    trial_alpha_mean : ndarray, shape (n, D, D), or None
        Each trial's posterior-mean alpha; only with ``--per-trial``.
    pool : dict or None
        Only with ``--partial-pooling class``: hyperparameter -> draws (C, S) of the pooled alpha
        prior that the group's class shares (``hawkes_partial_pooling``): ``k``, its Gamma shape
        (1: the groups differ as much as the prior allows; large: alike), and ``b``, the scale of
        the pair means.
    """

    trials: np.ndarray
    n_spikes: np.ndarray
    mu: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    summary: dict
    max_rhat: float
    min_ess_bulk: float
    acceptance: dict
    gof_ks: np.ndarray
    background: np.ndarray
    trial_alpha_mean: np.ndarray | None = None
    pool: dict | None = None


@dataclass(frozen=True, eq=False)
class Posterior:
    """The posterior file: the fit's settings, the network, one ``GroupPosterior`` per group.

    Attributes
    ----------
    config : dict
        The settings that change the result (JSON-able), and the spike file's SHA-256.
    dt : float
        Seconds per step.
    n_steps : int
        Steps per trial.
    neuron_labels : list of str, length D
    layer_sizes : dict
        Layer name -> neuron count, in neuron order.
    class_names : list of str
    weights : dict
        ``"<source layer>_<target layer>"`` -> the network's true weights, (n_source,
        n_target), as in the spike file.
    alpha_free : ndarray of bool, shape (D, D)
        False where alpha was fixed at 0 (``--input exogenous``: the input's rows).
    group_names : list of str
        The fitted groups, in order; the keys of ``groups``.
    skipped_groups : list of str
        Groups with too few trials to fit.
    groups : dict
        Group name -> ``GroupPosterior``.

    Raises
    ------
    ValueError
        On construction, if the parts disagree: shapes that do not fit the D neurons, C
        chains and S draws, ``group_names`` other than the keys of ``groups``, no group.
    """

    config: dict
    dt: float
    n_steps: int
    neuron_labels: list
    layer_sizes: dict
    class_names: list
    weights: dict
    alpha_free: np.ndarray
    group_names: list
    skipped_groups: list
    groups: dict

    def __post_init__(self):
        _check_posterior(self)


def posterior_arrays(posterior):
    """Lay a ``Posterior`` out as the flat key -> array mapping of the ``.npz``.

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
    float64 (n, D, D); with ``--partial-pooling class`` also ``<g>/pool/<h>`` float64 (C, S) for ``h`` in ``k``, ``b``.
    """
    arrays = {
        "format": np.str_(POSTERIOR_FORMAT),
        "version": np.int64(POSTERIOR_VERSION),
        "config": np.str_(json.dumps(posterior.config, sort_keys=True)),
        "dt": np.float64(posterior.dt),
        "n_steps": np.int64(posterior.n_steps),
        "neuron_labels": np.array(posterior.neuron_labels, dtype=str),
        "layer_names": np.array(list(posterior.layer_sizes), dtype=str),
        "layer_sizes": np.array(list(posterior.layer_sizes.values()), dtype=np.int64),
        "class_names": np.array(posterior.class_names, dtype=str),
        "weight_names": np.array(list(posterior.weights), dtype=str),
        **{f"weights/{name}": np.asarray(w, dtype=np.float64) for name, w in posterior.weights.items()},
        "alpha_free": np.asarray(posterior.alpha_free, dtype=bool),
        "group_names": np.array(posterior.group_names, dtype=str),
        "skipped_groups": np.array(posterior.skipped_groups, dtype=str),
    }
    for name in posterior.group_names:
        group = posterior.groups[name]
        arrays[f"{name}/trials"] = np.asarray(group.trials, dtype=np.int64)
        arrays[f"{name}/n_spikes"] = np.asarray(group.n_spikes, dtype=np.int64)
        for p in PARAMETERS:
            arrays[f"{name}/{p}"] = np.asarray(getattr(group, p), dtype=DRAW_DTYPE)
            for stat in SUMMARY_STATS:
                arrays[f"{name}/{p}/{stat}"] = np.asarray(group.summary[p][stat], dtype=np.float64)
        arrays[f"{name}/max_rhat"] = np.float64(group.max_rhat)
        arrays[f"{name}/min_ess_bulk"] = np.float64(group.min_ess_bulk)
        for move, rate in group.acceptance.items():
            arrays[f"{name}/acceptance/{move}"] = np.asarray(rate, dtype=np.float64)
        arrays[f"{name}/gof_ks"] = np.asarray(group.gof_ks, dtype=np.float64)
        arrays[f"{name}/background"] = np.asarray(group.background, dtype=np.float64)
        if group.trial_alpha_mean is not None:
            arrays[f"{name}/trial_alpha_mean"] = np.asarray(group.trial_alpha_mean, dtype=np.float64)
        for hyper, draws in (group.pool or {}).items():
            arrays[f"{name}/pool/{hyper}"] = np.asarray(draws, dtype=np.float64)
    return arrays


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


def save_posterior(posterior, path):
    """Write a ``Posterior`` to ``path`` (``posterior_arrays`` through ``save_npz``)."""
    save_npz(posterior_arrays(posterior), path)


def load_posterior(path):
    """Read a posterior file (no pickles) and check it against its format.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Posterior
        Draws as stored (``DRAW_DTYPE``), everything else float64 or int64.

    Raises
    ------
    InputFileError
        One line, if the file is missing, not an npz, holds pickled objects, has another
        format or version, lacks keys, or its shapes disagree with its neuron count.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"posterior file {path} does not exist; run `python fit_hawkes_process.py` first")
    try:
        # np.load reads anything that is not a zip archive as .npy or as a pickle; refuse it first
        if not zipfile.is_zipfile(path):
            raise ValueError("not an npz (zip) archive")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise InputFileError(
            f"{path} is not a readable posterior file ({type(err).__name__}: "
            f"{err}); rerun `python fit_hawkes_process.py`"
        ) from None
    try:
        return _unpack_posterior(arrays)
    except (KeyError, ValueError, TypeError, IndexError, RecursionError) as err:
        raise InputFileError(
            f"{path} is not a valid posterior file ({type(err).__name__}: {err}); rerun `python fit_hawkes_process.py`"
        ) from None


def _unpack_posterior(arrays):
    """Build the ``Posterior`` of the flat arrays of a posterior file (see ``load_posterior``)."""
    if arrays.get("format") != POSTERIOR_FORMAT or arrays.get("version") != POSTERIOR_VERSION:
        raise ValueError(
            f"format {arrays.get('format')!s} version {arrays.get('version')!s}, "
            f"expected {POSTERIOR_FORMAT} version {POSTERIOR_VERSION}"
        )
    group_names = [str(name) for name in arrays["group_names"]]
    groups = {}
    for name in group_names:
        prefix, pool = f"{name}/acceptance/", f"{name}/pool/"
        groups[name] = GroupPosterior(
            **{key: arrays[f"{name}/{key}"] for key in ("trials", "n_spikes", *PARAMETERS, "gof_ks", "background")},
            summary={p: {s: arrays[f"{name}/{p}/{s}"] for s in SUMMARY_STATS} for p in PARAMETERS},
            max_rhat=float(arrays[f"{name}/max_rhat"]),
            min_ess_bulk=float(arrays[f"{name}/min_ess_bulk"]),
            acceptance={key[len(prefix) :]: arrays[key] for key in arrays if key.startswith(prefix)},
            trial_alpha_mean=arrays.get(f"{name}/trial_alpha_mean"),
            pool={key[len(pool) :]: arrays[key] for key in arrays if key.startswith(pool)} or None,
        )
    return Posterior(
        config=json.loads(str(arrays["config"])),
        dt=float(arrays["dt"]),
        n_steps=int(arrays["n_steps"]),
        neuron_labels=[str(label) for label in arrays["neuron_labels"]],
        layer_sizes={str(k): int(v) for k, v in zip(arrays["layer_names"], arrays["layer_sizes"])},
        class_names=[str(name) for name in arrays["class_names"]],
        weights={str(name): arrays[f"weights/{name}"] for name in arrays["weight_names"]},
        alpha_free=arrays["alpha_free"],
        group_names=group_names,
        skipped_groups=[str(name) for name in arrays["skipped_groups"]],
        groups=groups,
    )


def _expect_shape(what, array, shape):
    if np.shape(array) != shape:
        raise ValueError(f"{what} has shape {np.shape(array)}, expected {shape}")


def _expect_numbers(what, array, kinds="f", finite=True):
    """Refuse an array of another kind (strings, say) and, with ``finite``, one holding NaN or inf."""
    array = np.asarray(array)
    if array.dtype.kind not in kinds:
        raise ValueError(f"{what} has dtype {array.dtype}, expected numbers")
    if finite and not np.isfinite(array).all():
        raise ValueError(f"{what} holds NaN or infinite values")


def _check_posterior(posterior):
    """Raise ``ValueError`` unless the parts of ``posterior`` agree (see ``Posterior``)."""
    n_dims = len(posterior.neuron_labels)
    layer_sizes = posterior.layer_sizes
    if not (np.isfinite(posterior.dt) and posterior.dt > 0):
        raise ValueError(f"dt {posterior.dt} is not a positive number of seconds")
    if sum(layer_sizes.values()) != n_dims:
        raise ValueError(f"layer sizes {layer_sizes} do not add up to {n_dims} neuron labels")
    if not isinstance(posterior.config, dict):
        raise ValueError("config is not a JSON object")
    for name, weight in posterior.weights.items():
        source, target = name.split("_")  # "<source layer>_<target layer>"
        _expect_shape(f"weights/{name}", weight, (layer_sizes[source], layer_sizes[target]))
        _expect_numbers(f"weights/{name}", weight)
    _expect_shape("alpha_free", posterior.alpha_free, (n_dims, n_dims))
    if np.asarray(posterior.alpha_free).dtype != bool:
        raise ValueError(f"alpha_free has dtype {np.asarray(posterior.alpha_free).dtype}, expected bool")
    if not posterior.group_names:
        raise ValueError("it holds no fitted group")
    if list(posterior.groups) != list(posterior.group_names):
        raise ValueError(f"groups {list(posterior.groups)} are not group_names {list(posterior.group_names)}")
    for name, group in posterior.groups.items():
        if np.ndim(group.alpha) != 4:
            raise ValueError(f"{name}/alpha has {np.ndim(group.alpha)} dimensions, expected 4")
        draws = np.shape(group.alpha)[:2]  # (C, S)
        if 0 in draws:
            raise ValueError(f"{name} holds no draws (chains x samples {draws})")
        _expect_shape(f"{name}/alpha", group.alpha, (*draws, n_dims, n_dims))
        _expect_shape(f"{name}/mu", group.mu, (*draws, n_dims))
        if np.shape(group.beta) not in ((*draws,), (*draws, n_dims, n_dims)):
            raise ValueError(
                f"{name}/beta has shape {np.shape(group.beta)}, expected {draws} or {(*draws, n_dims, n_dims)}"
            )
        for p in PARAMETERS:
            _expect_numbers(f"{name}/{p}", getattr(group, p))
            if set(group.summary[p]) != set(SUMMARY_STATS):
                raise ValueError(f"{name}/{p} summary has {sorted(group.summary[p])}, expected {sorted(SUMMARY_STATS)}")
            for stat, value in group.summary[p].items():
                _expect_shape(f"{name}/{p}/{stat}", value, np.shape(getattr(group, p))[2:])
                # R-hat and ESS are NaN for a parameter held fixed; the rest come from finite draws.
                _expect_numbers(f"{name}/{p}/{stat}", value, finite=stat not in ("rhat", "ess_bulk"))
        _expect_shape(f"{name}/trials", group.trials, (np.size(group.trials),))
        for key in ("n_spikes", "gof_ks"):
            _expect_shape(f"{name}/{key}", getattr(group, key), (n_dims,))
        if np.size(group.trials) == 0:
            raise ValueError(f"{name} was fitted to no trial")
        # In both models the decays are positive and the rates not negative (a tiny rate may round
        # to 0 in float32); alpha is >= 0 in the Hawkes model only.
        if np.any(np.asarray(group.beta) <= 0) or np.any(np.asarray(group.mu) < 0):
            raise ValueError(f"{name} holds a decay beta <= 0 or a rate mu < 0")
        for key in ("trials", "n_spikes"):
            _expect_numbers(f"{name}/{key}", getattr(group, key), kinds="iu")
            if np.any(np.asarray(getattr(group, key)) < 0):
                raise ValueError(f"{name}/{key} holds negative values")
        _expect_numbers(f"{name}/gof_ks", group.gof_ks, finite=False)  # NaN: a neuron with under 2 spikes
        _expect_shape(f"{name}/background", group.background, (n_dims, posterior.n_steps))
        _expect_numbers(f"{name}/background", group.background)
        if group.pool is not None:
            if set(group.pool) != set(POOL_HYPERPARAMETERS):
                raise ValueError(f"{name}/pool has {sorted(group.pool)}, expected {sorted(POOL_HYPERPARAMETERS)}")
            for hyper, low in POOL_HYPERPARAMETERS.items():
                _expect_shape(f"{name}/pool/{hyper}", group.pool[hyper], draws)
                _expect_numbers(f"{name}/pool/{hyper}", group.pool[hyper])
                if np.any(np.asarray(group.pool[hyper]) < low):
                    raise ValueError(f"{name}/pool/{hyper} holds values below {low}")
