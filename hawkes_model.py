"""Multivariate Hawkes processes with exponential kernels: the public model, its exact
likelihoods, the indexing of events they share, and simulation.

One piece because the two likelihoods, the goodness of fit and the simulator all stand on the
same indexed events (``_Data``) and kernel statistics; the sampler that uses them lives in
``hawkes_sampler.py`` and the diagnostics in ``mcmc_diagnostics.py``.

Parameterisation (as tick's ``HawkesExpKern``): ``alpha[i, j]`` is the branching ratio of source
``j`` onto target ``i`` (expected number of spikes of ``i`` caused directly by one spike of
``j``), ``beta`` a decay rate in 1/s, ``mu`` the background rates in 1/s.

Continuous time, for any event times::

    lambda_i(t) = mu_i + sum_j alpha[i,j] beta[i,j] sum_{t_l^j < t} exp(-beta[i,j] (t - t_l^j))
    log L = sum_i ( sum_{t_k^i} log lambda_i(t_k^i) - int_0^T lambda_i(t) dt )

Discrete time, for rasters on a ``dt`` grid (spike of step ``k`` at time ``k dt``)::

    lambda_i[k] = mu_i + sum_j alpha[i,j] S_ij[k],
    S_ij[k] = sum_{m>=1} g_ij(m) y_j[k-m] / dt,   g_ij(m) = (1 - e^{-beta dt}) e^{-beta dt (m-1)}
    log L = sum_{i,k} ( y_i[k] log(1 - exp(-lambda_i[k] dt)) - (1 - y_i[k]) lambda_i[k] dt )

``mu_i`` may be modulated in time by a fixed relative background ``b_i(t)`` (``background``,
piecewise constant over bins of width ``dt``): ``mu_i`` becomes ``mu_i b_i(t)`` above, and its
compensator ``mu_i int b_i``. It is for neurons driven by a stimulus that is locked to the
trial (a rate-coded input): a constant background cannot follow such a neuron's rhythm, and
the fit would explain the rhythm by excitation from the neurons that follow it.

``alpha_mask`` fixes chosen ``alpha[i, j]`` at 0 (a prior point mass: a synapse known not to
exist, or a neuron driven by the stimulus alone, whose row is all 0); the sampler never moves
them.

Both are computed from one quantity, ``R_ij(t) = sum_{t_l^j < t} exp(-beta (t - t_l^j))`` at the
events of ``i`` (in discrete time ``S_ij[k] = (e^{beta dt} - 1) R_ij(k dt) / dt``), obtained for
all events at once by a parallel prefix scan of the recursion ``A_l = 1 + e^{-beta gap_l}
A_{l-1}`` over each source's own events, and the compensators in closed form, so every
likelihood costs O(number of events x n_dims) with no Python loop over events.
"""

import functools
import hashlib
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mcmc_diagnostics import MIN_SAMPLES, summarise_draws

# Relative tolerance for "this time lies on the dt grid".
GRID_TOLERANCE = 1e-6
# The prefix scan stops once the terms it would still add are below this (relative to A >= 1).
SCAN_TOLERANCE = 1e-17
# A simulation that produces more events than this is treated as exploding.
MAX_SIMULATED_EVENTS = 10_000_000


@dataclass(frozen=True)
class HawkesPrior:
    """Independent priors of the Hawkes parameters (all weakly informative).

    ``mu_i ~ Gamma(mu_shape, mean=mu_mean)``; ``alpha[i, j] ~ Gamma(alpha_shape,
    mean=alpha_mean)``; ``log beta ~ Normal(log beta_median, beta_log_sd)`` (log-normal, so the
    density vanishes at beta -> 0 and the sampler cannot drift into the beta ~ 0 false mode).

    Attributes
    ----------
    mu_shape : float
        Shape of the background-rate prior (1: exponential).
    mu_mean : float or None
        Prior mean of ``mu`` in 1/s. None: the data's mean rate per neuron (events / (n_dims x
        total observed time), with a background: events / sum_i int b_i); ``0.1 / dt`` when
        there are no events or no observed time.
    alpha_shape : float
        Shape of the branching-ratio prior. The default 1 (exponential, mode at 0) favours
        sparsity without the pole at 0 of a shape < 1, which would trap the natural-scale
        ridge move of absent edges near 0.
    alpha_mean : float
        Prior mean of ``alpha``.
    beta_median : float or None
        Prior median of ``beta`` in 1/s. None: ``1 / dt`` in discrete time (a kernel lasting
        about one step); in continuous time the data's merged event rate (events / total
        observed time), ``1 / dt`` without events.
    beta_log_sd : float
        Standard deviation of ``log beta`` (1.5: a factor of about 12 either way covers 90%).
    """

    mu_shape: float = 1.0
    mu_mean: float | None = None
    alpha_shape: float = 1.0
    alpha_mean: float = 0.1
    beta_median: float | None = None
    beta_log_sd: float = 1.5

    def __post_init__(self):
        for name in ("mu_shape", "alpha_shape", "alpha_mean", "beta_log_sd"):
            _check_positive_number(getattr(self, name), f"prior.{name}")
        for name in ("mu_mean", "beta_median"):
            if getattr(self, name) is not None:
                _check_positive_number(getattr(self, name), f"prior.{name}")


@dataclass(frozen=True)
class PriorRates:
    """The prior of one fit in numbers: ``mu ~ Gamma(mu_shape, rate=mu_rate)``, ``alpha ~
    Gamma(alpha_shape, rate=alpha_rate)``, ``log beta ~ Normal(log_beta_mean, log_beta_sd)``."""

    mu_shape: float
    mu_rate: float
    alpha_shape: float
    alpha_rate: float
    log_beta_mean: float
    log_beta_sd: float


def _check_positive_number(value, name):
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")


def _check_background(background, n_dims):
    """Validate a relative background, (n_dims, n_bins) finite and > 0; None stays None."""
    if background is None:
        return None
    background = np.array(background, dtype=float)
    if background.ndim != 2 or background.shape[0] != n_dims or background.shape[1] < 1:
        raise ValueError(f"background must have shape ({n_dims}, n_bins), got {background.shape}")
    if not np.all(np.isfinite(background)) or np.any(background <= 0):
        raise ValueError("background must be finite and > 0")
    background.setflags(write=False)
    return background


def _check_alpha_mask(alpha_mask, n_dims):
    """Validate a mask of free alphas, (n_dims, n_dims) bool; None stays None."""
    if alpha_mask is None:
        return None
    mask = np.asarray(alpha_mask)
    if mask.shape != (n_dims, n_dims) or mask.dtype != bool:
        raise ValueError(
            f"alpha_mask must be a bool array of shape ({n_dims}, {n_dims}), got {mask.dtype} {mask.shape}"
        )
    mask = mask.copy()
    mask.setflags(write=False)
    return mask


def _background_integral(background, dt, t, rows=None):
    """Integral of a piecewise-constant relative background from 0 to ``t``.

    Parameters
    ----------
    background : ndarray, shape (D, n_bins)
        Value on ``[m dt, (m + 1) dt)`` in bin ``m``.
    dt : float
        Bin width, s.
    t : ndarray, shape (...,)
        Times in ``[0, n_bins dt]``, s.
    rows : ndarray of int, shape like ``t``, optional
        The neuron of each time; None: every neuron at every time.

    Returns
    -------
    ndarray, shape (D, ...) or shaped like ``t`` with ``rows``
        ``int_0^t b_i(s) ds`` in s.
    """
    n_bins = background.shape[1]
    cum = np.concatenate([np.zeros((background.shape[0], 1)), np.cumsum(background, axis=1)], axis=1)
    m = np.clip(np.floor(t / dt).astype(np.int64), 0, n_bins - 1)
    i = slice(None) if rows is None else rows
    return dt * (cum[i, m] + (t / dt - m) * background[i, m])


@dataclass
class _Data:
    """Events of all realisations, flattened and indexed for the vectorised likelihood.

    Events are ordered by (neuron, realisation, time), so the events of neuron ``j`` are the
    slice ``start[j]:start[j + 1]`` whether seen as targets or as sources.
    """

    n_dims: int
    dim: np.ndarray  # (N,) neuron of each event
    times: np.ndarray  # (N,) event time within its realisation, s
    gap: np.ndarray  # (N,) time since the previous event of the same neuron and realisation (inf: none)
    remaining: np.ndarray  # (N,) time from the event to the end of the kernel's window, s
    start: np.ndarray  # (n_dims + 1,) slice bounds of each neuron's events
    sources: np.ndarray  # (S,) neurons with at least one event (the only ones that excite)
    last: np.ndarray  # (S, N) last event of source s strictly before event k, same realisation (N: none)
    lag: np.ndarray  # (S, N) time from that source event to event k, minus the lag shift; 0 when none
    steps: tuple | None  # discrete time: the distinct step counts (M,) of every gap, lag and
    # remaining time plus a last slot for "no gap", then gap (N,), lag (S, N) and remaining (N,)
    # as int32 indices into them, a gap of none set to M; None in continuous time
    n_before: np.ndarray  # (S, N) number of events of source s strictly before event k in its realisation
    max_run: int  # most events of one neuron in one realisation
    exposure: float  # total observed time (continuous) or dt x total bins (discrete), s
    base: np.ndarray | None  # (N,) relative background at each event; None: constant 1
    base_window: np.ndarray  # (n_dims, n_real) integral of the relative background over each window, s
    base_mass: np.ndarray  # (n_dims,) its sum over realisations: mu_i times it is i's background compensator
    n_events: np.ndarray  # (n_dims,) events per neuron
    trial: np.ndarray  # (N,) realisation of each event
    window: np.ndarray  # (n_real,) observed time of each realisation (discrete: n_steps x dt), s
    duplicates: list  # groups (int arrays) of neurons with identical spike trains in every realisation


def _resolve_seed(seed):
    """A Generator from an int, a SeedSequence or a Generator (returned as is)."""
    if isinstance(seed, (np.random.Generator, np.random.SeedSequence)) or isinstance(seed, numbers.Integral):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be an int, a numpy SeedSequence or a numpy Generator, got {seed!r}")


def _is_train(item):
    """Whether ``item`` looks like one neuron's spike times (a 1-D sequence of numbers)."""
    if isinstance(item, np.ndarray):
        return item.ndim == 1
    return isinstance(item, (list, tuple)) and all(isinstance(v, numbers.Real) for v in item)


def _split_realisations(events):
    """Accept one realisation or a list of them; return a list of realisations."""
    if not isinstance(events, (list, tuple)) or len(events) == 0:
        raise ValueError("events must be a non-empty list of realisations (lists of 1-D arrays of times)")
    if all(_is_train(item) for item in events):
        return [events]
    for r, realisation in enumerate(events):
        if not isinstance(realisation, (list, tuple)) or not all(_is_train(a) for a in realisation):
            raise ValueError(f"events: realisation {r} must be a list of 1-D arrays of times")
    return list(events)


def _check_segments_sorted(values, segment_id, what):
    """Raise if ``values`` decrease inside any run of equal ``segment_id``."""
    if values.size > 1:
        same = segment_id[1:] == segment_id[:-1]
        if np.any(same & (np.diff(values) < 0)):
            raise ValueError(f"events: times of each neuron must be sorted ({what})")


def _segment_sums(x, start):
    """Sums of ``x`` along its last axis over the slices ``start[j]:start[j+1]`` (empty: 0).

    ``reduceat`` rather than a cumulative sum, so a -inf in one slice stays in that slice.
    """
    nonempty = start[1:] > start[:-1]
    if nonempty.all():
        return np.add.reduceat(x, start[:-1], axis=-1)
    out = np.zeros(x.shape[:-1] + (start.size - 1,))
    if nonempty.any():
        out[..., nonempty] = np.add.reduceat(x, start[:-1][nonempty], axis=-1)
    return out


def _prefix_decay_sums(decay, max_run):
    """Solve ``A_l = 1 + decay_l A_{l-1}`` along the last axis by a Hillis-Steele prefix scan.

    ``decay`` is 0 at the first event of each run, so runs never mix; all factors lie in [0, 1],
    so the scan is stable. It stops once the remaining terms are below ``SCAN_TOLERANCE``.
    """
    a = np.ones_like(decay)
    c = decay.copy()
    shift = 1
    while shift < max_run and c.size and c.max() * max_run > SCAN_TOLERANCE:
        a[..., shift:] += c[..., shift:] * a[..., :-shift]
        c[..., shift:] *= c[..., :-shift].copy()
        c[..., :shift] = 0.0
        shift *= 2
    return a


class HawkesProcessModel:
    """Multivariate Hawkes process with exponential kernels and a Bayesian sampler.

    Model (see the module docstring for both likelihoods): ``alpha[i, j]`` (target ``i``,
    source ``j``) is the branching ratio, ``beta`` the decay rate in 1/s (one shared value or
    one per pair), ``mu`` the background rates in 1/s.

    Priors (``HawkesPrior``, configurable): ``mu_i ~ Gamma(1, mean = data rate per neuron)``,
    ``alpha_ij ~ Exponential(mean = 0.1)``, ``beta ~ LogNormal(log beta_median, 1.5)`` with
    ``beta_median = 1/dt`` (discrete) or the data's merged event rate (continuous).

    Sampler (``fit``, written by hand in ``hawkes_sampler``): given beta the likelihood
    factorises over targets and each target's intensity is linear in ``(mu_i, alpha_i.)``, so
    every sweep moves each target's parameters by Hamiltonian Monte Carlo on their logarithms
    (dense metric, all chains and targets in one batch), moves correlated pairs along their
    ridge by random-walk Metropolis, draws what has no likelihood exactly (silent targets,
    silent sources, the split of identical sources), and updates beta by Metropolis-Hastings.
    Each move is an exact Gibbs draw or a Metropolis-Hastings step with its full ratio;
    adaptation happens during warm-up only. Chains start dispersed and move together as
    arrays with a leading chain axis.

    Parameters
    ----------
    n_dims : int
        Number of neurons.
    time : {"continuous", "discrete"}
        Likelihood; "discrete" for rasters on the ``dt`` grid.
    dt : float
        Grid step in s (discrete time; also sets default prior scales).
    beta : {"shared", "pair"}
        One decay rate, or one per (target, source) pair.
    prior : HawkesPrior or None
        Priors; None uses ``HawkesPrior()``.
    background : array_like, shape (n_dims, n_bins), optional
        Relative background ``b_i`` (finite, > 0) on bins ``[m dt, (m + 1) dt)`` counted from
        the start of every realisation, which it must cover: the background intensity of
        neuron ``i`` is ``mu_i b_i(t)``. With rows of mean 1 ``mu_i`` keeps its meaning, the
        mean background rate. None: ``b = 1`` (a constant background).
    alpha_mask : array_like of bool, shape (n_dims, n_dims), optional
        False where ``alpha[i, j]`` is fixed at 0 (known absent; a row of False: neuron ``i``
        is driven by its background alone). Its draws are exactly 0 and no move proposes to
        change them. None: every alpha is free.

    Examples
    --------
    >>> model = HawkesProcessModel(2, time="continuous")
    >>> events = simulate_hawkes([0.5, 0.5], [[0.0, 0.3], [0.3, 0.0]], 2.0, 200.0, seed=1)
    >>> post = model.fit(events, 200.0, n_samples=200, n_warmup=200, progress=False)
    >>> post.alpha.shape
    (4, 200, 2, 2)
    """

    def __init__(self, n_dims, time="continuous", dt=1.0, beta="shared", prior=None, background=None, alpha_mask=None):
        if not isinstance(n_dims, numbers.Integral) or isinstance(n_dims, bool) or n_dims < 1:
            raise ValueError(f"n_dims must be a positive integer, got {n_dims!r}")
        if time not in ("continuous", "discrete"):
            raise ValueError(f"time must be 'continuous' or 'discrete', got {time!r}")
        _check_positive_number(dt, "dt")
        if beta not in ("shared", "pair"):
            raise ValueError(f"beta must be 'shared' or 'pair', got {beta!r}")
        if prior is not None and not isinstance(prior, HawkesPrior):
            raise ValueError(f"prior must be a HawkesPrior or None, got {type(prior).__name__}")
        self.n_dims = int(n_dims)
        self.time = time
        self.dt = float(dt)
        self.beta_kind = beta
        self.prior = prior if prior is not None else HawkesPrior()
        self.background = _check_background(background, self.n_dims)
        self.alpha_mask = _check_alpha_mask(alpha_mask, self.n_dims)
        self._cache = None  # (content key, _Data) of the last events indexed

    # ------------------------------------------------------------------ data and parameters
    def _prepare(self, events, end_time):
        """Validate ``events`` and ``end_time`` and index them for the likelihood (``_Data``)."""
        realisations = _split_realisations(events)
        n_real, n_dims = len(realisations), self.n_dims
        for r, realisation in enumerate(realisations):
            if len(realisation) != n_dims:
                raise ValueError(f"events: realisation {r} has {len(realisation)} neurons, expected n_dims={n_dims}")
        end = np.asarray(end_time, dtype=float)
        if end.ndim == 0:
            end = np.full(n_real, float(end))
        if end.shape != (n_real,):
            raise ValueError(f"end_time must be a number or one per realisation ({n_real}), got shape {end.shape}")
        if not np.all(np.isfinite(end)) or np.any(end < 0):
            raise ValueError("end_time must be finite and >= 0")
        # (n_dims, n_real) lengths; the flat order is neuron-major, then realisation, then time.
        trains = [
            np.asarray(realisation[j], dtype=float).ravel() for j in range(n_dims) for realisation in realisations
        ]
        lengths = np.array([t.size for t in trains], dtype=np.int64).reshape(n_dims, n_real)
        times = np.concatenate(trains) if trains else np.zeros(0)
        # Content key: the same events, windows and settings give the same indexed data.
        key = hashlib.blake2b(
            times.tobytes()
            + lengths.tobytes()
            + end.tobytes()
            + repr((self.time, self.dt)).encode()
            + (b"" if self.background is None else self.background.tobytes())
        ).digest()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        dim = np.repeat(np.repeat(np.arange(n_dims), n_real), lengths.ravel())
        trial = np.repeat(np.tile(np.arange(n_real), n_dims), lengths.ravel())
        if not np.all(np.isfinite(times)):
            raise ValueError("events must not contain NaN or inf")
        if np.any(times < 0):
            raise ValueError("events: times must be >= 0")
        if np.any(times >= end[trial]):
            raise ValueError("events: every time must be < end_time of its realisation")
        segment = dim * n_real + trial
        _check_segments_sorted(times, segment, "non-decreasing")
        if self.time == "discrete":
            steps = np.rint(times / self.dt)
            if np.any(np.abs(times - steps * self.dt) > GRID_TOLERANCE * self.dt):
                raise ValueError(f"events: in discrete time every time must lie on the dt={self.dt} grid")
            n_steps = np.rint(end / self.dt)
            if np.any(steps >= n_steps[trial]):
                raise ValueError("events: a spike falls in a step at or after round(end_time / dt)")
            if times.size > 1 and np.any((segment[1:] == segment[:-1]) & (steps[1:] == steps[:-1])):
                raise ValueError("events: in discrete time a neuron spikes at most once per step")
            times = steps * self.dt
            # Mass of the lag-filtered kernel that still falls inside the last bin (n_steps - 1).
            remaining = (n_steps[trial] - 1) * self.dt - times
            window = n_steps * self.dt
            lag_shift = self.dt
        else:
            remaining = end[trial] - times
            window, lag_shift = end, 0.0
        exposure = float(window.sum())
        if self.background is None:
            base, base_window = None, np.repeat(window[None, :], n_dims, axis=0)
        else:
            if np.any(window > self.background.shape[1] * self.dt * (1 + GRID_TOLERANCE)):
                raise ValueError(
                    f"background covers {self.background.shape[1]} bins of dt={self.dt}, "
                    f"shorter than the longest realisation ({window.max()} s)"
                )
            n_bins = self.background.shape[1]
            step = np.minimum((times / self.dt + GRID_TOLERANCE).astype(np.int64), n_bins - 1)
            base = self.background[dim, step]
            base_window = _background_integral(self.background, self.dt, window)
        n_total = times.size
        first = np.ones(n_total, dtype=bool)
        first[1:] = segment[1:] != segment[:-1]
        gap = np.where(first, np.inf, np.diff(times, prepend=0.0))
        run_start = np.maximum.accumulate(np.where(first, np.arange(n_total), 0))  # first event of each run
        start = np.concatenate([[0], np.cumsum(lengths.sum(axis=1))])
        # Exact lexicographic (realisation, time) keys: dense ranks of the pairs, so "strictly
        # before in the same realisation" is an integer comparison, immune to rounding.
        order = np.lexsort((times, trial))
        key_sorted = np.stack([trial[order], times[order]])
        new_key = np.ones(n_total, dtype=bool)
        new_key[1:] = np.any(key_sorted[:, 1:] != key_sorted[:, :-1], axis=0)
        rank = np.empty(n_total, dtype=np.int64)
        rank[order] = np.cumsum(new_key) - 1
        sources = np.flatnonzero(lengths.sum(axis=1))
        last = np.full((sources.size, n_total), n_total, dtype=np.int64)
        lag = np.zeros((sources.size, n_total))
        n_before = np.zeros((sources.size, n_total), dtype=np.int64)
        for s, j in enumerate(sources):  # per source: one vectorised searchsorted over all events
            lo, hi = start[j], start[j + 1]
            pos = np.searchsorted(rank[lo:hi], rank, side="left") - 1 + lo
            found = (pos >= lo) & (trial[np.maximum(pos, lo)] == trial)
            last[s] = np.where(found, pos, n_total)
            lag[s] = np.where(found, times - times[np.maximum(pos, lo)] - lag_shift, 0.0)
            n_before[s] = np.where(found, pos - run_start[np.maximum(pos, lo)] + 1, 0)
        groups = {}
        for j in sources:  # one key per neuron: its (realisation, time) pairs
            lo, hi = start[j], start[j + 1]
            groups.setdefault(trial[lo:hi].tobytes() + times[lo:hi].tobytes(), []).append(j)
        duplicates = [np.array(g) for g in groups.values() if len(g) > 1]
        steps = None
        if self.time == "discrete":
            gap_steps, lag_steps, remaining_steps = (
                np.rint(x / self.dt) for x in (np.where(first, 0.0, gap), lag, remaining)
            )
            # Decay tables hold only the step counts that occur: a long realisation has few
            # distinct ones among tens of thousands of possible ones.
            values, index = np.unique(
                np.concatenate([gap_steps, lag_steps.ravel(), remaining_steps]), return_inverse=True
            )
            gap_index, lag_index, remaining_index = np.split(
                index.astype(np.int32), np.cumsum([gap_steps.size, lag_steps.size])
            )
            steps = (
                np.append(values, 0.0),  # the last slot, "no gap", gets decay 0 in _stats_shared
                np.where(first, values.size, gap_index),
                lag_index.reshape(lag_steps.shape),
                remaining_index,
            )
        data = _Data(
            n_dims=n_dims,
            dim=dim,
            times=times,
            gap=gap,
            remaining=remaining,
            start=start,
            sources=sources,
            last=last,
            lag=lag,
            steps=steps,
            n_before=n_before,
            max_run=int(lengths.max(initial=0)),
            exposure=exposure,
            base=base,
            base_window=base_window,
            base_mass=base_window.sum(axis=1),
            n_events=lengths.sum(axis=1),
            trial=trial,
            window=window,
            duplicates=duplicates,
        )
        self._cache = (key, data)
        return data

    def _check_params(self, mu, alpha, beta):
        """Validate one parameter point; return float arrays mu (D,), alpha (D, D), beta."""
        d = self.n_dims
        mu = np.asarray(mu, dtype=float)
        alpha = np.asarray(alpha, dtype=float)
        if mu.shape != (d,):
            raise ValueError(f"mu must have shape ({d},), got {mu.shape}")
        if alpha.shape != (d, d):
            raise ValueError(f"alpha must have shape ({d}, {d}), got {alpha.shape}")
        for name, value in (("mu", mu), ("alpha", alpha)):
            if not np.all(np.isfinite(value)) or np.any(value < 0):
                raise ValueError(f"{name} must be finite and >= 0")
        beta = np.asarray(beta, dtype=float)
        if self.beta_kind == "shared" and beta.ndim != 0:
            raise ValueError(f"beta must be a number for beta='shared', got shape {beta.shape}")
        if self.beta_kind == "pair":
            if beta.ndim == 0:
                beta = np.full((d, d), float(beta))
            if beta.shape != (d, d):
                raise ValueError(f"beta must have shape ({d}, {d}) for beta='pair', got {beta.shape}")
        if not np.all(np.isfinite(beta)) or np.any(beta <= 0):
            raise ValueError("beta must be finite and > 0")
        return mu, alpha, beta

    # ------------------------------------------------------------------ kernel statistics
    def _kernel_factor(self, beta):
        """Kernel height per unit of R: beta (continuous) or (1 - e^{-beta dt}) / dt (discrete)."""
        if self.time == "continuous":
            return beta
        return -np.expm1(-beta * self.dt) / self.dt

    def _stats_shared(self, data, beta, out=None, scratch=None):
        """Excitation and compensator statistics for one shared beta per chain.

        Parameters
        ----------
        data : _Data
        beta : ndarray, shape (C,)
        out, scratch : ndarray, shape (C, S, N), optional
            Buffers for ``h`` and an intermediate. A sampler that passes the same two on every
            call avoids allocating, and the OS faulting in, two arrays of several MB each time.

        Returns
        -------
        h : ndarray, shape (C, S, N)
            ``h[c, s, k]``: kernel sum of source ``data.sources[s]`` at event ``k``, 1/s, so
            that ``lambda[k] = mu[dim_k] + sum_s alpha[dim_k, sources[s]] h[c, s, k]``.
        comp : ndarray, shape (C, D)
            Integrated kernel mass of each source's events inside the window (per unit alpha).
        """
        b = beta[:, None]  # (C, 1)
        if data.steps is None:
            decay = np.exp(-b * data.gap)  # (C, N)
        else:  # on the grid every gap and lag is a whole number of steps: look the decays up
            values, gap_steps, lag_steps, remaining_steps = data.steps
            powers = np.exp(-b * self.dt * values)  # (C, M + 1)
            powers[:, -1] = 0.0  # the index of "no gap"
            decay = np.take(powers, gap_steps, axis=1)
        a = _prefix_decay_sums(decay, data.max_run)  # (C, N)
        # Slot N (no source event) is 0; the kernel factor is applied here, on N numbers.
        a = np.concatenate([a * self._kernel_factor(b), np.zeros((beta.size, 1))], axis=1)  # (C, N+1)
        # mode="clip" (the indices are in range): with `out`, the default mode buffers a copy.
        h = np.take(a, data.last, axis=1, out=out, mode="clip")  # (C, S, N)
        if data.steps is None:
            lag_decay = np.multiply(data.lag, -b[:, :, None], out=scratch)
            h *= np.exp(lag_decay, out=lag_decay)
            mass = -np.expm1(-b * data.remaining)
        else:
            h *= np.take(powers, lag_steps, axis=1, out=scratch, mode="clip")
            mass = 1.0 - np.take(powers, remaining_steps, axis=1)
        comp = _segment_sums(mass, data.start)  # (C, D)
        return h, comp

    def _stats_pair_column(self, data, beta_col, s):
        """Statistics of source ``j = data.sources[s]`` for per-pair decays ``beta_col``.

        Parameters
        ----------
        beta_col : ndarray, shape (C, D)
            ``beta[:, :, j]``: the decay of ``j`` onto every target.

        Returns
        -------
        h : ndarray, shape (C, N)
        comp : ndarray, shape (C, D)
            As in ``_stats_shared``, for the one source.
        """
        j = data.sources[s]
        lo, hi = data.start[j], data.start[j + 1]
        decay = np.exp(-beta_col[:, :, None] * data.gap[lo:hi])  # (C, D, n_j)
        a = _prefix_decay_sums(decay, data.max_run) * self._kernel_factor(beta_col)[:, :, None]
        a = np.concatenate([a, np.zeros(a.shape[:2] + (1,))], axis=2)  # (C, D, n_j+1)
        local = np.minimum(data.last[s] - lo, hi - lo)  # (N,); n_j: none
        b_event = self._per_event(beta_col, data)  # (C, N)
        h = a[:, data.dim, local] * np.exp(-b_event * data.lag[s])  # (C, N)
        comp = -np.expm1(-beta_col[:, :, None] * data.remaining[lo:hi]).sum(axis=2)  # (C, D)
        return h, comp

    def _all_stats(self, data, beta):
        """``h`` (C, S, N) and ``comp`` ((C, D) shared, (C, D, D) pair) for beta (C,) or (C, D, D)."""
        if self.beta_kind == "shared":
            return self._stats_shared(data, beta)
        n_chains = beta.shape[0]
        h = np.empty((n_chains, data.sources.size, data.dim.size))
        comp = np.zeros((n_chains, self.n_dims, self.n_dims))
        for s, j in enumerate(data.sources):  # one vectorised column per source
            h[:, s], comp[:, :, j] = self._stats_pair_column(data, beta[:, :, j], s)
        return h, comp

    def _event_term(self, lam):
        """Per-event log-likelihood term at the spikes: log lambda, or the Bernoulli form.

        Parameters
        ----------
        lam : ndarray
            Intensities at the events, 1/s.
        """
        with np.errstate(divide="ignore"):
            if self.time == "continuous":
                return np.log(lam)
            neg_x = -lam * self.dt
            return np.log(-np.expm1(neg_x)) - neg_x  # log(1 - e^{-x}) + x, stable for large x

    def _loglik(self, data, lam, mu, alpha, comp):
        """Log-likelihood per chain and target, (C, D), from intensities at the events (C, N)."""
        ev = _segment_sums(self._event_term(lam), data.start)  # (C, D)
        comp3 = comp[:, None, :] if comp.ndim == 2 else comp  # (C, 1|D, D)
        return ev - mu * data.base_mass - (alpha * comp3).sum(axis=2)

    @staticmethod
    def _per_event(x, data):
        """Per-target values (..., D) repeated onto the events (..., N), which are target-sorted."""
        return np.repeat(x, data.n_events, axis=-1)

    def _background_rate(self, mu, data):
        """Background intensity at every event, (..., N), from ``mu`` (..., D), 1/s."""
        rate = self._per_event(mu, data)
        return rate if data.base is None else rate * data.base

    def _source_alpha(self, data, alpha):
        """``alpha[c, dim_k, sources[s]]`` laid out as (C, S, N) to match ``h``."""
        return self._per_event(alpha[:, :, data.sources].transpose(0, 2, 1), data)

    # ------------------------------------------------------------------ public API
    def log_likelihood(self, events, end_time, mu, alpha, beta):
        """Exact log-likelihood of all realisations (independent, each with empty history).

        The indexed events of the last call are kept, so repeated calls on the same events
        (profiles, optimisers) skip validation and indexing.

        Parameters
        ----------
        events : list
            Realisations, each a list of ``n_dims`` sorted 1-D arrays of times in s, in
            ``[0, end_time)``; one realisation is accepted too.
        end_time : float or array_like, shape (n_realisations,)
            Window length(s), s.
        mu : array_like, shape (n_dims,)
            Background rates, 1/s.
        alpha : array_like, shape (n_dims, n_dims)
            Branching ratios, ``alpha[target, source]``.
        beta : float or array_like, shape (n_dims, n_dims)
            Decay rate(s), 1/s (a number for ``beta="shared"``, a matrix for ``"pair"``).

        Returns
        -------
        float
            ``-inf`` if the intensity is zero at a spike.
        """
        data = self._prepare(events, end_time)
        mu, alpha, beta = self._check_params(mu, alpha, beta)
        h, comp = self._all_stats(data, beta[None])
        excitation = np.einsum("csk,csk->ck", self._source_alpha(data, alpha[None]), h)[0]
        lam = self._background_rate(mu, data) + excitation
        return float(self._loglik(data, lam[None], mu[None], alpha[None], comp).sum())

    def goodness_of_fit(self, events, end_time, mu, alpha, beta, seed=0):
        """Kolmogorov-Smirnov statistic of time-rescaled inter-spike intervals per neuron.

        Continuous time: ``tau = Lambda_i(t_k) - Lambda_i(t_{k-1})`` is Exp(1) under the model
        (time-rescaling theorem). Realisations are laid end to end in rescaled time, each
        adding its whole compensator, so the interval that spans a realisation's end joins the
        next one's first spike: by the strong Markov property the result is one unit-rate
        Poisson process and only its final interval is censored (dropped). Restarting the
        clock in every realisation instead would keep only the intervals short enough to end
        inside it, a bias towards short intervals that rejects the true model on short trials.
        Discrete time:
        Haslinger, Pipa & Brown (2010): the non-spike bins between spikes contribute
        ``lambda dt`` each and the spike bin ``-log(1 - u (1 - e^{-lambda dt}))`` with
        ``u ~ U(0, 1)``, which makes ``tau`` exactly Exp(1). The statistic compares
        ``1 - exp(-tau)`` with U(0, 1).

        Parameters
        ----------
        events, end_time, mu, alpha, beta
            As in ``log_likelihood``.
        seed : int, SeedSequence or Generator
            Randomisation of the spike bins (discrete time only).

        Returns
        -------
        ndarray, shape (n_dims,)
            KS statistic per neuron; NaN for a neuron with fewer than 2 spikes.
        """
        data = self._prepare(events, end_time)
        mu, alpha, beta = self._check_params(mu, alpha, beta)
        h, _ = self._all_stats(data, beta[None])
        alpha_ev = self._source_alpha(data, alpha[None])[0]  # (S, N)
        lam = self._background_rate(mu, data) + (alpha_ev * h[0]).sum(axis=0)
        # Integrated kernel mass before each event: n_before - R, with R = h / kernel factor.
        beta_ev = beta if beta.ndim == 0 else beta[data.dim][:, data.sources].T  # scalar or (S, N)
        r = h[0] / self._kernel_factor(beta_ev)
        if self.time == "discrete":
            # h was evaluated one step back (lag shifted by dt); the mass runs through bin k.
            r = r * np.exp(-beta_ev * self.dt)
            until = data.times + self.dt
        else:
            until = data.times
        if self.background is None:
            base = mu[data.dim] * until
        else:
            base = mu[data.dim] * _background_integral(self.background, self.dt, until, data.dim)
        cum = base + (alpha_ev * (data.n_before - r)).sum(axis=0)  # (N,) from each realisation's start
        total = self._realisation_compensators(data, mu, alpha, beta)  # (D, n_real)
        offset = np.cumsum(total, axis=1) - total  # earlier realisations' mass
        rescaled = offset[data.dim, data.trial] + cum  # (N,) one clock per neuron
        first = np.ones(data.dim.size, dtype=bool)
        first[1:] = data.dim[1:] != data.dim[:-1]
        tau = np.where(first, rescaled, np.diff(rescaled, prepend=0.0))
        if self.time == "discrete":
            q = lam * self.dt
            u = _resolve_seed(seed).random(q.size)
            tau = tau - q - np.log1p(u * np.expm1(-q))
        z = -np.expm1(-np.maximum(tau, 0.0))
        ks = np.full(self.n_dims, np.nan)
        for i in range(self.n_dims):  # one small KS test per neuron
            zi = z[data.start[i] : data.start[i + 1]]
            if zi.size >= 2:
                ks[i] = stats.kstest(zi, "uniform").statistic
        return ks

    def _realisation_compensators(self, data, mu, alpha, beta):
        """Compensator of every neuron over every whole realisation, shape (n_dims, n_real).

        ``mu_i T_r + sum_j alpha_ij sum_{l in r, source j} (1 - exp(-beta_ij remaining_l))``,
        where ``remaining`` runs to the end of the realisation (discrete: through its last bin).
        """
        n_real = data.window.size
        index = data.dim * n_real + data.trial  # (N,) (source, realisation) cell
        if beta.ndim == 0:
            mass = np.bincount(
                index, weights=-np.expm1(-beta * data.remaining), minlength=self.n_dims * n_real
            ).reshape(self.n_dims, n_real)
            excited = alpha @ mass  # (D, n_real)
        else:
            per_target = -np.expm1(-beta[:, data.dim] * data.remaining)  # (D, N)
            mass = np.zeros((self.n_dims, self.n_dims * n_real))
            np.add.at(mass, (slice(None), index), per_target)
            excited = np.einsum("ij,ijr->ir", alpha, mass.reshape(self.n_dims, self.n_dims, n_real))
        return mu[:, None] * data.base_window + excited

    def _resolve_prior(self, data):
        """The prior's numbers for these data (``PriorRates``)."""
        p = self.prior
        n_total = int(data.n_events.sum())
        if p.mu_mean is not None:
            mu_mean = p.mu_mean
        elif n_total > 0 and data.exposure > 0:
            mu_mean = n_total / data.base_mass.sum()
        else:
            mu_mean = 0.1 / self.dt
        if p.beta_median is not None:
            beta_median = p.beta_median
        elif self.time == "continuous" and n_total > 0 and data.exposure > 0:
            beta_median = n_total / data.exposure
        else:
            beta_median = 1.0 / self.dt
        return PriorRates(
            mu_shape=p.mu_shape,
            mu_rate=p.mu_shape / mu_mean,
            alpha_shape=p.alpha_shape,
            alpha_rate=p.alpha_shape / p.alpha_mean,
            log_beta_mean=float(np.log(beta_median)),
            log_beta_sd=p.beta_log_sd,
        )

    def fit(self, events, end_time, n_samples=1000, n_warmup=1000, n_chains=4, seed=0, progress=True, max_samples=None):
        """Sample the posterior of (mu, alpha, beta) with the sampler of ``hawkes_sampler``.

        Parameters
        ----------
        events, end_time
            As in ``log_likelihood``.
        n_samples, n_warmup : int
            Draws kept per chain (at least ``MIN_SAMPLES`` = 4, for split R-hat), and warm-up
            sweeps (adaptation) discarded before.
        n_chains : int
            Independent chains from dispersed starts.
        seed : int, SeedSequence or Generator
        progress : bool
            Show a tqdm bar (hidden off a terminal).
        max_samples : int or None
            While the draws miss the convergence limits (``mcmc_diagnostics.is_converged``), run
            the same chains on by ``n_samples`` draws at a time up to this many (at least
            ``n_samples``); None: exactly ``n_samples`` draws.

        Returns
        -------
        HawkesPosterior
            With ``n_samples`` draws per chain, or more (at most ``max_samples``) where the
            chains went on.
        """
        # Imported here: the sampler is built on this module's likelihood internals.
        from hawkes_sampler import sample

        counts_to_check = (("n_samples", n_samples, MIN_SAMPLES), ("n_warmup", n_warmup, 0), ("n_chains", n_chains, 1))
        if max_samples is not None:
            counts_to_check += (("max_samples", max_samples, n_samples),)
        for name, value, low in counts_to_check:
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        data = self._prepare(events, end_time)
        draws = sample(
            self,
            data,
            self._resolve_prior(data),
            int(n_samples),
            int(n_warmup),
            int(n_chains),
            _resolve_seed(seed),
            progress,
            None if max_samples is None else int(max_samples),
        )
        return HawkesPosterior(**draws)


# ---------------------------------------------------------------------- posterior
@dataclass
class HawkesPosterior:
    """Posterior draws of ``HawkesProcessModel.fit``.

    Attributes
    ----------
    mu : ndarray, shape (n_chains, n_samples, n_dims)
    alpha : ndarray, shape (n_chains, n_samples, n_dims, n_dims)
    beta : ndarray, shape (n_chains, n_samples) or (n_chains, n_samples, n_dims, n_dims)
    acceptance : dict
        Move name -> (n_chains,) acceptance rate over the kept draws: ``hmc`` (averaged over
        the targets that have events), ``transfer`` (over the chosen pairs) and ``beta`` (over
        the decays that have a likelihood); NaN for a move with nothing to move.

    The summary (with R-hat and ESS) is computed once, on first use; the draws are not meant
    to be modified.
    """

    mu: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    acceptance: dict

    @functools.cached_property
    def _summary(self):
        """``summarise_draws`` of every parameter, computed once."""
        return {name: summarise_draws(getattr(self, name)) for name in ("mu", "alpha", "beta")}

    def summary(self):
        """Mean, sd, 5% and 95% quantiles, R-hat and bulk ESS of every parameter.

        Returns
        -------
        dict
            ``{"mu": {...}, "alpha": {...}, "beta": {...}}``, each as ``summarise_draws``.
        """
        return {name: dict(stats_) for name, stats_ in self._summary.items()}

    @property
    def max_rhat(self):
        """Largest split R-hat over all parameters."""
        return float(max(np.nanmax(s["rhat"]) for s in self._summary.values()))

    @property
    def min_ess_bulk(self):
        """Smallest bulk ESS over all parameters."""
        return float(min(np.nanmin(s["ess_bulk"]) for s in self._summary.values()))


# ---------------------------------------------------------------------- simulation
def simulate_hawkes(mu, alpha, beta, end_time, seed=0, time="continuous", dt=1.0, background=None):
    """Simulate one realisation of the Hawkes process on ``[0, end_time)``.

    Continuous time: exact simulation by the branching structure (Poisson immigrants, with
    rate ``mu_i b_i(t)`` piecewise constant over the bins of the background, then
    generation after generation of offspring, ``Poisson(alpha[i, j])`` children of type ``i``
    per event of type ``j`` at Exponential(beta[i, j]) delays), vectorised per generation.
    Discrete time: the Bernoulli grid process of the discrete likelihood, one step at a time.

    Parameters
    ----------
    mu : array_like, shape (D,)
        Background rates, 1/s.
    alpha : array_like, shape (D, D)
        Branching ratios ``alpha[target, source]``.
    beta : float or array_like, shape (D, D)
        Decay rate(s), 1/s.
    end_time : float
        Window length, s.
    seed : int, SeedSequence or Generator
    time : {"continuous", "discrete"}
    dt : float
        Grid step, s (discrete), and bin width of ``background``.
    background : array_like, shape (D, n_bins), optional
        Relative background (as in ``HawkesProcessModel``); the background intensity of
        neuron ``i`` is ``mu_i b_i(t)``. None: constant 1.

    Returns
    -------
    list of D sorted 1-D float arrays
    """
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 1:
        raise ValueError(f"mu must be 1-D, got shape {mu.shape}")
    d = mu.size
    model = HawkesProcessModel(d, time=time, dt=dt, beta="pair", background=background)
    mu, alpha, beta = model._check_params(mu, alpha, beta)
    if not isinstance(end_time, numbers.Real) or not np.isfinite(end_time) or end_time < 0:
        raise ValueError(f"end_time must be a finite number >= 0, got {end_time!r}")
    n_bins = int(np.ceil(end_time / dt * (1 - GRID_TOLERANCE)))
    if model.background is not None and model.background.shape[1] < n_bins:
        raise ValueError(
            f"background covers {model.background.shape[1]} bins of dt={dt}, shorter than end_time={end_time}"
        )
    rng = _resolve_seed(seed)
    if time == "discrete":
        base = np.ones((d, n_bins)) if model.background is None else model.background
        return _simulate_discrete(mu, alpha, beta, end_time, dt, rng, base)
    if model.background is None:  # one bin: the whole window
        base, n_bins, lo, width = np.ones((d, 1)), 1, np.zeros(1), np.full(1, float(end_time))
    else:
        base = model.background
        lo = np.arange(n_bins) * dt  # (n_bins,) bin starts
        width = np.minimum(lo + dt, end_time) - lo
    # Immigrants bin by bin: Poisson(mu_i b_im x the bin's length in the window), uniform in it.
    n_imm = rng.poisson(mu[:, None] * base[:, :n_bins] * width)  # (D, n_bins)
    cell = np.repeat(np.arange(d * n_bins), n_imm.ravel())
    gen_d, gen_bin = np.divmod(cell, n_bins)
    gen_t = lo[gen_bin] + rng.random(cell.size) * width[gen_bin]
    all_t, all_d, total = [gen_t], [gen_d], gen_t.size
    while gen_t.size:
        n_child = rng.poisson(alpha[:, gen_d].T)  # (n_gen, D) children per type
        parent = np.repeat(np.arange(gen_t.size), n_child.sum(axis=1))
        child_d = np.tile(np.arange(d), gen_t.size)[np.repeat(np.arange(n_child.size), n_child.ravel())]
        child_t = gen_t[parent] + rng.exponential(1.0 / beta[child_d, gen_d[parent]])
        keep = child_t < end_time
        gen_t, gen_d = child_t[keep], child_d[keep]
        total += gen_t.size
        if total > MAX_SIMULATED_EVENTS:
            raise ValueError(
                f"alpha: the process exploded (> {MAX_SIMULATED_EVENTS} events); "
                "use a spectral radius < 1 or a shorter end_time"
            )
        all_t.append(gen_t)
        all_d.append(gen_d)
    t, dims = np.concatenate(all_t), np.concatenate(all_d)
    return [np.sort(t[dims == j]) for j in range(d)]


def _simulate_discrete(mu, alpha, beta, end_time, dt, rng, base):
    """Bernoulli grid process: P(spike of i at step k) = 1 - exp(-lambda_i[k] dt), background
    ``mu_i base[i, k]``."""
    d = mu.size
    n_steps = int(round(end_time / dt))
    decay = np.exp(-beta * dt)  # (D, D)
    s = np.zeros((d, d))  # S_ij at the current step
    spikes = np.zeros((n_steps, d), dtype=bool)
    uniform = rng.random((n_steps, d))
    for k in range(n_steps):
        lam = mu * base[:, k] + (alpha * s).sum(axis=1)
        spikes[k] = uniform[k] < -np.expm1(-lam * dt)
        s = decay * s + (1.0 - decay) * spikes[k][None, :] / dt
    return [np.flatnonzero(spikes[:, j]) * dt for j in range(d)]
