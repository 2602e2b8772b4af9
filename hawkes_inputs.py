"""The inputs of a Hawkes model, checked: its settings, a parameter point, a seed, and the
events, indexed into the flat arrays the likelihood runs on (``EventData``).

Its own module because the model and the simulator check the same settings and parameters,
and the indexing of events is a task of its own: validation, content key, and for every event
its neuron, realisation, gap, remaining window, last event of each source and the dead steps
after it, so that the likelihood in ``hawkes_model.py`` needs no Python loop over events.
"""

import hashlib
import numbers
from dataclasses import dataclass

import numpy as np

# Relative tolerance for "this time lies on the dt grid".
GRID_TOLERANCE = 1e-6


def check_positive_number(value, name):
    if not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")


def check_settings(n_dims, time, dt):
    """Validate the settings a model and a simulation share: ``n_dims``, ``time`` and ``dt``."""
    if not isinstance(n_dims, numbers.Integral) or isinstance(n_dims, bool) or n_dims < 1:
        raise ValueError(f"n_dims must be a positive integer, got {n_dims!r}")
    if time not in ("continuous", "discrete"):
        raise ValueError(f"time must be 'continuous' or 'discrete', got {time!r}")
    check_positive_number(dt, "dt")


def check_background(background, n_dims):
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


def check_alpha_mask(alpha_mask, n_dims):
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


def check_refractory(refractory, n_dims, time):
    """Validate dead steps after each spike, (n_dims,) integers >= 0, discrete time only; None stays None."""
    if refractory is None:
        return None
    if time != "discrete":
        raise ValueError("refractory needs time='discrete': the dead steps are steps of the dt grid")
    steps = np.asarray(refractory)
    if steps.shape != (n_dims,) or not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0):
        raise ValueError(f"refractory must be {n_dims} integers >= 0 (dead steps per neuron), got {refractory!r}")
    steps = steps.astype(np.int64)
    steps.setflags(write=False)
    return steps


def check_params(mu, alpha, beta, n_dims, beta_kind):
    """Validate one parameter point; return float arrays mu (D,), alpha (D, D), beta."""
    d = n_dims
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
    if beta_kind == "shared" and beta.ndim != 0:
        raise ValueError(f"beta must be a number for beta='shared', got shape {beta.shape}")
    if beta_kind == "pair":
        if beta.ndim == 0:
            beta = np.full((d, d), float(beta))
        if beta.shape != (d, d):
            raise ValueError(f"beta must have shape ({d}, {d}) for beta='pair', got {beta.shape}")
    if not np.all(np.isfinite(beta)) or np.any(beta <= 0):
        raise ValueError("beta must be finite and > 0")
    return mu, alpha, beta


def resolve_seed(seed):
    """A Generator from an int, a SeedSequence or a Generator (returned as is)."""
    if isinstance(seed, (np.random.Generator, np.random.SeedSequence)) or isinstance(seed, numbers.Integral):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be an int, a numpy SeedSequence or a numpy Generator, got {seed!r}")


def background_integral(background, dt, t, rows=None):
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
class EventData:
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
    # Dead steps (discrete time with a refractory period; see ``HawkesProcessModel``): after
    # event k its neuron cannot fire for dead_steps[k] steps inside the window.
    dead_steps: np.ndarray  # (N,) int, 0 without a refractory period
    dead_base: np.ndarray  # (N,) integral of the relative background over those steps, s
    # (S, N, R) counts, R the longest refractory period: dead_hits[s, k, d] spikes of source s at
    # step k + q for the dead steps k + m, m > q, with m - q - 1 = d; None without dead steps
    dead_hits: np.ndarray | None
    dead_hit_totals: np.ndarray | None  # (D, S, R) their sums over each target's events


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


def index_events(events, end_time, n_dims, time, dt, background, cache=None, refractory=None):
    """Validate ``events`` and ``end_time`` and index them for the likelihood (``EventData``).

    Parameters
    ----------
    events, end_time
        As in ``HawkesProcessModel.log_likelihood``.
    n_dims, time, dt, background
        The model's settings, ``background`` as checked by ``check_background``.
    cache : tuple or None
        ``(key, data)`` of an earlier call, returned as it is when the events, windows and
        settings are the same, without validating and indexing them again.
    refractory : ndarray of int, shape (n_dims,), optional
        Dead steps after each spike, as checked by ``check_refractory``; a neuron that fires
        inside its own is an error.

    Returns
    -------
    key : bytes
        Content key of the events, windows and settings.
    data : EventData
    """
    realisations = _split_realisations(events)
    n_real = len(realisations)
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
    trains = [np.asarray(realisation[j], dtype=float).ravel() for j in range(n_dims) for realisation in realisations]
    lengths = np.array([t.size for t in trains], dtype=np.int64).reshape(n_dims, n_real)
    times = np.concatenate(trains) if trains else np.zeros(0)
    # Content key: the same events, windows and settings give the same indexed data.
    key = hashlib.blake2b(
        times.tobytes()
        + lengths.tobytes()
        + end.tobytes()
        + repr((time, dt)).encode()
        + (b"" if background is None else background.tobytes())
        + (b"" if refractory is None else b"dead" + refractory.tobytes())
    ).digest()
    if cache is not None and cache[0] == key:
        return cache
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
    if time == "discrete":
        steps = np.rint(times / dt)
        if np.any(np.abs(times - steps * dt) > GRID_TOLERANCE * dt):
            raise ValueError(f"events: in discrete time every time must lie on the dt={dt} grid")
        n_steps = np.rint(end / dt)
        if np.any(steps >= n_steps[trial]):
            raise ValueError("events: a spike falls in a step at or after round(end_time / dt)")
        if times.size > 1 and np.any((segment[1:] == segment[:-1]) & (steps[1:] == steps[:-1])):
            raise ValueError("events: in discrete time a neuron spikes at most once per step")
        times = steps * dt
        # Mass of the lag-filtered kernel that still falls inside the last bin (n_steps - 1).
        remaining = (n_steps[trial] - 1) * dt - times
        window = n_steps * dt
        lag_shift = dt
    else:
        remaining = end[trial] - times
        window, lag_shift = end, 0.0
    exposure = float(window.sum())
    if background is None:
        base, base_window = None, np.repeat(window[None, :], n_dims, axis=0)
    else:
        if np.any(window > background.shape[1] * dt * (1 + GRID_TOLERANCE)):
            raise ValueError(
                f"background covers {background.shape[1]} bins of dt={dt}, "
                f"shorter than the longest realisation ({window.max()} s)"
            )
        n_bins = background.shape[1]
        # A grid time k dt may compute as just below k (0.3 / 0.1 = 2.999...): within the grid's
        # tolerance it belongs to bin k, as HawkesProcessModel's docstring says.
        step = np.minimum((times / dt + GRID_TOLERANCE).astype(np.int64), n_bins - 1)
        base = background[dim, step]
        base_window = background_integral(background, dt, window)
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
    if time == "discrete":
        gap_steps, lag_steps, remaining_steps = (np.rint(x / dt) for x in (np.where(first, 0.0, gap), lag, remaining))
        # Whole steps: a difference of two grid times can fall an ulp short of its step count
        # (a lag of -1e-17 s), which exp(-beta * lag) turns into an overflow at a large beta.
        gap = np.where(first, np.inf, gap_steps * dt)
        lag, remaining = lag_steps * dt, remaining_steps * dt
        # Decay tables hold only the step counts that occur: a long realisation has few
        # distinct ones among tens of thousands of possible ones.
        values, index = np.unique(np.concatenate([gap_steps, lag_steps.ravel(), remaining_steps]), return_inverse=True)
        gap_index, lag_index, remaining_index = np.split(
            index.astype(np.int32), np.cumsum([gap_steps.size, lag_steps.size])
        )
        steps = (
            np.append(values, 0.0),  # the last slot, "no gap", gets decay 0 in HawkesProcessModel._stats_shared
            np.where(first, values.size, gap_index),
            lag_index.reshape(lag_steps.shape),
            remaining_index,
        )
    dead_steps, dead_base, dead_hits, dead_hit_totals = _dead_steps(
        refractory if time == "discrete" else None,
        times,
        dim,
        trial,
        first,
        gap,
        window / dt,
        dt,
        background,
        start,
        sources,
    )
    data = EventData(
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
        base_mass=base_window.sum(axis=1) - np.bincount(dim, dead_base, minlength=n_dims),
        n_events=lengths.sum(axis=1),
        trial=trial,
        window=window,
        duplicates=duplicates,
        dead_steps=dead_steps,
        dead_base=dead_base,
        dead_hits=dead_hits,
        dead_hit_totals=dead_hit_totals,
    )
    return key, data


def _dead_steps(refractory, times, dim, trial, first, gap, n_steps, dt, background, start, sources):
    """Each event's dead steps, their background integral and the source spikes they see.

    The arrays of ``EventData.dead_steps``, ``dead_base``, ``dead_hits`` and
    ``dead_hit_totals``, for events on the grid (``times`` whole steps of ``dt``) ordered as in
    ``index_events``. Without a refractory period (None, or all 0): zeros and None.
    """
    n_total = times.size
    if refractory is None or not refractory.any():
        return np.zeros(n_total, dtype=np.int64), np.zeros(n_total), None, None
    step = np.rint(times / dt).astype(np.int64)
    dead = refractory[dim]
    close = ~first & (np.rint(np.where(first, 0.0, gap) / dt) <= dead)
    if close.any():
        e = np.flatnonzero(close)[0]
        raise ValueError(
            f"events: neuron {dim[e]} fires {int(np.rint(gap[e] / dt))} step(s) after its previous spike in "
            f"realisation {trial[e]}, inside its refractory period of {dead[e]} step(s)"
        )
    last_step = np.rint(n_steps).astype(np.int64)[trial] - 1
    dead_steps = np.minimum(dead, last_step - step)
    n_dead = int(refractory.max())
    m = np.arange(1, n_dead + 1)
    inside = m[None, :] <= dead_steps[:, None]  # (N, R): step + m is a dead step in the window
    if background is None:
        dead_base = dt * dead_steps
    else:
        bins = np.minimum(step[:, None] + m, background.shape[1] - 1)
        dead_base = dt * np.where(inside, background[dim[:, None], bins], 0.0).sum(axis=1)
    # Source spikes at step + q, q < dead_steps, by (realisation, step) keys; the source's events
    # are sorted by them, so one searchsorted per source and q finds them all.
    span = int(last_step.max(initial=0)) + n_dead + 2
    key = trial * span + step
    # seen[q][k, d]: a spike at step k + q is seen by the dead step m = q + 1 + d of event k
    seen = [q + 1 + np.arange(n_dead)[None, :] <= dead_steps[:, None] for q in range(n_dead)]
    dead_hits = np.zeros((sources.size, n_total, n_dead))
    for s, j in enumerate(sources):  # per source and lag q: one vectorised lookup over all events
        source_keys = key[start[j] : start[j + 1]]
        for q in range(n_dead):
            query = key + q
            pos = np.minimum(np.searchsorted(source_keys, query), source_keys.size - 1)
            dead_hits[s] += (source_keys[pos] == query)[:, None] & seen[q]
    totals = segment_sums(dead_hits.transpose(0, 2, 1), start).transpose(2, 0, 1)  # (D, S, R)
    return dead_steps, dead_base, dead_hits, totals


def segment_sums(x, start):
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
