"""snn_fitness.py: the readout and every term of the CMA-ES fitness, against hand counts, loops and closed forms."""

import math

import numpy as np
import pytest
import torch

import snn_fitness


def test_fitness_is_count_cross_entropy_plus_silence_penalty():
    counts = torch.tensor([[[3.0, 1.0], [0.0, 0.0]]])  # (P=1, T=2, 2)
    labels = torch.tensor([0, 1])
    expected = (np.log1p(np.exp(-2.0 / 5.0)) + np.log(2.0)) / 2
    assert snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0).item() == pytest.approx(expected)
    # Mean counts per output are 1.5 and 0.5: 0.5 + 1.5 spikes short of 2 each.
    penalised = snn_fitness.fitness(counts, labels, 5.0, 0.1, 2.0).item()
    assert penalised == pytest.approx(expected + 0.1 * 2.0)
    assert snn_fitness.fitness(counts, labels, 5.0, 0.1, 0.5).item() == pytest.approx(expected)
    assert snn_fitness.predict(counts[0]).tolist() == [0, 0]  # a tie counts as class 0


def test_fitness_penalises_rates_outside_the_band_and_reads_the_last_two_columns():
    # (P=1, T=2, 3 neurons: one hidden, out0, out1) over 10 steps.
    counts = torch.tensor([[[6.0, 3.0, 1.0], [0.0, 0.0, 4.0]]])
    labels = torch.tensor([0, 1])
    base = (np.log1p(np.exp(-2.0 / 5.0)) + np.log1p(np.exp(-4.0 / 5.0))) / 2
    assert snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0).item() == pytest.approx(base)
    assert snn_fitness.predict(counts[0]).tolist() == [0, 1]
    # Mean rates 0.3, 0.15, 0.25 spikes/step; band [0.2, 0.25]: excess 0.05 + 0.05 + 0.
    value = snn_fitness.fitness(
        counts, labels, 5.0, 0.0, 2.0, n_steps=10, rate_floor=0.2, rate_target=0.25, rate_penalty=3.0
    ).item()
    assert value == pytest.approx(base + 3.0 * (0.05 + 0.05 + 0.0) / 3)


def test_the_outputs_rate_target_binds_the_outputs_alone():
    rng = np.random.default_rng(4)
    counts = torch.as_tensor(rng.integers(0, 30, size=(3, 5, 6)), dtype=torch.float64)  # (P, T, 4 hidden + 2 out)
    labels = torch.tensor([0, 1, 1, 0, 1])
    options = {"n_steps": 100, "rate_floor": 0.05, "rate_target": 0.1, "rate_penalty": 2.0}
    plain = snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, **options)
    assert torch.equal(snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, **options, output_rate_target=0.1), plain)
    value = snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, **options, output_rate_target=0.2)
    for p in range(3):
        rates = [counts[p, :, i].mean().item() / 100 for i in range(6)]
        targets = [0.1] * 4 + [0.2] * 2
        band = sum(max(0.0, r - t) + max(0.0, 0.05 - r) for r, t in zip(rates, targets)) / 6
        loss = sum(
            math.log1p(math.exp(-(2 * labels[t].item() - 1) * (counts[p, t, 5] - counts[p, t, 4]).item() / 5))
            for t in range(5)
        )
        assert value[p].item() == pytest.approx(loss / 5 + 2.0 * band)


def test_the_synchrony_penalty_is_the_excess_of_same_step_pairs_per_pair_and_step():
    # (P=1, T=2, 3 hidden + 2 outputs) over 10 steps; pairs given by hand.
    counts = torch.tensor([[[4.0, 2.0, 3.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 2.0]]])
    labels = torch.tensor([0, 1])
    pairs = torch.tensor([[5.0, 0.0]])
    base = snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, n_steps=10)
    # Trial 0: chance (4*2 + 4*3 + 2*3) / 10 = 2.6 pairs, 2.4 beyond it; trial 1: 0 - 0, none.
    value = snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, n_steps=10, sync_penalty=7.0, pairs=pairs)
    assert value.item() == pytest.approx(base.item() + 7.0 * (2.4 / 2) / (10 * 3))
    fewer = snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, n_steps=10, sync_penalty=7.0, pairs=pairs * 0)
    assert torch.equal(fewer, base)  # below chance is not rewarded
    # Two-sided: trial 0's 0 pairs are 2.6 below chance.
    both = snn_fitness.fitness(
        counts, labels, 5.0, 0.0, 2.0, n_steps=10, sync_penalty=7.0, pairs=pairs * 0, sync_two_sided=True
    )
    assert both.item() == pytest.approx(base.item() + 7.0 * (2.6 / 2) / (10 * 3))
    with pytest.raises(ValueError, match="cofiring"):
        snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, sync_penalty=1.0)
    one = snn_fitness.excess_synchrony(counts[..., :1], pairs, 10)
    assert one.tolist() == [0.0]


def test_excess_synchrony_is_zero_for_independent_neurons_and_the_rate_for_lockstep():
    # Closed forms for spike trains at a steady rate r: independent neurons fire together at
    # r^2 per pair and step, which is chance; identical trains at r, an excess of r - r^2.
    rng = np.random.default_rng(0)
    r, n_steps, n = 0.1, 20_000, 4
    independent = rng.random((1, 3, n, n_steps)) < r  # (P, T, n, S)
    lockstep = np.repeat(rng.random((1, 3, 1, n_steps)) < r, n, axis=2)
    for raster, expected in ((independent, 0.0), (lockstep, r - r * r)):
        h = raster.sum(axis=2)  # (P, T, S)
        pairs = torch.as_tensor((h * (h - 1) / 2).sum(axis=-1), dtype=torch.float64)
        counts = torch.as_tensor(raster.sum(axis=-1), dtype=torch.float64)
        excess = snn_fitness.excess_synchrony(counts, pairs, n_steps).item()
        assert excess == pytest.approx(expected, abs=2e-3)
        assert snn_fitness.excess_synchrony(counts, pairs, n_steps, two_sided=True).item() == pytest.approx(
            expected, abs=2e-3
        )
    # Taking turns: the second neuron fires in the step after the first, which fires on even
    # steps only, so they never fire together: r^2 below chance, seen by the two-sided form only.
    first = np.zeros((1, 3, 1, n_steps), dtype=bool)
    first[..., ::2] = rng.random((1, 3, 1, n_steps // 2)) < 2 * r
    turns = np.concatenate([first, np.roll(first, 1, axis=-1)], axis=2)  # (1, 3, 2, S)
    counts = torch.as_tensor(turns.sum(axis=-1), dtype=torch.float64)
    pairs = torch.zeros(1, 3, dtype=torch.float64)
    assert snn_fitness.excess_synchrony(counts, pairs, n_steps).item() == 0.0
    assert snn_fitness.excess_synchrony(counts, pairs, n_steps, two_sided=True).item() == pytest.approx(r * r, abs=2e-3)


def test_the_burst_penalty_is_the_excess_of_repeated_spikes_per_neuron_and_step():
    # (P=1, T=2, 2 hidden + 2 outputs) over 10 steps; repeated spikes given by hand.
    counts = torch.tensor([[[4.0, 2.0, 1.0, 0.0], [1.0, 0.0, 0.0, 2.0]]])
    labels = torch.tensor([0, 1])
    repeats = torch.tensor([[[3.0, 0.0], [1.0, 0.0]]])
    base = snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, n_steps=10)
    # Chance 4^2 * 8 / 100 = 1.28 for a neuron of 4 spikes (3 repeated: 1.72 beyond it),
    # 0.32 for 2 spikes (0 repeated), 0.08 for 1 spike (1 repeated: 0.92 beyond), 0 for none.
    value = snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, n_steps=10, burst_penalty=3.0, repeats=repeats)
    assert value.item() == pytest.approx(base.item() + 3.0 * (1.72 + 0.92) / 4 / 10)
    with pytest.raises(ValueError, match="repeats=True"):
        snn_fitness.fitness(counts, labels, 5.0, 0.0, 2.0, burst_penalty=1.0)


def test_a_trial_too_short_for_a_lag_of_two_steps_has_no_excess_repeats():
    # Brute force: a trial of 1 or 2 steps holds no pair of steps two apart, so no repeat and no
    # chance count; a spike there is no burst.
    for n_steps in (1, 2):
        raster = np.ones((1, 1, 1, n_steps), dtype=bool)
        repeats = torch.as_tensor((raster[..., 2:] & raster[..., :-2]).sum(axis=-1), dtype=torch.float64)
        counts = torch.as_tensor(raster.sum(axis=-1), dtype=torch.float64)
        assert snn_fitness.excess_repeats(counts, repeats, n_steps).item() == 0.0


def test_excess_repeats_is_zero_for_a_steady_rate_and_the_rate_for_bursts_at_the_refractory_limit():
    # Closed forms: a train at a steady rate r repeats at lag 2 at r^2 per step, which is
    # chance; a neuron firing on every other step (rate 1/2, the limit of one refractory step)
    # repeats every spike but the first, 1/2 - 1/4 per step beyond chance.
    rng = np.random.default_rng(1)
    n_steps = 20_000
    steady = rng.random((1, 3, 2, n_steps)) < 0.1
    every_other = np.zeros((1, 3, 2, n_steps), dtype=bool)
    every_other[..., ::2] = True
    for raster, expected in ((steady, 0.0), (every_other, 0.5 - 0.25)):
        repeats = torch.as_tensor((raster[..., 2:] & raster[..., :-2]).sum(axis=-1), dtype=torch.float64)
        counts = torch.as_tensor(raster.sum(axis=-1), dtype=torch.float64)
        assert snn_fitness.excess_repeats(counts, repeats, n_steps).item() == pytest.approx(expected, abs=2e-3)
