"""benchmarks/cut_check.py: its truths, its scores against hand counts, and a tiny run."""

import numpy as np
import pytest

from benchmarks import cut_check as cc


def test_the_differing_truth_loses_and_gains_exactly_the_changed_edges():
    for seed in range(5):
        large, small = cc.draw_truths(np.random.default_rng(seed))
        assert np.all(np.diag(large) == 0) and np.all(np.diag(small) == 0)
        assert np.sum((large > 0) & (small == 0)) == cc.N_CHANGED
        assert np.sum((large == 0) & (small > 0)) == cc.N_CHANGED
        assert set(np.unique(small)) <= {0.0, cc.ALPHA_EDGE}


def test_scores_count_the_pairs_as_defined():
    large = np.zeros((3, 3))
    large[0, 1] = large[1, 2] = large[2, 0] = 0.15
    small = large.copy()
    small[1, 2], small[0, 2] = 0.0, 0.15  # (1, 2) removed, (0, 2) added
    # Off-diagonal pairs: kept (0, 1), (2, 0); removed (1, 2); added (0, 2); absent in both (1, 0), (2, 1).
    alpha = np.array([[9.0, 0.5, 0.3], [0.4, 9.0, 0.6], [0.7, 0.1, 9.0]])
    auc, added, kept = cc.scores(alpha, small, large)
    # Positives of the small truth: (0, 1) 0.5, (0, 2) 0.3, (2, 0) 0.7; negatives (1, 0) 0.4,
    # (1, 2) 0.6, (2, 1) 0.1: 0.5 beats 2, 0.3 beats 1, 0.7 beats 3 of 3 -> 6 / 9.
    assert auc == pytest.approx(6 / 9)
    assert added == pytest.approx(1 / 2)  # 0.3 beats 0.1, not 0.4
    assert kept == pytest.approx(1 / 2)  # kept 0.5 and 0.7 against removed 0.6


def test_a_tiny_run_prints_a_row_per_repetition_and_the_medians(monkeypatch, capsys):
    monkeypatch.setattr(cc, "N_LARGE", 3)
    monkeypatch.setattr(cc, "N_SMALL", 2)
    monkeypatch.setattr(
        cc,
        "sampler_options",
        lambda: {"n_samples": 10, "max_samples": 10, "n_warmup": 10, "n_chains": 2, "conjugate_columns": 0},
    )
    cc.run(cc.parse_args(["--repetitions", "2", "--seed", "4", "--no-report"]))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" | ")[0] for line in lines[2:5]] == ["| 4", "| 5", "| median"]
    assert all(line.count("|") == lines[0].count("|") for line in lines[:5])


@pytest.mark.parametrize("argv", [["--repetitions", "0"], ["--seed", "-1"]])
def test_nonsense_arguments_are_refused(argv):
    with pytest.raises(SystemExit) as excinfo:
        cc.parse_args(argv)
    assert excinfo.value.code == 2
