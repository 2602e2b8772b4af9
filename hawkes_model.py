"""Multivariate Hawkes processes with exponential kernels: the public model and its exact
likelihoods.

The two likelihoods and the goodness of fit stand on the same kernel statistics, computed on
the events as ``hawkes_inputs`` indexes them; the sampler behind ``fit`` lives in
``hawkes_sampler.py``, the simulator in ``hawkes_simulation.py`` and the diagnostics in
``mcmc_diagnostics.py``.

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

``refractory`` (discrete time) makes neuron ``i`` dead for ``refractory[i]`` steps after each of
its spikes: its intensity is 0 there, and those steps leave the sum over ``k`` above (the
kernel sums at them follow from the sums at the spike, ``_dead_kernel``).

``alpha_mask`` fixes chosen ``alpha[i, j]`` at 0 (a prior point mass: a synapse known not to
exist, or a neuron driven by the stimulus alone, whose row is all 0); the sampler never moves
them.

Both are computed from one quantity, ``R_ij(t) = sum_{t_l^j < t} exp(-beta (t - t_l^j))`` at the
events of ``i`` (in discrete time ``S_ij[k] = (e^{beta dt} - 1) R_ij(k dt) / dt``), obtained for
all events at once by a parallel prefix scan of the recursion ``A_l = 1 + e^{-beta gap_l}
A_{l-1}`` over each source's own events, and the compensators in closed form, so every
likelihood costs O(number of events x n_dims) with no Python loop over events.
"""

import numpy as np
from scipy import stats

# HawkesPrior, HawkesPosterior and simulate_hawkes are this module's public API too, so that one
# import (``from hawkes_model import ...``) reaches the whole model.
from hawkes_bayes import HawkesPosterior, HawkesPrior, PriorRates
from hawkes_inputs import (
    background_integral,
    check_alpha_mask,
    check_background,
    check_params,
    check_refractory,
    check_settings,
    index_events,
    resolve_seed,
    segment_sums,
)
from hawkes_sampler import check_run_lengths, sample
from hawkes_simulation import simulate_hawkes  # noqa: F401

# The prefix scan stops once the terms it would still add are below this (relative to A >= 1).
SCAN_TOLERANCE = 1e-17


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
        the start of every realisation, which it must cover (an event less than ``1e-6 dt``
        before a bin's start counts in that bin, so that a spike time ``k dt`` computed in
        floating point lands in bin ``k``): the background intensity of
        neuron ``i`` is ``mu_i b_i(t)``. With rows of mean 1 ``mu_i`` keeps its meaning, the
        mean background rate. None: ``b = 1`` (a constant background).
    alpha_mask : array_like of bool, shape (n_dims, n_dims), optional
        False where ``alpha[i, j]`` is fixed at 0 (known absent; a row of False: neuron ``i``
        is driven by its background alone). Its draws are exactly 0 and no move proposes to
        change them. None: every alpha is free.
    refractory : array_like of int, shape (n_dims,), optional
        Discrete time only: after each of its spikes neuron ``i`` is dead for ``refractory[i]``
        steps, its intensity 0 there (an absolute refractory period, as a LIF neuron's, which
        discards its input while refractory). Those steps leave the likelihood: a source spike
        that reaches a dead target is no evidence against the synapse. A spike inside a dead
        period is an error. None (or 0): every step counts, the plain Hawkes model.

    Examples
    --------
    >>> model = HawkesProcessModel(2, time="continuous")
    >>> events = simulate_hawkes([0.5, 0.5], [[0.0, 0.3], [0.3, 0.0]], 2.0, 200.0, seed=1)
    >>> post = model.fit(events, 200.0, n_samples=200, n_warmup=200, progress=False)
    >>> post.alpha.shape
    (4, 200, 2, 2)
    """

    def __init__(
        self,
        n_dims,
        time="continuous",
        dt=1.0,
        beta="shared",
        prior=None,
        background=None,
        alpha_mask=None,
        refractory=None,
    ):
        check_settings(n_dims, time, dt)
        if beta not in ("shared", "pair"):
            raise ValueError(f"beta must be 'shared' or 'pair', got {beta!r}")
        if prior is not None and not isinstance(prior, HawkesPrior):
            raise ValueError(f"prior must be a HawkesPrior or None, got {type(prior).__name__}")
        self.n_dims = int(n_dims)
        self.time = time
        self.dt = float(dt)
        self.beta_kind = beta
        self.prior = prior if prior is not None else HawkesPrior()
        if np.ndim(self.prior.alpha_mean) and np.shape(self.prior.alpha_mean) != (self.n_dims, self.n_dims):
            raise ValueError(f"prior.alpha_mean per pair must have shape ({self.n_dims}, {self.n_dims})")
        self.background = check_background(background, self.n_dims)
        self.alpha_mask = check_alpha_mask(alpha_mask, self.n_dims)
        self.refractory = check_refractory(refractory, self.n_dims, time)
        self._cache = None  # (content key, EventData) of the last events indexed

    # ------------------------------------------------------------------ data and parameters
    def _prepare(self, events, end_time):
        """Validate ``events`` and ``end_time`` and index them for the likelihood (``hawkes_inputs.EventData``)."""
        self._cache = index_events(
            events, end_time, self.n_dims, self.time, self.dt, self.background, self._cache, self.refractory
        )
        return self._cache[1]

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
        data : hawkes_inputs.EventData
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
        comp = segment_sums(mass, data.start)  # (C, D)
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
        if data.dead_hits is not None:  # each target's own dead steps leave its compensator
            comp -= segment_sums(self._dead_kernel(data, b_event, h, data.dead_hits[s]), data.start)
        return h, comp

    def _dead_kernel(self, data, b, h, hits):
        """``dt`` x the kernel sums over each event's dead steps, from the kernel sums at it.

        After a spike of target ``i`` at step ``k``, for its dead steps ``k + m``,
        ``S_ij[k + m] = e^{-beta dt m} S_ij[k] + f sum_{q < m} y_j[k + q] e^{-beta dt (m - q - 1)}``
        (``f`` the kernel factor): the first part from ``h``, the sum at the event, the second
        from the spikes of ``j`` that ``data.dead_hits`` counts.

        Parameters
        ----------
        b : ndarray, broadcastable to ``h``
            Decay of each (source, event) pair, 1/s.
        h : ndarray, shape (..., N)
            Kernel sums at the events, 1/s.
        hits : ndarray, shape (..., N, R)
            ``data.dead_hits`` of the sources of ``h``.

        Returns
        -------
        ndarray, shape of ``h``: kernel mass inside each event's dead steps (per unit alpha).
        """
        r = np.exp(-b * self.dt)
        n_dead = hits.shape[-1]
        live = np.arange(1, n_dead + 1)[:, None] <= data.dead_steps  # (R, N): step k + m in the window
        after = sum(np.where(live[m - 1], r**m, 0.0) for m in range(1, n_dead + 1))
        spikes = (hits * np.asarray(r)[..., None] ** np.arange(n_dead)).sum(axis=-1)
        return self.dt * (h * after + self._kernel_factor(b) * spikes)

    def _dead_mass(self, data, beta, h):
        """Shared beta: the kernel mass of each source inside each target's dead steps.

        Parameters
        ----------
        beta : ndarray, shape (C,)
        h : ndarray, shape (C, S, N)

        Returns
        -------
        ndarray, shape (C, D, S), to subtract from the sources' masses; None without dead steps.
        """
        if data.dead_hits is None:
            return None
        # As _dead_kernel, summed over each target's events: the spikes' part from the
        # totals of the hits, the part from h through a table of sum_{m <= M} e^{-beta dt m}.
        r = np.exp(-beta * self.dt)[:, None]  # (C, 1)
        n_dead = data.dead_hit_totals.shape[2]
        after = np.concatenate([np.zeros_like(r), np.cumsum(r ** np.arange(1, n_dead + 1), axis=1)], axis=1)
        from_h = segment_sums(h * np.take(after, data.dead_steps, axis=1)[:, None, :], data.start)  # (C, S, D)
        from_spikes = np.einsum("isd,cd->cis", data.dead_hit_totals, r ** np.arange(n_dead))  # (C, D, S)
        return self.dt * (from_h.transpose(0, 2, 1) + self._kernel_factor(beta)[:, None, None] * from_spikes)

    def _all_stats(self, data, beta):
        """``h`` (C, S, N) and ``comp`` ((C, D) shared, (C, D, D) pair) for beta (C,) or (C, D, D).

        A shared beta's ``comp`` is each source's mass over the whole windows (``_dead_mass``
        holds what each target's dead steps take from it); a pair beta's leaves them out.
        """
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
        ev = segment_sums(self._event_term(lam), data.start)  # (C, D)
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
        mu, alpha, beta = check_params(mu, alpha, beta, self.n_dims, self.beta_kind)
        h, comp = self._all_stats(data, beta[None])
        dead = self._dead_mass(data, beta[None], h) if self.beta_kind == "shared" else None
        if dead is not None:  # per target: the sources' masses outside its dead steps
            comp = np.repeat(comp[:, None, :], self.n_dims, axis=1)
            comp[:, :, data.sources] -= dead
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
        mu, alpha, beta = check_params(mu, alpha, beta, self.n_dims, self.beta_kind)
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
            base = mu[data.dim] * background_integral(self.background, self.dt, until, data.dim)
        cum = base + (alpha_ev * (data.n_before - r)).sum(axis=0)  # (N,) from each realisation's start
        total = self._realisation_compensators(data, mu, alpha, beta)  # (D, n_real)
        if data.dead_hits is not None:  # the dead steps after each spike add no mass
            dead_kernel = self._dead_kernel(data, beta_ev, h[0], data.dead_hits)  # (S, N)
            dead = mu[data.dim] * data.dead_base + (alpha_ev * dead_kernel).sum(axis=0)
            run = data.dim * data.window.size + data.trial  # (N,) (neuron, realisation) cell
            before = np.cumsum(dead) - dead  # dead mass of the earlier events, then of this cell's
            cum -= before - before[np.searchsorted(run, run)]
            total -= np.bincount(run, dead, minlength=total.size).reshape(total.shape)
        offset = np.cumsum(total, axis=1) - total  # earlier realisations' mass
        rescaled = offset[data.dim, data.trial] + cum  # (N,) one clock per neuron
        first = np.ones(data.dim.size, dtype=bool)
        first[1:] = data.dim[1:] != data.dim[:-1]
        tau = np.where(first, rescaled, np.diff(rescaled, prepend=0.0))
        if self.time == "discrete":
            q = lam * self.dt
            u = resolve_seed(seed).random(q.size)
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

    def fit(
        self,
        events,
        end_time,
        n_samples=1000,
        n_warmup=1000,
        n_chains=4,
        seed=0,
        progress=True,
        max_samples=None,
        conjugate_columns=0,
    ):
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
        conjugate_columns : int
            After the warm-up, every sweep also proposes this many of each target's parameter
            columns, chosen at random, from the prior times their compensator factor (move 5 of
            ``hawkes_moves``; it mixes weak alphas); 0: off.

        Returns
        -------
        HawkesPosterior
            With ``n_samples`` draws per chain, or more (at most ``max_samples``) where the
            chains went on.
        """
        check_run_lengths(n_samples, n_warmup, n_chains, max_samples, conjugate_columns)
        data = self._prepare(events, end_time)
        draws = sample(
            self,
            data,
            self._resolve_prior(data),
            int(n_samples),
            int(n_warmup),
            int(n_chains),
            resolve_seed(seed),
            progress,
            None if max_samples is None else int(max_samples),
            int(conjugate_columns),
        )
        return HawkesPosterior(**draws)
