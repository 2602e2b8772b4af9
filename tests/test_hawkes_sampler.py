"""The Hawkes sampler: every move against a slow reference, fits against known truths.

One file because the move replays share the ``Setup`` data set and the metrics defined at its
top, and the whole-fit checks belong with them: together they test one sampler.

Each Metropolis-Hastings move is replayed: its random numbers are drawn again from the same
seed, and every accept/reject decision is recomputed from the slow per-target likelihood of
``hawkes_reference`` and the prior densities written here. Exact Gibbs draws are checked
against their distributions; whole fits against grid integration, closed forms and simulated
truths.
"""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hawkes_reference import slow_target_logliks
from scipy import stats
from scipy.integrate import cumulative_trapezoid
from scipy.optimize import minimize

import hawkes_moves as hm
import hawkes_targets as ht
import hawkes_warmup as hw
from hawkes_model import HawkesPrior, HawkesProcessModel, simulate_hawkes
from hawkes_pool_moves import RESPLIT_LOG_SCALE_SD, resplit_move
from hawkes_sampler import Recorder
from mcmc_diagnostics import ess_bulk, is_converged, split_rhat, worst_diagnostics

PER_PAIR_MEANS = np.array([[0.05, 0.4, 0.2], [1.0, 0.1, 0.02], [0.3, 0.6, 0.08]])

# Every move is replayed in continuous time, in discrete time, and in discrete time with dead steps.
TIMES = pytest.mark.parametrize("time, dead", [("continuous", False), ("discrete", False), ("discrete", True)])


class Setup:
    """A small data set with its model, indexed events, prior, targets and a random chain state.

    Three neurons fire (shared or per-pair beta, a modulated background, a masked alpha); the
    parameters of each chain are drawn at random around the truth.
    """

    def __init__(
        self,
        time="discrete",
        kind="shared",
        modulated=False,
        masked=False,
        n_chains=3,
        seed=0,
        dead=False,
        per_pair=False,
    ):
        self.time, self.dt, self.end = time, 0.1, 15.0
        # dead: discrete time with an absolute refractory period of 1, 0 and 2 steps
        self.refractory = np.array([1, 0, 2]) if dead else None
        n_steps = round(self.end / self.dt)
        mu0, alpha0 = np.array([2.0, 1.0, 1.5]), np.array([[0.2, 0.3, 0.0], [0.5, 0.0, 0.0], [0.0, 0.4, 0.1]])
        steps = np.arange(n_steps)
        self.background = (
            np.stack([1 + 0.8 * np.sin(steps / 40), 1 + 0.5 * np.cos(steps / 25), np.ones(n_steps)])
            if modulated
            else None
        )
        self.events = [
            simulate_hawkes(
                mu0,
                alpha0,
                4.0,
                self.end,
                seed=9 + r,
                time=time,
                dt=self.dt,
                background=self.background,
                refractory=self.refractory,
            )
            for r in range(2)
        ]
        self.free = np.ones((3, 3), dtype=bool)
        if masked:
            self.free[0, 1] = False
        # Shapes other than 1, so that both prior densities enter every ratio; per_pair: each
        # alpha's own prior mean [target, source] (the cut fit's prior).
        self.alpha_mean = PER_PAIR_MEANS if per_pair else 0.1
        self.prior_spec = HawkesPrior(mu_shape=2.0, alpha_shape=1.5, alpha_mean=self.alpha_mean)
        self.model = HawkesProcessModel(
            3,
            time=time,
            dt=self.dt,
            beta=kind,
            prior=self.prior_spec,
            background=self.background,
            alpha_mask=self.free if masked else None,
            refractory=self.refractory,
        )
        self.data = self.model._prepare(self.events, self.end)
        self.prior = self.model._resolve_prior(self.data)
        self.targets = ht.build_targets(self.model, self.data, self.prior)
        rng = np.random.default_rng(seed)
        theta = (
            np.concatenate(
                [(mu0 * rng.uniform(0.7, 1.3, (n_chains, 3)))[..., None], rng.uniform(0.02, 0.6, (n_chains, 3, 3))],
                axis=2,
            )
            * self.targets.free
        )
        beta = rng.uniform(2.0, 6.0, (n_chains,) if kind == "shared" else (n_chains, 3, 3))
        self.state = self.state_at(theta, beta)

    def state_at(self, theta, beta):
        h, comp = hm.kernel_statistics(self.model, self.data, beta)
        return hm.ChainState(
            theta=theta.copy(),
            beta=beta.copy(),
            h=h,
            h32=h.astype(np.float32),
            h_proposal=np.empty_like(h),
            scratch=np.empty_like(h),
            comp=comp,
            log_lik=ht.log_likelihood(self.targets, theta, h, comp),
        )

    def params(self, theta_c):
        """(mu, alpha) of one chain's theta (D, P); every neuron is a source here."""
        return theta_c[:, 0], theta_c[:, 1:]

    def target_logliks(self, theta_c, beta_c):
        mu, alpha = self.params(theta_c)
        return slow_target_logliks(
            self.time, self.events, [self.end] * 2, mu, alpha, beta_c, self.dt, self.background, self.refractory
        )

    def log_prior(self, theta_c):
        """Gamma log densities (constants dropped) of each target's free parameters, (D,)."""
        shape = np.array([self.prior.mu_shape] + [self.prior.alpha_shape] * 3)
        alpha_rate = 1.5 / np.broadcast_to(self.alpha_mean, (3, 3))  # row i: target i's sources
        rate = np.concatenate([np.full((3, 1), self.prior.mu_rate), alpha_rate], axis=1)
        free = self.targets.free
        with np.errstate(divide="ignore", invalid="ignore"):  # a rejected proposal may leave the domain
            terms = (shape - 1) * np.log(np.where(free, theta_c, 1.0)) - rate * theta_c
        return np.where(free, terms, 0.0).sum(axis=1)


def laplace_metric(s):
    """Metric factor from the curvature of chain 0's log density of u (as after warm-up)."""
    theta = s.state.theta[:1]
    _, fisher = ht.score_and_fisher(s.targets, theta, s.state.h[:1], s.state.comp[:1])
    curvature = (
        theta[..., :, None] * fisher * theta[..., None, :] + np.eye(theta.shape[2]) * s.targets.shape[:, None, :]
    )
    both = s.targets.moving[:, :, None] & s.targets.moving[:, None, :]
    return hw.cholesky_on(np.linalg.inv(np.where(both, curvature[0], np.eye(theta.shape[2]))), s.targets.moving)


def random_metric(n_dims, n_par, moving, seed):
    """A random dense lower-triangular metric factor per target (zero outside ``moving``)."""
    rng = np.random.default_rng(seed)
    chol = np.tril(rng.normal(0.0, 0.05, (n_dims, n_par, n_par))) + np.eye(n_par) * rng.uniform(
        0.1, 0.3, (n_dims, 1, 1)
    )
    both = moving[:, :, None] & moving[:, None, :]
    return chol * both


@TIMES
@pytest.mark.parametrize("kind", ["shared", "pair"])
def test_sampler_log_likelihood_is_the_slow_reference_target_by_target(time, dead, kind):
    s = Setup(time, kind, modulated=True, dead=dead)
    for c in range(s.state.theta.shape[0]):
        np.testing.assert_allclose(s.state.log_lik[c], s.target_logliks(s.state.theta[c], s.state.beta[c]), rtol=1e-9)


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_gradient_matches_finite_differences_of_the_reference_density(time):
    s = Setup(time, "shared", modulated=True, masked=True)
    u = np.log(np.where(s.targets.moving, s.state.theta, 1.0))

    def log_density(u_c, c):
        theta_c = np.where(s.targets.moving[None], np.exp(u_c), 0.0)[0]
        jac = np.where(s.targets.moving, u_c[0], 0.0).sum(axis=1)
        return s.target_logliks(theta_c, s.state.beta[c]) + s.log_prior(theta_c) + jac

    grad = ht.gradient_u(s.targets, u, s.state.h32, s.state.comp)
    step = 1e-6
    for c in range(2):
        for p in range(u.shape[2]):  # a target's density depends on its own row only: move all rows
            up, down = u[c : c + 1].copy(), u[c : c + 1].copy()
            up[0, :, p] += step
            down[0, :, p] -= step
            numeric = (log_density(up, c) - log_density(down, c)) / (2 * step)  # (D,)
            # float32 event sums: a relative error of about 1e-5 of the largest term.
            moving = s.targets.moving[:, p]
            assert np.all(np.abs(grad[c, moving, p] - numeric[moving]) < 1e-3 * (1 + np.abs(numeric[moving])))
    assert np.all(grad[:, ~s.targets.moving] == 0)


def test_discrete_event_slopes_keep_float32_precision_down_to_tiny_intensities():
    # f'(lambda) = dt / (1 - exp(-lambda dt)); the reference: float64 where lambda dt is not small,
    # its series dt / x * (1 + x / 2 + x**2 / 12) below (the next term, x**4 / 720, is below 1e-19).
    dt = 1e-3
    lam = np.logspace(-9, 4, 131)  # 1/s: lambda dt from 1e-12 (float32's 1 - exp gives 0) to 10
    x = lam * dt
    expected = np.where(x < 1e-4, dt / x * (1 + x / 2 + x**2 / 12), dt / (1 - np.exp(-x)))
    slopes = ht._event_slopes(SimpleNamespace(time="discrete", dt=dt), lam.astype(np.float32))
    assert slopes.dtype == np.float32
    np.testing.assert_allclose(slopes, expected, rtol=1e-6)


def test_gradient_is_finite_where_every_intensity_is_below_float32s_resolution():
    # A chain that reaches such a state must still be steered out of it, not stuck there.
    s = Setup("discrete", "shared", modulated=True, masked=True)
    u = np.log(np.where(s.targets.moving, s.state.theta * 1e-9, 1.0))
    grad = ht.gradient_u(s.targets, u, s.state.h32, s.state.comp)
    assert np.isfinite(grad).all() and np.any(grad[:, s.targets.moving] != 0)


@TIMES
@pytest.mark.parametrize("kind", ["shared", "pair"])
@pytest.mark.parametrize(
    "modulated, masked, per_pair", [(False, False, False), (True, True, False), (True, True, True)]
)
# The largest step sends some trajectories to overflow on purpose (they must be rejected), and
# the replay below recomputes them outside the sampler's error-state guards.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_hmc_move_accepts_with_the_exact_hamiltonian_ratio(time, dead, kind, modulated, masked, per_pair):
    # Replays the trajectory (same seed, the sampler's gradient, checked above) and recomputes
    # every decision from the energy H = -(log L_i + log prior_i + sum u) + |p|^2 / 2, with the
    # slow reference likelihood. Masked: alpha[0, 1] is fixed at 0, never moved.
    s = Setup(time, kind, modulated, masked, n_chains=6, dead=dead, per_pair=per_pair)
    n_chains, n_dims, n_par = s.state.theta.shape
    moving = s.targets.moving
    tuning = hm.Tuning(
        step=np.array([0.4, 1.0, 2.0]), chol=laplace_metric(s), beta_log_step=np.zeros(s.state.beta.shape)
    )
    theta0, beta0 = s.state.theta.copy(), s.state.beta.copy()
    accepted, _ = hm.hmc_move(s.state, s.targets, tuning, np.random.default_rng(5))

    replay = np.random.default_rng(5)
    n_leapfrog = int(replay.integers(1, 2 * hm.N_LEAPFROG))
    momentum0 = replay.standard_normal(theta0.shape) * moving
    step = (tuning.step * replay.uniform(1 - hm.STEP_JITTER, 1 + hm.STEP_JITTER, (n_chains, n_dims)))[..., None]
    uniform = replay.random((n_chains, n_dims))
    u = np.log(np.where(moving, theta0, 1.0))
    momentum = momentum0.copy()
    for k in range(n_leapfrog):
        force = np.einsum("dqp,cdq->cdp", tuning.chol, ht.gradient_u(s.targets, u, s.state.h32, s.state.comp))
        momentum += (0.5 if k == 0 else 1.0) * step * force
        u = u + step * np.einsum("dpq,cdq->cdp", tuning.chol, momentum)
    force = np.einsum("dqp,cdq->cdp", tuning.chol, ht.gradient_u(s.targets, u, s.state.h32, s.state.comp))
    momentum += 0.5 * step * force
    theta1 = np.where(moving, np.exp(u), theta0)
    for c in range(n_chains):
        energy = []
        for theta_c, p in ((theta0[c], momentum0[c]), (theta1[c], momentum[c])):
            jac = np.where(moving, np.log(np.where(moving, theta_c, 1.0)), 0.0).sum(axis=1)
            log_post = s.target_logliks(theta_c, beta0[c]) + s.log_prior(theta_c) + jac
            energy.append(-log_post + 0.5 * (p**2).sum(axis=1))
        log_ratio = energy[0] - energy[1]
        expected = np.log(uniform[c]) < log_ratio
        clear = np.abs(np.log(uniform[c]) - log_ratio) > 1e-6  # no decision on a knife edge
        assert np.array_equal(accepted[c][clear], expected[clear])
        np.testing.assert_allclose(s.state.theta[c], np.where(accepted[c][:, None], theta1[c], theta0[c]), rtol=1e-9)
        np.testing.assert_allclose(s.state.log_lik[c], s.target_logliks(s.state.theta[c], beta0[c]), rtol=1e-9)
    assert 0 < accepted.mean() < 1
    assert np.all(s.state.theta[:, ~s.targets.free] == 0.0)


def test_leapfrog_trajectory_is_reversible():
    # The flow with a flipped final momentum retraces the trajectory (to rounding): the map is
    # its own inverse up to the flip, which the Metropolis ratio relies on.
    s = Setup("discrete", "shared", modulated=True)
    moving = s.targets.moving
    chol = random_metric(*s.state.theta.shape[1:], moving, 4)

    def flow(u, momentum, n=5, step=0.4):
        for k in range(n):
            momentum = momentum + (0.5 if k == 0 else 1.0) * step * np.einsum(
                "dqp,cdq->cdp", chol, ht.gradient_u(s.targets, u, s.state.h32, s.state.comp)
            )
            u = u + step * np.einsum("dpq,cdq->cdp", chol, momentum)
        momentum = momentum + 0.5 * step * np.einsum(
            "dqp,cdq->cdp", chol, ht.gradient_u(s.targets, u, s.state.h32, s.state.comp)
        )
        return u, momentum

    u0 = np.log(np.where(moving, s.state.theta, 1.0))
    p0 = np.random.default_rng(1).standard_normal(u0.shape) * moving
    u1, p1 = flow(u0, p0)
    u2, p2 = flow(u1, -p1)
    np.testing.assert_allclose(u2, u0, atol=1e-9)
    np.testing.assert_allclose(-p2, p0, atol=1e-7)


@TIMES
@pytest.mark.parametrize("kind, per_pair", [("shared", False), ("pair", False), ("shared", True)])
def test_transfer_move_accepts_with_the_exact_posterior_ratio(time, dead, kind, per_pair):
    # Pairs: target 0 moves (alpha[0, 0], alpha[0, 1]), target 2 (mu_2, alpha[2, 1]) and then,
    # in the second slot, (alpha[2, 0], alpha[2, 2]); target 1 has none.
    s = Setup(time, kind, modulated=True, n_chains=4, dead=dead, per_pair=per_pair)
    pairs = np.full((3, 2, 2), -1)
    pairs[0, 0], pairs[2, 0], pairs[2, 1] = (1, 2), (0, 2), (1, 3)
    axis = np.array([[[0.05, -0.08], [0, 0]], [[0, 0], [0, 0]], [[0.4, -0.1], [0.1, -0.05]]])
    tuning = hm.Tuning(
        step=np.ones(3),
        chol=np.zeros((3, 4, 4)),
        beta_log_step=np.zeros(s.state.beta.shape),
        pairs=pairs,
        pair_axis=axis,
        pair_log_step=np.log([[1.0, 1.0], [1.0, 1.0], [1.5, 2.0]]),
    )
    theta = s.state.theta.copy()
    accepted = hm.transfer_move(s.state, s.targets, tuning, np.random.default_rng(5))

    replay = np.random.default_rng(5)
    expected = np.zeros_like(accepted)
    for q in range(2):
        z = np.exp(tuning.pair_log_step[:, q]) * replay.standard_normal((4, 3))
        uniform = replay.random((4, 3))
        for c in range(4):
            # Every target with a pair proposes at once: a target's density depends on its row only.
            proposal = theta[c].copy()
            for i in np.flatnonzero(pairs[:, q, 0] >= 0):
                proposal[i, pairs[i, q]] += z[c, i] * axis[i, q]
            ratio = (
                s.target_logliks(proposal, s.state.beta[c])
                + s.log_prior(proposal)
                - s.target_logliks(theta[c], s.state.beta[c])
                - s.log_prior(theta[c])
            )
            for i in np.flatnonzero(pairs[:, q, 0] >= 0):
                if np.all(proposal[i] >= 0) and np.log(uniform[c, i]) < ratio[i]:
                    expected[c, i, q] = True
                    theta[c, i] = proposal[i]
    assert np.array_equal(accepted, expected)
    assert 0 < accepted[:, [0, 2]].mean() < 1
    np.testing.assert_allclose(s.state.theta, theta, rtol=1e-12)
    for c in range(4):
        np.testing.assert_allclose(s.state.log_lik[c], s.target_logliks(theta[c], s.state.beta[c]), rtol=1e-9)


@TIMES
@pytest.mark.parametrize("kind", ["shared", "pair"])
def test_resplit_move_proposes_a_fresh_split_of_a_pairs_drive_with_the_exact_posterior_ratio(time, dead, kind):
    # Pairs: target 0 resplits (alpha[0, 0], alpha[0, 2]); target 2's first pair holds mu, which
    # is no source's drive, its second (alpha[2, 0], alpha[2, 1]); target 1 has none.
    s = Setup(time, kind, modulated=True, n_chains=6, dead=dead)
    pairs = np.full((3, 2, 2), -1)
    pairs[0, 0], pairs[2, 0], pairs[2, 1] = (1, 3), (0, 2), (1, 2)
    theta = s.state.theta.copy()
    coef = hm.compensator_coefficients(s.state, s.targets)
    accepted = resplit_move(
        s.state,
        s.targets,
        SimpleNamespace(pairs=pairs),
        np.random.default_rng(5),
        lambda th: ht.log_prior(s.targets, th),
    )

    replay = np.random.default_rng(5)
    expected = np.zeros_like(accepted)
    for q in range(2):
        split, uniform = replay.random((6, 3)), replay.random((6, 3))
        movers = [i for i in range(3) if pairs[i, q, 0] >= 1]
        scale = np.ones((6, 3))
        scale[:, movers] = np.exp(RESPLIT_LOG_SCALE_SD * replay.standard_normal((6, len(movers))))
        for c in range(6):
            proposal = theta[c].copy()
            for i in movers:
                p, r = pairs[i, q]
                total = (theta[c, i, p] * coef[c, i, p] + theta[c, i, r] * coef[c, i, r]) * scale[c, i]
                proposal[i, p], proposal[i, r] = (
                    split[c, i] * total / coef[c, i, p],
                    (1 - split[c, i]) * total / coef[c, i, r],
                )
            # The posterior in (log S, t), S the pair's summed compensator: times S^2.
            ratio = (
                s.target_logliks(proposal, s.state.beta[c])
                + s.log_prior(proposal)
                - s.target_logliks(theta[c], s.state.beta[c])
                - s.log_prior(theta[c])
                + 2 * np.log(scale[c])
            )
            for i in movers:
                if np.log(uniform[c, i]) < ratio[i]:
                    expected[c, i, q] = True
                    theta[c, i] = proposal[i]
    assert np.array_equal(accepted, expected)
    assert not accepted[:, 1].any() and not accepted[:, 2, 0].any()
    assert 0 < accepted[:, 0, 0].sum() + accepted[:, 2, 1].sum() < 12
    np.testing.assert_allclose(s.state.theta, theta, rtol=1e-12)
    for c in range(6):
        np.testing.assert_allclose(s.state.log_lik[c], s.target_logliks(theta[c], s.state.beta[c]), rtol=1e-9)


def test_resplit_move_samples_a_pairs_posterior():
    """Resplits alone, every chain started alike, sample the posterior of a pair of one target's
    alphas given the rest: the marginals of the split t and the summed compensator S against a
    grid of the posterior density in (log S, t), from the likelihood and the Gamma priors times
    the Jacobian S^2."""
    s = Setup("discrete", "shared", modulated=True, n_chains=64)
    s.state = s.state_at(np.broadcast_to(s.state.theta[:1], s.state.theta.shape).copy(), np.full(64, 4.0))
    pairs = np.full((3, 1, 2), -1)
    pairs[0, 0] = (1, 3)  # target 0's alphas from neurons 0 and 2
    coef = hm.compensator_coefficients(s.state, s.targets)[0, 0, [1, 3]]
    start = s.state.theta[0].copy()
    rng, density = np.random.default_rng(3), (lambda th: ht.log_prior(s.targets, th))
    draws = []
    for it in range(2400):  # the walk of log S mixes slowly over its posterior's long left tail
        resplit_move(s.state, s.targets, SimpleNamespace(pairs=pairs), rng, density)
        if it >= 400 and it % 20 == 0:
            drive = s.state.theta[:, 0, [1, 3]] * coef
            draws.append([np.log(drive.sum(axis=1)), drive[:, 0] / drive.sum(axis=1)])
    np.testing.assert_array_equal(s.state.theta[:, 1:], np.broadcast_to(start[1:], (64, 2, 4)))
    log_total, split = np.moveaxis(np.array(draws), 1, 0).reshape(2, -1)

    # A fine grid, so the likelihood is the vectorised one (checked against the brute-force one
    # above); both alphas' Gamma(1.5) priors vanish at 0, so the density does at t = 0 and 1.
    grid_s = np.linspace(log_total.min() - 0.5, log_total.max() + 0.5, 192)
    grid_t = np.linspace(0.0, 1.0, 129)
    theta = np.broadcast_to(start, (grid_s.size, grid_t.size) + start.shape).copy()
    theta[..., 0, 1] = grid_t * np.exp(grid_s)[:, None] / coef[0]
    theta[..., 0, 3] = (1 - grid_t) * np.exp(grid_s)[:, None] / coef[1]
    theta = theta.reshape(-1, 64, *start.shape)  # batches of the 64 chains' kernel sums
    log_lik = np.concatenate([ht.log_likelihood(s.targets, batch, s.state.h, s.state.comp)[:, 0] for batch in theta])
    log_prior = np.array([s.log_prior(point)[0] for point in theta.reshape(-1, *start.shape)])
    log_density = (log_lik + log_prior).reshape(grid_s.size, grid_t.size) + 2 * grid_s[:, None]
    weight = np.exp(log_density - np.nanmax(log_density))
    weight[:, [0, -1]] = 0.0
    for values, grid, marginal in ((log_total, grid_s, weight.sum(axis=1)), (split, grid_t, weight.sum(axis=0))):
        cdf = cumulative_trapezoid(marginal, grid, initial=0.0)
        cdf /= cdf[-1]
        assert stats.kstest(values, lambda x, grid=grid, cdf=cdf: np.interp(x, grid, cdf)).pvalue > 0.01
    assert np.ptp(split) > 0.5  # the draws cover the line, not one region of it


@TIMES
@pytest.mark.parametrize(
    "kind, masked, per_pair", [("shared", False, False), ("pair", True, False), ("shared", True, True)]
)
def test_conjugate_move_accepts_with_the_full_hastings_ratio(time, dead, kind, masked, per_pair):
    # Replayed from the definition: posterior ratio (slow reference likelihood, Gamma priors)
    # times the proposal's Gamma(shape, rate + c) density ratio, column after column; the move
    # itself uses only the event terms.
    s = Setup(time, kind, modulated=True, masked=masked, n_chains=4, dead=dead, per_pair=per_pair)
    # Source 2's alphas shrunk to where the events see them little: there the move accepts
    # some proposals and rejects others; at values the data pin down, it mostly rejects.
    s.state = s.state_at(np.where(s.targets.free, s.state.theta, 0.0) * [1, 1, 1, 0.1], s.state.beta)
    theta = s.state.theta.copy()
    n_columns = 4
    accepted, proposed = hm.conjugate_move(s.state, s.targets, n_columns, np.random.default_rng(7))

    replay = np.random.default_rng(7)
    expected = np.zeros_like(accepted)
    expected_proposed = np.zeros_like(proposed)
    coef = np.concatenate([np.broadcast_to(s.targets.base_mass[:, None], (4, 3, 1)), s.state.comp], axis=2)
    rate = s.targets.rate + coef  # (C, D, P), the proposal's rate
    for p in replay.choice(4, size=n_columns, replace=False):
        proposal_p = replay.gamma(s.targets.shape[:, p], 1.0 / rate[:, :, p])
        uniform = replay.random((4, 3))
        for c in range(4):
            proposal = theta[c].copy()
            proposal[:, p] = proposal_p[c]
            with np.errstate(divide="ignore", invalid="ignore"):  # fixed parameters: 0, never proposed
                log_q_ratio = (s.targets.shape[:, p] - 1) * np.log(theta[c, :, p] / proposal[:, p])
                log_q_ratio -= rate[c, :, p] * (theta[c, :, p] - proposal[:, p])
                ratio = (
                    s.target_logliks(proposal, s.state.beta[c])
                    + s.log_prior(proposal)
                    - s.target_logliks(theta[c], s.state.beta[c])
                    - s.log_prior(theta[c])
                    + log_q_ratio
                )
            for i in np.flatnonzero(s.targets.moving[:, p]):
                expected_proposed[i, p] = s.data.n_events[i] > 0
                if np.log(uniform[c, i]) < ratio[i]:
                    expected[c, i, p] = True
                    theta[c, i, p] = proposal[i, p]
    assert np.array_equal(accepted, expected) and np.array_equal(proposed, expected_proposed)
    assert 0 < accepted[..., 3][:, s.targets.moving[:, 3]].mean() < 1
    np.testing.assert_allclose(s.state.theta, theta, rtol=1e-12)
    for c in range(4):
        np.testing.assert_allclose(s.state.log_lik[c], s.target_logliks(theta[c], s.state.beta[c]), rtol=1e-9)


def test_recorder_keeps_the_conjugate_acceptance_over_what_was_proposed():
    # Per chain: the accepted share of the (target, column) entries proposed in a sweep, then the
    # mean over sweeps; a sweep that proposed nothing (no excited target in its columns) is left out.
    s = Setup(n_chains=2)
    recorder = Recorder(s.model, s.data, s.prior, s.targets, 3, s.state, conjugate_columns=2)
    proposed = np.zeros((3, 4), dtype=bool)
    proposed[:, [1, 3]] = True  # columns 1 and 3, every target: 6 entries
    accepted = np.zeros((2, 3, 4), dtype=bool)
    accepted[0, :, 1] = True  # chain 0: 3 of 6; chain 1: 1 of 6
    accepted[1, 2, 3] = True
    sweeps = [(accepted, proposed), (np.zeros_like(accepted), np.zeros_like(proposed)), (~accepted, proposed)]
    for k, conjugate in enumerate(sweeps):
        moves = hm.SweepMoves(
            hmc=np.ones((2, 3)), accept_prob=np.ones((2, 3)), transfer=None, beta=np.ones(2), conjugate=conjugate
        )
        recorder.record(k, s.state, moves, None, np.random.default_rng(k))
    # ~accepted also flips entries that were not proposed, which must not count.
    expected = [np.mean([3 / 6, 3 / 6]), np.mean([1 / 6, 5 / 6])]
    np.testing.assert_allclose(recorder.result()["acceptance"]["conjugate"], expected)
    assert "conjugate" not in Recorder(s.model, s.data, s.prior, s.targets, 3, s.state, 0).result()["acceptance"]


def log_normal_prior(prior, beta):
    return -np.sum((np.log(beta) - prior.log_beta_mean) ** 2) / (2 * prior.log_beta_sd**2)


def log_q_from_definition(points, x):
    """Log density at x of a KDE of ``points`` (n,) mixed with the wide normal, as documented."""
    bandwidth = 1.06 * points.std() * points.size**-0.2
    kde = stats.norm.pdf(x, points, bandwidth).mean()
    wide = stats.norm.pdf(x, points.mean(), hm.DEFENSIVE_SCALE * points.std())
    return np.log((1 - hm.DEFENSIVE_WEIGHT) * kde + hm.DEFENSIVE_WEIGHT * wide)


@TIMES
@pytest.mark.parametrize("independent", [False, True])
def test_shared_beta_move_accepts_with_the_exact_hastings_ratio(time, dead, independent):
    # The target density of log beta is the likelihood times the normal prior of log beta (the
    # Jacobian beta is part of it); the independence proposal adds q(current) / q(proposal),
    # with q written here from its definition (a Gaussian KDE mixed with a wide normal).
    s = Setup(time, "shared", modulated=True, n_chains=8, dead=dead)
    proposal_q = hm.LogBetaProposal.fit(np.random.default_rng(2).normal(np.log(4.0), 0.3, 60)) if independent else None
    tuning = hm.Tuning(
        step=np.ones(3),
        chol=np.zeros((3, 4, 4)),
        beta_log_step=np.log(np.random.default_rng(1).uniform(0.3, 1.5, 8)),
        beta_independent=proposal_q,
    )
    theta, beta = s.state.theta.copy(), s.state.beta.copy()
    accepted = hm.beta_move_shared(s.state, s.model, s.data, s.targets, s.prior, tuning, np.random.default_rng(5))

    replay = np.random.default_rng(5)
    if independent:
        wide = replay.random(8) < hm.DEFENSIVE_WEIGHT
        near = proposal_q.points[replay.integers(0, proposal_q.points.size, 8)]
        z = replay.standard_normal(8)
        log_proposal = np.where(
            wide,
            proposal_q.points.mean() + hm.DEFENSIVE_SCALE * proposal_q.points.std() * z,
            near + proposal_q.bandwidth * z,
        )
    else:
        log_proposal = np.log(beta) + np.exp(tuning.beta_log_step) * replay.standard_normal(8)
    uniform = replay.random(8)
    expected = np.zeros(8, dtype=bool)
    for c in range(8):
        new = np.exp(log_proposal[c])
        ratio = (
            s.target_logliks(theta[c], new).sum()
            - s.target_logliks(theta[c], beta[c]).sum()
            + log_normal_prior(s.prior, new)
            - log_normal_prior(s.prior, beta[c])
        )
        if independent:
            ratio += log_q_from_definition(proposal_q.points, np.log(beta[c])) - log_q_from_definition(
                proposal_q.points, log_proposal[c]
            )
        expected[c] = np.log(uniform[c]) < ratio
    assert np.array_equal(accepted, expected)
    assert 0 < accepted.mean() < 1
    np.testing.assert_allclose(s.state.beta, np.where(expected, np.exp(log_proposal), beta), rtol=1e-12)
    fresh = s.state_at(theta, s.state.beta)
    for name in ("h", "h32", "comp", "log_lik"):
        np.testing.assert_allclose(getattr(s.state, name), getattr(fresh, name), rtol=1e-10)


@TIMES
@pytest.mark.parametrize("independent", [False, True])
def test_pair_beta_move_accepts_with_the_exact_ratio_source_by_source(time, dead, independent):
    # Each decay's independence proposal comes from its own draws, centred elsewhere for each
    # pair, so that a mix-up of pairs would change the ratio.
    s = Setup(time, "pair", modulated=True, n_chains=4, dead=dead)
    rng = np.random.default_rng(2)
    points = np.log(rng.uniform(2.0, 6.0, (3, 3))) + rng.normal(0.0, rng.uniform(0.2, 0.5, (3, 3)), (60, 3, 3))
    tuning = hm.Tuning(
        step=np.ones(3),
        chol=np.zeros((3, 4, 4)),
        beta_log_step=np.log(np.random.default_rng(1).uniform(0.3, 1.5, (4, 3, 3))),
        beta_independent=hm.LogBetaProposal.fit(points) if independent else None,
    )
    theta, beta = s.state.theta.copy(), s.state.beta.copy()
    accepted = hm.beta_move_pair(s.state, s.model, s.data, s.targets, s.prior, tuning, np.random.default_rng(5))

    replay = np.random.default_rng(5)
    expected = np.zeros_like(accepted)
    for j in range(3):  # sources in turn, each against the current state
        if independent:
            wide, index = replay.random((4, 3)) < hm.DEFENSIVE_WEIGHT, replay.integers(0, 60, (4, 3))
            z = replay.standard_normal((4, 3))
            column = points[:, :, j]  # (60, 3): the draws of the decays of j onto each target
            sd = column.std(axis=0)
            log_proposal = np.where(
                wide,
                column.mean(axis=0) + hm.DEFENSIVE_SCALE * sd * z,
                column[index, np.arange(3)] + 1.06 * sd * 60**-0.2 * z,
            )
        else:
            log_proposal = np.log(beta[:, :, j]) + np.exp(tuning.beta_log_step[:, :, j]) * replay.standard_normal(
                (4, 3)
            )
        uniform = replay.random((4, 3))
        for c in range(4):
            # The whole column is proposed at once: target i's likelihood sees row i of beta only.
            proposal = beta[c].copy()
            proposal[:, j] = np.exp(log_proposal[c])
            ratio = s.target_logliks(theta[c], proposal) - s.target_logliks(theta[c], beta[c])
            for i in range(3):
                ratio_i = (
                    ratio[i] + log_normal_prior(s.prior, proposal[i, j]) - log_normal_prior(s.prior, beta[c, i, j])
                )
                if independent:
                    ratio_i += log_q_from_definition(points[:, i, j], np.log(beta[c, i, j])) - log_q_from_definition(
                        points[:, i, j], log_proposal[c, i]
                    )
                if np.log(uniform[c, i]) < ratio_i:
                    expected[c, i, j], beta[c, i, j] = True, proposal[i, j]
    assert np.array_equal(accepted, expected)
    assert 0 < accepted.mean() < 1
    np.testing.assert_allclose(s.state.beta, beta, rtol=1e-12)
    fresh = s.state_at(theta, beta)
    for name in ("h", "comp", "log_lik"):
        np.testing.assert_allclose(getattr(s.state, name), getattr(fresh, name), rtol=1e-9)


def ks_against_density(draws, q):
    """KS p-value of 1-D draws against the density of a one-decay proposal ``q``, and its grid."""
    grid = np.linspace(draws.min() - 1, draws.max() + 1, 20_001)
    cdf = np.cumsum(np.exp(q.log_density(grid)))
    cdf /= cdf[-1]
    return stats.kstest(draws, lambda x: np.interp(x, grid, cdf)).pvalue, grid


def test_kde_proposal_draws_follow_its_density():
    q = hm.LogBetaProposal.fit(np.random.default_rng(0).gamma(2.0, 0.5, 80))
    pvalue, grid = ks_against_density(q.draw(np.random.default_rng(1), 20_000), q)
    assert pvalue > 0.01
    assert np.trapezoid(np.exp(q.log_density(grid)), grid) == pytest.approx(1.0, abs=1e-4)


def test_per_pair_kde_proposal_is_each_pairs_own():
    # Every decay's draws and density are those of a one-decay proposal fitted to its draws alone.
    points = np.random.default_rng(0).gamma(2.0, 0.5, (80, 2, 3)) + np.arange(6).reshape(2, 3)
    q = hm.LogBetaProposal.fit(points)
    draws = q.column(1).draw(np.random.default_rng(1), (20_000, 2))  # decays [:, 1]
    x = np.linspace(-1.0, 9.0, 7)
    for i in range(2):
        assert ks_against_density(draws[:, i], hm.LogBetaProposal.fit(points[:, i, 1]))[0] > 0.01
        for k in range(7):
            assert q.log_density(np.full((2, 3), x[k]))[i, 1] == pytest.approx(
                log_q_from_definition(points[:, i, 1], x[k])
            )


def test_targets_without_events_are_drawn_from_their_conjugate_posterior():
    # Neuron 2 never fires: its likelihood is exp(-mu_2 int b_2 - sum_j alpha_2j comp_2j), so
    # mu_2 ~ Gamma(a, b + int b_2) and alpha_2j ~ Gamma(a, b + comp_2j) exactly.
    events = [simulate_hawkes([2.0, 1.0, 0.0], np.zeros((3, 3)), 1.0, 20.0, seed=r) for r in range(2)]
    model = HawkesProcessModel(3, prior=HawkesPrior(mu_shape=2.0, alpha_shape=1.5))
    data = model._prepare(events, 20.0)
    prior = model._resolve_prior(data)
    targets = ht.build_targets(model, data, prior)
    beta = np.full(20_000, 3.0)
    h, comp = hm.kernel_statistics(model, data, beta)
    state = hm.ChainState(
        theta=np.ones((20_000, 3, 3)),
        beta=beta,
        h=h,
        h32=h.astype(np.float32),
        h_proposal=h,
        scratch=h,
        comp=comp,
        log_lik=np.zeros((20_000, 3)),
    )
    hm.gibbs_silent_targets(state, targets, np.array([2]), np.random.default_rng(3))
    rates = [prior.mu_rate + data.base_mass[2], prior.alpha_rate + comp[0, 2, 0], prior.alpha_rate + comp[0, 2, 1]]
    shapes = [prior.mu_shape, prior.alpha_shape, prior.alpha_shape]
    for p in range(3):
        assert stats.kstest(state.theta[:, 2, p], stats.gamma(shapes[p], scale=1 / rates[p]).cdf).pvalue > 0.01
    np.testing.assert_allclose(
        state.log_lik[:, 2],
        -(state.theta[:, 2, 0] * data.base_mass[2] + (state.theta[:, 2, 1:] * comp[:, 2]).sum(axis=1)),
    )
    assert np.all(state.theta[:, :2] == 1.0)  # other targets untouched


def test_newton_start_reaches_the_mode_of_each_target():
    s = Setup("discrete", "shared", modulated=True, masked=True)
    hw.newton_to_mode(s.state, s.targets)
    u = np.log(np.where(s.targets.moving, s.state.theta, 1.0))
    # At the mode the float64 gradient of the log density of u vanishes.
    score, _ = ht.score_and_fisher(s.targets, s.state.theta, s.state.h, s.state.comp)
    grad = (s.state.theta * (score - s.targets.rate) + s.targets.shape) * s.targets.moving
    assert np.max(np.abs(grad)) < 1e-6
    assert np.all(np.isfinite(u))


def _window_and_laplace(rng, n_sweeps=30, n_chains=4, n_dims=3, n_params=4):
    u = rng.normal(size=(n_sweeps, n_chains, n_dims, n_params)) @ rng.normal(size=(n_params, n_params))
    moving = np.ones((n_dims, n_params), dtype=bool)
    moving[1, 2] = False  # a parameter fixed at 0: outside the metric
    a = rng.normal(size=(n_dims, n_params, n_params))
    laplace = a @ np.swapaxes(a, 1, 2) + np.eye(n_params)
    return u, moving, laplace


def test_metric_is_each_chains_covariance_about_its_own_mean_shrunk_towards_the_laplace_one():
    rng = np.random.default_rng(4)
    u, moving, laplace = _window_and_laplace(rng)
    n_sweeps, n_chains, n_dims, n_params = u.shape
    metric = hw.metric_from_draws(u, moving, laplace)
    for d in range(n_dims):
        free = np.flatnonzero(moving[d])
        sums = np.zeros((free.size, free.size))
        for c in range(n_chains):  # a loop over chains and draws, the textbook pooled covariance
            x = u[:, c, d][:, free]
            mean = x.sum(axis=0) / n_sweeps
            for row in x:
                sums += np.outer(row - mean, row - mean)
        pooled = sums / (n_sweeps * n_chains - n_chains)
        n = n_sweeps * n_chains
        expected = (n * pooled + hw.LAPLACE_DRAWS * laplace[d][np.ix_(free, free)]) / (n + hw.LAPLACE_DRAWS)
        got = metric[d] @ metric[d].T
        np.testing.assert_allclose(got[np.ix_(free, free)], expected, rtol=1e-12)
        fixed = np.flatnonzero(~moving[d])
        assert not got[fixed].any() and not got[:, fixed].any()


def test_metric_ignores_how_far_apart_the_chains_are_and_never_collapses():
    rng = np.random.default_rng(5)
    u, moving, laplace = _window_and_laplace(rng)
    apart = u + 50.0 * rng.normal(size=(1,) + u.shape[1:])  # each chain shifted by its own offset
    np.testing.assert_allclose(
        hw.metric_from_draws(apart, moving, laplace), hw.metric_from_draws(u, moving, laplace), atol=1e-9
    )
    # A window in which no chain moved leaves the Laplace covariance, scaled by its weight.
    still = np.broadcast_to(u[:1], u.shape)
    metric = hw.metric_from_draws(still, moving, laplace)
    weight = hw.LAPLACE_DRAWS / (u.shape[0] * u.shape[1] + hw.LAPLACE_DRAWS)
    for d in range(u.shape[2]):
        free = np.ix_(moving[d], moving[d])
        np.testing.assert_allclose((metric[d] @ metric[d].T)[free], weight * laplace[d][free], rtol=1e-12)


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_zero_length_window_reproduces_the_prior(time):
    # With T = 0 the likelihood is constant, so the moves that run must leave the prior
    # invariant: the conjugate draws of targets without events and the beta move (a plain
    # Metropolis-Hastings step, so this checks its Jacobian). With no events HMC, transfer and
    # split moves do not run; the exact replays and the split test cover them.
    prior = HawkesPrior(mu_shape=2.0, mu_mean=3.0, alpha_shape=1.0, alpha_mean=0.2, beta_median=5.0, beta_log_sd=0.8)
    model = HawkesProcessModel(2, time=time, dt=0.1, prior=prior)
    post = model.fit([np.array([]), np.array([])], 0.0, n_samples=800, n_warmup=60, n_chains=4, seed=3, progress=False)
    checks = [(post.mu, 3.0, 3.0**2 / 2.0), (post.alpha, 0.2, 0.2**2), (np.log(post.beta), np.log(5.0), 0.8**2)]
    for draws, mean, var in checks:
        ess = ess_bulk(draws)
        flat = draws.reshape(-1, *draws.shape[2:])
        assert np.all(np.abs(flat.mean(axis=0) - mean) < 4.5 * np.sqrt(var / ess))
        # Variance: relative MC error about sqrt(2 (1 + kurtosis/2) / ESS); a generous 6 sigma.
        assert np.all(np.abs(flat.var(axis=0) / var - 1) < 6 * np.sqrt(4.0 / ess))
    assert post.max_rhat < 1.02


def test_a_prior_mean_per_pair_is_each_alphas_own():
    # No observed time: every alpha is a draw from its own prior, exponential of mean M[i, j].
    means = PER_PAIR_MEANS
    model = HawkesProcessModel(3, time="discrete", dt=0.1, prior=HawkesPrior(alpha_mean=means))
    post = model.fit([np.array([])] * 3, 0.0, n_samples=800, n_warmup=20, n_chains=4, seed=3, progress=False)
    flat = post.alpha.reshape(-1, 3, 3)
    ess = ess_bulk(post.alpha)
    assert np.all(np.abs(flat.mean(axis=0) - means) < 4.5 * means / np.sqrt(ess))
    assert np.all(np.abs(flat.var(axis=0) / means**2 - 1) < 6 * np.sqrt(9.0 / ess))


def test_one_mean_for_every_pair_given_per_pair_is_the_same_fit():
    events = simulate_hawkes([2.0, 1.0], [[0.2, 0.3], [0.0, 0.1]], 5.0, 20.0, seed=2, time="discrete", dt=0.05)
    fits = [
        HawkesProcessModel(2, time="discrete", dt=0.05, prior=HawkesPrior(alpha_mean=mean)).fit(
            events, 20.0, n_samples=30, n_warmup=30, n_chains=2, seed=1, progress=False, conjugate_columns=1
        )
        for mean in (0.3, np.full((2, 2), 0.3))
    ]
    for name in ("mu", "alpha", "beta"):
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))


def test_a_prior_mean_per_pair_keeps_identical_sources_apart():
    # Their sum has a Gamma prior only if their rates agree: with a mean per pair the members
    # stay separate parameters.
    source = simulate_hawkes([2.0], [[0.0]], 1.0, 50.0, seed=1)[0]
    events = [source, source.copy(), simulate_hawkes([1.0], [[0.0]], 1.0, 50.0, seed=2)[0]]
    model = HawkesProcessModel(3, prior=HawkesPrior(alpha_mean=PER_PAIR_MEANS))
    data = model._prepare(events, 50.0)
    assert len(data.duplicates) == 1 and ht.identical_groups(model, data) == []
    targets = ht.build_targets(model, data, model._resolve_prior(data))
    assert targets.free[:, 1:].all()
    np.testing.assert_allclose(targets.rate[:, 1:], 1.0 / PER_PAIR_MEANS[:, data.sources])


@pytest.mark.parametrize(
    "means",
    [np.full((2, 3), 0.1), [[0.1, -0.1], [0.1, 0.1]], [[0.1, np.nan], [0.1, 0.1]], [[0.1, 0.0], [0.1, 0.1]]],
)
def test_a_bad_prior_mean_per_pair_is_refused(means):
    with pytest.raises(ValueError, match="prior.alpha_mean per pair must be a square matrix"):
        HawkesPrior(alpha_mean=means)


def test_a_prior_mean_per_pair_must_match_the_neurons():
    with pytest.raises(ValueError, match=r"prior.alpha_mean per pair must have shape \(2, 2\)"):
        HawkesProcessModel(2, prior=HawkesPrior(alpha_mean=np.full((3, 3), 0.1)))


@pytest.mark.parametrize("time", ["continuous", "discrete"])
@pytest.mark.parametrize("modulated, alpha_true, conjugate_columns", [(False, 0.4, 0), (True, 0.4, 0), (False, 0.0, 2)])
def test_posterior_moments_match_numerical_integration(time, modulated, alpha_true, conjugate_columns):
    # One neuron with data; beta pinned by a very tight prior, so the posterior of (mu, alpha)
    # is a 2-D density that a grid integrates directly. This checks the whole sampler on real
    # data against an independent computation; with the conjugate move too, on data without
    # excitation, whose alpha sits near 0, where the move accepts some of its proposals (at
    # alpha_true 0.4 it would accept none).
    mu_true, beta, dt, end = 2.0, 5.0, 0.05, 100.0
    n_bins = round(end / dt)
    background = (1 + 0.9 * np.sin(np.arange(n_bins) / 30))[None, :] if modulated else np.ones((1, n_bins))
    events = simulate_hawkes([mu_true], [[alpha_true]], beta, end, seed=6, time=time, dt=dt, background=background)[0]
    prior = HawkesPrior(mu_shape=2.0, mu_mean=2.0, alpha_shape=1.0, alpha_mean=0.3, beta_median=beta, beta_log_sd=1e-4)
    post = HawkesProcessModel(1, time=time, dt=dt, prior=prior, background=background if modulated else None).fit(
        [events], end, n_samples=400, n_warmup=80, seed=4, progress=False, conjugate_columns=conjugate_columns
    )
    if conjugate_columns:
        assert np.all((post.acceptance["conjugate"] > 0) & (post.acceptance["conjugate"] < 1))
    else:
        assert "conjugate" not in post.acceptance

    # Reference: excitation at each event by a direct O(N^2) sum, then the log posterior on a grid.
    lag = events[:, None] - events[None, :]  # (N, N) t_k - t_l
    decay = np.where(lag > 0, np.exp(-beta * np.where(lag > 0, lag, 0.0)), 0.0).sum(axis=1)
    base = background[0, np.floor(events / dt + 1e-9).astype(int)]  # b in each event's bin
    exposure = background.sum() * dt  # int b over the window
    if time == "continuous":
        h, comp = beta * decay, np.sum(1 - np.exp(-beta * (end - events)))
    else:
        h = np.expm1(beta * dt) / dt * decay  # S[k] = (e^{beta dt} - 1) R / dt
        comp = np.sum(1 - np.exp(-beta * (end - dt - events)))
    # Ten or more grid points per posterior sd of mu and of alpha: a uniform grid integrates a
    # smooth density far more accurately than the sampler's Monte Carlo error.
    mu_grid = np.linspace(0.5, 4.0, 200)[:, None, None]
    alpha_grid = np.linspace(1e-5, 0.9, 400)[None, :, None]
    lam = mu_grid * base[None, None, :] + alpha_grid * h[None, None, :]
    if time == "continuous":
        event_terms = np.log(lam).sum(axis=2)
    else:
        event_terms = (np.log(-np.expm1(-lam * dt)) + lam * dt).sum(axis=2)
    log_post = (
        event_terms
        - mu_grid[..., 0] * exposure
        - alpha_grid[..., 0] * comp
        + np.log(mu_grid[..., 0])
        - mu_grid[..., 0]
        - alpha_grid[..., 0] / 0.3
    )
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    for draws, grid in (
        (post.mu[..., 0], mu_grid[:, 0, 0][:, None]),
        (post.alpha[..., 0, 0], alpha_grid[0, :, 0][None, :]),
    ):
        mean = np.sum(weight * grid)
        sd = np.sqrt(np.sum(weight * (grid - mean) ** 2))
        assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(ess_bulk(draws))
        assert abs(draws.std() / sd - 1) < 0.12


def small_network():
    mu = np.array([0.6, 0.4, 0.5])
    alpha = np.array([[0.0, 0.0, 0.3], [0.5, 0.2, 0.0], [0.0, 0.4, 0.0]])
    return mu, alpha, 1.5


def maximum_likelihood(model, events, end, x0):
    """MLE of (mu, alpha, beta) by L-BFGS-B on the exact log-likelihood (the reference)."""
    d = model.n_dims

    def negative(x):
        return -model.log_likelihood(events, end, x[:d], x[d:-1].reshape(d, d), x[-1])

    bounds = [(1e-6, None)] * d + [(0.0, None)] * (d * d) + [(0.05, 50.0)]
    return minimize(negative, x0, method="L-BFGS-B", bounds=bounds).x


def test_continuous_fit_recovers_parameters_with_mle_accuracy():
    mu, alpha, beta = small_network()
    end = 1500.0
    events = simulate_hawkes(mu, alpha, beta, end, seed=11)
    model = HawkesProcessModel(3)
    post = model.fit(events, end, n_samples=250, n_warmup=100, seed=1, progress=False)
    summary = post.summary()
    mle = maximum_likelihood(model, events, end, np.concatenate([mu, alpha.ravel() + 0.05, [beta]]))
    mle_error = np.max(np.abs(mle[3:-1].reshape(3, 3) - alpha))
    bayes_error = np.max(np.abs(summary["alpha"]["mean"] - alpha))
    assert bayes_error < 1.5 * mle_error + 0.02
    assert np.max(np.abs(summary["mu"]["mean"] - mu) / mu) < 0.2
    assert abs(summary["beta"]["mean"] - beta) / beta < 0.2
    assert post.max_rhat < 1.05
    assert set(post.acceptance) == {"hmc", "transfer", "beta"}
    assert all(v.shape == (4,) for v in post.acceptance.values())
    assert 0.5 < post.acceptance["hmc"].mean() < 1 and 0.2 < post.acceptance["beta"].mean() < 1


def test_ninety_percent_intervals_cover_at_about_the_nominal_rate():
    mu, alpha, beta = np.array([0.8, 0.5]), np.array([[0.3, 0.2], [0.0, 0.4]]), 2.0
    truth = np.concatenate([mu, alpha.ravel(), [beta]])
    model = HawkesProcessModel(2)
    covered = []
    for rep in range(10):
        events = simulate_hawkes(mu, alpha, beta, 400.0, seed=100 + rep)
        s = model.fit(events, 400.0, n_samples=100, n_warmup=50, n_chains=2, seed=rep, progress=False).summary()
        low = np.concatenate([s["mu"]["q05"], s["alpha"]["q05"].ravel(), [s["beta"]["q05"]]])
        high = np.concatenate([s["mu"]["q95"], s["alpha"]["q95"].ravel(), [s["beta"]["q95"]]])
        covered.append((low <= truth) & (truth <= high))
    # A parameter on the boundary (alpha = 0) lies outside every equal-tailed interval; count
    # the 60 interior ones (not independent within a fit; a binomial 3-sigma band is +-0.12).
    rate = np.mean(np.array(covered)[:, truth > 0])
    assert 0.78 <= rate <= 0.99


def test_discrete_model_ranks_edges_on_tied_grid_data_and_continuous_fit_shrinks_alpha():
    # A dense raster (about 0.35 spikes per neuron and step, dt = 1 time unit, so spike times
    # are integers and many coincide) from the discrete model.
    d = 4
    mu = np.full(d, 0.3)
    alpha = np.zeros((d, d))
    alpha[1, 0], alpha[2, 1], alpha[3, 1], alpha[0, 3] = 0.5, 0.6, 0.4, 0.3
    realisations = [simulate_hawkes(mu, alpha, 1.0, 100.0, seed=r, time="discrete", dt=1.0) for r in range(40)]
    discrete = HawkesProcessModel(d, time="discrete", dt=1.0).fit(
        realisations, 100.0, n_samples=150, n_warmup=60, seed=2, progress=False
    )
    alpha_hat = discrete.summary()["alpha"]["mean"]
    true_edge = alpha > 0
    pos, neg = alpha_hat[true_edge], alpha_hat[~true_edge]
    assert np.mean(pos[:, None] > neg[None, :]) >= 0.99  # AUC of true against absent edges
    assert np.all(np.abs(pos / alpha[true_edge] - 1) < 0.25)  # not shrunk
    # The continuous model on the same integer times falls into a beta ~ 0 mode and shrinks
    # the true edges several-fold (about 5x here).
    continuous = HawkesProcessModel(d, time="continuous").fit(
        realisations, 100.0, n_samples=150, n_warmup=60, seed=2, progress=False
    )
    shrink = alpha[true_edge].sum() / continuous.summary()["alpha"]["mean"][true_edge].sum()
    assert shrink > 3.0


def test_dead_steps_recover_the_truth_where_the_plain_model_shrinks_every_edge():
    # Three neurons in a ring, each dead for 2 steps after its spikes, a kernel of a few steps:
    # a source spike often reaches a dead target. The plain model counts each such spike as
    # evidence against the edge; the model that knows the dead steps does not.
    dt, dead = 0.001, np.array([2, 2, 2])
    mu, alpha = np.array([60.0, 40.0, 50.0]), np.array([[0.0, 0.5, 0.0], [0.0, 0.0, 0.4], [0.5, 0.0, 0.0]])
    realisations = [
        simulate_hawkes(mu, alpha, 400.0, 0.1, seed=r, time="discrete", dt=dt, refractory=dead) for r in range(300)
    ]
    true_edge = alpha > 0
    fits = {
        name: HawkesProcessModel(3, time="discrete", dt=dt, refractory=refractory)
        .fit(realisations, 0.1, n_samples=300, n_warmup=150, seed=1, progress=False)
        .summary()["alpha"]
        for name, refractory in (("dead", dead), ("plain", None))
    }
    error = (fits["dead"]["mean"] - alpha) / fits["dead"]["sd"]
    assert np.all(np.abs(error[true_edge]) < 3)
    assert np.all(fits["dead"]["mean"][~true_edge] < 0.1)
    shortfall = (alpha - fits["plain"]["mean"]) / fits["plain"]["sd"]
    assert np.all(shortfall[true_edge] > 4)


def test_stimulus_background_removes_the_false_self_excitation_of_a_driven_neuron():
    # Neuron 0 follows a trial-locked stimulus (rate x (1 + 0.95 sin)), neuron 1 is driven by
    # it. A constant background explains the stimulus's rhythm by self-excitation of neuron
    # 0; given the stimulus's shape as background, that false edge goes away and the true
    # one stays.
    dt, n_steps = 1.0, 100
    stimulus = np.stack([1 + 0.95 * np.sin(2 * np.pi * np.arange(n_steps) / 20), np.ones(n_steps)])
    mu, alpha = np.array([0.4, 0.05]), np.array([[0.0, 0.0], [0.6, 0.0]])
    trials = [
        simulate_hawkes(mu, alpha, 1.0, n_steps * dt, seed=r, time="discrete", dt=dt, background=stimulus)
        for r in range(30)
    ]
    fits = {
        name: HawkesProcessModel(2, time="discrete", dt=dt, background=background)
        .fit(trials, n_steps * dt, n_samples=200, n_warmup=60, seed=1, progress=False)
        .summary()["alpha"]
        for name, background in (("constant", None), ("stimulus", stimulus))
    }
    assert fits["constant"]["q05"][0, 0] > 0.1
    assert fits["stimulus"]["q95"][0, 0] < 0.1
    for summary in fits.values():
        assert abs(summary["mean"][1, 0] - 0.6) < 3 * summary["sd"][1, 0]


def test_silent_neuron_and_empty_trials_fall_back_to_the_prior():
    prior = HawkesPrior(alpha_mean=0.1)
    mu = np.array([5.0, 5.0, 0.0])
    realisations = [simulate_hawkes(mu, np.zeros((3, 3)), 10.0, 10.0, seed=r) for r in range(3)]
    realisations.append([np.array([]), np.array([]), np.array([])])  # a trial without spikes
    for time in ("continuous", "discrete"):
        for kind in ("shared", "pair"):
            model = HawkesProcessModel(3, time=time, dt=0.01, beta=kind, prior=prior)
            grid = [[np.round(a / 0.01) * 0.01 for a in r] for r in realisations]
            post = model.fit(grid, 10.0, n_samples=150, n_warmup=50, n_chains=2, seed=0, progress=False)
            assert np.all(np.isfinite(post.alpha)) and np.all(post.mu > 0)
            # Alpha from the silent source: no likelihood at all, so exactly the prior (mean 0.1).
            assert abs(post.alpha[:, :, :, 2].mean() - 0.1) < 0.02
            assert post.mu[:, :, 2].mean() < 0.5  # silent neuron: tiny background
            assert post.beta.shape == ((2, 150) if kind == "shared" else (2, 150, 3, 3))


def test_fit_without_any_spike_reports_nan_for_moves_with_nothing_to_move_and_warns_nothing():
    model = HawkesProcessModel(3, time="discrete", dt=0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = model.fit([[np.array([])] * 3] * 2, 0.04, n_samples=20, n_warmup=20, progress=False)
    # No neuron has an event: nothing for HMC or transfers (documented NaN); beta still moves.
    assert np.all(np.isnan(post.acceptance["hmc"])) and np.all(np.isnan(post.acceptance["transfer"]))
    assert np.all((post.acceptance["beta"] > 0) & (post.acceptance["beta"] < 1))
    assert np.all(np.isfinite(post.alpha)) and np.all(post.mu > 0)


def test_identical_sources_share_their_alpha_evenly_and_mix():
    # Neurons 0 and 1 spike identically (as some hidden neurons of the network do): only
    # alpha[i, 0] + alpha[i, 1] is identified, and under the exponential prior the posterior
    # split of that sum is uniform, which the exact Dirichlet split move samples directly.
    source = simulate_hawkes([0.8], [[0.0]], 1.0, 1500.0, seed=3)[0]
    driven = simulate_hawkes([0.3, 0.0], [[0.0, 0.0], [0.0, 0.0]], 1.0, 1500.0, seed=4)[0]
    # Target 2: background plus offspring of the source with total branching ratio 0.6.
    rng = np.random.default_rng(5)
    parents = source[rng.random(source.size) < 0.6]
    offspring = parents + rng.exponential(1 / 3.0, parents.size)
    target = np.sort(np.concatenate([driven, offspring[offspring < 1500.0]]))
    events = [source, source.copy(), target]
    model = HawkesProcessModel(3)
    assert [g.tolist() for g in model._prepare(events, 1500.0).duplicates] == [[0, 1]]
    post = model.fit(events, 1500.0, n_samples=400, n_warmup=150, seed=0, progress=False)
    pair = post.alpha[:, :, 2, :2]  # (C, S, 2)
    total = pair.sum(axis=2)
    assert abs(total.mean() - 0.6) < 0.08
    fraction = pair[..., 0] / total
    assert abs(fraction.mean() - 0.5) < 0.03 and abs(fraction.std() - np.sqrt(1 / 12)) < 0.02
    assert np.max(split_rhat(post.alpha)) < 1.05


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_masked_row_is_exactly_zero_and_its_background_posterior_is_closed_form(time):
    # Neuron 0 drives neuron 1 and is driven by nothing; fixing its row at 0 makes it a
    # Poisson process of rate mu_0 (a Bernoulli raster of rate mu_0 in discrete time), whose
    # posterior under mu_0 ~ Gamma(a, b) is Gamma(a + n, b + T) in continuous time and, in
    # discrete time with n spike bins of K, the density of mu^(a-1) e^(-b mu)
    # (1 - e^(-mu dt))^n e^(-mu dt (K - n)), integrated here on a grid.
    dt, end = 0.01, 300.0
    events = simulate_hawkes([3.0, 1.0], [[0.0, 0.0], [0.6, 0.0]], 20.0, end, seed=3, time=time, dt=dt)
    mask = np.array([[False, False], [True, True]])
    prior = HawkesPrior(mu_shape=2.0, mu_mean=4.0)
    model = HawkesProcessModel(2, time=time, dt=dt, prior=prior, alpha_mask=mask)
    post = model.fit(events, end, n_samples=400, n_warmup=80, seed=2, progress=False)
    assert np.all(post.alpha[:, :, 0, :] == 0.0) and np.all(post.alpha[:, :, 1, 0] > 0)
    a, b, n = 2.0, 2.0 / 4.0, len(events[0])
    if time == "continuous":
        mean, var = (a + n) / (b + end), (a + n) / (b + end) ** 2
    else:
        grid = np.linspace(1.5, 5.0, 20_001)
        log_density = (
            (a - 1) * np.log(grid) - b * grid + n * np.log(-np.expm1(-grid * dt)) - grid * dt * (round(end / dt) - n)
        )
        weight = np.exp(log_density - log_density.max())
        mean = np.sum(grid * weight) / weight.sum()
        var = np.sum((grid - mean) ** 2 * weight) / weight.sum()
    draws = post.mu[:, :, 0]
    ess = ess_bulk(draws)
    assert abs(draws.mean() - mean) < 4 * np.sqrt(var / ess)
    assert abs(draws.var() / var - 1) < 6 * np.sqrt(2.0 / ess)
    assert abs(post.summary()["alpha"]["mean"][1, 0] - 0.6) < 0.15
    assert np.all(np.isfinite(post.acceptance["hmc"]))


@pytest.mark.parametrize("mask", [np.ones((3, 3), dtype=bool), np.ones((2, 2)), [[True, False]]])
def test_bad_alpha_mask_is_refused(mask):
    with pytest.raises(ValueError, match="alpha_mask"):
        HawkesProcessModel(2, alpha_mask=mask)


def test_identical_sources_are_one_parameter_in_the_chains_with_the_prior_of_a_sum():
    source = simulate_hawkes([2.0], [[0.0]], 1.0, 50.0, seed=1)[0]
    events = [source, source.copy(), source.copy(), simulate_hawkes([1.0], [[0.0]], 1.0, 50.0, seed=2)[0]]
    free = np.ones((4, 4), dtype=bool)
    free[1, 1] = False  # target 1 may not be excited by source 1
    model = HawkesProcessModel(4, alpha_mask=free, prior=HawkesPrior(alpha_shape=2.0))
    data = model._prepare(events, 50.0)
    assert [g.tolist() for g in data.duplicates] == [[0, 1, 2]]
    targets = ht.build_targets(model, data, model._resolve_prior(data))
    # Column 1 carries the sum: Gamma(3a) for targets with three free members, Gamma(2a) for target 1.
    np.testing.assert_array_equal(targets.free[:, 1:4], [[True, False, False]] * 4)
    np.testing.assert_array_equal(targets.shape[:, 1], [6.0, 4.0, 6.0, 6.0])
    np.testing.assert_array_equal(targets.shape[:, 4], 2.0)


def test_split_of_three_identical_sources_is_dirichlet_over_the_free_ones():
    n_chains, shape = 20_000, 2.0
    free = np.ones((4, 4), dtype=bool)
    free[1, 1] = False  # target 1 may not be excited by source 1
    alpha = np.random.default_rng(0).random((n_chains, 4, 4)) * free
    before = alpha.copy()
    hm.split_identical_sources(alpha, [np.array([0, 1, 2])], free, shape, np.random.default_rng(1))
    np.testing.assert_allclose(alpha[:, :, :3].sum(axis=2), before[:, :, :3].sum(axis=2), rtol=1e-12)
    np.testing.assert_array_equal(alpha[:, :, 3], before[:, :, 3])  # not in the group
    share = alpha[:, 2, :3] / alpha[:, 2, :3].sum(axis=1, keepdims=True)  # (C, 3)
    # Dirichlet(a, a, a): mean 1/3, variance (1/3)(2/3) / (3a + 1).
    np.testing.assert_allclose(share.mean(axis=0), 1 / 3, atol=0.006)
    np.testing.assert_allclose(share.var(axis=0), 2 / 9 / (3 * shape + 1), rtol=0.04)
    # With a fixed member, the split is Dirichlet(a, a) over the two free ones.
    assert np.all(alpha[:, 1, 1] == 0)
    share = alpha[:, 1, [0, 2]] / alpha[:, 1, :3].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(share.mean(axis=0), 1 / 2, atol=0.008)
    np.testing.assert_allclose(share.var(axis=0), 1 / 4 / (2 * shape + 1), rtol=0.04)


def test_pair_beta_fit_recovers_decays_of_strong_edges():
    mu, alpha = np.array([0.5, 0.5]), np.array([[0.0, 0.6], [0.0, 0.0]])
    beta = np.array([[1.0, 4.0], [1.0, 1.0]])
    events = simulate_hawkes(mu, alpha, beta, 3000.0, seed=8)
    post = HawkesProcessModel(2, beta="pair").fit(
        events, 3000.0, n_samples=200, n_warmup=100, n_chains=2, seed=0, progress=False
    )
    s = post.summary()
    assert abs(s["alpha"]["mean"][0, 1] - 0.6) < 0.1
    assert abs(s["beta"]["mean"][0, 1] - 4.0) < 1.0
    assert s["beta"]["mean"].shape == (2, 2) and s["alpha"]["rhat"].shape == (2, 2)


def test_same_seed_gives_same_draws_and_seed_types_are_accepted():
    mu, alpha, beta = small_network()
    events = simulate_hawkes(mu, alpha, beta, 200.0, seed=0)
    model = HawkesProcessModel(3)

    def run(seed):
        return model.fit(events, 200.0, n_samples=30, n_warmup=20, n_chains=2, seed=seed, progress=False)

    a, b, c = run(7), run(7), run(8)
    assert np.array_equal(a.alpha, b.alpha) and np.array_equal(a.beta, b.beta)
    assert not np.array_equal(a.alpha, c.alpha)
    child = np.random.SeedSequence(7).spawn(2)[1]
    assert np.array_equal(run(child).mu, run(np.random.SeedSequence(7).spawn(2)[1]).mu)
    assert run(np.random.default_rng(1)).mu.shape == (2, 30, 3)
    with pytest.raises(ValueError, match="seed"):
        run("seven")
    for name in ("n_samples", "n_chains", "n_warmup", "conjugate_columns"):
        with pytest.raises(ValueError, match=name):
            model.fit(events, 200.0, **{name: -1}, progress=False)
    # Split R-hat needs two draws in each half chain.
    with pytest.raises(ValueError, match="n_samples must be an integer >= 4"):
        model.fit(events, 200.0, n_samples=3, progress=False)
    assert np.isfinite(model.fit(events, 200.0, n_samples=4, n_warmup=5, progress=False).max_rhat)


@pytest.mark.parametrize("conjugate_columns", [0, 2])
def test_longer_chains_are_the_same_chains_run_on(conjugate_columns):
    # 2 chains of 30 draws are far from the limits, so the chains go on to max_samples; the
    # reference is one run of that many draws from the same seed: the same Markov chains.
    mu, alpha, beta = small_network()
    events = simulate_hawkes(mu, alpha, beta, 200.0, seed=0)
    model = HawkesProcessModel(3)
    options = {"n_warmup": 20, "n_chains": 2, "seed": 5, "progress": False, "conjugate_columns": conjugate_columns}
    longer = model.fit(events, 200.0, n_samples=30, max_samples=75, **options)
    assert longer.mu.shape == (2, 75, 3) and not is_converged(longer.max_rhat, longer.min_ess_bulk)
    one_run = model.fit(events, 200.0, n_samples=75, **options)
    for name in ("mu", "alpha", "beta"):
        assert np.array_equal(getattr(longer, name), getattr(one_run, name))
    for move in one_run.acceptance:
        assert np.array_equal(longer.acceptance[move], one_run.acceptance[move], equal_nan=True)
    unchanged = model.fit(events, 200.0, n_samples=30, max_samples=30, **options)
    assert np.array_equal(unchanged.mu, longer.mu[:, :30])
    with pytest.raises(ValueError, match="max_samples must be an integer >= 30"):
        model.fit(events, 200.0, n_samples=30, max_samples=29, **options)


def test_chains_stop_at_the_first_block_that_meets_the_limits():
    # Without events every draw is a Gibbs draw or a beta move on the prior: the limits are met
    # after a few blocks of 60, well before max_samples.
    no_events = [np.array([]), np.array([])]
    post = HawkesProcessModel(2).fit(
        no_events, 0.0, n_samples=60, max_samples=6000, n_warmup=60, n_chains=4, seed=3, progress=False
    )
    n_kept = post.mu.shape[1]
    assert 60 < n_kept < 6000 and n_kept % 60 == 0
    assert is_converged(*worst_diagnostics(post.mu, post.alpha, post.beta))
    before = (post.mu[:, : n_kept - 60], post.alpha[:, : n_kept - 60], post.beta[:, : n_kept - 60])
    assert not is_converged(*worst_diagnostics(*before))


def test_summary_keys_and_shapes():
    mu, alpha, beta = small_network()
    events = simulate_hawkes(mu, alpha, beta, 200.0, seed=0)
    post = HawkesProcessModel(3).fit(events, 200.0, n_samples=60, n_warmup=40, n_chains=3, progress=False)
    s = post.summary()
    assert post.mu.shape == (3, 60, 3) and post.alpha.shape == (3, 60, 3, 3) and post.beta.shape == (3, 60)
    for name, shape in (("mu", (3,)), ("alpha", (3, 3)), ("beta", ())):
        assert set(s[name]) == {"mean", "sd", "q05", "q95", "rhat", "ess_bulk"}
        assert all(np.shape(v) == shape for v in s[name].values())
        assert np.all(s[name]["q05"] <= s[name]["q95"])
    assert post.max_rhat == pytest.approx(max(np.max(s[n]["rhat"]) for n in s))
    assert (post.max_rhat, post.min_ess_bulk) == pytest.approx(worst_diagnostics(post.mu, post.alpha, post.beta))
    assert post.min_ess_bulk == pytest.approx(min(np.min(s[n]["ess_bulk"]) for n in s))


def test_decay_the_likelihood_does_not_see_is_drawn_from_its_prior_in_nearly_independent_draws():
    # alpha[0, 1] is fixed at 0, so the likelihood does not depend on beta[0, 1]: its posterior
    # is its prior, log beta ~ Normal(log 5, 1.5). The independence proposal, fitted to the
    # warm-up's draws of that decay, crosses it in about one step, so the draws are nearly
    # independent (the random walk alone falls well short of half the draws' ESS here).
    mask = np.array([[True, False], [True, True]])
    events = simulate_hawkes([1.0, 1.0], [[0.2, 0.0], [0.3, 0.0]], 2.0, 200.0, seed=3)
    model = HawkesProcessModel(2, beta="pair", alpha_mask=mask, prior=HawkesPrior(beta_median=5.0))
    post = model.fit(events, 200.0, n_samples=1000, n_warmup=200, n_chains=4, seed=0, progress=False)
    log_beta = np.log(post.beta[:, :, 0, 1])
    ess = ess_bulk(log_beta)
    assert ess > 0.5 * log_beta.size
    assert abs(log_beta.mean() - np.log(5.0)) < 4 * 1.5 / np.sqrt(ess)
    assert abs(log_beta.std() / 1.5 - 1) < 4 * np.sqrt(0.5 / ess)
    assert stats.kstest(log_beta[:, ::4].ravel(), stats.norm(np.log(5.0), 1.5).cdf).pvalue > 0.01
