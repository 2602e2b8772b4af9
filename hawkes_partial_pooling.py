"""Partial pooling of several groups' Hawkes fits: a hierarchical prior on alpha and its sampler.

The groups of one class (its correct and its wrong test trials) come from one network with one
input distribution, yet a group of ten trials alone ranks its synapses far worse than one of
two hundred. Fitted jointly, each group keeps its own mu, beta, alpha and likelihood, but a
pair's alphas share a prior whose mean and spread the groups learn together::

    alpha_g[i, j] | m_ij, k ~ Gamma(k, rate k / m_ij)       (mean m_ij, coefficient of variation k^-1/2)
    m_ij | b ~ InverseGamma(m_shape, scale b)                (mean b / (m_shape - 1))
    b ~ Exponential(mean (m_shape - 1) alpha_mean),   k = 1 + exp(v),  v ~ Normal(0, v_sd)

A small group's alpha is drawn towards the pair's mean over the groups by as much as the groups
agree (k), and every pair's mean towards the typical pair's (b): most pairs of a sparse network
have no synapse, and b learns how small their alphas are. Where the groups differ, k stays near
1 (an exponential about m_ij); it never goes below, as a Gamma shape below 1 puts a pole at 0
that traps the sampler (``HawkesPrior.alpha_shape``). mu and beta keep their unpooled priors.

The sampler is Gibbs in blocks; step 1, steps 2-4 together, step 5 and step 6 each leave the
joint posterior invariant:

1. each group's sweep (``hawkes_moves``) given (m, k), the priors set per chain;
2. each group's transfer moves and resplits again, ``TRANSFER_ROUNDS`` times, with every m
   integrated out (``collapsed_transfers``): along the ridge of two sources that can stand in
   for each other, where the groups disagree which, and across it from one source to the other
   (``hawkes_pool_moves.resplit_move``);
3. (v, log b) given the alphas, with every m integrated out (per pair a Gamma-inverse-Gamma
   integral in closed form, ``log_density_hyper``): random-walk Metropolis, one coordinate at a
   time, steps adapted during the warm-up. Collapsing m keeps these global scales from crawling,
   as they would given 2 x D^2 pair means;
4. m given (k, b) and the alphas: conjugate, ``InverseGamma(m_shape + n_ij k, b + k S_ij)``,
   ``S_ij`` the sum of the alphas of the ``n_ij`` groups in which j fires. A silent source's
   alpha has no likelihood: it is integrated out of 2-6 and drawn from its prior when recorded.
   Steps 2-4 are partially collapsed Gibbs: valid because m is drawn afresh before it is used;
5. v, then log b, random walks that carry every observed alpha (and, for b, every m) to the same
   quantile of its prior (``carried_k_move``, ``carried_b_move``; non-centred updates): where
   the data say little, the alphas sit where the prior puts them and hold k and b, which step 3
   moves given the alphas, in place;
6. each pair's mean and its observed alphas scaled together (``scale_move``), across the
   funnel that steps 1 and 4 cross only slowly: a weak pair with a small mean.

Identical spike trains are not collapsed into sums here (the sum of Gammas with different rates
is no Gamma); each member's alpha is sampled, the transfer move handling their ridge.
"""

import dataclasses

import numpy as np
from scipy.special import gammaln
from threadpoolctl import threadpool_limits

from hawkes_bayes import HawkesPosterior, PriorRates
from hawkes_inputs import check_positive_number
from hawkes_moves import transfer_move
from hawkes_pool_moves import carried_b_move, carried_k_move, resplit_move, scale_move
from hawkes_sampler import Chains, check_run_lengths
from hawkes_warmup import ADAPT_DECAY, TARGET_ACCEPTANCE_WALK
from mcmc_diagnostics import ess_bulk, is_converged, split_rhat

# Walk steps per hyperparameter and sweep. Each costs sums over the pairs, no likelihood; where k
# sits near its floor of 1, v = log(k - 1) wanders a flat tail of its prior, and a few steps a
# sweep left k the slowest quantity of a fit.
K_STEPS = 50
INITIAL_STEP = 0.3
# Rounds of collapsed transfer moves and resplits per sweep. A transfer random-walks along a ridge
# that the other moves cross slowly, a resplit jumps along it; each costs one likelihood
# evaluation of the targets with pairs, a small part of a sweep's HMC trajectories and beta move:
# many rounds buy mixing along the ridge cheaply.
TRANSFER_ROUNDS = 10
# Steps of each carried move (``carried_k_move``, ``carried_b_move``) per sweep; each costs one
# likelihood evaluation of every group.
CARRIED_STEPS = 3


@dataclasses.dataclass(frozen=True)
class PoolPrior:
    """The hyperpriors of the pooled alpha (module docstring).

    Attributes
    ----------
    alpha_mean : float
        Prior mean of ``m_ij`` averaged over b (the unpooled fit's prior mean of alpha).
    m_shape : float
        Inverse-Gamma shape of ``m_ij`` given b, > 1 so that its mean exists (2: no variance,
        a heavy tail, so a synapse's mean is free to stand far above the typical pair's).
    v_sd : float
        Standard deviation of ``v = log(k - 1)`` (median k 2; 1.5: k - 1 within a factor of
        about 12 either way covers 90%).
    """

    alpha_mean: float = 0.1
    m_shape: float = 2.0
    v_sd: float = 1.5

    def __post_init__(self):
        for name in ("alpha_mean", "m_shape", "v_sd"):
            check_positive_number(getattr(self, name), f"pool_prior.{name}")
        if self.m_shape <= 1:
            raise ValueError(f"pool_prior.m_shape must be > 1 (a finite mean), got {self.m_shape}")

    @property
    def b_mean(self):
        """Prior mean of b (exponential)."""
        return (self.m_shape - 1.0) * self.alpha_mean


@dataclasses.dataclass
class PooledPosterior:
    """Draws of a pooled fit.

    Attributes
    ----------
    groups : list of HawkesPosterior
        One per group, in the order given.
    k : ndarray, shape (n_chains, n_samples)
        Draws of the shared Gamma shape (1: groups as different as an exponential allows;
        large: every group's alpha close to the pair's mean).
    b : ndarray, shape (n_chains, n_samples)
        Draws of the scale of the pair means (a typical pair's mean is about b / (m_shape - 1)).
    acceptance : dict
        ``k`` and ``b`` -> (n_chains,) acceptance rate of their walks over the kept sweeps,
        ``scale`` that of ``scale_move`` (NaN: no pair observed), ``transfer`` and ``resplit``
        those of ``collapsed_transfers`` (NaN: no group has such pairs), ``k_carried`` and
        ``b_carried`` those of ``carried_k_move`` and ``carried_b_move``.
    """

    groups: list
    k: np.ndarray
    b: np.ndarray
    acceptance: dict

    @property
    def hyper_diagnostics(self):
        """Largest split R-hat and smallest bulk ESS of k and log b."""
        draws = (self.k, np.log(self.b))
        return max(float(split_rhat(d)) for d in draws), min(float(ess_bulk(d)) for d in draws)


def observed_mask(chains):
    """Which alphas have a likelihood in each group (j a source there, the pair free), (G, D, D) bool.

    Fixed for a fit: it depends on the data and the alpha mask only.
    """
    n_dims = chains[0].state.theta.shape[1]
    observed = np.zeros((len(chains), n_dims, n_dims), dtype=bool)
    for g, group in enumerate(chains):
        observed[g][:, group.data.sources] = group.targets.free[:, 1:]
    return observed


def observed_alphas(chains, observed):
    """Every group's alphas as full matrices, (G, C, D, D): ``alpha_g[c, i, j]`` where ``observed``
    (``observed_mask``), else 1."""
    n_chains, n_dims = chains[0].state.theta.shape[:2]
    alpha = np.ones((len(chains), n_chains, n_dims, n_dims))
    for g, group in enumerate(chains):
        sources = group.data.sources
        alpha[g][:, :, sources] = np.where(observed[g][:, sources], group.state.theta[..., 1:], 1.0)
    return alpha


def pair_statistics(alpha, observed):
    """What the hyperparameters see of the alphas: per pair, the number of groups that observe it
    ``n`` (D, D), and per chain the sum ``total`` and the sum of logs ``log_sum`` (C, D, D) of
    their alphas."""
    mask = observed[:, None]
    return observed.sum(axis=0), np.where(mask, alpha, 0.0).sum(axis=0), np.where(mask, np.log(alpha), 0.0).sum(axis=0)


def log_density_hyper(v, log_b, stats, prior):
    """Log density of (v, log b) given the alphas, every m integrated out, up to a constant, (C,).

    Per pair, ``int prod_g Gamma(alpha_g; k, k/m) InvGamma(m; a, b) dm = k^(nk) prod_g alpha_g^(k-1)
    Gamma(k)^-n b^a Gamma(a + nk) / (Gamma(a) (b + k S)^(a + nk))``; a pair no group observes
    contributes 1. Then the priors of v (normal) and log b (exponential b, times its Jacobian b).
    """
    n, total, log_sum = stats
    k, b = 1.0 + np.exp(v), np.exp(log_b)
    kk, bb, a = k[:, None, None], b[:, None, None], prior.m_shape
    per_pair = np.where(
        n > 0,
        n * (kk * np.log(kk) - gammaln(kk))
        + (kk - 1.0) * log_sum
        + a * np.log(bb)
        + gammaln(a + n * kk)
        - (a + n * kk) * np.log(bb + kk * total),
        0.0,
    )
    return per_pair.sum(axis=(1, 2)) - 0.5 * (v / prior.v_sd) ** 2 + log_b - b / prior.b_mean


def move_hyper(v, log_b, log_steps, stats, prior, rng):
    """``K_STEPS`` random-walk Metropolis steps on v, then on log b, each (C,).

    Returns the new (v, log_b) and the acceptance rates (2, C). Random numbers per step: normals
    (C,), then uniforms (C,).
    """
    x = [v, log_b]
    accepted = np.zeros((2,) + v.shape)
    current = log_density_hyper(*x, stats, prior)
    for which in (0, 1):
        for _ in range(K_STEPS):
            proposal = list(x)
            proposal[which] = x[which] + np.exp(log_steps[which]) * rng.standard_normal(v.shape)
            new = log_density_hyper(*proposal, stats, prior)
            take = np.log(rng.random(v.shape)) < new - current
            x[which] = np.where(take, proposal[which], x[which])
            current = np.where(take, new, current)
            accepted[which] += take
    return x[0], x[1], accepted / K_STEPS


def draw_means(stats, k, b, prior, rng):
    """m given (k, b) and the alphas: exact conjugate draws, (C, D, D).

    Random numbers: standard gammas (C, D, D).
    """
    n, total, _ = stats
    kk = k[:, None, None]
    return (b[:, None, None] + kk * total) / rng.standard_gamma(prior.m_shape + n * kk)


def collapsed_prior(group, others, k, b, prior):
    """The group's log prior density with every pair mean m integrated out, given the other
    groups' alphas: a function of theta (C, D, P) -> (C, D), constants dropped.

    ``others`` is ``(n, total)``: per pair the number of other groups that observe it (D, D) and
    the sum of their alphas (C, D, D). Integrating m_ij out of ``InvGamma(m; a, b) prod Gamma(alpha;
    k, k/m)`` leaves, as a function of this group's ``alpha``, ``alpha^(k-1) (b + k (S + alpha))^-(a
    + (n + 1) k)``; mu keeps its Gamma prior.
    """
    targets, sources = group.targets, group.data.sources
    n, total = others[0][:, sources], others[1][:, :, sources]
    kk, bb, a = k[:, None, None], b[:, None, None], prior.m_shape
    mu_shape, mu_rate = targets.shape[..., 0], targets.rate[..., 0]

    def density(theta):
        mu, alpha = theta[..., 0], theta[..., 1:]
        with np.errstate(divide="ignore", invalid="ignore"):  # a clipped proposal at 0, rejected
            pooled = (kk - 1.0) * np.log(alpha) - (a + (n + 1) * kk) * np.log(bb + kk * (total + alpha))
            own_mu = (mu_shape - 1.0) * np.log(mu) - mu_rate * mu
        return own_mu + np.where(targets.free[:, 1:], pooled, 0.0).sum(axis=2)

    return density


def collapsed_transfers(chains, observed, k, b, prior, rng):
    """Each group's transfer moves (``hawkes_moves.transfer_move``) with the pair means
    integrated out; the pair means must be drawn afresh (``draw_means``) before they are used.

    Given m, a transfer that moves a group's alpha away from the pair's mean is pulled back by its
    prior, and m follows the alphas only a sweep later: where two sources of one target can stand
    in for each other and the groups disagree which, the sampler crawls along that ridge. With m
    integrated out, a proposal sees the other groups' alphas directly. Valid as a move on the
    marginal of the alphas, (k, b) and the rest, since m is redrawn from its full conditional
    afterwards (partially collapsed Gibbs).

    Returns
    -------
    accepted : ndarray, shape (2, C)
        Each chain's accepted transfers, then resplits (``hawkes_pool_moves.resplit_move``).
    proposed : ndarray of int, shape (2,)
        Each chain's proposals of either kind: the (target, pair) slots of every group with pairs,
        then those whose pair is two alphas.
    """
    alpha = observed_alphas(chains, observed)
    n, total, _ = pair_statistics(alpha, observed)
    accepted, proposed = np.zeros((2, alpha.shape[1])), np.zeros(2, dtype=int)
    for g, group in enumerate(chains):
        if group.tuning.pairs is None:
            continue
        own = np.where(observed[g], alpha[g], 0.0)
        density = collapsed_prior(group, (n - observed[g], total - own), k, b, prior)
        accepted[0] += transfer_move(group.state, group.targets, group.tuning, rng, density).sum(axis=(1, 2))
        accepted[1] += resplit_move(group.state, group.targets, group.tuning, rng, density).sum(axis=(1, 2))
        proposed += [(group.tuning.pairs[..., 0] >= 0).sum(), (group.tuning.pairs >= 1).all(axis=2).sum()]
        alpha[g] = observed_alphas([group], observed[g : g + 1])[0]
        total = total - own + np.where(observed[g], alpha[g], 0.0)
    return accepted, proposed


def set_priors(group, k, m):
    """Every chain's Gamma prior of the group's alphas from (k, m): ``targets.shape``/``rate`` (C, D, P)."""
    targets, rates = group.targets, group.prior
    n_chains, n_dims, n_params = group.state.theta.shape
    shape = np.empty((n_chains, n_dims, n_params))
    rate = np.empty((n_chains, n_dims, n_params))
    shape[..., 0], rate[..., 0] = rates.mu_shape, rates.mu_rate
    shape[..., 1:] = k[:, None, None]
    rate[..., 1:] = k[:, None, None] / m[:, :, group.data.sources]
    targets.shape, targets.rate = shape, rate


def _check_models(models):
    first = models[0]
    if any(np.ndim(model.prior.alpha_mean) for model in models):
        raise ValueError("pooled groups learn their alphas' means; give prior.alpha_mean as one number")
    for model in models[1:]:
        same = (
            model.n_dims == first.n_dims
            and model.time == first.time
            and model.dt == first.dt
            and model.beta_kind == first.beta_kind
            and model.prior.alpha_mean == first.prior.alpha_mean
            and np.array_equal(
                np.ones((first.n_dims,) * 2, bool) if model.alpha_mask is None else model.alpha_mask,
                np.ones((first.n_dims,) * 2, bool) if first.alpha_mask is None else first.alpha_mask,
            )
        )
        if not same:
            raise ValueError(
                "pooled groups need the same neurons, time, dt, beta kind, alpha mask and alpha prior mean"
            )


def fit_pooled(
    models,
    events,
    end_time,
    pool_prior=None,
    n_samples=1000,
    n_warmup=1000,
    n_chains=4,
    seed=0,
    max_samples=None,
    conjugate_columns=0,
):
    """Sample the joint posterior of several groups under the pooled prior.

    Parameters
    ----------
    models : list of HawkesProcessModel
        One per group (each may carry its own background); same neurons, time, dt, beta kind,
        alpha mask and ``prior.alpha_mean``. The other numbers of each model's prior hold for mu
        and beta; its alpha prior is replaced by the pooled one.
    events : list
        One list of realisations per group, as ``HawkesProcessModel.fit`` takes them.
    end_time : float
        Length of every realisation in seconds.
    pool_prior : PoolPrior or None
        None: ``PoolPrior(alpha_mean=models[0].prior.alpha_mean)``.
    n_samples, n_warmup, n_chains, max_samples, conjugate_columns
        As for ``HawkesProcessModel.fit``; the longer chains go on while any group, k or b misses
        the convergence limits.
    seed : int or numpy.random.SeedSequence
        Its children seed the groups in order, then the hyperparameters.

    Returns
    -------
    PooledPosterior
    """
    if not models or len(models) != len(events):
        raise ValueError(f"need one list of realisations per model, got {len(events)} for {len(models)} models")
    _check_models(models)
    pool_prior = pool_prior or PoolPrior(alpha_mean=models[0].prior.alpha_mean)
    check_run_lengths(n_samples, n_warmup, n_chains, max_samples, conjugate_columns)
    max_samples = n_samples if max_samples is None else max_samples
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rngs = [np.random.default_rng(child) for child in sequence.spawn(len(models) + 1)]
    # Single-threaded BLAS, as in hawkes_sampler.sample: the same seed gives the same draws.
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(
            models, events, end_time, pool_prior, n_samples, n_warmup, n_chains, rngs, max_samples, conjugate_columns
        )


def _run(models, events, end_time, pool_prior, n_samples, n_warmup, n_chains, rngs, max_samples, conjugate_columns):
    hyper_rng = rngs[-1]
    k_start = 2.0  # the prior's median of k (v = log(k - 1) = 0); m starts at alpha_mean
    chains = []
    for model, group_events, rng in zip(models, events, rngs):
        # The collapse of identical sources into sums needs one Gamma rate for all members.
        data = dataclasses.replace(model._prepare(group_events, end_time), duplicates=[])
        rates = model._resolve_prior(data)
        start = {"alpha_shape": k_start, "alpha_rate": k_start / pool_prior.alpha_mean}
        prior = PriorRates(**{**dataclasses.asdict(rates), **start})
        chains.append(Chains(model, data, prior, n_warmup, n_chains, rng, max_samples, conjugate_columns))
    # After the groups' chains, whose draws are the largest arrays: settings beyond the memory
    # fail there, at once, not in the middle of filling these.
    v, log_b = np.full(n_chains, np.log(k_start - 1.0)), np.full(n_chains, np.log(pool_prior.b_mean))
    k = np.full(n_chains, k_start)
    m = np.full((n_chains, models[0].n_dims, models[0].n_dims), pool_prior.alpha_mean)
    observed = observed_mask(chains)
    # The walks of v and log b, the scale move, the carried moves of v and log b.
    log_steps = np.full(5, np.log(INITIAL_STEP))
    kept = {"k": np.empty((n_chains, max_samples)), "b": np.empty((n_chains, max_samples))}
    accepted, n_kept = [], 0

    def converged():
        draws = (kept["k"][:, :n_kept], np.log(kept["b"][:, :n_kept]))
        hyper = all(is_converged(float(split_rhat(d)), float(ess_bulk(d))) for d in draws)
        return hyper and all(group.recorder.converged() for group in chains)

    def one_sweep(it):
        nonlocal v, log_b, k, m, log_steps, n_kept
        for group, rng in zip(chains, rngs):
            set_priors(group, k, m)
            group.advance(rng, silent_alpha_prior=(k[:, None, None], k[:, None, None] / m))
        moved, tried = np.zeros((2, n_chains)), np.zeros(2, dtype=int)
        for _ in range(TRANSFER_ROUNDS):
            counts = collapsed_transfers(chains, observed, k, np.exp(log_b), pool_prior, hyper_rng)
            moved, tried = moved + counts[0], tried + counts[1]
        stats = pair_statistics(observed_alphas(chains, observed), observed)
        v, log_b, rates = move_hyper(v, log_b, log_steps[:2], stats, pool_prior, hyper_rng)
        k, b = 1.0 + np.exp(v), np.exp(log_b)
        m = draw_means(stats, k, b, pool_prior, hyper_rng)
        carried = np.zeros((2, n_chains))
        for _ in range(CARRIED_STEPS):
            v, took = carried_k_move(chains, observed, m, v, pool_prior, log_steps[3], hyper_rng)
            carried[0] += took
        for _ in range(CARRIED_STEPS):
            log_b, took = carried_b_move(chains, observed, m, log_b, pool_prior, log_steps[4], hyper_rng)
            carried[1] += took
        k, b = 1.0 + np.exp(v), np.exp(log_b)
        scaled, proposed = scale_move(chains, observed, m, b, pool_prior, log_steps[2], hyper_rng)
        if it < n_warmup:
            scale_rate = scaled.sum() / (proposed * n_chains) if proposed else TARGET_ACCEPTANCE_WALK
            rate = np.concatenate([rates.mean(axis=1), [scale_rate], carried.mean(axis=1) / CARRIED_STEPS])
            log_steps += (rate - TARGET_ACCEPTANCE_WALK) * (it + 1) ** -ADAPT_DECAY
        else:
            kept["k"][:, n_kept], kept["b"][:, n_kept] = k, b
            ratios = [scaled / proposed if proposed else np.full(n_chains, np.nan)]
            with np.errstate(invalid="ignore"):  # 0 / 0: no pair of the kind, NaN
                ratios.extend(moved / tried[:, None])
            accepted.append(np.vstack([rates, *ratios, carried / CARRIED_STEPS]))
            n_kept += 1

    for it in range(n_warmup + n_samples):
        one_sweep(it)
    while n_kept < max_samples and not converged():
        for _ in range(min(n_samples, max_samples - n_kept)):
            one_sweep(n_warmup + n_kept)
    rates = np.mean(accepted, axis=0)  # (7, C)
    return PooledPosterior(
        groups=[HawkesPosterior(**group.recorder.result()) for group in chains],
        k=kept["k"][:, :n_kept].copy(),
        b=kept["b"][:, :n_kept].copy(),
        acceptance={
            "k": rates[0],
            "b": rates[1],
            "scale": rates[2],
            "transfer": rates[3],
            "resplit": rates[4],
            "k_carried": rates[5],
            "b_carried": rates[6],
        },
    )
