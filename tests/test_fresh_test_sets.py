"""benchmarks/fresh_test_sets.py runs the stored network on new test trials and judges them as the
pipeline judges its own."""

import numpy as np
import pytest

from benchmarks import alpha_summary, compare_seeds, fresh_test_sets, group_size, seeds
from fit_hawkes_process import parse_args
from snn_training import noise_generator
from spike_file import load_spike_trains

# Tiny runs: the plumbing, not the results.
TRAIN = "--n-train 16 --n-test 24 --n-validation 8 --n-steps 40 --population 4 --generations 2 --cma-runs 1".split()
TRAIN += ["--threads", "1", "--seed", "3"]
FIT = "--n-samples 8 --max-samples 8 --n-warmup 0 --n-chains 2 --min-trials 1".split()


@pytest.fixture(scope="module")
def spike_file(tmp_path_factory):
    return seeds.train(3, tmp_path_factory.mktemp("fresh"), TRAIN)


def test_the_stored_network_run_again_gives_the_stored_spikes(spike_file):
    # The recording noise on the stored inputs: the stored run, spike for spike.
    spike_data = load_spike_trains(spike_file)
    inputs = spike_data["spikes"][:, : spike_data["layer_sizes"]["input"]]
    spikes, predictions = fresh_test_sets.simulate(spike_data, inputs, noise_generator(3, "record"))
    np.testing.assert_array_equal(spikes, spike_data["spikes"])
    np.testing.assert_array_equal(predictions, spike_data["predictions"])


def test_a_fresh_set_replaces_the_test_trials_alone(spike_file):
    spike_data = load_spike_trains(spike_file)
    train = spike_data["split"] == "train"
    first, again, second = (fresh_test_sets.fresh_test_set(spike_data, 3, index) for index in (0, 0, 1))
    for key in ("spikes", "labels", "predictions", "split"):
        np.testing.assert_array_equal(first[key], again[key])  # reproducible
        np.testing.assert_array_equal(first[key][train], spike_data[key][train])  # training trials kept
        assert first[key].shape == spike_data[key].shape
    test = ~train
    assert not np.array_equal(first["spikes"][test], second["spikes"][test])
    assert not np.array_equal(first["spikes"][test], spike_data["spikes"][test])
    assert (first["split"][test] == "test").all() and first["labels"][test].sum() == test.sum() // 2  # balanced
    # The predictions are the outputs' spike counts, read as train_snn reads them.
    counts = first["spikes"][test, -2:].sum(axis=2)
    np.testing.assert_array_equal(first["predictions"][test], counts[:, 1] > counts[:, 0])


@pytest.mark.parametrize("pooling", [[], ["--partial-pooling", "class"], ["--partial-pooling", "cut"]])
def test_the_stored_set_is_judged_as_the_seed_sweep_scores_the_scripts_fit(spike_file, pooling):
    spike_data = load_spike_trains(spike_file)
    judged = fresh_test_sets.judge(spike_data, parse_args(["--seed", "3", *FIT, *pooling]), 3, 1)
    scores = seeds.score(seeds.fit(3, spike_file, [*FIT, *pooling]))
    np.testing.assert_array_equal(list(judged["auc"].values()), list(scores["auc_observable"].values()))
    assert list(judged["auc"]) == list(scores["auc_observable"])
    assert judged["trials"] == scores["trials"] and sum(judged["converged"].values()) == scores["converged"]
    assert scores["unconverged"] == [name for name, converged in judged["converged"].items() if not converged]
    assert judged["accuracy"] == spike_data["metrics"]["test"]["accuracy"]


def test_table_gives_each_seeds_spread_and_shares_at_the_bars_and_the_totals_over_seeds():
    def judged(accuracy, aucs, trials=(190, 8)):
        names = ("sine_correct", "cosine_wrong")[: len(aucs)]
        return {
            "accuracy": accuracy,
            "auc": dict(zip(names, aucs)),
            "trials": dict(zip(names, trials)),
            "converged": dict(zip(names, (True, False))),
        }

    fresh = [judged(0.96, (0.95, 0.85)), judged(0.94, (0.95, 0.92)), judged(0.97, (0.93, 0.91), (190, 5))]
    fresh.append(judged(0.99, (0.97, np.nan)))  # a group without a scorable pair does not count
    table = fresh_test_sets.markdown_table([{"seed": 4, "stored": judged(0.955, (0.96, 0.884)), "fresh": fresh}])
    # accuracy: median of 0.94, 0.96, 0.97, 0.99; worst AUC: 0.85, 0.92, 0.91, 0.97
    accuracy = f"{np.median([0.94, 0.96, 0.97, 0.99]):.3f} ({np.percentile([0.94, 0.96, 0.97, 0.99], 5):.3f}-"
    worst = f"{np.median([0.85, 0.92, 0.91, 0.97]):.3f} ({np.percentile([0.85, 0.92, 0.91, 0.97], 5):.3f}-"
    assert f"| 4 | 0.955 | {accuracy}" in table and f"| 0.884 | {worst}" in table
    assert "| 0.75 | 0.884 |" in table  # 3 of 4 sets at 0.95
    assert "| 0.75 | 0.50 | 8; 5-8 | 4/8 |" in table  # AUC 0.9: 3 of 4; both: sets 1 and 4; smallest groups
    assert table.splitlines()[-1].startswith("Both goals on every fresh set at 0 of the 1 seeds, on some at 1")
    assert "; 2 of 4 fresh sets meet both. 4 fresh test sets per seed" in table

    always = [judged(0.96, (0.95, 0.91))] * 3  # both goals on each of 3 sets
    never = [judged(0.94, (0.95, 0.95)), judged(0.99, (0.89, 0.95))]  # one bar missed on each
    rows = [{"seed": seed, "stored": fresh[0], "fresh": sets} for seed, sets in enumerate((fresh, always, never))]
    assert fresh_test_sets.totals(rows) == (
        "Both goals on every fresh set at 1 of the 3 seeds, on some at 1, on none at 1; 5 of 9 fresh sets meet both."
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--test-sets", "0"], "--test-sets must be at least 1"),
        (["--seeds", "-1"], "seeds must be >= 0"),
        (["--n-jobs", "0"], "--n-jobs a count"),
        (["--section", "Fresh"], "--section: use lower-case"),
    ],
)
def test_nonsense_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        fresh_test_sets.parse_args(argv)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_a_section_other_than_the_default_is_titled_by_its_seeds_and_flags():
    default = fresh_test_sets.parse_args([])
    title = fresh_test_sets.section_title(default)
    assert title == "Every seed's network on fresh test sets: how often it meets the bars"
    other = fresh_test_sets.parse_args(["--seeds", "210", "211", "--train-flags", "--noise-sigma 0.25"])
    assert fresh_test_sets.section_title(other) == (
        "Seeds 210, 211, each network on fresh test sets: how often it meets the bars, "
        "with train_snn.py `--noise-sigma 0.25`"
    )


@pytest.mark.parametrize("module", [group_size, alpha_summary, compare_seeds])
@pytest.mark.parametrize(
    "argv, fit_flags",
    [
        ([], []),
        (["--fit-flags", "--seed 3"], ["--seed", "3"]),
        (["--fit-flags", "--partial-pooling none"], ["--partial-pooling", "none"]),
    ],
)
def test_the_benchmarks_that_fit_each_group_alone_do_so_whatever_the_scripts_default(module, argv, fit_flags):
    args = module.parse_args(argv)
    assert args.alone_fit_flags == ["--partial-pooling", "none", *fit_flags] and args.fit_flags == fit_flags
    assert parse_args(args.alone_fit_flags).partial_pooling == "none" != parse_args([]).partial_pooling
    title = module.section_title(args)  # the flags as given, as the sections made before were headed
    if fit_flags:
        assert f"`{' '.join(fit_flags)}`" in title and title.count("partial-pooling") == fit_flags.count(
            "--partial-pooling"
        )
    else:
        assert "`" not in title
