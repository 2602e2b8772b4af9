"""benchmarks/training_runs.py: its count of runs that reach the goal, and a tiny run of it."""

import numpy as np
import pytest

from benchmarks import training_runs

TINY = "--n-train 16 --n-validation 8 --n-steps 30 --n-hidden 4 --population 4 --generations 2 --cma-runs 3"


def test_runs_reaching_counts_like_a_loop():
    rng = np.random.default_rng(0)
    final = [rng.uniform(0.85, 1.0, size) for size in (4, 8, 3, 4)]
    final[2][:] = [0.5, 0.6, training_runs.LEVEL]  # exactly at the level counts
    final[3][:] = 0.9  # a seed without one
    final[0][0] = final[1][0] = 0.97  # and the others with one
    runs = seeds = 0
    for accuracy in final:
        hits = [a for a in accuracy if a >= training_runs.LEVEL]
        runs += len(hits)
        seeds += bool(hits)
    median = sorted(a for accuracy in final for a in accuracy)[9]  # the middle of 19
    assert training_runs.runs_reaching(final) == (runs, 19, seeds, 4, pytest.approx(median))
    assert 0 < runs < 19 and seeds == 3


def test_a_tiny_run_prints_every_check_and_the_count_of_its_last(capsys, monkeypatch):
    followed = []
    follow = training_runs.follow_runs

    def keep(flags, every):
        followed.append(follow(flags, every))
        return followed[-1]

    monkeypatch.setattr(training_runs, "follow_runs", keep)
    training_runs.main(["--seeds", "1", "2", "--every", "1", "--setting", "tiny", TINY, "--no-report"])
    out = capsys.readouterr().out
    assert out.count("| tiny |") == 2 * 2  # two seeds, a check at each of the 2 generations
    runs, n_runs, seeds, n_seeds, median = training_runs.runs_reaching([c[-1][1] for _, c in followed])
    assert n_runs == 6 and n_seeds == 2
    assert f"at the last check {runs} of 6 runs reach {training_runs.LEVEL} (at {seeds} of 2 seeds)" in out
    assert f"median run {median:.3f}" in out


def test_every_above_a_settings_generations_is_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        training_runs.main(["--every", "5", "--setting", "tiny", TINY, "--no-report"])
    assert exit_info.value.code == 2
    assert "--every 5 is above the generations" in capsys.readouterr().err


def test_a_bad_section_name_is_refused_before_any_run(capsys):
    with pytest.raises(SystemExit) as exit_info:
        training_runs.main(["--section", "Bad Name", "--no-report"])
    assert exit_info.value.code == 2
    assert "argument --section: use lower-case letters, digits and hyphens" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message", [("--n-train 0", "must be a positive integer, at most 2147483647, got 0"), ("'x", "No closing")]
)
def test_bad_setting_flags_end_in_the_usual_error_not_train_snns_usage(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        training_runs.main(["--setting", "bad", flags, "--no-report"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--setting: " in err and message in err
    assert "--n-hidden" not in err  # train_snn.py's usage is not printed
