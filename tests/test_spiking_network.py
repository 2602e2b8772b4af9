"""The LIF network against hand computations and a plain per-trial loop."""

import math

import numpy as np
import pytest
import torch

import spiking_network as sn

DT = 0.001
# tau_mem = dt / ln 2 makes the leak exactly 0.5, so hand-computed potentials are exact.
HALF_LEAK = sn.LIFParams(tau_mem=DT / math.log(2), tau_ref=DT, v_threshold=1.0, v_reset=0.0)
SIZES = {"input": 1, "hidden": 3, "output": 2}


def run_steps(currents, lif, leak, n_ref):
    """Feed a list of scalar currents through ``lif_step``; return potentials and spikes."""
    v = torch.full((1,), lif.v_reset, dtype=torch.float64)
    refractory = torch.zeros(1, dtype=torch.float64)
    potentials, spikes = [], []
    for current in currents:
        v, refractory, s = sn.lif_step(v, refractory, torch.tensor([current], dtype=torch.float64), leak, lif, n_ref)
        potentials.append(v.item())
        spikes.append(int(s.item()))
    return potentials, spikes


def test_leak_and_refractory_steps_from_parameters():
    assert HALF_LEAK.leak(DT) == 0.5
    assert HALF_LEAK.refractory_steps(DT) == 1
    assert sn.LIFParams(tau_ref=0.0025).refractory_steps(0.001) == 2


def test_lif_recurrence_matches_hand_computation():
    # v[k] = 0.5 v[k-1] + I[k]; spike and reset at >= 1; one silent step after a spike.
    potentials, spikes = run_steps([0.6, 0.6, 0.6, 0.6, 2.0, 5.0, 0.3], HALF_LEAK, 0.5, 1)
    # k0: 0.6   k1: 0.3+0.6=0.9   k2: 0.45+0.6=1.05 -> spike, reset 0   k3: refractory, 0
    # k4: 0+2.0 -> spike   k5: refractory (input 5.0 discarded)   k6: 0+0.3
    assert potentials == pytest.approx([0.6, 0.9, 0.0, 0.0, 0.0, 0.0, 0.3])
    assert spikes == [0, 0, 1, 0, 1, 0, 0]


def test_lif_recurrence_with_nonzero_reset():
    lif = sn.LIFParams(tau_mem=HALF_LEAK.tau_mem, tau_ref=0.0, v_threshold=1.0, v_reset=-0.5)
    potentials, spikes = run_steps([1.2, 0.5, 1.0, 0.0], lif, 0.5, 0)
    # start -0.5; k0: -0.25+1.2=0.95   k1: 0.475+0.5=0.975   k2: 0.4875+1.0 -> spike, -0.5
    # k3: -0.25
    assert potentials == pytest.approx([0.95, 0.975, -0.5, -0.25])
    assert spikes == [0, 0, 1, 0]


def random_weights(rng, n_pop, sizes=SIZES, scale=2.0):
    # Multiples of 1/8 keep every sum exact, so batched and looped runs agree bit for bit.
    theta = np.round(rng.normal(0.5, scale, (n_pop, sn.n_parameters(sizes))) * 8) / 8
    return sn.theta_to_weights(torch.as_tensor(theta, dtype=torch.float64), sizes)


def test_zero_input_gives_no_spikes():
    weights = random_weights(np.random.default_rng(1), 5)
    x = torch.zeros(7, 1, 50)
    counts, spikes = sn.simulate_network(weights, x, HALF_LEAK, DT, record=True)
    assert not spikes.any()
    assert not counts.any()


@pytest.mark.parametrize("tau_ref", [0.0, 0.002, 0.003])
def test_refractory_period_holds(tau_ref):
    # A hidden neuron driven far above threshold on every step fires once per n_ref + 1 steps.
    lif = sn.LIFParams(tau_mem=0.005, tau_ref=tau_ref)
    n_ref = lif.refractory_steps(DT)
    sizes = {"input": 1, "hidden": 1, "output": 1}
    weights = {
        "input_hidden": torch.full((1, 1, 1), 10.0),
        "hidden_hidden": torch.zeros(1, 1, 1),
        "hidden_output": torch.zeros(1, 1, 1),
    }
    assert sn.n_parameters(sizes) == 2
    _, spikes = sn.simulate_network(weights, torch.ones(1, 1, 30), lif, DT, record=True)
    times = np.flatnonzero(spikes[0, 0, 1].numpy())
    # The input of step 0 arrives at step 1.
    np.testing.assert_array_equal(times, np.arange(1, 30, n_ref + 1))


def test_synaptic_delay_is_one_step_per_synapse():
    # in0 -> h0 -> h1 -> out1, each synapse strong enough to fire its target on its own.
    sizes = {"input": 1, "hidden": 3, "output": 2}
    w_ih = torch.tensor([[5.0, 0.0, 0.0]])
    w_hh = torch.zeros(3, 3)
    w_hh[0, 1] = 5.0
    w_ho = torch.zeros(3, 2)
    w_ho[1, 1] = 5.0
    weights = {"input_hidden": w_ih[None], "hidden_hidden": w_hh[None], "hidden_output": w_ho[None]}
    x = torch.zeros(1, 1, 20)
    x[0, 0, 5] = 1.0
    counts, spikes = sn.simulate_network(weights, x, HALF_LEAK, DT, record=True)
    fired = {row: np.flatnonzero(spikes[0, 0, row].numpy()).tolist() for row in range(6)}
    assert fired == {0: [5], 1: [6], 2: [7], 3: [], 4: [], 5: [8]}
    assert counts[0, 0].tolist() == [1.0, 1.0, 0.0, 0.0, 1.0]  # h0, h1, h2, out0, out1
    assert sn.n_parameters(sizes) == 3 + 6 + 6


def loop_reference(weights, x, lif, dt, noise=None):
    """The network written out neuron by neuron from the module docstring's equations.

    ``noise[k][i]`` is the noise current ``sigma * xi`` of LIF neuron ``i`` (hidden, then
    output) at step ``k``; None means none.
    """
    w_ih, w_hh, w_ho = (weights[name].tolist() for name in ("input_hidden", "hidden_hidden", "hidden_output"))
    n_in, n_hidden, n_out, n_steps = len(w_ih), len(w_hh), len(w_ho[0]), len(x[0])
    leak, n_ref = math.exp(-dt / lif.tau_mem), round(lif.tau_ref / dt)
    sources = [(w_hh, n_hidden), (w_ho, n_out)]
    v = [[lif.v_reset] * n_hidden, [lif.v_reset] * n_out]
    r = [[0] * n_hidden, [0] * n_out]
    prev_in, prev_h = [0.0] * n_in, [0] * n_hidden
    raster = [[0] * n_steps for _ in range(n_in + n_hidden + n_out)]
    for k in range(n_steps):
        new_spikes = []
        for layer, (w_from_hidden, n) in enumerate(sources):
            layer_spikes = []
            for i in range(n):
                current = sum(prev_h[j] * w_from_hidden[j][i] for j in range(n_hidden))
                if layer == 0:
                    current += sum(prev_in[j] * w_ih[j][i] for j in range(n_in))
                if noise is not None:
                    current += noise[k][layer * n_hidden + i]
                if r[layer][i] > 0:
                    v[layer][i], spike = lif.v_reset, 0
                    r[layer][i] -= 1
                else:
                    u = leak * v[layer][i] + current
                    spike = int(u >= lif.v_threshold)
                    v[layer][i] = lif.v_reset if spike else u
                    r[layer][i] = n_ref if spike else 0
                layer_spikes.append(spike)
            new_spikes.append(layer_spikes)
        for row, s in enumerate([x[j][k] for j in range(n_in)] + new_spikes[0] + new_spikes[1]):
            raster[row][k] = int(s)
        prev_in, prev_h = [x[j][k] for j in range(n_in)], new_spikes[0]
    return raster


@pytest.mark.parametrize("sigma", [0.0, 0.5])
@pytest.mark.parametrize("one_member_per_chunk", [False, True])
@pytest.mark.parametrize("n_in", [1, 2])  # one input neuron takes a broadcast product, more a matmul
@pytest.mark.parametrize("tau_ref", [0.0, 0.001, 0.002])  # 1 step: the counter is the last spikes
@pytest.mark.parametrize("v_reset", [0.0, -0.5])
def test_batched_forward_equals_per_individual_per_trial_loop(
    sigma, one_member_per_chunk, n_in, tau_ref, v_reset, monkeypatch
):
    rng = np.random.default_rng(3)
    n_pop, n_trials, n_steps = 3, 4, 40
    if one_member_per_chunk:  # 4 trials x 5 LIF neurons of state per member
        monkeypatch.setattr(sn, "STATE_CHUNK", 4 * 5)
    lif = sn.LIFParams(tau_mem=HALF_LEAK.tau_mem, tau_ref=tau_ref, v_threshold=1.0, v_reset=v_reset, sigma=sigma)
    weights = random_weights(rng, n_pop, {**SIZES, "input": n_in})
    x = torch.as_tensor(rng.random((n_trials, n_in, n_steps)) < 0.5)
    counts, spikes = sn.simulate_network(weights, x, lif, DT, torch.Generator().manual_seed(9), record=True)
    # The same draw, as the network makes it: one (step, trial, neuron) block for everyone.
    noise = sn.draw_noise(lif, n_steps, n_trials, 5, torch.Generator().manual_seed(9), torch.float64)
    assert spikes.shape == (n_pop, n_trials, n_in + 5, n_steps) and spikes.dtype == torch.bool
    assert spikes[:, :, n_in:].any() and not spikes[:, :, n_in:].all()  # the test is not vacuous
    for p in range(n_pop):
        single = {name: w[p] for name, w in weights.items()}
        for t in range(n_trials):
            trial_noise = None if noise is None else noise[:, t].tolist()
            expected = loop_reference(single, x[t].int().tolist(), lif, DT, trial_noise)
            np.testing.assert_array_equal(spikes[p, t].int().numpy(), expected)
            assert counts[p, t].tolist() == [sum(row) for row in expected[n_in:]]


@pytest.mark.parametrize("one_member_per_chunk", [False, True])
def test_cofiring_counts_the_same_step_pairs_of_hidden_neurons_like_a_loop_over_the_raster(
    one_member_per_chunk, monkeypatch
):
    if one_member_per_chunk:
        monkeypatch.setattr(sn, "STATE_CHUNK", 6 * 5)
    rng = np.random.default_rng(8)
    lif = sn.LIFParams(tau_mem=HALF_LEAK.tau_mem, tau_ref=DT, sigma=0.5)
    weights = random_weights(rng, 3)
    x = torch.as_tensor(rng.random((6, 1, 50)) < 0.5)
    counts, spikes, pairs = sn.simulate_network(
        weights, x, lif, DT, torch.Generator().manual_seed(2), record=True, cofiring=True
    )
    alone = sn.simulate_network(weights, x, lif, DT, torch.Generator().manual_seed(2), cofiring=True)
    assert torch.equal(alone[0], counts) and torch.equal(alone[1], pairs)
    hidden = spikes[:, :, 1 : 1 + SIZES["hidden"]].int().tolist()  # (P, T, 3, S)
    expected = [
        [
            sum(trial[i][k] * trial[j][k] for i in range(3) for j in range(i + 1, 3) for k in range(50))
            for trial in member
        ]
        for member in hidden
    ]
    assert pairs.shape == (3, 6) and pairs.tolist() == expected
    assert 0 < pairs.sum() < counts[..., :3].sum()  # some pairs fire together, not every spike


def test_noise_enters_the_recurrence_as_a_current():
    # One hidden and one output neuron with no synapses: v[k] = 0.5 v[k-1] + sigma xi[k],
    # spike and reset at >= 1, one silent step after a spike; xi drawn by hand here.
    lif = sn.LIFParams(tau_mem=HALF_LEAK.tau_mem, tau_ref=DT, sigma=0.8)
    weights = {
        "input_hidden": torch.zeros(1, 1, 1, dtype=torch.float64),
        "hidden_hidden": torch.zeros(1, 1, 1, dtype=torch.float64),
        "hidden_output": torch.zeros(1, 1, 1, dtype=torch.float64),
    }
    n_steps = 60
    _, spikes = sn.simulate_network(
        weights, torch.zeros(1, 1, n_steps), lif, DT, torch.Generator().manual_seed(4), record=True
    )
    xi = torch.randn(n_steps, 1, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)[:, 0]
    for neuron in range(2):
        v, silent, expected = 0.0, 0, []
        for k in range(n_steps):
            if silent:
                v, silent, spike = 0.0, 0, 0
            else:
                v = 0.5 * v + 0.8 * xi[k, neuron].item()
                spike = int(v >= 1.0)
                if spike:
                    v, silent = 0.0, 1
            expected.append(spike)
        assert 0 < sum(expected) < n_steps / 2  # noise alone fires it, sometimes
        np.testing.assert_array_equal(spikes[0, 0, 1 + neuron].int().numpy(), expected)


def test_noise_is_common_to_the_population_and_independent_across_neurons_and_trials():
    lif = sn.LIFParams(sigma=0.6)
    one = random_weights(np.random.default_rng(5), 1)
    twins = {name: w.expand(2, -1, -1).clone() for name, w in one.items()}
    x = torch.as_tensor(np.random.default_rng(6).random((20, 1, 200)) < 0.3)
    _, spikes = sn.simulate_network(twins, x, lif, DT, torch.Generator().manual_seed(1), record=True)
    assert torch.equal(spikes[0], spikes[1])  # common random numbers
    _, again = sn.simulate_network(one, x, lif, DT, torch.Generator().manual_seed(1), record=True)
    assert torch.equal(again[0], spikes[0])  # same seed, same spikes
    _, other = sn.simulate_network(one, x, lif, DT, torch.Generator().manual_seed(2), record=True)
    assert not torch.equal(other[0], spikes[0])
    noise = sn.draw_noise(lif, 4000, 3, 5, torch.Generator().manual_seed(0))
    assert noise.shape == (4000, 3, 5)
    assert noise.std().item() == pytest.approx(0.6, rel=0.02)
    flat = noise.reshape(4000, 15).T.double()
    off_diagonal = torch.corrcoef(flat)[~torch.eye(15, dtype=torch.bool)]
    assert off_diagonal.abs().max().item() < 5 / np.sqrt(4000)  # independent streams
    assert sn.draw_noise(sn.LIFParams(), 10, 2, 3, None) is None
    with pytest.raises(ValueError, match="Generator"):
        sn.simulate_network(one, x, lif, DT)


def test_theta_round_trip():
    sizes = sn.DEFAULT_LAYER_SIZES
    n_params = sn.n_parameters(sizes)
    assert n_params == 10 + 10 * 9 + 20
    generator = torch.Generator().manual_seed(0)
    theta = torch.randn(4, n_params, dtype=torch.float64, generator=generator)
    weights = sn.theta_to_weights(theta, sizes)
    assert {name: tuple(w.shape) for name, w in weights.items()} == {
        "input_hidden": (4, 1, 10),
        "hidden_hidden": (4, 10, 10),
        "hidden_output": (4, 10, 2),
    }
    assert not torch.diagonal(weights["hidden_hidden"], dim1=-2, dim2=-1).any()
    assert torch.equal(sn.weights_to_theta(weights, sizes), theta)
    # Every theta entry lands in exactly one matrix entry.
    assert sum(int((w != 0).sum()) for w in weights.values()) == int((theta != 0).sum())
    again = sn.theta_to_weights(sn.weights_to_theta(weights, sizes), sizes)
    assert all(torch.equal(again[name], weights[name]) for name in weights)


def test_weight_limits_clip_only_the_named_matrices():
    sizes = sn.DEFAULT_LAYER_SIZES
    theta = 3 * torch.randn(2, sn.n_parameters(sizes), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    free = sn.theta_to_weights(theta, sizes)
    limits = {"input_hidden": 0.5, "hidden_hidden": 2.0}
    bounded = sn.theta_to_weights(theta, sizes, limits)
    for name, limit in limits.items():
        # An entry-by-entry reference: min(max(w, -limit), limit).
        expected = torch.tensor(
            [[[min(max(w, -limit), limit) for w in row] for row in matrix] for matrix in free[name].tolist()],
            dtype=torch.float64,
        )
        assert torch.equal(bounded[name], expected)
        assert (free[name].abs() > limit).any()  # the limit did bite
    assert torch.equal(bounded["hidden_output"], free["hidden_output"])
    # The clipped weights map back to themselves.
    again = sn.theta_to_weights(sn.weights_to_theta(bounded, sizes), sizes, limits)
    assert all(torch.equal(again[name], bounded[name]) for name in bounded)


def test_min_weight_removes_every_weaker_synapse_and_keeps_the_rest():
    sizes = sn.DEFAULT_LAYER_SIZES
    theta = torch.randn(3, sn.n_parameters(sizes), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    free = sn.theta_to_weights(theta, sizes)
    pruned = sn.theta_to_weights(theta, sizes, {"hidden_hidden": 1.2}, min_weight=0.5)
    for name, matrix in free.items():
        limit = 1.2 if name == "hidden_hidden" else float("inf")
        # An entry-by-entry reference: 0 below the smallest magnitude, clipped at the limit.
        expected = torch.tensor(
            [[[0.0 if abs(w) < 0.5 else min(max(w, -limit), limit) for w in r] for r in m] for m in matrix.tolist()],
            dtype=torch.float64,
        )
        assert torch.equal(pruned[name], expected)
        assert ((matrix != 0) & (matrix.abs() < 0.5)).any()  # the smallest magnitude did bite
    again = sn.theta_to_weights(sn.weights_to_theta(pruned, sizes), sizes, {"hidden_hidden": 1.2}, min_weight=0.5)
    assert all(torch.equal(again[name], pruned[name]) for name in pruned)


@pytest.mark.parametrize("lateral_floor, expected_floor", [(0.8, 0.8), (0.3, 0.5)])
def test_a_floor_of_its_own_prunes_one_matrix_and_the_stronger_floor_holds(lateral_floor, expected_floor):
    sizes = sn.DEFAULT_LAYER_SIZES
    theta = torch.randn(3, sn.n_parameters(sizes), dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    free = sn.theta_to_weights(theta, sizes)
    pruned = sn.theta_to_weights(theta, sizes, min_weight=0.5, floors={"hidden_hidden": lateral_floor})
    for name, matrix in free.items():
        floor = expected_floor if name == "hidden_hidden" else 0.5
        expected = torch.tensor(
            [[[0.0 if abs(w) < floor else w for w in r] for r in m] for m in matrix.tolist()], dtype=torch.float64
        )
        assert torch.equal(pruned[name], expected)
    lateral = free["hidden_hidden"].abs()
    assert ((lateral >= 0.5) & (lateral < 0.8)).any()  # the lateral floor had weights to remove


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"v_reset": 1.0}, "v_reset"),
        ({"v_reset": 1.5, "v_threshold": 1.0}, "v_reset"),
        ({"tau_mem": 0.0}, "tau_mem"),
        ({"tau_ref": -0.001}, "tau_ref"),
        ({"sigma": -1.0}, "sigma"),
        ({"v_threshold": float("nan")}, "v_threshold"),
        ({"tau_mem": "5 ms"}, "tau_mem"),
    ],
)
def test_lif_params_refuse_settings_without_a_working_neuron(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        sn.LIFParams(**kwargs)


def test_a_reset_just_below_threshold_is_allowed_and_does_not_fire_by_itself():
    lif = sn.LIFParams(tau_mem=0.005, tau_ref=0.002, v_threshold=1.0, v_reset=0.999)
    v = torch.full((1, 1), lif.v_reset)
    refractory = torch.zeros((1, 1))
    for _ in range(5):  # no input: the potential decays from the reset, never reaching threshold
        v, refractory, spikes = sn.lif_step(v, refractory, torch.zeros((1, 1)), lif.leak(0.001), lif, 2)
        assert spikes.item() == 0


def test_repeats_count_each_hidden_neurons_spikes_two_steps_after_its_own_like_a_loop_over_the_raster():
    rng = np.random.default_rng(9)
    lif = sn.LIFParams(tau_mem=HALF_LEAK.tau_mem, tau_ref=DT, sigma=0.5)
    weights = random_weights(rng, 3)
    x = torch.as_tensor(rng.random((6, 1, 50)) < 0.5)
    counts, spikes, pairs, repeats = sn.simulate_network(
        weights, x, lif, DT, torch.Generator().manual_seed(2), record=True, cofiring=True, repeats=True
    )
    alone = sn.simulate_network(weights, x, lif, DT, torch.Generator().manual_seed(2), repeats=True)
    assert torch.equal(alone[0], counts) and torch.equal(alone[1], repeats)  # counting changes no spike
    hidden = spikes[:, :, 1 : 1 + SIZES["hidden"]].int().tolist()  # (P, T, 3, S)
    expected = [
        [[sum(train[k] * train[k - 2] for k in range(2, 50)) for train in trial] for trial in member]
        for member in hidden
    ]
    assert repeats.shape == (3, 6, 3) and repeats.tolist() == expected
    assert 0 < repeats.sum() < counts[..., :3].sum()


def test_lif_step_writes_its_spikes_into_out_and_its_potential_into_the_current():
    lif = sn.LIFParams(tau_mem=0.005, tau_ref=0.003)
    v, refractory = torch.tensor([0.5, 0.5, 0.0]), torch.tensor([0.0, 0.0, 2.0])
    current, out = torch.tensor([0.2, 0.9, 5.0]), torch.full((3,), 7.0)
    expected = sn.lif_step(v.clone(), refractory.clone(), current.clone(), lif.leak(0.001), lif, 3)
    new_v, new_refractory, spikes = sn.lif_step(v, refractory, current, lif.leak(0.001), lif, 3, out=out)
    assert spikes is out and new_v is current and new_refractory is refractory
    assert torch.equal(spikes, torch.tensor([0.0, 1.0, 0.0])) and torch.equal(
        new_refractory, torch.tensor([0.0, 3.0, 1.0])
    )
    for got, want in zip((new_v, new_refractory, spikes), expected):
        assert torch.equal(got, want)
