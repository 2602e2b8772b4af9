"""benchmarks/group_size.py sets each group of wrong trials beside same-size subsets of correct trials."""

import numpy as np
import pytest

from benchmarks import group_size, seeds

# Tiny runs: the plumbing, not the results.
TRAIN = "--n-train 16 --n-test 24 --n-validation 8 --n-steps 40 --population 4 --generations 2 --cma-runs 1".split()
TRAIN += ["--threads", "1"]
FIT = "--n-samples 8 --max-samples 8 --n-warmup 0 --n-chains 2 --min-trials 1 --partial-pooling none".split()


def test_subsets_are_drawn_from_the_correct_trials_of_the_class_at_the_wrong_groups_size():
    wrong = {"sine_wrong": np.array([1, 2, 3]), "cosine_wrong": np.array([4, 5]), "odd_wrong": np.array([9])}
    correct = {"sine_correct": np.arange(10, 20), "cosine_correct": np.array([6, 7])}
    subsets = group_size.same_size_subsets(wrong, correct, 4, np.random.default_rng(0))
    # cosine: no more correct trials than wrong ones; odd: no correct group at all.
    assert list(subsets) == [f"sine_wrong/{r}" for r in range(4)]
    for trials in subsets.values():
        assert len(trials) == 3 and len(set(trials)) == 3 and set(trials) <= set(range(10, 20))
        assert list(trials) == sorted(trials)
    again = group_size.same_size_subsets(wrong, correct, 4, np.random.default_rng(0))
    assert all(np.array_equal(subsets[name], again[name]) for name in subsets)
    assert len({tuple(trials) for trials in subsets.values()}) > 1


def row(seed, group, auc, subset_aucs, spikes):
    return {
        "seed": seed,
        "group": group,
        "trials": 8,
        "auc": auc,
        "correct": group.replace("wrong", "correct"),
        "correct_trials": 190,
        "correct_auc": 0.95,
        "subset_aucs": np.array(subset_aucs),
        "converged": len(subset_aucs),
        "spikes": spikes,
        "subset_spikes": np.array([100.0, 120.0, 140.0, 160.0]),
    }


def test_table_counts_where_each_group_falls_among_its_subsets():
    rows = [
        row(2, "cosine_wrong", 0.88, [0.87, 0.89, 0.885, 0.895], 150.0),  # 1 of 4 below it, 4 of 4 below the bar
        row(2, "sine_wrong", 0.93, [0.94, 0.95, 0.96, 0.97], 90.0),  # below every subset
        row(5, "sine_wrong", 0.99, [0.91, 0.92, 0.93, 0.94], 129.5),  # above every subset; median subset 130
    ]
    table = group_size.markdown_table(rows, [1, 2, 5])
    lines = table.splitlines()
    assert lines[2] == (
        "| 2 | cosine_wrong | 8 | 0.880 | 0.870-0.887-0.895 | 1/4 | 4/4 | cosine_correct (190): 0.950 | 4/4 | "
        "150; 130 |"
    )
    assert len([line for line in lines if line.startswith("| ")]) == 4  # header and 3 groups
    header, cells = ([cell.strip() for cell in lines[i].strip("|").split("|")] for i in (0, 2))
    assert len(header) == len(cells) == len(group_size.COLUMNS)
    assert cells[header.index("subsets converged")] == "4/4"
    assert cells[header.index("spikes a trial: group; subsets (median)")] == "150; 130"
    text = lines[-1]
    assert "3 wrong groups at 2 of 3 seeds (none fitted at 1)" in text
    assert (
        "range of its same-size subsets of correct trials in 1 of 3, below every subset in 1, above every one in 1"
        in text
    )
    assert "median 0.25 over the groups" in text
    assert "more spikes a trial than its median subset in 1 of 3; of the 1 above every subset, in 0." in text
    assert "seed 2 cosine_wrong (8 trials, 0.880), whose subsets fall below 0.9 in 4 of 4." in text
    assert group_size.summary(rows, [2, 5]).startswith("3 wrong groups at 2 of 2 seeds. A group's AUC")


def test_a_group_at_its_lowest_subset_is_inside_their_range_and_not_below_them():
    rows = [row(2, "cosine_wrong", 0.88, [0.88, 0.89, 0.9, 0.91], 150.0)]  # AUC is a ratio of counts: ties happen
    text = group_size.summary(rows, [2])
    assert "in 1 of 1, below every subset in 0, above every one in 0;" in text


def test_subsets_without_a_scorable_pair_are_passed_over():
    # A group none of whose subsets scored counts in none of inside, below and above.
    nan = float("nan")
    rows = [row(2, "cosine_wrong", 0.88, [nan, 0.85, 0.86], 150.0), row(3, "sine_wrong", 0.9, [nan, nan], 150.0)]
    assert (
        "in 0 of 2, below every subset in 0, above every one in 1; the share of subsets below it has median 1.00"
        in (group_size.summary(rows, [2, 3]))
    )
    # Where no group has a scored subset, there is no share to take the median of.
    assert group_size.summary(rows[1:], [3]).endswith(
        "above every one in 0; no group has a subset with a scorable pair. A group fires more spikes a trial than "
        "its median subset in 1 of 1; of the 0 above every subset, in 0."
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--subsets", "0"], "--subsets must be at least 1"),
        (["--fit-flags", "--partial-pooling class"], "fits each group alone; drop --partial-pooling class"),
        (["--fit-flags", "--partial-pooling cut"], "fits each group alone; drop --partial-pooling cut"),
        (["--fit-flags", "--n-chains 0"], "--fit-flags: argument --n-chains"),
        (["--seeds", "-1"], "seeds must be >= 0"),
        (["--n-jobs", "0"], "--n-jobs a count"),
        (["--section", "A"], "--section: use lower-case"),
    ],
)
def test_nonsense_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        group_size.parse_args(argv)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_a_sweep_without_wrong_groups_says_so():
    assert group_size.summary([], [0, 1]).startswith("No seed has a fitted group of wrong trials")


@pytest.fixture(scope="module")
def spike_file(tmp_path_factory):
    return seeds.train(3, tmp_path_factory.mktemp("group-size"), TRAIN)


def test_seed_rows_score_the_wrong_groups_as_the_seed_sweep_does(spike_file):
    rows = group_size.seed_rows(3, 3, TRAIN, FIT, n_jobs=1)
    swept = seeds.score(seeds.fit(3, spike_file, FIT))
    assert rows
    for r in rows:
        assert r["auc"] == swept["auc_observable"][r["group"]] or np.isnan(r["auc"])
        assert r["correct_auc"] == swept["auc_observable"][r["correct"]] or np.isnan(r["correct_auc"])
        assert r["trials"] == swept["trials"][r["group"]] and r["correct_trials"] == swept["trials"][r["correct"]]
        assert r["subset_aucs"].shape == (3,) and 0 <= r["converged"] <= 3
