"""The hand-written Metropolis-Hastings sampler behind ``HawkesProcessModel.fit``: the run.

``sample`` builds each target's posterior given beta (``hawkes_targets``), starts the chains and
adapts the proposals during the warm-up (``hawkes_warmup``), then runs sweeps of the moves
(``hawkes_moves``) and records the kept draws. Its own module because only the run ties those
together and decides how long the chains go.

Run length: ``n_samples`` draws are kept; with ``max_samples`` larger, while the draws so far miss
the repository's convergence limits (``mcmc_diagnostics.is_converged``) the same chains go on for
another ``n_samples`` sweeps, up to ``max_samples`` draws. The kernel is fixed after warm-up, so
the longer chains are longer runs of the same Markov chains and every draw kept before is kept;
only where the run stops depends on the diagnostics.

The chain state is one ``hawkes_moves.ChainState``; the numbers of the prior come as one
``PriorRates``.
"""

import numbers

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from hawkes_moves import split_identical_sources, sweep
from hawkes_targets import build_targets, identical_groups
from hawkes_warmup import WarmUp, initial_state, start_at_the_mode
from mcmc_diagnostics import MIN_SAMPLES, is_converged, worst_diagnostics


def check_run_lengths(n_samples, n_warmup, n_chains, max_samples, conjugate_columns):
    """Raise ``ValueError`` unless every count is an integer at or above its least value
    (``max_samples``, None or at least ``n_samples``)."""
    counts = (
        ("n_samples", n_samples, MIN_SAMPLES),
        ("n_warmup", n_warmup, 0),
        ("n_chains", n_chains, 1),
        ("conjugate_columns", conjugate_columns, 0),
    )
    if max_samples is not None:
        counts += (("max_samples", max_samples, n_samples),)
    for name, value, low in counts:
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def sample(
    model, data, prior, n_samples, n_warmup, n_chains, rng, progress=True, max_samples=None, conjugate_columns=0
):
    """Run the chains; returns draws of theta and beta and the acceptance per move.

    Parameters
    ----------
    model : HawkesProcessModel
    data : indexed events of the model (``model._prepare``)
    prior : PriorRates
    n_samples, n_warmup, n_chains : int
    rng : numpy.random.Generator
    progress : bool
    max_samples : int or None
        Go on by ``n_samples`` draws at a time, up to this many (at least ``n_samples``), while
        the draws miss the convergence limits; None: keep ``n_samples``.
    conjugate_columns : int
        Parameter columns per sweep proposed by ``hawkes_moves.conjugate_move`` after the
        warm-up (the warm-up adapts without it); 0: the move is off.

    Returns
    -------
    dict
        ``mu`` (C, S, D), ``alpha`` (C, S, D, D), ``beta`` (C, S) or (C, S, D, D) draws (S:
        ``n_samples`` times the blocks run) and ``acceptance``: move -> (C,) rate over the
        kept sweeps (NaN for a move with nothing to move); ``conjugate`` only when it is on.
    """
    max_samples = n_samples if max_samples is None else max_samples  # >= n_samples: checked by fit
    # Single-threaded BLAS: threaded reductions would change the rounding, so the same seed
    # would not give the same draws on every machine load.
    with threadpool_limits(limits=1, user_api="blas"):
        return _sample(model, data, prior, n_samples, n_warmup, n_chains, rng, progress, max_samples, conjugate_columns)


class Recorder:
    """Kept draws of (mu, alpha, beta) and the acceptance rate of each move."""

    def __init__(self, model, data, prior, targets, max_samples, state, conjugate_columns):
        n_chains, n_dims = state.theta.shape[:2]
        self.sources, self.prior, self.targets = data.sources, prior, targets
        self.silent_sources = np.setdiff1d(np.arange(n_dims), data.sources)
        self.groups = identical_groups(model, data)
        self.free_alpha = np.ones((n_dims, n_dims), dtype=bool) if model.alpha_mask is None else model.alpha_mask
        self.beta_moves = data.sources if model.beta_kind == "pair" else None
        self.mu = np.empty((n_chains, max_samples, n_dims))
        self.alpha = np.zeros((n_chains, max_samples, n_dims, n_dims))
        self.beta = np.empty((n_chains, max_samples) + state.beta.shape[1:])
        moves = ("hmc", "transfer", "beta") + (("conjugate",) if conjugate_columns else ())
        self.accepted = {move: [] for move in moves}
        self.n_kept = 0

    def record(self, k, state, moves, tuning, rng, silent_alpha_prior=None):
        """Store draw ``k``. Random numbers: the prior draws of silent sources, then the splits.

        ``silent_alpha_prior``: (shape, rate) of every alpha's Gamma prior, each broadcastable
        to (C, D, D), for the draws of silent sources; None: the fit's ``PriorRates``.
        """
        n_chains, n_dims = state.theta.shape[:2]
        self.mu[:, k] = state.theta[..., 0]
        alpha = self.alpha[:, k]
        alpha[:, :, self.sources] = state.theta[..., 1:]
        if self.silent_sources.size:  # no likelihood: exact draws from the prior
            shape, rate = silent_alpha_prior or (self.prior.alpha_shape, self.prior.alpha_rate)
            size = (n_chains, n_dims, n_dims)
            silent = (slice(None), slice(None), self.silent_sources)
            alpha[silent] = (
                rng.gamma(np.broadcast_to(shape, size)[silent], 1.0 / np.broadcast_to(rate, size)[silent])
                * self.free_alpha[:, self.silent_sources]
            )
        split_identical_sources(alpha, self.groups, self.free_alpha, self.prior.alpha_shape, rng)
        self.beta[:, k] = state.beta
        hmc_targets = self.targets.moving.any(axis=1)
        if hmc_targets.any():
            self.accepted["hmc"].append(moves.hmc[:, hmc_targets].mean(axis=1))
        if moves.transfer is not None and (tuning.pairs[:, :, 0] >= 0).any():
            self.accepted["transfer"].append(moves.transfer[:, tuning.pairs[:, :, 0] >= 0].mean(axis=1))
        beta = moves.beta if self.beta_moves is None else moves.beta[:, :, self.beta_moves]
        if beta.size:
            self.accepted["beta"].append(beta.reshape(n_chains, -1).mean(axis=1))
        if moves.conjugate is not None and moves.conjugate[1].any():
            accepted, proposed = moves.conjugate
            self.accepted["conjugate"].append(accepted[:, proposed].mean(axis=1))
        self.n_kept = k + 1

    def draws(self):
        """The draws kept so far: ``mu``, ``alpha``, ``beta``, each (C, n_kept, ...)."""
        return {name: getattr(self, name)[:, : self.n_kept] for name in ("mu", "alpha", "beta")}

    def converged(self):
        """Whether the draws kept so far meet the convergence limits."""
        return is_converged(*worst_diagnostics(*self.draws().values()))

    def result(self):
        n_chains = self.mu.shape[0]
        acceptance = {
            move: np.mean(rates, axis=0) if rates else np.full(n_chains, np.nan)
            for move, rates in self.accepted.items()
        }
        # Copies: views would keep the buffers of max_samples draws alive.
        return {**{name: np.ascontiguousarray(x) for name, x in self.draws().items()}, "acceptance": acceptance}


class Chains:
    """One fit's chains from their start to the last kept draw: targets, state, adaptation, draws.

    ``advance`` runs one sweep: the warm-up's sweeps adapt, later ones are recorded. The pooled
    sampler (``hawkes_partial_pooling``) advances several fits in turn, changing their priors between
    sweeps; ``_sample`` advances one.
    """

    def __init__(self, model, data, prior, n_warmup, n_chains, rng, max_samples, conjugate_columns):
        self.model, self.data, self.prior = model, data, prior
        self.n_warmup, self.conjugate_columns = n_warmup, conjugate_columns
        self.targets = build_targets(model, data, prior)
        self.silent_targets = np.flatnonzero(data.n_events == 0)
        self.state = initial_state(model, data, self.targets, prior, n_chains, rng)
        self.tuning = start_at_the_mode(self.state, self.targets, rng)
        self.warmup = WarmUp(n_warmup, self.state, self.targets, self.tuning)
        self.recorder = Recorder(model, data, prior, self.targets, max_samples, self.state, conjugate_columns)
        self.n_sweeps = 0

    def advance(self, rng, silent_alpha_prior=None):
        """One sweep, adapting (warm-up) or recording (after it); ``silent_alpha_prior`` as for
        ``Recorder.record``."""
        it, warming = self.n_sweeps, self.n_sweeps < self.n_warmup
        columns = 0 if warming else self.conjugate_columns
        moves = sweep(
            self.state, self.model, self.data, self.targets, self.prior, self.tuning, self.silent_targets, rng, columns
        )
        if warming:
            self.warmup.update(it, self.state, moves)
        else:
            self.recorder.record(it - self.n_warmup, self.state, moves, self.tuning, rng, silent_alpha_prior)
        self.n_sweeps += 1


def _sample(model, data, prior, n_samples, n_warmup, n_chains, rng, progress, max_samples, conjugate_columns):
    chains = Chains(model, data, prior, n_warmup, n_chains, rng, max_samples, conjugate_columns)
    disable = None if progress else True
    for _ in tqdm(range(n_warmup + n_samples), disable=disable, desc="Hawkes MCMC"):
        chains.advance(rng)
    recorder = chains.recorder
    while recorder.n_kept < max_samples and not recorder.converged():
        block = range(recorder.n_kept, min(recorder.n_kept + n_samples, max_samples))
        for _ in tqdm(block, disable=disable, desc="Hawkes MCMC, longer chains"):
            chains.advance(rng)
    return recorder.result()
