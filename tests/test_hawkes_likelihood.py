"""Likelihoods, simulation, goodness of fit and input validation of hawkes_model.

The fast likelihoods are checked against slow double loops written straight from the
equations (``hawkes_reference``), and against closed forms.
"""

import math

import numpy as np
import pytest
from hawkes_reference import slow_target_logliks_continuous, slow_target_logliks_discrete
from scipy import stats

from hawkes_inputs import segment_sums
from hawkes_model import HawkesPrior, HawkesProcessModel, simulate_hawkes


def slow_loglik_continuous(realisations, end_times, mu, alpha, beta, background=None, dt=1.0):
    return slow_target_logliks_continuous(realisations, end_times, mu, alpha, beta, background, dt).sum()


def slow_loglik_discrete(realisations, end_times, mu, alpha, beta, dt, background=None):
    return slow_target_logliks_discrete(realisations, end_times, mu, alpha, beta, dt, background).sum()


@pytest.fixture
def params3():
    rng = np.random.default_rng(3)
    return rng.uniform(0.3, 1.0, 3), rng.uniform(0.0, 0.4, (3, 3)), rng.uniform(0.5, 3.0, (3, 3))


@pytest.mark.parametrize("kind", ["shared", "pair"])
def test_continuous_matches_slow_reference(kind, params3):
    mu, alpha, beta_pair = params3
    ends = [10.0, 7.5, 12.0]
    realisations = [simulate_hawkes(mu, alpha, beta_pair, end, seed=r) for r, end in enumerate(ends)]
    # Integer-valued ties across neurons check the strict t_l < t (a tie never excites).
    realisations.append([np.array([1.0, 2.0, 4.0]), np.array([2.0, 3.0]), np.array([], dtype=float)])
    ends.append(5.0)
    beta = 1.7 if kind == "shared" else beta_pair
    model = HawkesProcessModel(3, beta=kind)
    fast = model.log_likelihood(realisations, ends, mu, alpha, beta)
    assert fast == pytest.approx(slow_loglik_continuous(realisations, ends, mu, alpha, beta), rel=1e-12)


@pytest.mark.parametrize("kind", ["shared", "pair"])
def test_discrete_matches_slow_reference(kind, params3):
    mu, alpha, beta_pair = params3
    dt, ends = 0.1, [5.0, 3.0, 4.2]
    realisations = [
        simulate_hawkes(mu * 3, alpha, beta_pair, end, seed=r, time="discrete", dt=dt) for r, end in enumerate(ends)
    ]
    assert sum(len(a) for r in realisations for a in r) > 40
    beta = 1.7 if kind == "shared" else beta_pair
    model = HawkesProcessModel(3, time="discrete", dt=dt, beta=kind)
    fast = model.log_likelihood(realisations, ends, mu, alpha, beta)
    assert fast == pytest.approx(slow_loglik_discrete(realisations, ends, mu, alpha, beta, dt), rel=1e-12)


def test_discrete_decay_beyond_the_grid_gives_the_next_step_kernel():
    """At beta dt >> 1 the kernel's mass all falls in the next step, also where the float
    difference of two grid times falls an ulp short of a whole step (steps 9 and 10 of
    dt = 1 ms: 0.010 - 0.009 - 0.001 < 0), which exp(-beta * lag) would blow up."""
    dt, end = 0.001, 0.05
    source_steps = np.array([9, 13, 18, 21, 26, 29, 36])
    assert np.all((source_steps + 1) * dt - source_steps * dt - dt < 0)  # the case in question
    realisations = [[source_steps * dt, (source_steps + 1) * dt]]
    mu, alpha = np.array([20.0, 5.0]), np.array([[0.0, 0.0], [0.6, 0.0]])
    beta = np.array([[30.0, 30.0], [1e22, 30.0]])
    fast = HawkesProcessModel(2, time="discrete", dt=dt, beta="pair").log_likelihood(
        realisations, [end], mu, alpha, beta
    )
    assert fast == pytest.approx(slow_loglik_discrete(realisations, [end], mu, alpha, beta, dt), rel=1e-12)


@pytest.mark.parametrize("kind", ["shared", "pair"])
@pytest.mark.parametrize("modulated", [False, True])
def test_discrete_likelihood_with_dead_steps_matches_the_slow_reference(kind, modulated, params3):
    # Dead steps of 2, 0 and 3 after each spike; trials end inside a dead period too.
    mu, alpha, beta_pair = params3
    dt, ends, dead = 0.1, [5.0, 3.0, 4.2], np.array([2, 0, 3])
    background = np.random.default_rng(5).uniform(0.2, 3.0, (3, 50)) if modulated else None
    realisations = [
        simulate_hawkes(mu * 6, alpha, beta_pair, end, seed=r, time="discrete", dt=dt, refractory=dead)
        for r, end in enumerate(ends)
    ]
    assert sum(len(a) for r in realisations for a in r) > 60
    beta = 1.7 if kind == "shared" else beta_pair
    model = HawkesProcessModel(3, time="discrete", dt=dt, beta=kind, background=background, refractory=dead)
    fast = model.log_likelihood(realisations, ends, mu, alpha, beta)
    slow = slow_target_logliks_discrete(realisations, ends, mu, alpha, beta, dt, background, dead).sum()
    assert fast == pytest.approx(slow, rel=1e-12)
    plain = HawkesProcessModel(3, time="discrete", dt=dt, beta=kind, background=background)
    assert plain.log_likelihood(realisations, ends, mu, alpha, beta) < fast  # the dead steps cost nothing
    zero = HawkesProcessModel(3, time="discrete", dt=dt, beta=kind, background=background, refractory=[0, 0, 0])
    assert zero.log_likelihood(realisations, ends, mu, alpha, beta) == pytest.approx(
        plain.log_likelihood(realisations, ends, mu, alpha, beta), rel=1e-12
    )


def test_simulation_with_dead_steps_never_fires_inside_them():
    dead, dt = np.array([3, 0]), 0.01
    events = simulate_hawkes([80.0, 80.0], [[0.3, 0.2], [0.2, 0.3]], 50.0, 20.0, seed=2, time="discrete", dt=dt)
    dead_events = simulate_hawkes(
        [80.0, 80.0], [[0.3, 0.2], [0.2, 0.3]], 50.0, 20.0, seed=2, time="discrete", dt=dt, refractory=dead
    )
    gaps = [np.diff(np.rint(e / dt)) for e in dead_events]
    assert gaps[0].min() == dead[0] + 1  # the shortest interval the dead steps allow, and no shorter
    assert gaps[1].min() == 1
    assert np.diff(np.rint(events[0] / dt)).min() == 1  # without them the neuron fires on consecutive steps


@pytest.mark.parametrize("kind", ["shared", "pair"])
def test_likelihoods_with_a_background_match_slow_references(kind, params3):
    mu, alpha, beta_pair = params3
    dt, ends = 0.5, [10.0, 7.25, 12.0]
    background = np.random.default_rng(5).uniform(0.2, 3.0, (3, 24))  # 12 s of 0.5 s bins
    beta = 1.7 if kind == "shared" else beta_pair
    for time in ("continuous", "discrete"):
        ends_t = ends if time == "continuous" else [10.0, 7.5, 12.0]
        realisations = [
            simulate_hawkes(mu, alpha, beta_pair, end, seed=r, time=time, dt=dt, background=background)
            for r, end in enumerate(ends_t)
        ]
        model = HawkesProcessModel(3, time=time, dt=dt, beta=kind, background=background)
        fast = model.log_likelihood(realisations, ends_t, mu, alpha, beta)
        if time == "continuous":
            slow = slow_loglik_continuous(realisations, ends_t, mu, alpha, beta, background, dt)
        else:
            slow = slow_loglik_discrete(realisations, ends_t, mu, alpha, beta, dt, background)
        assert fast == pytest.approx(slow, rel=1e-12)
        # A background of ones is the constant model, to the last bit.
        ones = HawkesProcessModel(3, time=time, dt=dt, beta=kind, background=np.ones((3, 24)))
        plain = HawkesProcessModel(3, time=time, dt=dt, beta=kind)
        assert ones.log_likelihood(realisations, ends_t, mu, alpha, beta) == plain.log_likelihood(
            realisations, ends_t, mu, alpha, beta
        )


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_simulation_with_a_background_follows_it_bin_by_bin(time):
    # alpha = 0: an inhomogeneous Poisson (Bernoulli) process; mean counts per bin are
    # mu b dt (continuous) and 1 - exp(-mu b dt) (discrete), checked by a chi-square test.
    dt, n_bins, n_real = 0.1, 20, 400
    background = 0.2 + 1.8 * (np.arange(n_bins) % 5 == 0)[None, :] * np.ones((2, 1))
    mu = np.array([4.0, 8.0])
    counts = np.zeros((2, n_bins))
    for r in range(n_real):
        events = simulate_hawkes(
            mu, np.zeros((2, 2)), 1.0, n_bins * dt, seed=r, time=time, dt=dt, background=background
        )
        for j in range(2):
            counts[j] += np.bincount((events[j] / dt + 1e-9).astype(int), minlength=n_bins)
    rate = mu[:, None] * background * dt
    expected = n_real * (rate if time == "continuous" else -np.expm1(-rate))
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, counts.size) > 0.001


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_goodness_of_fit_with_a_background_accepts_the_truth_and_rejects_a_constant_one(time):
    dt, n_bins = 0.1, 10_000
    background = 1 + 0.95 * np.sin(2 * np.pi * np.arange(n_bins) / 200)[None, :] * np.ones((2, 1))
    mu, alpha = np.array([1.2, 0.8]), np.array([[0.0, 0.3], [0.3, 0.0]])
    events = simulate_hawkes(mu, alpha, 5.0, n_bins * dt, seed=6, time=time, dt=dt, background=background)
    truth = HawkesProcessModel(2, time=time, dt=dt, background=background).goodness_of_fit(
        events, n_bins * dt, mu, alpha, 5.0
    )
    constant = HawkesProcessModel(2, time=time, dt=dt).goodness_of_fit(events, n_bins * dt, mu, alpha, 5.0)
    n = np.array([len(e) for e in events])
    assert np.all(stats.kstwo.sf(truth, n) > 0.01)
    assert np.all(stats.kstwo.sf(constant, n) < 0.01)


def test_alpha_zero_gives_poisson_and_bernoulli_closed_forms():
    mu = np.array([0.7, 1.3])
    ends = [20.0, 11.0]
    realisations = [simulate_hawkes(mu, np.zeros((2, 2)), 1.0, end, seed=r) for r, end in enumerate(ends)]
    counts = np.array([sum(len(r[i]) for r in realisations) for i in range(2)])
    poisson = np.sum(counts * np.log(mu) - mu * sum(ends))
    model = HawkesProcessModel(2)
    assert model.log_likelihood(realisations, ends, mu, np.zeros((2, 2)), 3.0) == pytest.approx(poisson, rel=1e-12)

    dt = 0.5
    grid = [
        simulate_hawkes(mu, np.zeros((2, 2)), 1.0, end, seed=r, time="discrete", dt=dt) for r, end in enumerate(ends)
    ]
    counts = np.array([sum(len(r[i]) for r in grid) for i in range(2)])
    n_bins = sum(round(end / dt) for end in ends)
    bernoulli = np.sum(counts * np.log(1 - np.exp(-mu * dt)) - (n_bins - counts) * mu * dt)
    model = HawkesProcessModel(2, time="discrete", dt=dt)
    assert model.log_likelihood(grid, ends, mu, np.zeros((2, 2)), 3.0) == pytest.approx(bernoulli, rel=1e-12)


def test_two_event_hand_computation_in_ticks_convention():
    # One neuron, events at 1 s and 2 s, T = 3 s, mu = 0.5, alpha = 0.4, beta = 2 (tick's
    # HawkesExpKern: kernel alpha beta e^{-beta t}; its loss is (-logL - D T) / N).
    # lambda(1) = 0.5 (strict t_l < t: an event never excites itself);
    # lambda(2) = 0.5 + 0.4 * 2 * e^{-2} = 0.5 + 0.8 * 0.1353352832 = 0.6082682266;
    # compensator = 0.5 * 3 + 0.4 * ((1 - e^{-4}) + (1 - e^{-2}))
    #             = 1.5 + 0.4 * (2 - 0.0183156389 - 0.1353352832) = 2.2385396312.
    by_hand = math.log(0.5) + math.log(0.6082682266) - 2.2385396312
    model = HawkesProcessModel(1)
    value = model.log_likelihood([np.array([1.0, 2.0])], 3.0, [0.5], [[0.4]], 2.0)
    assert value == pytest.approx(by_hand, abs=1e-9)


def test_zero_intensity_at_a_spike_is_minus_infinity():
    model = HawkesProcessModel(2)
    events = [np.array([0.5]), np.array([1.0])]
    assert model.log_likelihood(events, 2.0, [0.0, 1.0], np.zeros((2, 2)), 1.0) == -np.inf
    grid = HawkesProcessModel(2, time="discrete", dt=0.5)
    assert grid.log_likelihood(events, 2.0, [0.0, 1.0], np.zeros((2, 2)), 1.0) == -np.inf


def test_single_realisation_and_memoised_indexing_agree_with_fresh_calls(params3):
    mu, alpha, _ = params3
    first = simulate_hawkes(mu, alpha, 2.0, 30.0, seed=1)
    second = simulate_hawkes(mu, alpha, 2.0, 30.0, seed=2)
    model = HawkesProcessModel(3)
    a = model.log_likelihood(first, 30.0, mu, alpha, 2.0)
    b = model.log_likelihood(second, 30.0, mu, alpha, 2.0)
    assert model.log_likelihood([first], [30.0], mu, alpha, 2.0) == a
    assert HawkesProcessModel(3).log_likelihood(second, 30.0, mu, alpha, 2.0) == b
    # An array changed in place is a different key, not a stale hit.
    first[0][0] += 1e-3
    assert HawkesProcessModel(3).log_likelihood(first, 30.0, mu, alpha, 2.0) == model.log_likelihood(
        first, 30.0, mu, alpha, 2.0
    )


def test_continuous_simulation_has_the_stationary_rate():
    mu = np.array([0.5, 0.3])
    alpha = np.array([[0.2, 0.3], [0.4, 0.1]])
    end = 20000.0
    events = simulate_hawkes(mu, alpha, 3.0, end, seed=5)
    expected = np.linalg.solve(np.eye(2) - alpha, mu)  # (I - alpha)^{-1} mu
    observed = np.array([len(e) / end for e in events])
    assert np.allclose(observed, expected, rtol=0.05)
    assert all(np.all(np.diff(e) >= 0) and e.min() >= 0 and e.max() < end for e in events)


def test_discrete_simulation_follows_the_bernoulli_grid_process():
    # Without excitation every bin spikes with probability 1 - exp(-mu dt).
    dt, end = 0.01, 300.0
    events = simulate_hawkes([20.0], [[0.0]], 1.0, end, seed=2, time="discrete", dt=dt)
    assert len(events[0]) / (end / dt) == pytest.approx(1 - math.exp(-0.2), rel=0.04)
    assert np.allclose(events[0] / dt, np.round(events[0] / dt))


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_goodness_of_fit_accepts_the_truth_and_rejects_a_wrong_model(time):
    mu, alpha, dt = np.array([8.0, 6.0]), np.array([[0.0, 0.5], [0.4, 0.2]]), 0.01
    events = simulate_hawkes(mu, alpha, 20.0, 200.0, seed=4, time=time, dt=dt)
    model = HawkesProcessModel(2, time=time, dt=dt)
    truth = model.goodness_of_fit(events, 200.0, mu, alpha, 20.0)
    wrong = model.goodness_of_fit(events, 200.0, mu, np.zeros((2, 2)), 20.0)
    n = min(len(e) for e in events)
    assert np.all(truth < 1.63 / math.sqrt(n))  # below the 1% KS critical value
    assert np.all(wrong > 2 * truth)
    few = model.goodness_of_fit([events[0], events[1][:1]], 200.0, mu, alpha, 20.0)
    assert np.isnan(few[1]) and np.isfinite(few[0])


def slow_rescaled_intervals(realisations, end, mu, alpha, beta, time, dt, seed, dead=None):
    """Time-rescaled intervals, one loop per event pair (continuous) or per bin (discrete).

    Realisations are laid end to end on one clock per neuron; in discrete time the spike bin
    counts ``-log(1 - u (1 - e^{-lambda dt}))`` with the ``u`` of ``goodness_of_fit``'s seed,
    drawn in its event order (neuron, realisation, time).
    """
    d = len(mu)
    beta = np.broadcast_to(np.asarray(beta, dtype=float), (d, d))
    u = iter(np.random.default_rng(seed).random(sum(len(r[i]) for r in realisations for i in range(d))))
    intervals = []
    for i in range(d):
        clock, last, taus = 0.0, 0.0, []  # clock: compensator at the start of the realisation
        for events in realisations:
            if time == "continuous":

                def compensator(t, i=i, events=events):
                    return mu[i] * t + sum(
                        alpha[i, j] * (1 - math.exp(-beta[i, j] * (t - s)))
                        for j in range(d)
                        for s in events[j]
                        if s < t
                    )

                for t in events[i]:
                    taus.append(clock + compensator(t) - last)
                    last = clock + compensator(t)
                clock += compensator(end)
                continue
            n_steps = int(round(end / dt))
            steps = {j: {int(round(t / dt)) for t in events[j]} for j in range(d)}
            dead_until = -1
            for k in range(n_steps):
                if k <= dead_until:  # a dead bin: intensity 0, the clock stands still
                    continue
                if k in steps[i] and dead is not None:
                    dead_until = k + dead[i]
                lam = mu[i] + sum(
                    alpha[i, j] * (1 - math.exp(-beta[i, j] * dt)) * math.exp(-beta[i, j] * dt * (k - m - 1)) / dt
                    for j in range(d)
                    for m in steps[j]
                    if m < k
                )
                q = lam * dt
                if k in steps[i]:
                    taus.append(clock - last - math.log(1 - next(u) * (1 - math.exp(-q))))
                    last = clock
                else:
                    clock += q
        intervals.append(np.array(taus))
    return intervals


@pytest.mark.parametrize("time", ["continuous", "discrete"])
@pytest.mark.parametrize("beta", [7.0, np.array([[3.0, 12.0, 7.0], [20.0, 5.0, 9.0], [4.0, 6.0, 15.0]])])
def test_goodness_of_fit_matches_a_loop_over_events(time, beta):
    mu, dt, end = np.array([6.0, 4.0, 8.0]), 0.02, 4.0
    alpha = np.array([[0.1, 0.4, 0.0], [0.3, 0.0, 0.2], [0.0, 0.5, 0.1]])
    model = HawkesProcessModel(3, time=time, dt=dt, beta="shared" if np.ndim(beta) == 0 else "pair")
    realisations = [simulate_hawkes(mu, alpha, beta, end, seed=s, time=time, dt=dt) for s in (1, 2)]
    ks = model.goodness_of_fit(realisations, end, mu, alpha, beta, seed=5)
    taus = slow_rescaled_intervals(realisations, end, mu, alpha, beta, time, dt, seed=5)
    expected = [stats.kstest(-np.expm1(-tau), "uniform").statistic for tau in taus]
    assert min(len(tau) for tau in taus) >= 10
    np.testing.assert_allclose(ks, expected, rtol=1e-9)


@pytest.mark.parametrize("beta", [7.0, np.array([[3.0, 12.0, 7.0], [20.0, 5.0, 9.0], [4.0, 6.0, 15.0]])])
def test_goodness_of_fit_with_dead_steps_matches_a_loop_over_bins(beta):
    mu, dt, end, dead = np.array([12.0, 8.0, 16.0]), 0.02, 4.0, np.array([2, 0, 4])
    alpha = np.array([[0.1, 0.4, 0.0], [0.3, 0.0, 0.2], [0.0, 0.5, 0.1]])
    kind = "shared" if np.ndim(beta) == 0 else "pair"
    model = HawkesProcessModel(3, time="discrete", dt=dt, beta=kind, refractory=dead)
    realisations = [
        simulate_hawkes(mu, alpha, beta, end, seed=s, time="discrete", dt=dt, refractory=dead) for s in (1, 2)
    ]
    ks = model.goodness_of_fit(realisations, end, mu, alpha, beta, seed=5)
    taus = slow_rescaled_intervals(realisations, end, mu, alpha, beta, "discrete", dt, seed=5, dead=dead)
    expected = [stats.kstest(-np.expm1(-tau), "uniform").statistic for tau in taus]
    assert min(len(tau) for tau in taus) >= 10
    np.testing.assert_allclose(ks, expected, rtol=1e-9)


def test_goodness_of_fit_with_dead_steps_accepts_their_truth_and_rejects_the_plain_model():
    # A neuron dead for 4 of every few steps: the plain model expects spikes where none can be.
    mu, alpha, dt, dead = np.array([150.0, 100.0]), np.array([[0.0, 0.3], [0.3, 0.0]]), 0.002, np.array([4, 4])
    events = simulate_hawkes(mu, alpha, 300.0, 100.0, seed=4, time="discrete", dt=dt, refractory=dead)
    truth = HawkesProcessModel(2, time="discrete", dt=dt, refractory=dead).goodness_of_fit(
        events, 100.0, mu, alpha, 300.0
    )
    plain = HawkesProcessModel(2, time="discrete", dt=dt).goodness_of_fit(events, 100.0, mu, alpha, 300.0)
    n = min(len(e) for e in events)
    assert np.all(truth < 1.63 / math.sqrt(n))  # below the 1% KS critical value
    assert np.all(plain > 1.63 / math.sqrt(n))


def test_goodness_of_fit_lays_realisations_end_to_end():
    # Without excitation the compensator is mu * t, so 30 short trials rescale exactly like
    # one long realisation made by shifting trial r by r * T: the statistics must agree.
    mu, end, n_trials = np.array([10.0, 40.0]), 0.1, 30
    trials = [simulate_hawkes(mu, np.zeros((2, 2)), 5.0, end, seed=s) for s in range(n_trials)]
    joined = [np.concatenate([trial[j] + r * end for r, trial in enumerate(trials)]) for j in range(2)]
    model = HawkesProcessModel(2)
    split = model.goodness_of_fit(trials, end, mu, np.zeros((2, 2)), 5.0)
    whole = model.goodness_of_fit(joined, n_trials * end, mu, np.zeros((2, 2)), 5.0)
    np.testing.assert_allclose(split, whole, rtol=1e-9)


@pytest.mark.parametrize("time", ["continuous", "discrete"])
def test_goodness_of_fit_rejects_the_true_model_at_its_nominal_rate_on_short_trials(time):
    # Many 100-step trials with a few spikes each: restarting the clock per trial rejected the
    # true Poisson model in 55-100% of data sets; laid end to end, about 5% at the 5% level.
    mu, dt, end, n_sets = np.array([10.0, 20.0, 40.0]), 0.001, 0.1, 40
    model = HawkesProcessModel(3, time=time, dt=dt)
    rejected = 0
    for s in range(n_sets):
        trials = [
            simulate_hawkes(mu, np.zeros((3, 3)), 500.0, end, seed=1000 * s + r, time=time, dt=dt) for r in range(30)
        ]
        ks = model.goodness_of_fit(trials, end, mu, np.zeros((3, 3)), 500.0, seed=s)
        n = np.array([sum(len(trial[j]) for trial in trials) for j in range(3)])
        rejected += int(np.sum(stats.kstwo.sf(ks, n) < 0.05))
    assert rejected / (3 * n_sets) < 0.15  # 5% nominal; 0.15 is > 3 SE away


GOOD = dict(
    events=[np.array([0.1, 0.5]), np.array([0.3])], end_time=1.0, mu=[1.0, 1.0], alpha=np.zeros((2, 2)), beta=1.0
)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(events=[np.array([0.5, 0.1]), np.array([0.3])]), "events.*sorted"),
        (dict(events=[np.array([-0.1, 0.5]), np.array([0.3])]), "events.*>= 0"),
        (dict(events=[np.array([0.1, 1.0]), np.array([0.3])]), "events.*end_time"),
        (dict(events=[np.array([0.1, np.nan]), np.array([0.3])]), "events.*NaN"),
        (dict(events=[np.array([0.1, np.inf]), np.array([0.3])]), "events.*NaN or inf"),
        (dict(events=[np.array([0.1]), np.array([0.3]), np.array([0.2])]), "events.*n_dims"),
        (dict(events=[[np.array([0.1])]]), "events.*n_dims"),
        (dict(events=[]), "events"),
        (dict(events="spikes"), "events"),
        (dict(end_time=[1.0, 2.0]), "end_time"),
        (dict(end_time=np.nan), "end_time"),
        (dict(mu=[1.0, -1.0]), "mu"),
        (dict(mu=[1.0, 1.0, 1.0]), "mu"),
        (dict(alpha=np.zeros(2)), "alpha"),
        (dict(alpha=-np.ones((2, 2))), "alpha"),
        (dict(beta=0.0), "beta"),
        (dict(beta=np.ones((2, 2))), "beta"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(change, match):
    args = {**GOOD, **change}
    with pytest.raises(ValueError, match=match):
        HawkesProcessModel(2).log_likelihood(**args)


@pytest.mark.parametrize(
    "events, match",
    [
        ([np.array([0.1, 0.25]), np.array([0.3])], "events.*grid"),
        ([np.array([0.1, 0.1]), np.array([0.3])], "events.*once per step"),
    ],
)
def test_discrete_bad_input(events, match):
    with pytest.raises(ValueError, match=match):
        HawkesProcessModel(2, time="discrete", dt=0.1).log_likelihood(events, 1.0, [1.0, 1.0], np.zeros((2, 2)), 1.0)


def test_spike_inside_its_dead_steps_is_refused():
    model = HawkesProcessModel(2, time="discrete", dt=0.1, refractory=[2, 0])
    fine = [np.array([0.1, 0.4]), np.array([0.2, 0.3])]
    assert np.isfinite(model.log_likelihood(fine, 1.0, [1.0, 1.0], np.zeros((2, 2)), 1.0))
    with pytest.raises(ValueError, match="neuron 0 fires 2 step.*refractory period of 2"):
        model.log_likelihood([np.array([0.1, 0.3]), np.array([0.2])], 1.0, [1.0, 1.0], np.zeros((2, 2)), 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_dims=0), "n_dims"),
        (dict(n_dims=2, time="hybrid"), "time"),
        (dict(n_dims=2, dt=-1.0), "dt"),
        (dict(n_dims=2, beta="row"), "beta"),
        (dict(n_dims=2, prior={"alpha_mean": 1}), "prior"),
        (dict(n_dims=2, refractory=[1, 1]), "refractory needs time='discrete'"),
        (dict(n_dims=2, time="discrete", refractory=[1]), "refractory must be 2 integers"),
        (dict(n_dims=2, time="discrete", refractory=[1, -1]), "refractory must be 2 integers"),
        (dict(n_dims=2, time="discrete", refractory=[1.5, 1]), "refractory must be 2 integers"),
    ],
)
def test_bad_model_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HawkesProcessModel(**kwargs)


@pytest.mark.parametrize(
    "background, match",
    [
        (np.ones(3), "shape"),
        (np.ones((3, 4)), "shape"),
        (np.zeros((2, 4)), "> 0"),
        (np.full((2, 4), np.nan), "finite"),
        (np.full((2, 1), 1.0), "shorter"),
    ],
)
def test_bad_background(background, match):
    with pytest.raises(ValueError, match=match):
        model = HawkesProcessModel(2, dt=0.5, background=background)
        model.log_likelihood(**GOOD)
    if match == "shorter":
        with pytest.raises(ValueError, match=match):
            simulate_hawkes([1.0, 1.0], np.zeros((2, 2)), 1.0, 1.0, dt=0.5, background=background)


def test_bad_prior_and_pair_beta_shape():
    with pytest.raises(ValueError, match="prior.alpha_mean"):
        HawkesPrior(alpha_mean=-0.1)
    with pytest.raises(ValueError, match="beta"):
        HawkesProcessModel(2, beta="pair").log_likelihood(**{**GOOD, "beta": np.ones((3, 3))})
    with pytest.raises(ValueError, match="mu"):
        simulate_hawkes(np.ones((2, 2)), np.zeros((2, 2)), 1.0, 1.0)
    with pytest.raises(ValueError, match="end_time"):
        simulate_hawkes([1.0], [[0.0]], 1.0, -1.0)


def test_segment_sums_match_a_loop_with_empty_slices_and_keep_minus_inf_in_its_slice():
    x = np.arange(24.0).reshape(2, 12)
    x[1, 7] = -np.inf
    start = np.array([0, 3, 3, 8, 8, 12])  # slices 1 and 3 are empty
    expected = np.array([[x[r, a:b].sum() for a, b in zip(start[:-1], start[1:])] for r in range(2)])
    np.testing.assert_array_equal(segment_sums(x, start), expected)
    assert np.isinf(expected[1, 2]) and np.isfinite(expected[1, [0, 1, 3, 4]]).all()
    full = np.array([0, 5, 12])
    np.testing.assert_array_equal(segment_sums(x, full), np.stack([x[:, :5].sum(1), x[:, 5:].sum(1)], axis=1))
