"""train_snn.py and snn_training.py: the data, a tiny in-process run against the file contract, bad input.

The spike file's loader and layout are tested on their own in test_spike_file.py."""

import pickle
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import snn_figures
import snn_fitness
import snn_options
import snn_session
import snn_training
import spiking_network as sn
import train_snn
from spike_file import REQUIRED_KEYS, load_spike_trains, weight_shapes

TINY = [
    "--n-train",
    "16",
    "--n-test",
    "8",
    "--n-steps",
    "30",
    "--n-hidden",
    "4",
    "--population",
    "4",
    "--generations",
    "3",
    "--seed",
    "7",
    "--noise-sigma",
    "0.3",
    "--rate-penalty",
    "0.5",
    "--n-validation",
    "8",
    "--cma-runs",
    "2",
]


def tiny_run(tmp_path, name="spikes.pkl"):
    out = tmp_path / name
    train_snn.main(TINY + ["--spike-file", str(out), "--figure-dir", str(tmp_path / "figures")])
    return out


@pytest.fixture(scope="module")
def spike_file(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("run"))


def test_class_rates_follow_the_original_formulas():
    rates = snn_training.class_rates(100, 10.0, 15.0)
    t = np.arange(100) / 99  # linspace(0, 1, 100): normalised trial time
    np.testing.assert_allclose(rates[0], 0.5 * (1 + np.sin(10 * np.pi * t)), atol=1e-12)
    np.testing.assert_allclose(rates[1], 0.5 * (1 + np.cos(15 * np.pi * t)), atol=1e-12)
    assert rates[0, 0] == pytest.approx(0.5) and rates[1, 0] == pytest.approx(1.0)


def test_generated_classes_have_the_right_per_step_means():
    rates = snn_training.class_rates(50, 10.0, 15.0)
    spikes, labels = snn_training.generate_trials(8000, rates, np.random.default_rng(0))
    assert spikes.shape == (8000, 1, 50) and spikes.dtype == bool
    assert np.bincount(labels).tolist() == [4000, 4000]
    for label in (0, 1):
        means = spikes[labels == label, 0].mean(axis=0)
        # 5 standard errors of a Bernoulli mean over 4000 trials (at most 0.0079 each).
        np.testing.assert_allclose(means, rates[label], atol=5 * 0.5 / np.sqrt(4000))


@pytest.mark.parametrize("penalty", ["--sync-penalty", "--burst-penalty"])
def test_each_regime_penalty_reaches_the_training_fitness(penalty):
    # Every run starts with equal input weights, a hidden layer in lockstep: the first
    # generation's candidates and noise are the same with and without the penalty, and only
    # the penalty's term can raise their fitness.
    histories = []
    for extra in ([penalty, "0"], [penalty, "50"]):
        args = train_snn.parse_args(TINY + extra)
        histories.append(snn_session.run_training(args, snn_session.training_problem(args))[1])
    plain, penalised = (h["best_fitness"][0] for h in histories)
    assert penalised > plain


def test_noise_generators_are_seeded_and_distinct():
    draw = [
        torch.randn(5, generator=snn_training.noise_generator(seed, purpose))
        for seed in (0, 1)
        for purpose in ("train", "record")
    ]
    again = torch.randn(5, generator=snn_training.noise_generator(0, "train"))
    assert torch.equal(draw[0], again)
    assert all(not torch.equal(draw[i], draw[j]) for i in range(4) for j in range(i))


def test_new_streams_leave_the_earlier_streams_unchanged():
    # "train" and "record" must be the streams of spawn(2), as before "select" existed, "select"
    # that of spawn(3), as before "cull" existed, and "cull" that of spawn(4), before "check".
    for n, purposes in (
        (2, ("train", "record")),
        (3, ("train", "record", "select")),
        (4, ("train", "record", "select", "cull")),
    ):
        for index, purpose in enumerate(purposes):
            child = np.random.SeedSequence(3).spawn(n)[index]
            old = torch.Generator().manual_seed(int(child.generate_state(1, np.uint64)[0] >> 1))
            assert torch.equal(
                torch.randn(5, generator=old), torch.randn(5, generator=snn_training.noise_generator(3, purpose))
            )
    purposes = ("train", "record", "select", "cull", "check")
    draws = [torch.randn(5, generator=snn_training.noise_generator(3, purpose)) for purpose in purposes]
    assert all(not torch.equal(draws[i], draws[j]) for i in range(5) for j in range(i))


@pytest.mark.parametrize("sigma, draws, sync", [(0.0, 1, 0.0), (0.3, 3, 0.0), (0.3, 2, 20.0)])
def test_select_weights_picks_the_most_accurate_then_the_fittest_like_a_per_candidate_loop(sigma, draws, sync):
    sizes = {"input": 1, "hidden": 3, "output": 2}
    lif = sn.LIFParams(sigma=sigma)
    n_params = sn.weights_to_theta(
        {name: torch.zeros(shape) for name, shape in weight_shapes(sizes).items()}, sizes
    ).numel()
    candidates = np.random.default_rng(1).normal(0.0, 1.5, (6, n_params))
    spikes, labels = snn_training.generate_trials(
        20, snn_training.class_rates(40, 10.0, 15.0), np.random.default_rng(2)
    )
    spikes, labels = torch.as_tensor(spikes), torch.as_tensor(labels)
    options = {
        "temperature": 5.0,
        "silence_penalty": 0.1,
        "min_count": 2.0,
        "rate_floor": 0.02,
        "rate_target": 0.1,
        "rate_penalty": 0.5,
        "sync_penalty": sync,
    }
    candidates = np.concatenate([candidates, candidates[:2]])  # exact ties of accuracy and fitness
    reference, spread = [], []  # one candidate at a time, every trial `draws` times, the same noise for each
    for row in candidates:
        weights = sn.theta_to_weights(torch.as_tensor(row[None], dtype=torch.float32), sizes)
        counts, pairs = sn.simulate_network(
            weights, spikes.repeat(draws, 1, 1), lif, 0.001, torch.Generator().manual_seed(3), cofiring=True
        )
        per_draw = [(snn_fitness.predict(c) == labels).double().mean().item() for c in counts[0].split(20)]
        spread.append(np.ptp(per_draw))
        fitness = snn_fitness.fitness(counts, labels.repeat(draws), n_steps=40, pairs=pairs, **options).item()
        reference.append((-round(float(np.mean(per_draw)), 12), fitness))
    assert len({r[0] for r in reference}) < len(reference)  # some accuracies tie
    assert (max(spread) > 0) == (draws > 1)  # the draws differ: a choice on the first alone is another
    for order in (np.arange(8), np.arange(8)[::-1]):
        inputs = (candidates[order], sizes, lif, 0.001, spikes, labels, options)
        cpu = torch.device("cpu")
        ranked = snn_training.rank_candidates(*inputs, torch.Generator().manual_seed(3), cpu, draws=draws)
        chosen = snn_training.select_weights(*inputs, torch.Generator().manual_seed(3), cpu, draws=draws)
        expected = sorted(range(8), key=lambda k: (reference[order[k]], k))  # first of equals first
        assert ranked.tolist() == expected
        assert chosen == expected[0]


def test_candidate_pools_nest_as_the_selection_benchmark_reads_them():
    from benchmarks.selection import pool

    def pool_args(generations):
        return train_snn.parse_args(TINY + ["--select-generations", str(generations)])

    args = pool_args(2)
    problem = snn_session.training_problem(args)
    small, history = snn_session.run_training(args, problem)
    large, same_history = snn_session.run_training(pool_args(3), problem)
    assert small.shape == (args.cma_runs * (2 + 2), sn.n_parameters(problem["layer_sizes"]))
    assert large.shape[0] == args.cma_runs * (2 + 3)
    np.testing.assert_array_equal(snn_session.run_training(pool_args(5), problem)[0], large)  # 3 exist
    np.testing.assert_array_equal(pool(large, args.cma_runs, 2), small)
    np.testing.assert_array_equal(history["best_fitness"], same_history["best_fitness"])
    theta, _ = snn_session.train(args, problem)
    np.testing.assert_array_equal(theta, small[snn_session.choose(args, problem, small, args.select_draws)])


def test_restarts_train_new_runs_until_the_choice_is_accurate_enough_on_the_validation_trials(tmp_path, capsys):
    args = train_snn.parse_args(TINY + ["--restarts", "2", "--restart-below", "1"])
    problem = snn_session.training_problem(args)
    pools = [snn_session.run_training(args, problem, restart=restart)[0] for restart in range(3)]
    assert not np.array_equal(pools[0], pools[1])  # a restart trains new runs
    # The rule by hand, through the choice of a training without restarts: stop at the first
    # pool whose chosen candidate classifies every validation trial under every draw.
    for trainings in (1, 2, 3):
        pool = np.concatenate(pools[:trainings])
        chosen = snn_session.choose(args, problem, pool, args.select_draws)
        accuracy, _ = snn_session.on_validation(
            snn_training.judge_candidates, args, problem, pool[chosen][None], args.select_draws, "select"
        )
        if accuracy[0] == 1:
            break
    assert trainings > 1  # the tiny training is not perfect, so the test sees a restart
    theta, history = snn_session.train(args, problem)
    np.testing.assert_array_equal(theta, pool[chosen])
    assert len(history["best_fitness"]) == trainings * args.generations
    train_snn.main(
        TINY + ["--restarts", "2", "--restart-below", "1", "--spike-file", str(tmp_path / "s.pkl"), "--no-figures"]
    )
    assert (
        f"trainings: {trainings} of at most 3 (--restart-below 1.0 on the validation trials)" in capsys.readouterr().out
    )
    assert len(load_spike_trains(tmp_path / "s.pkl")["history"]["best_fitness"]) == trainings * args.generations
    # Never below 0: no restart, the training of --restarts 0 bit for bit.
    for flags in (["--restarts", "2", "--restart-below", "0"], ["--restarts", "0", "--restart-below", "1"]):
        plain_theta, plain_history = snn_session.train(train_snn.parse_args(TINY + flags), problem)
        np.testing.assert_array_equal(plain_theta, snn_session.train(train_snn.parse_args(TINY), problem)[0])
        assert len(plain_history["best_fitness"]) == args.generations


def check_accuracy_by_hand(args, problem, theta):
    """The chosen weights' accuracy on the check trials: each trial repeated per draw, one simulation."""
    spikes, labels = (torch.as_tensor(array) for array in problem["trials"]["check"])
    weights = sn.theta_to_weights(
        torch.as_tensor(theta[None], dtype=torch.float32), problem["layer_sizes"], **problem["weight_options"]
    )
    counts = sn.simulate_network(
        weights,
        spikes.repeat(args.select_draws, 1, 1),
        problem["lif"],
        args.dt,
        snn_training.noise_generator(args.seed, "check"),
    )
    return (snn_fitness.predict(counts[0]) == labels.repeat(args.select_draws)).double().mean().item()


def test_restarts_with_check_trials_judge_the_choice_on_trials_that_no_choice_saw(tmp_path, capsys):
    flags = ["--restarts", "2", "--restart-below", "0.55", "--n-check", "40"]
    args = train_snn.parse_args(TINY + flags)
    problem = snn_session.training_problem(args)
    # The check trials are drawn after the others, which stay as they were.
    plain = snn_session.training_problem(train_snn.parse_args(TINY))
    assert sorted(problem["trials"]) == sorted([*plain["trials"], "check"])
    for split, (spikes, labels) in plain["trials"].items():
        np.testing.assert_array_equal(problem["trials"][split][0], spikes)
        np.testing.assert_array_equal(problem["trials"][split][1], labels)
    assert problem["trials"]["check"][0].shape == (40, 1, args.n_steps)
    # The rule by hand: stop at the first training whose choice (on the validation trials, among
    # every training's candidates) reaches 0.55 on the check trials.
    pools = [snn_session.run_training(args, problem, restart=restart)[0] for restart in range(3)]
    choices, validation, check = [], [], []
    for trainings in (1, 2, 3):
        pool = np.concatenate(pools[:trainings])
        choices.append(pool[snn_session.choose(args, problem, pool, args.select_draws)])
        accuracy, _ = snn_session.on_validation(
            snn_training.judge_candidates, args, problem, choices[-1][None], args.select_draws, "select"
        )
        validation.append(accuracy[0])
        check.append(check_accuracy_by_hand(args, problem, choices[-1]))

    def trainings_until(accuracies):  # the last training ends the restarts whatever its accuracy
        return next((k + 1 for k, accuracy in enumerate(accuracies[:-1]) if accuracy >= 0.55), len(accuracies))

    by_check = trainings_until(check)
    assert by_check != trainings_until(validation)  # here the two rules differ, so the test tells them apart
    trained, history = snn_session.train(args, problem)
    np.testing.assert_array_equal(trained, choices[by_check - 1])
    assert len(history["best_fitness"]) == by_check * args.generations
    train_snn.main(TINY + flags + ["--spike-file", str(tmp_path / "s.pkl"), "--no-figures"])
    assert f"trainings: {by_check} of at most 3 (--restart-below 0.55 on 40 check trials)" in capsys.readouterr().out


def test_two_runs_with_one_seed_give_identical_files(tmp_path):
    first = tiny_run(tmp_path).read_bytes()
    assert tiny_run(tmp_path).read_bytes() == first
    # Written elsewhere, the same bytes: the stored config leaves the output paths out.
    assert tiny_run(tmp_path / "elsewhere", "other.pkl").read_bytes() == first
    # Without figures, the same bytes too, and no figure folder.
    bare = tmp_path / "bare"
    train_snn.main(
        TINY + ["--spike-file", str(bare / "spikes.pkl"), "--figure-dir", str(bare / "figures"), "--no-figures"]
    )
    assert (bare / "spikes.pkl").read_bytes() == first
    assert sorted(p.name for p in bare.iterdir()) == ["spikes.pkl"]


def test_training_reports_every_generation_and_the_report_changes_nothing():
    args = train_snn.parse_args(TINY)
    problem = snn_session.training_problem(args)
    assert {name: len(labels) for name, (_, labels) in problem["trials"].items()} == {
        "train": 16,
        "test": 8,
        "validation": 8,
    }
    reports = []
    theta, history = snn_session.train(args, problem, lambda generation, means: reports.append((generation, means)))
    assert [generation for generation, _ in reports] == [0, 1, 2]
    n_parameters = sn.n_parameters(problem["layer_sizes"])
    assert all(means.shape == (2, n_parameters) for _, means in reports)  # one mean per CMA-ES run
    assert not np.array_equal(reports[0][1], reports[-1][1])  # the means moved
    silent_theta, silent_history = snn_session.train(args, snn_session.training_problem(args))
    np.testing.assert_array_equal(theta, silent_theta)
    np.testing.assert_array_equal(history["best_fitness"], silent_history["best_fitness"])


def test_spike_file_matches_the_contract(spike_file):
    record = load_spike_trains(spike_file)
    assert list(record) == list(REQUIRED_KEYS)
    assert record["format"] == "snn-spike-trains" and record["version"] == 1
    assert record["dt"] == 0.001 and record["n_steps"] == 30 and record["seed"] == 7
    assert list(record["layer_sizes"].items()) == [("input", 1), ("hidden", 4), ("output", 2)]
    assert record["neuron_labels"] == ["in0", "h0", "h1", "h2", "h3", "out0", "out1"]
    assert record["class_names"] == ["sine", "cosine"]
    spikes, labels, predictions = record["spikes"], record["labels"], record["predictions"]
    assert spikes.shape == (24, 7, 30) and spikes.dtype == np.bool_
    assert labels.dtype == np.int64 and predictions.dtype == np.int64
    assert record["split"].tolist() == ["train"] * 16 + ["test"] * 8
    assert {name: w.shape for name, w in record["weights"].items()} == {
        "input_hidden": (1, 4),
        "hidden_hidden": (4, 4),
        "hidden_output": (4, 2),
    }
    assert all(w.dtype == np.float64 for w in record["weights"].values())
    # The stored weights, run on the stored input spikes, reproduce every stored spike.
    weights = {name: torch.as_tensor(w, dtype=torch.float32)[None] for name, w in record["weights"].items()}
    lif = sn.LIFParams(**record["lif"])
    assert lif.sigma > 0  # the default network is noisy
    _, rerun = sn.simulate_network(
        weights,
        torch.as_tensor(spikes[:, :1]),
        lif,
        record["dt"],
        snn_training.noise_generator(record["seed"], "record"),
        record=True,
    )
    np.testing.assert_array_equal(rerun[0].numpy(), spikes)
    # Predictions are the count readout of the stored output spikes; metrics match them.
    out_counts = spikes[:, -2:].sum(axis=2)
    np.testing.assert_array_equal(predictions, (out_counts[:, 1] > out_counts[:, 0]).astype(int))
    for split in ("train", "test"):
        mask = record["split"] == split
        metrics = record["metrics"][split]
        assert metrics["accuracy"] == pytest.approx(np.mean(predictions[mask] == labels[mask]))
        true_pos = np.sum((predictions[mask] == 1) & (labels[mask] == 1))
        if predictions[mask].sum():
            assert metrics["precision"] == pytest.approx(true_pos / predictions[mask].sum())
        assert metrics["recall"] == pytest.approx(true_pos / labels[mask].sum())
        assert all(type(value) is float for value in metrics.values())
    assert all(len(h) == 3 for h in record["history"].values())
    assert record["config"]["population"] == 4
    assert (spike_file.parent / "figures" / "example_spiking_trains.png").stat().st_size > 0
    assert (spike_file.parent / "figures" / "training_curve.png").stat().st_size > 0


@pytest.mark.parametrize(
    "cull, training_length, marks",
    [(None, None, []), ((4, 2), None, [4]), ((4, 2), 10, [4]), (None, 5, [5]), ((4, 2), 5, [4, 5, 9])],
)
def test_the_training_curve_marks_the_culls_and_restarts_on_both_axes_and_nothing_else(cull, training_length, marks):
    history = {key: np.linspace(1.0, 0.0, 10) for key in ("best_fitness", "median_fitness", "train_accuracy")}
    _, axes = plt.subplots(2, 1)
    snn_figures.plot_training_curve(*axes, history, 0.9, cull, training_length)
    for ax in axes:
        vertical = [line.get_xdata()[0] for line in ax.get_lines() if np.ptp(line.get_xdata()) == 0]
        assert sorted(vertical) == marks


def test_weight_bounds_hold_in_the_stored_weights(tmp_path):
    out = tmp_path / "bounded.pkl"
    train_snn.main(
        TINY
        + [
            "--max-input-weight",
            "0.4",
            "--max-lateral-weight",
            "0.7",
            "--min-weight",
            "0.3",
            "--min-lateral-weight",
            "0.5",
            "--init-output-weight",
            "0.4",
            "--spike-file",
            str(out),
            "--figure-dir",
            str(tmp_path / "figures"),
        ]
    )
    record = load_spike_trains(out)
    # The network runs in float32, so the bound is float32's nearest value to the limit.
    assert np.abs(record["weights"]["input_hidden"]).max() <= np.float32(0.4)
    assert np.abs(record["weights"]["hidden_hidden"]).max() <= np.float32(0.7)
    assert record["config"]["max_input_weight"] == 0.4
    magnitudes = np.concatenate([np.abs(w).ravel() for w in record["weights"].values()])
    assert magnitudes[magnitudes > 0].min() >= np.float32(0.3) and (magnitudes == 0).sum() > 4  # 4: the diagonal
    assert record["config"]["min_weight"] == 0.3
    lateral = np.abs(record["weights"]["hidden_hidden"])
    assert ((lateral == 0) | (lateral >= np.float32(0.5))).all() and record["config"]["min_lateral_weight"] == 0.5
    # The stored weights reproduce the stored spikes (the bounded weights are the network's).
    weights = {name: torch.as_tensor(w, dtype=torch.float32)[None] for name, w in record["weights"].items()}
    _, rerun = sn.simulate_network(
        weights,
        torch.as_tensor(record["spikes"][:, :1]),
        sn.LIFParams(**record["lif"]),
        record["dt"],
        snn_training.noise_generator(record["seed"], "record"),
        record=True,
    )
    np.testing.assert_array_equal(rerun[0].numpy(), record["spikes"])


@pytest.mark.parametrize(
    ("flags", "limits"),
    [
        ([], {"hidden_hidden": 3.0}),
        (["--max-lateral-weight", "0"], {}),
        (["--max-input-weight", "2", "--max-lateral-weight", "0"], {"input_hidden": 2.0}),
        (["--max-lateral-weight", "4", "--v-threshold", "2"], {"hidden_hidden": 8.0}),
    ],
)
def test_weight_limits_of_zero_are_none_and_the_lateral_cap_is_the_default(flags, limits):
    problem = snn_session.training_problem(train_snn.parse_args(TINY + flags))
    assert problem["weight_options"]["limits"] == limits
    theta = torch.full((1, sn.n_parameters(problem["layer_sizes"])), 10.0)
    weights = sn.theta_to_weights(theta, problem["layer_sizes"], **problem["weight_options"])
    for name, matrix in weights.items():
        assert matrix.max().item() == pytest.approx(limits.get(name, 10.0))


@pytest.mark.parametrize(
    ("flags", "lateral"),
    [([], 0.0), (["--min-lateral-weight", "0"], 0.8), (["--v-threshold", "0.5"], 0.8)],
)
def test_the_lateral_floor_is_one_threshold_unit_by_default(flags, lateral):
    # Every weight at 0.8: above --min-weight's 0.5 threshold units; below the lateral floor of
    # 1 unit, but not when the floor is off or a unit is 0.5.
    problem = snn_session.training_problem(train_snn.parse_args(TINY + flags))
    weights = sn.theta_to_weights(
        torch.full((1, sn.n_parameters(problem["layer_sizes"])), 0.8),
        problem["layer_sizes"],
        **problem["weight_options"],
    )
    off_diagonal = ~torch.eye(weights["hidden_hidden"].shape[-1], dtype=torch.bool)
    assert torch.all(weights["hidden_hidden"][0][off_diagonal] == lateral)
    assert torch.all(weights["input_hidden"] == 0.8) and torch.all(weights["hidden_output"] == 0.8)


@pytest.mark.parametrize(
    "args",
    [
        ["--n-train", "0"],
        ["--n-test", "-5"],
        ["--n-steps", "0"],
        ["--n-hidden", "-1"],
        ["--population", "1"],
        ["--generations", "0"],
        ["--dt", "0"],
        ["--dt", "-0.001"],
        ["--dt", "nan"],
        ["--sine-freq", "0"],
        ["--cosine-freq", "-15"],
        ["--tau-mem", "0"],
        ["--n-train", "ten"],
        ["--noise-sigma", "-0.1"],
        ["--rate-penalty", "-1"],
        ["--sync-penalty", "-1"],
        ["--sync-penalty", "inf"],
        ["--rate-target", "nan"],
        ["--rate-floor", "-0.01"],
        ["--rate-floor", "2"],
        ["--rate-target", "1.5"],
        ["--rate-floor", "0.2"],
        ["--rate-floor", "0.1", "--rate-target", "0.1"],
        ["--output-rate-target", "0.01"],
        ["--noise-draws", "0"],
        ["--max-input-weight", "-0.5"],
        ["--max-lateral-weight", "-1"],
        ["--max-lateral-weight", "inf"],
        ["--min-weight", "-0.1"],
        ["--min-weight", "nan"],
        ["--min-weight", "0.5", "--max-lateral-weight", "0.5"],
        ["--min-weight", "0.7"],
        ["--min-lateral-weight", "-1"],
        ["--min-lateral-weight", "nan"],
        ["--min-lateral-weight", "3"],
        ["--min-lateral-weight", "1", "--max-lateral-weight", "0.9"],
        ["--init-output-weight", "0.4"],
        ["--init-output-weight", "0"],
        ["--v-reset", "1.0"],
        ["--v-reset", "2", "--v-threshold", "1.5"],
        ["--v-threshold", "nan"],
        ["--device", "foo"],
        ["--device", "cuda:99"],
        ["--restarts", "-1"],
        ["--restart-below", "1.5"],
        ["--restart-below", "nan"],
        ["--n-check", "-1"],
        ["--n-check", "100"],
        ["--cull-at", "-1"],
        ["--cull-at", "1000"],
        ["--cull-at", "100", "--generations", "50"],
        ["--cull-at", "10", "--cull-to", "8"],
        ["--cull-at", "10", "--cull-to", "0"],
        # Beyond these the arithmetic overflows or a library crashes (pycma's seeds, torch's threads).
        ["--dt", "1.5"],
        ["--tau-ref", "0.2"],  # longer than a trial of 100 steps of 1 ms
        ["--sigma0", "1e308"],
        ["--lateral-sigma0", "101"],
        ["--temperature", "1e-320"],
        ["--threads", "1000000"],
        ["--seed", str(2**32 - 1)],
        ["--seed", str(2**32 - 1 - 7000), "--cma-runs", "8"],  # the last run's pycma seed would be 2**32
        ["--seed", str(2**32 - 1 - 15000), "--restarts", "1"],
        ["--sine-freq", "101"],  # above the Nyquist limit of 100 steps
        ["--max-input-weight", "1e308"],
        ["--init-output-weight", "1e39"],
        ["--population", str(10**9)],
        ["--cma-runs", str(10**6)],
        ["--n-train", str(10**30)],
        ["--rate-penalty", "1e308"],  # the fitness overflowed only after the whole training
        ["--silence-penalty", "1e7"],
        ["--sync-penalty", "2e6"],
        ["--burst-penalty", "1e300"],
        ["--min-count", "101"],  # more spikes than a trial of 100 steps holds; 1e300 overflowed
        ["--noise-sigma", "1e39"],  # infinite in float32: every neuron silent, and exit 0
        ["--burst-penalty", "10", "--tau-ref", "0.002"],  # no burst of two refractory steps repeats at lag 2
    ]
    + ([] if torch.cuda.is_available() else [["--device", "cuda"]]),
)
def test_nonsense_arguments_exit_with_code_2(args, capsys):
    with pytest.raises(SystemExit) as info:
        train_snn.parse_args(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # argparse's usage, then exactly one line that names the problem
    assert [line for line in err.splitlines() if "error" in line] == [err.strip().splitlines()[-1]]
    assert "error: argument" in err.strip().splitlines()[-1]


def test_errors_name_the_script_when_it_runs_inside_another(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["benchmarks/seeds.py"])  # as a benchmark runs it, in its process
    with pytest.raises(SystemExit):
        train_snn.parse_args(["--n-train", "0"])
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("train_snn.py: error: argument --n-train")


def test_the_largest_seed_allowed_gives_pycma_its_largest_seed():
    # Run r of 8 gets pycma seed seed + 1 + 1000 r: the last, 2**32 - 1, is the largest pycma takes.
    args = train_snn.parse_args(["--seed", str(2**32 - 1 - 1 - 7000)])
    assert args.seed + 1 + 1000 * (args.cma_runs - 1) == 2**32 - 1


def test_settings_that_overflow_end_in_one_line_with_no_file(tmp_path):
    # A threshold near the floats' limit makes every weight infinite: the record breaks the spike
    # file's contract, so nothing is written, rather than a file the fit would refuse.
    out = tmp_path / "spikes.pkl"
    with pytest.raises(SystemExit) as info:
        train_snn.main(TINY + ["--v-threshold", "1e308", "--spike-file", str(out), "--no-figures"])
    message = info.value.code
    assert isinstance(message, str) and message.startswith("train_snn.py: error:") and "\n" not in message
    assert "not written" in message and "non-finite" in message
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_figure_path_that_cannot_be_written_stops_the_run_before_training(tmp_path, monkeypatch):
    (tmp_path / "figures" / "training_curve.png").mkdir(parents=True)  # a folder where a figure goes
    monkeypatch.setattr(train_snn, "train", lambda *args: pytest.fail("trained though an output cannot be written"))
    with pytest.raises(SystemExit) as info:
        tiny_run(tmp_path)
    assert info.value.code.startswith("train_snn.py: error: cannot write") and "training_curve.png" in info.value.code
    assert not (tmp_path / "spikes.pkl").exists()


def test_unwritable_output_gives_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a regular file, not a folder")
    with pytest.raises(SystemExit) as info:
        train_snn.main(TINY + ["--spike-file", str(blocker / "x.pkl"), "--figure-dir", str(tmp_path / "figures")])
    message = info.value.code
    assert isinstance(message, str) and message.startswith("train_snn.py: error:")
    assert "\n" not in message


def test_interrupted_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    out = tiny_run(tmp_path)
    old_bytes = out.read_bytes()

    def dump_then_die(obj, fh, protocol=None):
        fh.write(b"half a pickle")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(pickle, "dump", dump_then_die)
    with pytest.raises(RuntimeError, match="interrupted"):
        tiny_run(tmp_path)
    assert out.read_bytes() == old_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "spikes.pkl"]


@pytest.mark.parametrize("start", [0.55, 0.7])
def test_cma_es_starts_from_the_given_output_weights(start):
    # With a vanishing step size every candidate is the start, so the chosen weights are it.
    args = train_snn.parse_args(TINY + ["--generations", "1", "--sigma0", "1e-9", "--init-output-weight", str(start)])
    problem = snn_session.training_problem(args)
    theta, _ = snn_session.train(args, problem)
    weights = sn.theta_to_weights(torch.as_tensor(theta[None]), problem["layer_sizes"])
    np.testing.assert_allclose(weights["hidden_output"].numpy(), start, atol=1e-6)
    np.testing.assert_allclose(weights["input_hidden"].numpy(), snn_training.INIT_INPUT_WEIGHT, atol=1e-6)
    assert np.abs(weights["hidden_hidden"].numpy()).max() < 1e-6


def test_split_outputs_start_each_output_on_its_own_half_of_the_hidden_layer():
    args = train_snn.parse_args(TINY + ["--generations", "1", "--sigma0", "1e-9", "--split-outputs"])
    problem = snn_session.training_problem(args)
    theta, _ = snn_session.train(args, problem)
    weights = sn.theta_to_weights(torch.as_tensor(theta[None]), problem["layer_sizes"])
    half = args.n_hidden // 2
    expected = np.zeros((args.n_hidden, 2))
    expected[:half, 0] = expected[half:, 1] = args.init_output_weight
    np.testing.assert_allclose(weights["hidden_output"][0].numpy(), expected, atol=1e-6)


def test_a_random_lateral_start_gives_each_run_its_own_synapses_like_a_loop():
    # With a vanishing step size each run's best weights are its start.
    share = 0.3
    flags = ["--generations", "1", "--cma-runs", "3", "--sigma0", "1e-9", "--lateral-start", str(share)]
    args = train_snn.parse_args(TINY + flags)
    problem = snn_session.training_problem(args)
    candidates, _ = snn_session.run_training(args, problem)
    weights = sn.theta_to_weights(torch.as_tensor(candidates[: args.cma_runs]), problem["layer_sizes"])
    lateral = weights["hidden_hidden"].numpy()
    n = args.n_hidden
    low, high = snn_training.LATERAL_START_RANGE
    for run in range(args.cma_runs):
        rng = np.random.default_rng([args.seed + 1 + 1000 * run, snn_training.LATERAL_START_STREAM])
        draws, strengths, signs = rng.random((n, n)), rng.uniform(low, high, (n, n)), rng.choice([-1.0, 1.0], (n, n))
        expected = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                if i != j and draws[i, j] < share:
                    expected[i, j] = strengths[i, j] * signs[i, j]
        np.testing.assert_allclose(lateral[run], expected, atol=1e-6)
    assert not np.allclose(lateral[0], lateral[1])
    magnitudes = np.abs(lateral[np.abs(lateral) > 1e-6])
    assert magnitudes.size and (magnitudes >= low - 1e-6).all() and (magnitudes <= high + 1e-6).all()
    np.testing.assert_allclose(weights["hidden_output"].numpy(), args.init_output_weight, atol=1e-6)
    np.testing.assert_allclose(weights["input_hidden"].numpy(), snn_training.INIT_INPUT_WEIGHT, atol=1e-6)


def test_the_lateral_step_size_spreads_the_lateral_weights_alone():
    # With a vanishing step everywhere else, only the hidden->hidden weights leave the start;
    # each run's best individual, a sample of the first generation, spreads by the lateral step.
    flags = ["--generations", "1", "--cma-runs", "8", "--sigma0", "1e-9", "--lateral-sigma0", "0.5"]
    args = train_snn.parse_args(TINY + flags)
    problem = snn_session.training_problem(args)
    candidates, _ = snn_session.run_training(args, problem)
    weights = sn.theta_to_weights(torch.as_tensor(candidates), problem["layer_sizes"])
    np.testing.assert_allclose(weights["hidden_output"].numpy(), args.init_output_weight, atol=1e-6)
    np.testing.assert_allclose(weights["input_hidden"].numpy(), snn_training.INIT_INPUT_WEIGHT, atol=1e-6)
    lateral = weights["hidden_hidden"][2 * args.cma_runs :]  # the finalists: one sample per run
    off_diagonal = ~torch.eye(args.n_hidden, dtype=torch.bool)
    assert 0.35 < lateral[:, off_diagonal].std().item() < 0.75


def test_a_cull_keeps_the_runs_of_lowest_recent_median_fitness_like_a_loop():
    rng = np.random.default_rng(3)
    medians = rng.normal(size=(40, 8))
    medians[:, 5] = medians[:, 2] = 0.0  # a tie: the earlier run is kept first
    for keep in (1, 2, 3, 8):
        scores = [sum(medians[g, r] for g in range(40 - snn_training.CULL_WINDOW, 40)) for r in range(8)]
        expected = sorted(sorted(range(8), key=lambda r: (scores[r], r))[:keep])
        assert snn_training.runs_to_keep(snn_training.recent_fitness(medians), keep).tolist() == expected


def test_culled_runs_stop_at_the_cull_and_the_kept_ones_are_those_a_loop_picks(monkeypatch):
    args = train_snn.parse_args(TINY + ["--cma-runs", "4", "--generations", "5", "--cull-at", "3", "--cull-to", "2"])
    problem = snn_session.training_problem(args)
    tells, values = [], []

    class Counting(snn_training.cma.CMAEvolutionStrategy):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.run, self.tells = len(tells), 0
            tells.append(self)

        def tell(self, solutions, function_values):
            self.tells += 1
            values.append((self.run, self.tells, np.median(function_values)))
            return super().tell(solutions, function_values)

    monkeypatch.setattr(snn_training.cma, "CMAEvolutionStrategy", Counting)
    reports = []
    candidates, _ = snn_session.run_training(args, problem, lambda generation, means: reports.append(means.shape[0]))
    medians = np.zeros((3, 4))
    for run, generation, median in values:
        if generation <= 3:
            medians[generation - 1, run] = median
    kept = snn_training.runs_to_keep(snn_training.recent_fitness(medians), 2)
    assert sorted(r for r in range(4) if tells[r].tells == 5) == kept.tolist()
    assert sorted(tells[r].tells for r in range(4)) == [3, 3, 5, 5]
    assert reports == [4, 4, 4, 2, 2]
    # Only the runs that ran to the end leave candidates: best, mean and the last generations' bests.
    assert snn_session.final_runs(args) == 2
    assert candidates.shape[0] == 2 * (2 + min(args.select_generations, 5))
    np.testing.assert_array_equal(candidates[2:4], np.stack([tells[r].mean for r in kept]))


def test_a_cull_by_validation_keeps_the_runs_whose_means_a_per_run_loop_ranks_best(monkeypatch):
    flags = ["--cma-runs", "4", "--generations", "5", "--cull-at", "3", "--cull-to", "2", "--cull-by", "validation"]
    args = train_snn.parse_args(TINY + flags + ["--select-draws", "2"])
    problem = snn_session.training_problem(args)
    strategies, means_at_cull = [], []

    class Counting(snn_training.cma.CMAEvolutionStrategy):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.tells = 0
            strategies.append(self)

        def tell(self, *a, **k):
            self.tells += 1
            return super().tell(*a, **k)

    monkeypatch.setattr(snn_training.cma, "CMAEvolutionStrategy", Counting)
    snn_session.run_training(
        args, problem, lambda generation, means: means_at_cull.append(means.copy()) if generation == 2 else None
    )
    spikes, labels = (torch.as_tensor(array) for array in problem["trials"]["validation"])
    reference = []  # each run's mean alone, on the validation trials twice, under the cull's noise
    for mean in means_at_cull[0]:
        weights = sn.theta_to_weights(
            torch.as_tensor(mean[None], dtype=torch.float32), problem["layer_sizes"], **problem["weight_options"]
        )
        counts, pairs = sn.simulate_network(
            weights,
            spikes.repeat(2, 1, 1),
            problem["lif"],
            args.dt,
            snn_training.noise_generator(args.seed, "cull"),
            cofiring=True,
        )
        accuracy = (snn_fitness.predict(counts[0]) == labels.repeat(2)).double().mean().item()
        value = snn_fitness.fitness(
            counts, labels.repeat(2), n_steps=args.n_steps, pairs=pairs, **problem["fitness_options"]
        ).item()
        reference.append((-round(accuracy, 12), value))
    kept = sorted(sorted(range(4), key=lambda r: (reference[r], r))[:2])
    assert [r for r in range(4) if strategies[r].tells == 5] == kept


@pytest.mark.parametrize(
    "flags, cull_at",
    [
        ([], snn_options.CULL_AT),
        (["--generations", str(snn_options.CULL_AT)], 0),
        (["--cma-runs", str(snn_options.CULL_TO)], 0),
        (["--cull-to", "2", "--cma-runs", "3"], snn_options.CULL_AT),
        (["--cull-at", "0"], 0),
        (["--cull-at", "5", "--generations", "6"], 5),
    ],
)
def test_the_default_cull_applies_only_where_it_can_cull(flags, cull_at):
    args = train_snn.parse_args(flags)
    assert args.cull_at == cull_at
    assert snn_session.final_runs(args) == (args.cull_to if cull_at else args.cma_runs)


def test_a_cull_that_keeps_every_run_changes_nothing():
    args = train_snn.parse_args(TINY + ["--generations", "4"])
    problem = snn_session.training_problem(args)
    plain = snn_session.run_training(args, problem)
    args.cull_at, args.cull_to = 2, args.cma_runs  # the command line refuses it: it culls nothing
    whole = snn_session.run_training(args, problem)
    np.testing.assert_array_equal(whole[0], plain[0])
    np.testing.assert_array_equal(whole[1]["best_fitness"], plain[1]["best_fitness"])


def test_the_training_does_not_depend_on_what_drew_from_numpys_global_generator_before_it():
    # pycma samples from numpy's global generator and seeds it as each run is made; the legacy
    # global generator is what this test is about, hence the noqa.
    args = train_snn.parse_args(TINY)
    problem = snn_session.training_problem(args)
    candidates = []
    for state in (1, 2):
        np.random.seed(state)  # noqa: NPY002
        np.random.random(state)  # noqa: NPY002
        candidates.append(snn_session.run_training(args, problem)[0])
    np.testing.assert_array_equal(candidates[0], candidates[1])


def test_fresh_trials_train_each_later_generation_on_new_trials_of_their_own_generator(monkeypatch):
    args = train_snn.parse_args(TINY + ["--fresh-trials", "--noise-draws", "2"])
    problem = snn_session.training_problem(args)
    seen = []  # per generation: the input spikes simulated and the labels the fitness scored
    simulate, score = sn.simulate_network, snn_fitness.fitness

    def simulating(weights, spikes, *rest, **options):
        seen.append([spikes])
        return simulate(weights, spikes, *rest, **options)

    def scoring(counts, labels, **options):
        seen[-1].append(labels)
        return score(counts, labels, **options)

    monkeypatch.setattr(sn, "simulate_network", simulating)
    monkeypatch.setattr(snn_training, "fitness", scoring)
    snn_session.run_training(args, problem, restart=1)
    rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(snn_session.FRESH_TRIALS_KEY, 1)))
    rates = snn_training.class_rates(args.n_steps, args.sine_freq, args.cosine_freq)
    expected = [problem["trials"]["train"]] + [
        snn_training.generate_trials(args.n_train, rates, rng) for _ in range(args.generations - 1)
    ]
    assert len(seen) == args.generations
    for (spikes, labels), (want_spikes, want_labels) in zip(seen, expected):
        np.testing.assert_array_equal(spikes.numpy(), np.tile(want_spikes, (2, 1, 1)))
        np.testing.assert_array_equal(labels.numpy(), np.tile(want_labels, 2))
    assert not np.array_equal(expected[1][0], expected[2][0])


def test_fresh_trials_leave_the_stored_trials_unchanged_and_reproduce(tmp_path):
    plain = load_spike_trains(tiny_run(tmp_path, "plain.pkl"))
    fresh = []
    for name in ("fresh.pkl", "again.pkl"):
        out = tmp_path / name
        train_snn.main(TINY + ["--fresh-trials", "--no-figures", "--spike-file", str(out)])
        fresh.append(load_spike_trains(out))
    np.testing.assert_array_equal(fresh[0]["spikes"][:, 0], plain["spikes"][:, 0])
    np.testing.assert_array_equal(fresh[0]["labels"], plain["labels"])
    np.testing.assert_array_equal(fresh[0]["spikes"], fresh[1]["spikes"])
    assert fresh[0]["config"]["fresh_trials"] and not plain["config"]["fresh_trials"]


@pytest.mark.parametrize(
    "error, out_of_memory",
    [
        (MemoryError(), True),
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"), True),
        (RuntimeError("[enforce fail at alloc_cpu.cpp:118] DefaultCPUAllocator: can't allocate memory"), True),
        (RuntimeError("shape '[2, 3]' is invalid for input of size 5"), False),
    ],
)
def test_out_of_memory_is_told_from_other_errors(error, out_of_memory, tmp_path, monkeypatch):
    def fail(*args):
        raise error

    monkeypatch.setattr(train_snn, "train", fail)
    if out_of_memory:
        with pytest.raises(SystemExit, match="^train_snn.py: error: not enough memory for these settings"):
            tiny_run(tmp_path)
    else:  # a bug keeps its traceback
        with pytest.raises(RuntimeError, match="is invalid"):
            tiny_run(tmp_path)
    assert not (tmp_path / "spikes.pkl").exists()
