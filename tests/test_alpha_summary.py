"""benchmarks/alpha_summary.py scores every fit by alpha's posterior mean, median and 5% quantile."""

from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import alpha_summary, seeds
from connectivity import connection_matrix, connectivity_auc, observable_pairs
from posterior_file import load_posterior
from tests.test_group_size import FIT, TRAIN


def test_the_median_is_each_pairs_middle_draw_and_the_rest_the_files_summaries():
    rng = np.random.default_rng(0)
    draws = rng.exponential(0.1, size=(2, 7, 3, 3)).astype(np.float32)  # 14 draws: the median averages two
    q05 = rng.random((3, 3))
    group = SimpleNamespace(alpha=draws, summary={"alpha": {"mean": draws.mean(axis=(0, 1)), "q05": q05}})
    median = alpha_summary.alpha_summary(group, "median")
    for i in range(3):
        for j in range(3):
            ordered = sorted(float(x) for x in draws[:, :, i, j].ravel())
            assert median[i, j] == pytest.approx((ordered[6] + ordered[7]) / 2, rel=1e-12)
    assert alpha_summary.alpha_summary(group, "q05") is q05


def test_subsets_are_drawn_from_each_correct_group_larger_than_their_size():
    groups = {"sine_correct": np.arange(10, 22), "cosine_correct": np.arange(30, 36), "sine_wrong": np.array([1, 2])}
    subsets = alpha_summary.correct_subsets(groups, [5, 10], 3, np.random.default_rng(0))
    # cosine_correct holds 6 trials: no subset of 10; the wrong group is never drawn from.
    assert list(subsets) == [
        *(f"sine_correct/{size}/{r}" for size in (5, 10) for r in range(3)),
        *(f"cosine_correct/5/{r}" for r in range(3)),
    ]
    for name, trials in subsets.items():
        group, size, _ = name.split("/")
        assert len(trials) == int(size) == len(set(trials)) and set(trials) <= set(groups[group])
        assert list(trials) == sorted(trials)
    again = alpha_summary.correct_subsets(groups, [5, 10], 3, np.random.default_rng(0))
    assert all(np.array_equal(subsets[name], again[name]) for name in subsets)
    assert len({tuple(trials) for trials in subsets.values()}) > 1


def fit(seed, group, kind, trials, mean, median, q05, converged=True):
    return {
        "seed": seed,
        "group": group,
        "kind": kind,
        "trials": trials,
        "aucs": {"mean": mean, "median": median, "q05": q05},
        "converged": converged,
    }


def test_table_sets_each_summary_beside_the_mean_by_kind_of_fit():
    fits = [
        fit(0, "sine_correct", "correct", 195, 0.95, 0.95, 0.96),
        fit(0, "cosine_wrong", "wrong", 8, 0.88, 0.87, 0.91),
        fit(0, "sine_correct/5/0", "subset", 5, 0.80, 0.82, 0.85, converged=False),
        fit(0, "sine_correct/5/1", "subset", 5, 0.90, 0.89, np.nan),
        fit(1, "sine_correct", "correct", 200, 0.93, 0.94, 0.92),
        fit(1, "sine_wrong", "wrong", 12, 0.97, 0.97, 0.97),
        fit(1, "sine_correct/5/0", "subset", 5, 0.84, 0.84, 0.86),
    ]
    lines = alpha_summary.markdown_table(fits, [0, 1]).splitlines()
    assert lines[0] == (
        "| kind | fits | trials | converged | AUC by the mean | AUC by the median | AUC by the 5% quantile |"
    )
    # The subsets' q05 leaves the unscorable fit out of the average and of the comparison.
    assert lines[2] == (
        "| subsets of 5 correct trials | 3 | 5 | 2/3 | 0.847 (0.800) | 0.850 (0.820); 1/1/1 | 0.855 (0.850); 2/0/0 |"
    )
    assert lines[3] == (
        "| groups of wrong trials | 2 | 8-12 | 2/2 | 0.925 (0.880) | 0.920 (0.870); 0/1/1 | 0.940 (0.910); 1/0/1 |"
    )
    assert lines[4] == (
        "| groups of correct trials | 2 | 195-200 | 2/2 | 0.940 (0.930) | 0.945 (0.940); 1/0/1 | 0.940 (0.920); 1/1/0 |"
    )
    assert alpha_summary._cell(np.array([np.nan, np.nan])) == "-"
    assert alpha_summary._cell(np.array([0.9]), np.array([np.nan])) == "-"
    text = lines[-1]
    # Worst script group per seed: mean 0.88, 0.93; median 0.87, 0.94; q05 0.91, 0.92.
    assert "By the mean: the worst group's AUC 0.880-0.930 (median 0.905), >= 0.9 in every group at 1 of 2" in text
    assert "By the median: the worst group's AUC 0.870-0.940 (median 0.905), >= 0.9 in every group at 1 of 2" in text
    assert "the worst group's AUC 0.910-0.920 (median 0.915), >= 0.9 in every group at 2 of 2 seeds." in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--subsets", "0"], "--subsets and --sizes must be at least 1"),
        (["--fit-flags", "--partial-pooling class"], "fits each group alone; drop --partial-pooling class"),
        (["--fit-flags", "--partial-pooling cut"], "fits each group alone; drop --partial-pooling cut"),
        (["--fit-flags", "--n-chains 0"], "--fit-flags: argument --n-chains"),
        (["--sizes", "5", "0"], "--subsets and --sizes must be at least 1"),
        (["--seeds", "-1"], "seeds must be >= 0"),
        (["--section", "A"], "--section: use lower-case"),
    ],
)
def test_nonsense_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        alpha_summary.parse_args(argv)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_the_groups_are_the_seed_sweeps_fits_scored_under_each_summary(tmp_path):
    fits = alpha_summary.seed_fits(3, [3], 2, TRAIN, FIT, n_jobs=1)
    posterior = load_posterior(seeds.fit(3, seeds.train(3, tmp_path, TRAIN), FIT))
    true_weights, _ = connection_matrix(posterior.weights, posterior.layer_sizes)
    stored = [f for f in fits if f["kind"] != "subset"]
    assert [f["group"] for f in stored] == list(posterior.groups)
    for f in stored:
        group = posterior.groups[f["group"]]
        pairs = observable_pairs(group.n_spikes, posterior.alpha_free)
        for summary, matrix in [("mean", group.summary["alpha"]["mean"]), ("q05", group.summary["alpha"]["q05"])]:
            expected = connectivity_auc(matrix, true_weights, pairs)[0]
            assert f["aucs"][summary] == expected or (np.isnan(expected) and np.isnan(f["aucs"][summary]))
        assert f["kind"] == f["group"].rsplit("_", 1)[1] and f["trials"] == len(group.trials)
    subsets = [f for f in fits if f["kind"] == "subset"]
    larger = [name for name, group in posterior.groups.items() if name.endswith("_correct") and len(group.trials) > 3]
    assert [f["group"] for f in subsets] == [f"{name}/3/{r}" for name in larger for r in range(2)]
    assert all(f["trials"] == 3 and set(f["aucs"]) == set(alpha_summary.SUMMARIES) for f in subsets)
