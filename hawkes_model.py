"""Multivariate Hawkes processes with exponential kernels: exact likelihoods, a Bayesian sampler,
simulation and diagnostics.

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
from tqdm.auto import tqdm

# Warm-up adaptation of the beta random walk: Robbins-Monro on the log step size towards the
# optimal acceptance rate of a one-dimensional random-walk Metropolis move (Roberts & Rosenthal).
TARGET_ACCEPTANCE = 0.44
ADAPT_DECAY = 0.6
# After a warm-up of at least MIN_WARMUP_INDEPENDENT sweeps, a shared beta is proposed
# independently from Normal(mean, INDEPENDENCE_SCALE x sd) in log beta, mean and sd taken from the
# second half of the warm-up: the benchmark's beta ESS doubled (544 -> 1136 of 4000) at the same
# cost. The scale above 1 keeps the proposal's tails wider than the posterior's.
MIN_WARMUP_INDEPENDENT = 100
INDEPENDENCE_SCALE = 1.3
# Transfer moves between two sources are set up for source pairs whose excitation at the
# events correlates above this (near-duplicate spike trains), at most one pair per source.
TRANSFER_CORRELATION = 0.5
# Relative tolerance for "this time lies on the dt grid".
GRID_TOLERANCE = 1e-6
# The prefix scan stops once the terms it would still add are below this (relative to A >= 1).
SCAN_TOLERANCE = 1e-17
# A simulation that produces more events than this is treated as exploding.
MAX_SIMULATED_EVENTS = 10_000_000
# Split R-hat and bulk ESS halve every chain; each half needs two draws for a variance.
MIN_SAMPLES = 4


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
        raise ValueError(f"alpha_mask must be a bool array of shape ({n_dims}, {n_dims}), "
                         f"got {mask.dtype} {mask.shape}")
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
    dim: np.ndarray         # (N,) neuron of each event
    times: np.ndarray       # (N,) event time within its realisation, s
    gap: np.ndarray         # (N,) time since the previous event of the same neuron and realisation (inf: none)
    remaining: np.ndarray   # (N,) time from the event to the end of the kernel's window, s
    start: np.ndarray       # (n_dims + 1,) slice bounds of each neuron's events
    sources: np.ndarray     # (S,) neurons with at least one event (the only ones that excite)
    last: np.ndarray        # (S, N) last event of source s strictly before event k, same realisation (N: none)
    lag: np.ndarray         # (S, N) time from that source event to event k, minus the lag shift; 0 when none
    n_before: np.ndarray    # (S, N) number of events of source s strictly before event k in its realisation
    max_run: int            # most events of one neuron in one realisation
    exposure: float         # total observed time (continuous) or dt x total bins (discrete), s
    base: np.ndarray | None  # (N,) relative background at each event; None: constant 1
    base_window: np.ndarray  # (n_dims, n_real) integral of the relative background over each window, s
    base_mass: np.ndarray   # (n_dims,) its sum over realisations: mu_i times it is i's background compensator
    n_events: np.ndarray    # (n_dims,) events per neuron
    trial: np.ndarray       # (N,) realisation of each event
    window: np.ndarray      # (n_real,) observed time of each realisation (discrete: n_steps x dt), s
    duplicates: list        # groups (int arrays) of neurons with identical spike trains in every realisation


@dataclass
class _Workspace:
    """Work arrays of one fit, allocated once and overwritten by every sweep.

    A sweep would otherwise allocate and free the same few-MB temporaries over and over; the
    allocator hands them back to the OS and faults them in again, which measured about a third
    of the sampler's time (discrete benchmark, 4 chains x 2,699 events).
    """

    h_new: np.ndarray     # (C, S, N) kernel sums at a proposed beta
    decay: np.ndarray     # (C, S, N) decay factors while computing them
    lam_new: np.ndarray   # (C, N) intensities at a proposal
    term: np.ndarray      # (C, N) event terms at the current intensities
    term_new: np.ndarray  # (C, N) event terms at a proposal
    diff: np.ndarray      # (C, N) their difference

    @classmethod
    def allocate(cls, n_chains, n_src, n_events):
        big = (n_chains, n_src, n_events)
        return cls(np.empty(big), np.empty(big), *(np.empty((n_chains, n_events)) for _ in range(4)))


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

    Sampler (``fit``), one sweep of these moves, each leaving the posterior invariant:

    1. Branching structure (exact Gibbs): every event's parent (background or a source
       neuron) is drawn with probabilities ``mu_i : alpha_ij h_ij(t)``; in discrete time the
       number of latent Poisson events behind each spike bin is drawn first, from
       ``Poisson(lambda dt)`` truncated to >= 1 (``y = 1{N > 0}`` with ``N ~ Poisson`` is
       exactly the Bernoulli likelihood).
    2. ``mu`` and ``alpha`` given the parents (exact Gibbs): conjugate Gamma conditionals
       (``mu_i``'s exposure is ``int b_i``, the total time when the background is constant).
    3. Ridge moves (Metropolis on the observed-data likelihood): ``alpha_ij + delta`` with
       ``mu_i - delta comp_ij / int b_i`` (``/ T`` for a constant background), which keeps the
       compensator fixed; this is the direction along which absent edges trade off against
       the background, where the Gibbs moves alone crawl (the latent counts know more about
       alpha than the data do). The random
       walk is reflected at alpha = 0 (still symmetric), so absent edges are not stuck
       behind rejected negative proposals.
    4. ``beta``: log-scale random-walk Metropolis (Jacobian included) on the observed-data
       likelihood; with ``beta="pair"`` the pairs of one source are proposed together and
       accepted per target, since the likelihood factorises over targets. A shared beta is,
       after the warm-up, proposed independently from a log-normal fitted to the warm-up
       draws (independence Metropolis-Hastings, fixed from then on, so still valid).

    Two more moves follow 3, for sources that can substitute for each other. Near-duplicate
    sources (excitation correlated above 0.5; pairs fixed at the start) get transfer moves,
    ``alpha_ij + delta``, ``alpha_ik - delta comp_ij / comp_ik`` (compensator fixed, Metropolis).
    Exact duplicates (identical spike trains, as some of the network's neurons have) are
    indistinguishable with a shared beta: only the sum of their alphas is identified, and its
    split over the group is drawn exactly from its conditional, Dirichlet(alpha_shape, ...).

    Random-walk step sizes (and the independence proposal of a shared beta) adapt during
    warm-up only, towards an acceptance rate of 0.44.
    Chains start dispersed (mu around half the observed rates, small random alpha, beta
    around the prior median) and move together as arrays with a leading chain axis.

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

    def __init__(self, n_dims, time="continuous", dt=1.0, beta="shared", prior=None, background=None,
                 alpha_mask=None):
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
                raise ValueError(f"events: realisation {r} has {len(realisation)} neurons, "
                                 f"expected n_dims={n_dims}")
        end = np.asarray(end_time, dtype=float)
        if end.ndim == 0:
            end = np.full(n_real, float(end))
        if end.shape != (n_real,):
            raise ValueError(f"end_time must be a number or one per realisation ({n_real}), "
                             f"got shape {end.shape}")
        if not np.all(np.isfinite(end)) or np.any(end < 0):
            raise ValueError("end_time must be finite and >= 0")
        # (n_dims, n_real) lengths; the flat order is neuron-major, then realisation, then time.
        trains = [np.asarray(realisation[j], dtype=float).ravel()
                  for j in range(n_dims) for realisation in realisations]
        lengths = np.array([t.size for t in trains], dtype=np.int64).reshape(n_dims, n_real)
        times = np.concatenate(trains) if trains else np.zeros(0)
        # Content key: the same events, windows and settings give the same indexed data.
        key = hashlib.blake2b(times.tobytes() + lengths.tobytes() + end.tobytes()
                              + repr((self.time, self.dt)).encode()
                              + (b"" if self.background is None else self.background.tobytes())).digest()
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
                raise ValueError(f"background covers {self.background.shape[1]} bins of dt={self.dt}, "
                                 f"shorter than the longest realisation ({window.max()} s)")
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
        data = _Data(n_dims=n_dims, dim=dim, times=times, gap=gap, remaining=remaining, start=start,
                     sources=sources, last=last, lag=lag, n_before=n_before, max_run=int(lengths.max(initial=0)),
                     exposure=exposure, base=base, base_window=base_window, base_mass=base_window.sum(axis=1),
                     n_events=lengths.sum(axis=1), trial=trial, window=window,
                     duplicates=duplicates)
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

    def _stats_shared(self, data, beta, work=None):
        """Excitation and compensator statistics for one shared beta per chain.

        Parameters
        ----------
        data : _Data
        beta : ndarray, shape (C,)
        work : _Workspace or None
            If given, ``h`` is written into ``work.h_new`` (and ``work.decay`` is overwritten).

        Returns
        -------
        h : ndarray, shape (C, S, N)
            ``h[c, s, k]``: kernel sum of source ``data.sources[s]`` at event ``k``, 1/s, so
            that ``lambda[k] = mu[dim_k] + sum_s alpha[dim_k, sources[s]] h[c, s, k]``.
        comp : ndarray, shape (C, D)
            Integrated kernel mass of each source's events inside the window (per unit alpha).
        """
        b = beta[:, None]                                                        # (C, 1)
        a = _prefix_decay_sums(np.exp(-b * data.gap), data.max_run)              # (C, N)
        # Slot N (no source event) is 0; the kernel factor is applied here, on N numbers.
        a = np.concatenate([a * self._kernel_factor(b), np.zeros((beta.size, 1))], axis=1)  # (C, N+1)
        # In place: large temporaries cost more in page faults than in arithmetic.
        h = np.take(a, data.last, axis=1, out=None if work is None else work.h_new)   # (C, S, N)
        decay = np.multiply(data.lag, -b[:, :, None], out=None if work is None else work.decay)
        h *= np.exp(decay, out=decay)
        comp = _segment_sums(-np.expm1(-b * data.remaining), data.start)         # (C, D)
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
        decay = np.exp(-beta_col[:, :, None] * data.gap[lo:hi])                # (C, D, n_j)
        a = _prefix_decay_sums(decay, data.max_run) * self._kernel_factor(beta_col)[:, :, None]
        a = np.concatenate([a, np.zeros(a.shape[:2] + (1,))], axis=2)           # (C, D, n_j+1)
        local = np.minimum(data.last[s] - lo, hi - lo)                           # (N,); n_j: none
        b_event = self._per_event(beta_col, data)                               # (C, N)
        h = a[:, data.dim, local] * np.exp(-b_event * data.lag[s])               # (C, N)
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

    def _event_term(self, lam, out=None, scratch=None):
        """Per-event log-likelihood term at the spikes: log lambda, or the Bernoulli form.

        Parameters
        ----------
        lam : ndarray
            Intensities at the events, 1/s.
        out, scratch : ndarray or None
            Buffers of ``lam``'s shape for the result and an intermediate (the samplers reuse
            theirs for every move).
        """
        with np.errstate(divide="ignore"):
            if self.time == "continuous":
                return np.log(lam, out=out)
            neg_x = np.multiply(lam, -self.dt, out=scratch)
            term = np.expm1(neg_x, out=out)
            np.negative(term, out=term)
            np.log(term, out=term)
            term -= neg_x                               # log(1 - e^{-x}) + x, stable for large x
            return term

    def _loglik(self, data, lam, mu, alpha, comp):
        """Log-likelihood per chain and target, (C, D), from intensities at the events (C, N)."""
        ev = _segment_sums(self._event_term(lam), data.start)                   # (C, D)
        comp3 = comp[:, None, :] if comp.ndim == 2 else comp                    # (C, 1|D, D)
        return ev - mu * data.base_mass - (alpha * comp3).sum(axis=2)

    @staticmethod
    def _per_event(x, data):
        """Per-target values (..., D) repeated onto the events (..., N), which are target-sorted."""
        return np.repeat(x, data.n_events, axis=-1)

    def _background_rate(self, mu, data):
        """Background intensity at every event, (..., N), from ``mu`` (..., D), 1/s."""
        rate = self._per_event(mu, data)
        return rate if data.base is None else rate * data.base

    def _source_alpha(self, data, alpha, out=None):
        """``alpha[c, dim_k, sources[s]]`` laid out as (C, S, N) to match ``h`` (into ``out``)."""
        layout = self._per_event(alpha[:, :, data.sources].transpose(0, 2, 1), data)
        if out is None:
            return layout
        # repeat has no out=; a copy into the fit's buffer still beat np.take(..., out=) 2-3x.
        np.copyto(out, layout)
        return out

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
        alpha_ev = self._source_alpha(data, alpha[None])[0]                     # (S, N)
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
        cum = base + (alpha_ev * (data.n_before - r)).sum(axis=0)                 # (N,) from each realisation's start
        total = self._realisation_compensators(data, mu, alpha, beta)            # (D, n_real)
        offset = np.cumsum(total, axis=1) - total                                # earlier realisations' mass
        rescaled = offset[data.dim, data.trial] + cum                            # (N,) one clock per neuron
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
            zi = z[data.start[i]:data.start[i + 1]]
            if zi.size >= 2:
                ks[i] = stats.kstest(zi, "uniform").statistic
        return ks

    def _realisation_compensators(self, data, mu, alpha, beta):
        """Compensator of every neuron over every whole realisation, shape (n_dims, n_real).

        ``mu_i T_r + sum_j alpha_ij sum_{l in r, source j} (1 - exp(-beta_ij remaining_l))``,
        where ``remaining`` runs to the end of the realisation (discrete: through its last bin).
        """
        n_real = data.window.size
        index = data.dim * n_real + data.trial                                   # (N,) (source, realisation) cell
        if beta.ndim == 0:
            mass = np.bincount(index, weights=-np.expm1(-beta * data.remaining),
                               minlength=self.n_dims * n_real).reshape(self.n_dims, n_real)
            excited = alpha @ mass                                               # (D, n_real)
        else:
            per_target = -np.expm1(-beta[:, data.dim] * data.remaining)          # (D, N)
            mass = np.zeros((self.n_dims, self.n_dims * n_real))
            np.add.at(mass, (slice(None), index), per_target)
            excited = np.einsum("ij,ijr->ir", alpha, mass.reshape(self.n_dims, self.n_dims, n_real))
        return mu[:, None] * data.base_window + excited

    def _resolve_prior(self, data):
        """Numbers of the prior: (mu shape, mu rate, alpha shape, alpha rate, log-beta mean, sd)."""
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
        return (p.mu_shape, p.mu_shape / mu_mean, p.alpha_shape, p.alpha_shape / p.alpha_mean,
                np.log(beta_median), p.beta_log_sd)

    def fit(self, events, end_time, n_samples=1000, n_warmup=1000, n_chains=4, seed=0, progress=True):
        """Sample the posterior of (mu, alpha, beta) with the branching-structure sampler.

        Parameters
        ----------
        events, end_time
            As in ``log_likelihood``.
        n_samples, n_warmup : int
            Draws kept per chain (at least ``MIN_SAMPLES`` = 4, for split R-hat), and warm-up
            sweeps (step-size adaptation) discarded before.
        n_chains : int
            Independent chains from dispersed starts.
        seed : int, SeedSequence or Generator
        progress : bool
            Show a tqdm bar (hidden off a terminal).

        Returns
        -------
        HawkesPosterior
        """
        counts_to_check = (("n_samples", n_samples, MIN_SAMPLES), ("n_warmup", n_warmup, 0),
                           ("n_chains", n_chains, 1))
        for name, value, low in counts_to_check:
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        data = self._prepare(events, end_time)
        rng = _resolve_seed(seed)
        mu_a, mu_b, al_a, al_b, lb_mean, lb_sd = self._resolve_prior(data)
        d, c_n, pair = self.n_dims, n_chains, self.beta_kind == "pair"
        silent = np.flatnonzero(data.n_events == 0)

        # Dispersed starts: mu around half the observed rate, alpha small, beta around the prior median.
        rate = np.maximum(data.n_events / np.maximum(data.base_mass, 1e-300), 0.01 * mu_a / mu_b)
        mu = 0.5 * rate * rng.lognormal(0.0, 0.5, (c_n, d))                    # (C, D)
        free = np.ones((d, d), dtype=bool) if self.alpha_mask is None else self.alpha_mask
        alpha = rng.exponential(0.5 / d, (c_n, d, d)) * free                    # (C, D, D)
        beta_shape = (c_n, d, d) if pair else (c_n,)
        beta = np.exp(lb_mean + rng.normal(0.0, 0.5, beta_shape))
        log_step = np.full(beta_shape, np.log(0.5))
        work = _Workspace.allocate(c_n, data.sources.size, data.dim.size)
        h, comp = self._all_stats(data, beta)                                   # (C, S, N); (C, D) or (C, D, D)
        # One (C, S, N) array holds alpha * h for the parents, then alpha laid out as h.
        excite = self._source_alpha(data, alpha) * h
        log_step_ridge = np.full((c_n, d, d), np.log(0.1))
        pairs = self._transfer_pairs(h[0])                                      # (P, 2) rows of h
        log_step_transfer = np.full((c_n, d, len(pairs)), np.log(0.1))
        accepted_transfer = np.zeros((c_n, d, len(pairs)))
        accepted_beta, accepted_ridge = np.zeros(beta_shape), np.zeros((c_n, d, d))
        prior = (mu_a, mu_b, al_a, al_b, lb_mean, lb_sd)

        draws_mu = np.empty((c_n, n_samples, d))
        draws_alpha = np.empty((c_n, n_samples, d, d))
        draws_beta = np.empty((c_n, n_samples) + beta_shape[1:])
        warmup_log_beta = np.empty((c_n, n_warmup))                             # shared beta only
        independent = None                                                      # (centre, scale) after warm-up
        for it in tqdm(range(n_warmup + n_samples), disable=None if progress else True, desc="Hawkes MCMC"):
            # 1. Branching structure given (mu, alpha, beta); 2. conjugate mu, alpha given it.
            counts = self._draw_parents(data, rng, self._background_rate(mu, data), excite)  # (C, D, 1+S)
            mu = rng.gamma(mu_a + counts[:, :, 0], 1.0 / (mu_b + data.base_mass))
            n_alpha = np.zeros((c_n, d, d))
            n_alpha[:, :, data.sources] = counts[:, :, 1:]
            alpha = rng.gamma(al_a + n_alpha, 1.0 / (al_b + (comp if pair else comp[:, None, :]))) * free
            # 3. (mu_i, alpha_ij) along the likelihood ridge and 4. beta, both by Metropolis on
            # the observed-data likelihood (parents marginalised).
            alpha_src = self._source_alpha(data, alpha, out=excite)             # (C, S, N)
            lam = self._background_rate(mu, data) + np.einsum("csk,csk->ck", alpha_src, h)  # (C, N)
            acc_ridge, lam = self._move_ridge(data, rng, mu, alpha, alpha_src, lam, h, comp,
                                              log_step_ridge, prior, free, work)
            if data.duplicates and not pair:
                self._split_duplicates(data, rng, alpha, alpha_src, al_a, free)
            acc_transfer, lam = self._move_transfer(data, rng, pairs, mu, alpha, alpha_src, lam, h, comp,
                                                    log_step_transfer, prior, free)
            if pair:
                acc_beta, excite = self._move_beta_pair(data, rng, mu, alpha, alpha_src, lam, beta, h, comp,
                                                        log_step, prior)
            else:
                acc_beta, excite = self._move_beta_shared(data, rng, mu, alpha, alpha_src, lam, beta, h, comp,
                                                          log_step, prior, work, independent)
            if pair and silent.size:
                # Decays of silent sources have no likelihood: draw them from the prior exactly.
                beta[:, :, silent] = np.exp(lb_mean + lb_sd * rng.standard_normal((c_n, d, silent.size)))
            if it < n_warmup:
                if not pair:
                    warmup_log_beta[:, it] = np.log(beta)
                    if it == n_warmup - 1 and n_warmup >= MIN_WARMUP_INDEPENDENT:
                        settled = warmup_log_beta[:, n_warmup // 2:]            # (C, n_warmup - n_warmup // 2)
                        if settled.std() > 0:  # else beta never moved: keep the random walk
                            independent = (settled.mean(), INDEPENDENCE_SCALE * settled.std())
                gain = (it + 1) ** -ADAPT_DECAY
                log_step += (acc_beta - TARGET_ACCEPTANCE) * gain
                log_step_ridge += (acc_ridge - TARGET_ACCEPTANCE) * gain
                log_step_transfer += (acc_transfer - TARGET_ACCEPTANCE) * gain
            else:
                accepted_beta += acc_beta
                accepted_ridge += acc_ridge
                accepted_transfer += acc_transfer
                k = it - n_warmup
                draws_mu[:, k], draws_alpha[:, k], draws_beta[:, k] = mu, alpha, beta
        # Metropolis moves exist only for sources with events and free alphas (NaN: none).
        ridge = accepted_ridge[:, :, data.sources][:, free[:, data.sources]]     # (C, free pairs)
        transfer = accepted_transfer[:, free[:, data.sources[pairs]].all(axis=2)]  # (C, free rows x pairs)
        moved_beta = (accepted_beta[:, :, data.sources] if pair else accepted_beta).reshape(c_n, -1)
        ones = np.ones(c_n)
        acceptance = {"parents": ones, "mu": ones, "alpha": ones,
                      "ridge": ridge.mean(axis=1) / n_samples if ridge.size else np.full(c_n, np.nan),
                      "transfer": (transfer.mean(axis=1) / n_samples
                                   if transfer.size else np.full(c_n, np.nan)),
                      "beta": moved_beta.mean(axis=1) / n_samples if moved_beta.size else np.full(c_n, np.nan)}
        return HawkesPosterior(mu=draws_mu, alpha=draws_alpha, beta=draws_beta, acceptance=acceptance)

    def _draw_parents(self, data, rng, mu_ev, excite):
        """Draw the branching structure and count parents per (chain, target, category).

        Continuous time: one parent per event, with probabilities proportional to
        ``(mu_i, alpha_ij h_ij)``. Discrete time: the number of latent Poisson events in the
        spike bin, ``N ~ Poisson(lambda dt | N >= 1)``, each with such a parent.

        Parameters
        ----------
        mu_ev : ndarray, shape (C, N)
            Background rate at each event.
        excite : ndarray, shape (C, S, N)
            ``alpha * h`` per source at each event.

        Returns
        -------
        ndarray, shape (C, D, 1 + S)
            Category 0: background; category ``1 + s``: source ``data.sources[s]``.
        """
        n_chains, n_src, n_events = excite.shape
        n_cat = n_src + 1
        lam = mu_ev + excite.sum(axis=1)                                         # (C, N)
        # Inverse CDF over the categories; 1 - U lies in (0, 1], so a zero-weight category is
        # never chosen. A loop over sources keeps every operation on contiguous (C, N) rows.
        u = (1.0 - rng.random((n_chains, n_events))) * lam
        running = mu_ev.copy()
        parent = (running < u).astype(np.int64)
        for s in range(n_src - 1):
            running += excite[:, s]
            parent += running < u
        offset = (np.arange(n_chains)[:, None] * self.n_dims + data.dim) * n_cat  # (C, N)
        keys = [(offset + parent).ravel()]
        if self.time == "discrete":
            extra = _draw_zero_truncated_poisson(rng, lam * self.dt) - 1         # (C, N) further latent events
            c_idx, k_idx = np.nonzero(extra)
            repeats = extra[c_idx, k_idx]
            c_idx, k_idx = np.repeat(c_idx, repeats), np.repeat(k_idx, repeats)
            # Categories along the first axis: a cumulative sum over short rows is slow in numpy.
            weights_x = np.concatenate([mu_ev[c_idx, k_idx][None], excite[c_idx, :, k_idx].T])  # (1+S, M)
            cum_x = np.cumsum(weights_x, axis=0)                               # (1+S, M)
            u_x = (1.0 - rng.random(c_idx.size)) * cum_x[-1]                     # (M,) for M extra units
            keys.append(offset[c_idx, k_idx] + (cum_x[:-1] < u_x).sum(axis=0))
        counts = np.bincount(np.concatenate(keys), minlength=n_chains * self.n_dims * n_cat)
        return counts.reshape(n_chains, self.n_dims, n_cat).astype(float)

    def _move_ridge(self, data, rng, mu, alpha, alpha_src, lam, h, comp, log_step, prior, free, work=None):
        """Random-walk Metropolis along the ridge of each (mu_i, alpha_ij), one source at a time.

        The proposal ``alpha' = |alpha_ij + z|``, ``mu' = mu_i - (alpha' - alpha_ij) comp_ij /
        B_i`` keeps the compensator ``mu_i B_i + sum_j alpha_ij comp_ij`` fixed (``B_i``: the
        integrated relative background, ``T`` when it is constant), so it moves
        along the direction in which the data barely constrain the pair. On that line it is a
        random walk reflected at alpha = 0, whose density ``phi(a' - a) + phi(a' + a)`` is
        symmetric, so the Metropolis ratio is the posterior ratio; reflecting rather than
        rejecting negative proposals lets absent edges (alpha near 0) move more often. The
        Gibbs moves alone crawl here: for an absent edge the latent parent counts carry more
        information on alpha than the data. Sources are visited in turn (Metropolis-within-
        Gibbs); targets and chains move in parallel, since the likelihood factorises over
        targets. The normals of all sources are drawn first, (S, C, D), then the uniforms.

        ``mu``, ``alpha``, ``alpha_src`` and ``lam`` are updated in place (``free``: (D, D) bool,
        False for an alpha fixed at 0, which is never moved; ``work``: the fit's buffers, or
        None). Returns (C, D, D) acceptance indicators and the intensities (C, N).
        """
        mu_a, mu_b, al_a, al_b = prior[:4]
        n_chains, d = mu.shape
        sources = data.sources
        acc_all = np.zeros((n_chains, d, d))
        if sources.size == 0:
            return acc_all, lam
        comp_src = comp[:, :, sources] if comp.ndim == 3 else comp[:, None, sources]   # (C, D|1, S)
        # Shift of mu_i per unit delta; the window may be empty (no data, no compensator).
        mass = data.base_mass[None, :, None]                                           # (1, D, 1)
        slope = np.broadcast_to(np.divide(comp_src, mass, out=np.zeros(np.broadcast_shapes(comp_src.shape, mass.shape)),
                                          where=mass > 0), (n_chains, d, sources.size))  # (C, D, S)
        walk = (np.exp(log_step[:, :, sources]).transpose(2, 0, 1)
                * rng.standard_normal((sources.size, n_chains, d)))                    # (S, C, D)
        uniform = rng.random((sources.size, n_chains, d))                              # (S, C, D)
        if work is None:
            work = _Workspace.allocate(n_chains, sources.size, lam.shape[1])
        lam_new, term_new, diff = work.lam_new, work.term_new, work.diff                # (C, N)
        term = self._event_term(lam, out=work.term)
        with np.errstate(invalid="ignore", divide="ignore"):
            # An invalid proposal (a parameter <= 0) may give lam_new <= 0 and NaN terms; it is
            # rejected by `valid` whatever its ratio.
            for s, j in enumerate(sources):  # sequential Metropolis-within-Gibbs over sources
                alpha_j = alpha[:, :, j]                                                # (C, D)
                alpha_new = np.abs(alpha_j + walk[s])
                delta = alpha_new - alpha_j
                mu_new = mu - delta * slope[:, :, s]
                valid = (alpha_new > 0) & (mu_new > 0) & free[:, j]
                # At the events of target i: lam + delta_i (h_s - slope_i b_i(t)).
                if comp.ndim == 2 and data.base is None:  # one slope per chain: no per-event copy
                    np.subtract(h[:, s], slope[:, :1, s], out=lam_new)
                else:
                    np.subtract(h[:, s], self._background_rate(slope[:, :, s], data), out=lam_new)
                lam_new *= self._per_event(delta, data)
                lam_new += lam
                self._event_term(lam_new, out=term_new, scratch=diff)
                log_ratio = (_segment_sums(np.subtract(term_new, term, out=diff), data.start)
                             + (mu_a - 1) * np.log(mu_new / mu) - mu_b * (mu_new - mu)
                             + (al_a - 1) * np.log(alpha_new / alpha_j) - al_b * delta)
                acc = valid & (np.log(uniform[s]) < log_ratio)                          # (C, D)
                acc_all[:, :, j] = acc
                if acc.any():  # nothing to copy after a full rejection
                    acc_ev = self._per_event(acc, data)                                  # (C, N)
                    np.copyto(lam, lam_new, where=acc_ev)
                    np.copyto(term, term_new, where=acc_ev)
                    np.copyto(alpha_src[:, s], self._per_event(alpha_new, data), where=acc_ev)
                    alpha[:, :, j] = np.where(acc, alpha_new, alpha_j)
                    mu[...] = np.where(acc, mu_new, mu)
        return acc_all, lam

    @staticmethod
    def _transfer_pairs(h):
        """Pairs of rows of ``h`` (S, N) whose excitation correlates above TRANSFER_CORRELATION.

        Chosen once, from the data at the starting state, so the moves stay fixed while
        sampling. Each source joins at most one pair (its most correlated partner, strongest
        first); exact duplicates (correlation 1) are left to the exact split move.
        """
        if h.shape[0] < 2 or h.shape[1] < 3:
            return np.zeros((0, 2), dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(h)                                                # (S, S)
        corr = np.where(np.isfinite(corr) & (corr < 1 - 1e-9), corr, 0.0)
        corr[np.tril_indices_from(corr)] = 0.0
        pairs, used = [], set()
        for k in np.argsort(corr, axis=None)[::-1]:  # at most S*S/2 candidates, strongest first
            a, b = divmod(int(k), corr.shape[0])
            if corr[a, b] <= TRANSFER_CORRELATION:
                break
            if a not in used and b not in used:
                pairs.append((a, b))
                used.update((a, b))
        return np.array(pairs, dtype=np.int64).reshape(-1, 2)

    def _move_transfer(self, data, rng, pairs, mu, alpha, alpha_src, lam, h, comp, log_step, prior, free):
        """Random-walk Metropolis moving excitation between two correlated sources.

        For a pair of source rows (s, t) (neurons j, k) and every target i: ``alpha_ij + delta``
        and ``alpha_ik - delta comp_ij / comp_ik``, which keeps the compensator fixed. Sources
        with near-identical spike trains can substitute for each other; this is the direction
        along which they trade off, which neither the Gibbs nor the ridge moves follow. A
        symmetric shift, so the ratio is the posterior ratio (the compensator term is kept in
        it, so a source with no kernel mass inside the window is handled exactly). Targets for
        which either alpha is fixed at 0 (``free`` False) are not moved. Updates ``alpha`` and
        ``alpha_src`` in place; returns (C, D, P) acceptance indicators and the intensities
        (C, N).
        """
        al_a, al_b = prior[2:4]
        n_chains, d = mu.shape
        acc_all = np.zeros((n_chains, d, len(pairs)))
        if len(pairs) == 0:
            return acc_all, lam
        term = self._event_term(lam)
        for p, (s, t) in enumerate(pairs):  # sequential Metropolis-within-Gibbs over pairs
            j, k = data.sources[s], data.sources[t]
            comp_j = comp[:, :, j] if comp.ndim == 3 else np.broadcast_to(comp[:, j, None], (n_chains, d))
            comp_k = comp[:, :, k] if comp.ndim == 3 else np.broadcast_to(comp[:, k, None], (n_chains, d))
            ratio = np.where(comp_k > 0, comp_j / np.where(comp_k > 0, comp_k, 1.0), 0.0)  # (C, D)
            delta = np.exp(log_step[:, :, p]) * rng.standard_normal((n_chains, d))
            alpha_j, alpha_k = alpha[:, :, j] + delta, alpha[:, :, k] - delta * ratio
            valid = (alpha_j > 0) & (alpha_k > 0) & free[:, j] & free[:, k]
            delta_ev = self._per_event(delta, data)                              # (C, N)
            lam_new = lam + delta_ev * (h[:, s] - self._per_event(ratio, data) * h[:, t])
            with np.errstate(invalid="ignore", divide="ignore"):
                term_new = self._event_term(lam_new)
                log_ratio = (_segment_sums(term_new - term, data.start)
                             - (alpha_j - alpha[:, :, j]) * comp_j - (alpha_k - alpha[:, :, k]) * comp_k
                             + (al_a - 1) * (np.log(alpha_j / alpha[:, :, j]) + np.log(alpha_k / alpha[:, :, k]))
                             - al_b * (alpha_j - alpha[:, :, j] + alpha_k - alpha[:, :, k]))
                acc = valid & (np.log(rng.random((n_chains, d))) < log_ratio)   # (C, D)
            acc_ev = self._per_event(acc, data)
            alpha[:, :, j] = np.where(acc, alpha_j, alpha[:, :, j])
            alpha[:, :, k] = np.where(acc, alpha_k, alpha[:, :, k])
            np.copyto(lam, lam_new, where=acc_ev)
            np.copyto(term, term_new, where=acc_ev)
            acc_all[:, :, p] = acc
        self._source_alpha(data, alpha, out=alpha_src)
        return acc_all, lam

    def _split_duplicates(self, data, rng, alpha, alpha_src, alpha_shape, free):
        """Exact Gibbs draw of how ``alpha[i, g]`` splits over a group ``g`` of identical sources.

        Sources with identical spike trains (and a shared beta) have identical kernel
        statistics, so the likelihood sees only ``sum_{j in g} alpha_ij``; given that sum, the
        independent Gamma(a, b) priors make the split over the free members (``free``, (D, D)
        bool) Dirichlet(a, ..., a), drawn as normalised Gamma(a) variates; fixed members keep
        0. Without this move the chains drift along the unidentified split and R-hat stays
        high. ``alpha`` and ``alpha_src`` are updated in place; the intensities do not change.
        """
        n_chains, d = alpha.shape[:2]
        for group in data.duplicates:  # a few groups at most
            total = alpha[:, :, group].sum(axis=2, keepdims=True)              # (C, D, 1)
            weight = rng.standard_gamma(alpha_shape, (n_chains, d, group.size)) * free[:, group]
            norm = weight.sum(axis=2, keepdims=True)                           # 0: no free member
            share = np.divide(weight, norm, out=np.zeros_like(weight), where=norm > 0)
            alpha[:, :, group] = total * share
            rows = np.searchsorted(data.sources, group)
            alpha_src[:, rows] = self._per_event(alpha[:, :, group].transpose(0, 2, 1), data)

    def _move_beta_shared(self, data, rng, mu, alpha, alpha_src, lam, beta, h, comp, log_step, prior,
                          work=None, independent=None):
        """Metropolis-Hastings on the shared beta of every chain, on the log scale.

        ``independent=None``: a random walk with steps ``exp(log_step)`` (C,). Otherwise
        ``(centre, scale)``: ``log beta' ~ Normal(centre, scale)`` whatever the current beta
        (independence sampler; the ratio gains ``q(current) / q(proposal)``).
        ``lam`` (C, N) are the current intensities. ``beta``, ``h`` and ``comp`` are updated
        in place (``work``: the fit's buffers, or None). Returns the acceptance indicator per
        chain (C,) and ``alpha * h`` (C, S, N) at the new state, written into ``alpha_src``.
        """
        lb_mean, lb_sd = prior[4:]
        n_chains = beta.size
        z = rng.standard_normal(n_chains)
        if independent is None:
            proposal = beta * np.exp(np.exp(log_step) * z)
            log_q_ratio = 0.0
        else:
            centre, scale = independent
            proposal = np.exp(centre + scale * z)
            log_q_ratio = ((np.log(proposal) - centre) ** 2 - (np.log(beta) - centre) ** 2) / (2 * scale ** 2)
        h_new, comp_new = self._stats_shared(data, proposal, work)              # (C, S, N), (C, D)
        ll_old = self._loglik(data, lam, mu, alpha, comp).sum(axis=1)
        lam_new = self._background_rate(mu, data) + np.einsum("csk,csk->ck", alpha_src, h_new)  # (C, N)
        ll_new = self._loglik(data, lam_new, mu, alpha, comp_new).sum(axis=1)
        # Target density of log beta: likelihood x normal prior (the Jacobian turns the
        # log-normal density of beta into a normal one in log beta).
        log_ratio = (ll_new - ll_old + log_q_ratio
                     - ((np.log(proposal) - lb_mean) ** 2 - (np.log(beta) - lb_mean) ** 2) / (2 * lb_sd ** 2))
        with np.errstate(invalid="ignore"):
            acc = np.log(rng.random(n_chains)) < log_ratio                      # NaN ratio: rejected
        beta[acc] = proposal[acc]
        np.copyto(h, h_new, where=acc[:, None, None])
        comp[acc] = comp_new[acc]
        excite = np.multiply(alpha_src, h, out=alpha_src)
        return acc.astype(float), excite

    def _move_beta_pair(self, data, rng, mu, alpha, alpha_src, lam, beta, h, comp, log_step, prior):
        """Log-scale random-walk Metropolis on ``beta[:, :, j]``, one source at a time.

        The likelihood factorises over targets, so the ``n_dims`` pairs of one source are
        proposed together and accepted or rejected per target. ``beta``, ``h`` and ``comp``
        are updated in place. Returns (C, D, D) acceptance indicators and ``alpha * h``.
        """
        lb_mean, lb_sd = prior[4:]
        n_chains, d = mu.shape
        acc_all = np.zeros((n_chains, d, d))
        term = self._event_term(lam)
        for s, j in enumerate(data.sources):  # sequential Metropolis-within-Gibbs over sources
            proposal = beta[:, :, j] * np.exp(np.exp(log_step[:, :, j]) * rng.standard_normal((n_chains, d)))
            h_new, comp_new = self._stats_pair_column(data, proposal, s)        # (C, N), (C, D)
            lam_new = lam + alpha_src[:, s] * (h_new - h[:, s])
            term_new = self._event_term(lam_new)
            with np.errstate(invalid="ignore"):
                delta = (_segment_sums(term_new - term, data.start)
                         - alpha[:, :, j] * (comp_new - comp[:, :, j]))         # (C, D)
                log_ratio = delta - ((np.log(proposal) - lb_mean) ** 2
                                     - (np.log(beta[:, :, j]) - lb_mean) ** 2) / (2 * lb_sd ** 2)
                acc = np.log(rng.random((n_chains, d))) < log_ratio              # (C, D)
            acc_ev = self._per_event(acc, data)                                  # (C, N)
            beta[:, :, j] = np.where(acc, proposal, beta[:, :, j])
            comp[:, :, j] = np.where(acc, comp_new, comp[:, :, j])
            h[:, s] = np.where(acc_ev, h_new, h[:, s])
            lam = np.where(acc_ev, lam_new, lam)
            term = np.where(acc_ev, term_new, term)
            acc_all[:, :, j] = acc
        return acc_all, np.multiply(alpha_src, h, out=alpha_src)


def _draw_zero_truncated_poisson(rng, rate):
    """Exact draws of N ~ Poisson(rate) conditioned on N >= 1, by inverse CDF (vectorised).

    Parameters
    ----------
    rate : ndarray
        Poisson means, > 0.

    Returns
    -------
    ndarray of int, same shape
    """
    u = rng.random(rate.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        term = np.where(rate > 0, rate / np.expm1(rate), 1.0)                   # P(N = 1 | N >= 1)
    n = np.ones(rate.shape, dtype=np.int64)
    idx = np.flatnonzero(u >= term)
    cdf, term, r, u_left, k = term.ravel()[idx], term.ravel()[idx], rate.ravel()[idx], u.ravel()[idx], 1
    while idx.size:
        k += 1
        term = term * r / k
        cdf = cdf + term
        n.ravel()[idx] = k
        more = (u_left >= cdf) & (term > 0)
        idx, cdf, term, r, u_left = idx[more], cdf[more], term[more], r[more], u_left[more]
    return n


# ---------------------------------------------------------------------- posterior and diagnostics
def _split_chains(draws):
    """(C, S, ...) -> (2C, S // 2, ...): first and last halves of every chain."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half:]], axis=0)


def _z_scale(draws):
    """Rank-normalise over all chains and draws (average ranks, Blom offset 3/8)."""
    flat = draws.reshape(draws.shape[0] * draws.shape[1], -1)
    ranks = stats.rankdata(flat, method="average", axis=0)
    z = stats.norm.ppf((ranks - 0.375) / (flat.shape[0] + 0.25))
    return z.reshape(draws.shape)


def _classic_rhat(draws):
    """Gelman-Rubin R-hat of (M, S, ...) draws."""
    n = draws.shape[1]
    within = draws.var(axis=1, ddof=1).mean(axis=0)
    between = n * draws.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def split_rhat(draws):
    """Rank-normalised split R-hat (Vehtari et al. 2021): max of the bulk and folded versions.

    Parameters
    ----------
    draws : array_like, shape (n_chains, n_samples, ...)

    Returns
    -------
    ndarray, shape (...)
    """
    draws = _split_chains(np.asarray(draws, dtype=float))
    folded = np.abs(draws - np.median(draws.reshape(-1, *draws.shape[2:]), axis=0))
    return np.maximum(_classic_rhat(_z_scale(draws)), _classic_rhat(_z_scale(folded)))


def ess_bulk(draws):
    """Bulk effective sample size (Vehtari et al. 2021): ESS of rank-normalised split chains.

    Autocorrelations are averaged over chains (Stan's estimator) and truncated by Geyer's
    initial monotone sequence.

    Parameters
    ----------
    draws : array_like, shape (n_chains, n_samples, ...)

    Returns
    -------
    ndarray, shape (...)
    """
    draws = np.asarray(draws, dtype=float)
    trailing = draws.shape[2:]
    flat = draws.reshape(draws.shape[0], draws.shape[1], -1)                    # (C, S, P)
    constant = np.ptp(flat, axis=(0, 1)) < np.finfo(float).resolution
    z = _z_scale(_split_chains(flat))                                           # (M, n, P)
    m, n = z.shape[:2]
    centred = z - z.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(centred, n=2 * n, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), n=2 * n, axis=1)[:, :n] / n       # (M, n, P)
    mean_var = acov[:, 0].mean(axis=0) * n / (n - 1.0)                          # (P,)
    var_plus = mean_var * (n - 1.0) / n + (z.mean(axis=1).var(axis=0, ddof=1) if m > 1 else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant draws: 0 / 0, set below
        rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus                  # (n, P)
    rho[0] = 1.0                                   # by definition, as in the reference estimator
    # The reference loop (Geyer's initial positive sequence) visits pairs m = 1..n_pairs of
    # (rho_2m, rho_2m+1) and stops at the first pair whose sum is <= 0.
    n_pairs = max((n - 1) // 2 - 1, 0)
    gamma = rho[: 2 * n_pairs + 2].reshape(n_pairs + 1, 2, -1).sum(axis=1)     # (n_pairs+1, P)
    sentinel = np.ones((1, gamma.shape[1]), dtype=bool)
    first = np.argmax(np.concatenate([gamma[1:] <= 0, sentinel]), axis=0) + 1  # n_pairs + 1: none
    found = first <= n_pairs
    stop = np.minimum(first, n_pairs)
    stop = np.where(gamma[0] > 0, stop, 0)
    ran_out = ~found & (gamma[0] > 0)
    gamma_mono = np.minimum.accumulate(gamma, axis=0)                           # initial monotone sequence
    kept = np.arange(n_pairs + 1)[:, None] < stop[None, :]
    last_even = np.take_along_axis(rho, 2 * stop[None, :], axis=0)[0]
    # A pair that ran out of lags was kept whole; otherwise only a positive even term counts.
    extra = np.where(ran_out & (n_pairs > 0), last_even, np.maximum(last_even, 0.0))
    tau = -1.0 + 2.0 * np.where(kept, gamma_mono, 0.0).sum(axis=0) + extra
    total = m * n
    tau = np.maximum(tau, 1.0 / np.log10(total))
    ess = np.where(constant, float(flat.shape[0] * flat.shape[1]), total / tau)
    return ess.reshape(trailing) if trailing else ess.reshape(())[()]


@dataclass
class HawkesPosterior:
    """Posterior draws of ``HawkesProcessModel.fit``.

    Attributes
    ----------
    mu : ndarray, shape (n_chains, n_samples, n_dims)
    alpha : ndarray, shape (n_chains, n_samples, n_dims, n_dims)
    beta : ndarray, shape (n_chains, n_samples) or (n_chains, n_samples, n_dims, n_dims)
    acceptance : dict
        Move name -> (n_chains,) acceptance rate over the kept draws: ``parents``, ``mu``,
        ``alpha`` (exact Gibbs moves: 1), ``ridge``, ``transfer`` and ``beta`` (random-walk
        Metropolis, averaged over the moves of the chain; NaN for a move with nothing to move).

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


def summarise_draws(draws):
    """Posterior summary of one parameter's draws.

    Parameters
    ----------
    draws : ndarray, shape (n_chains, n_samples, ...)

    Returns
    -------
    dict
        ``mean``, ``sd``, ``q05``, ``q95`` over all chains' draws; ``rhat`` (split R-hat) and
        ``ess_bulk``; each of shape ``draws.shape[2:]``.
    """
    draws = np.asarray(draws, dtype=float)
    pooled = draws.reshape((-1,) + draws.shape[2:])  # (C * S, ...)
    q05, q95 = np.quantile(pooled, [0.05, 0.95], axis=0)
    return {"mean": pooled.mean(axis=0), "sd": pooled.std(axis=0, ddof=1), "q05": q05, "q95": q95,
            "rhat": split_rhat(draws), "ess_bulk": ess_bulk(draws)}


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
        raise ValueError(f"background covers {model.background.shape[1]} bins of dt={dt}, "
                         f"shorter than end_time={end_time}")
    rng = _resolve_seed(seed)
    if time == "discrete":
        base = np.ones((d, n_bins)) if model.background is None else model.background
        return _simulate_discrete(mu, alpha, beta, end_time, dt, rng, base)
    if model.background is None:  # one bin: the whole window
        base, n_bins, lo, width = np.ones((d, 1)), 1, np.zeros(1), np.full(1, float(end_time))
    else:
        base = model.background
        lo = np.arange(n_bins) * dt                                             # (n_bins,) bin starts
        width = np.minimum(lo + dt, end_time) - lo
    # Immigrants bin by bin: Poisson(mu_i b_im x the bin's length in the window), uniform in it.
    n_imm = rng.poisson(mu[:, None] * base[:, :n_bins] * width)                 # (D, n_bins)
    cell = np.repeat(np.arange(d * n_bins), n_imm.ravel())
    gen_d, gen_bin = np.divmod(cell, n_bins)
    gen_t = lo[gen_bin] + rng.random(cell.size) * width[gen_bin]
    all_t, all_d, total = [gen_t], [gen_d], gen_t.size
    while gen_t.size:
        n_child = rng.poisson(alpha[:, gen_d].T)                                # (n_gen, D) children per type
        parent = np.repeat(np.arange(gen_t.size), n_child.sum(axis=1))
        child_d = np.tile(np.arange(d), gen_t.size)[np.repeat(np.arange(n_child.size), n_child.ravel())]
        child_t = gen_t[parent] + rng.exponential(1.0 / beta[child_d, gen_d[parent]])
        keep = child_t < end_time
        gen_t, gen_d = child_t[keep], child_d[keep]
        total += gen_t.size
        if total > MAX_SIMULATED_EVENTS:
            raise ValueError(f"alpha: the process exploded (> {MAX_SIMULATED_EVENTS} events); "
                             "use a spectral radius < 1 or a shorter end_time")
        all_t.append(gen_t)
        all_d.append(gen_d)
    t, dims = np.concatenate(all_t), np.concatenate(all_d)
    return [np.sort(t[dims == j]) for j in range(d)]


def _simulate_discrete(mu, alpha, beta, end_time, dt, rng, base):
    """Bernoulli grid process: P(spike of i at step k) = 1 - exp(-lambda_i[k] dt), background
    ``mu_i base[i, k]``."""
    d = mu.size
    n_steps = int(round(end_time / dt))
    decay = np.exp(-beta * dt)                                                  # (D, D)
    s = np.zeros((d, d))                                                        # S_ij at the current step
    spikes = np.zeros((n_steps, d), dtype=bool)
    uniform = rng.random((n_steps, d))
    for k in range(n_steps):
        lam = mu * base[:, k] + (alpha * s).sum(axis=1)
        spikes[k] = uniform[k] < -np.expm1(-lam * dt)
        s = decay * s + (1.0 - decay) * spikes[k][None, :] / dt
    return [np.flatnonzero(spikes[:, j]) * dt for j in range(d)]
