"""The seed sweep of benchmarks/seeds.py runs the same on a Dask cluster as locally."""

import dask
import numpy as np
import pytest
from dask.distributed import LocalCluster
from sweep_rows import sweep_row

from benchmarks import seeds

# Tiny runs: the sweep's plumbing, not its results.
TRAIN = "--n-train 16 --n-test 16 --n-validation 8 --n-steps 40 --population 4 --generations 2 --cma-runs 1".split()
TRAIN += ["--threads", "1"]
FIT = "--n-samples 8 --max-samples 8 --n-warmup 0 --n-chains 2 --min-trials 1".split()


def numbers(rows):
    """The rows without their timings (which differ between runs)."""
    return [{key: value for key, value in row.items() if not key.endswith("_seconds")} for row in rows]


def test_sweep_on_a_local_dask_cluster_equals_the_local_run():
    local = seeds.sweep([0, 1], TRAIN, FIT, n_jobs=1)  # in this process: no pool of workers to start
    # Forked workers inherit this process's imports (spawned ones import torch, pycma, scipy and
    # Dask again, most of the test's time). The runs use one torch thread: torch's GNU OpenMP can
    # hang in a forked child that starts a thread team after its parent had one.
    with (
        dask.config.set({"distributed.worker.multiprocessing-method": "fork"}),
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
    ):
        remote = seeds.sweep([0, 1], TRAIN, FIT, dask_scheduler=cluster.scheduler_address)
    assert [row["seed"] for row in local] == [0, 1]
    assert numbers(remote) == numbers(local)
    assert all(0 <= row["test_accuracy"] <= 1 and row["groups"] >= 1 and row["trainings"] == 1 for row in local)
    assert all(np.isfinite(list(row["auc_all"].values())).any() for row in local)


def test_a_row_counts_the_trainings_of_a_restart():
    # --restart-below 1: a training whose choice misses any of the 8 validation trials trains again;
    # the tiny trainings of seed 0 all miss some.
    row = seeds.run_seed(0, [*TRAIN, "--restarts", "2", "--restart-below", "1"], FIT)
    assert row["trainings"] == 3


def test_table_has_one_row_per_seed_and_the_spread():
    rows = [
        sweep_row(
            s,
            0.9 + s / 100,
            0.94 + s / 100,
            {"x_correct": (0.95, 0.8, 0.05, 190), "y_wrong": (0.85 + s / 10, float("nan"), 0.125, 7)},
        )
        for s in (0, 1)
    ]
    table = seeds.markdown_table(rows)
    assert "| 0 | 0.900 | 0.940 | 0.850-0.950 | y_wrong (7) | 0.800-0.800 | 0.050-0.125 | 2/2 | 10 | 20 |" in table
    assert "| 1 | 0.910 | 0.950 | 0.950-0.950 | x_correct (190) |" in table  # a tie: the first group
    assert "every group of correct trials in 2 of 2" in table and "wrong trials in 1 of 2 (0 without one)" in table
    assert ">= 0.95 in 1 of 2 seeds" in table and ">= 0.9 in 1 of 2" in table and "both in 1 of 2" in table
    assert "observable pairs 0.850-0.950 (median 0.900)" in table
    assert "groups converged: 4 of 4; training 10-10 s (median 10), <= 60 s in 2 of 2." in table
    assert "Trained more than once" not in table
    rows[1]["trainings"] = 2
    assert table.replace("neurons.", "neurons. Trained more than once (`--restarts`) at 1 of 2 seeds: 1.") == (
        seeds.markdown_table(rows)
    )


def test_a_group_without_a_scorable_pair_is_passed_over_wherever_it_stands():
    # Both seeds' wrong groups have no scorable pair (AUC NaN), listed first at seed 0 and last at
    # seed 1: each seed's worst group is its correct one, and both seeds have a wrong group.
    groups = [
        {"x_wrong": (float("nan"),) * 3 + (5,), "y_correct": (0.93, 0.93, 0.1, 195)},
        {"y_correct": (0.85, 0.85, 0.1, 195), "x_wrong": (float("nan"),) * 3 + (5,)},
    ]
    table = seeds.markdown_table([sweep_row(s, 0.97, 0.98, g) for s, g in enumerate(groups)])
    assert "observable pairs 0.850-0.930 (median 0.890), >= 0.9 in 1 of 2; both in 1 of 2" in table
    assert "wrong trials in 2 of 2 (0 without one)" in table


@pytest.mark.parametrize(
    "value, text", [(0.8996, "0.8996"), (0.89999, "0.89999"), (0.9004, "0.900"), (0.8994, "0.899"), (0.95, "0.950")]
)
def test_a_figure_below_a_bar_never_prints_at_it(value, text):
    assert seeds.short_of(value, 0.9) == text
    assert (float(text) >= 0.9) == (value >= 0.9)


def test_trainings_are_counted_against_the_goal_in_the_whole_seconds_the_table_prints():
    assert seeds.training_span([40.2, 60.4, 60.6, 35]) == "35-61 s (median 50), <= 60 s in 3 of 4"


def test_a_row_just_below_the_auc_goal_reads_back_as_a_miss():
    row = sweep_row(0, 0.97, 0.98, {"x_correct": (0.95, 0.95, 0.05, 190), "y_wrong": (0.8996, 0.8996, 0.1, 5)})
    table = seeds.markdown_table([row])
    assert "| 0.8996-0.950 | y_wrong (5) | 0.900-0.950 |" in table  # only the goal's column is held below it
    assert "observable pairs 0.8996-0.900" in table and "both in 0 of 1" in table


def test_a_failed_run_raises_the_scripts_one_line_error(tmp_path):
    with pytest.raises(RuntimeError, match="--n-train"):
        seeds.train(0, tmp_path, ["--n-train", "0"])  # argparse: message on stderr, exit status 2
    with pytest.raises(RuntimeError, match="fit_hawkes_process.py: error: .*missing.pkl"):
        seeds.fit(0, tmp_path / "missing.pkl")  # the script's own sys.exit("...")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--train-flags", "--n-train 0"], "seeds: error: .*--n-train: must be a positive integer, .*got 0"),
        (["--dask-scheduler", "no-port"], "seeds: error: no Dask scheduler at no-port .*drop --dask-scheduler"),
    ],
)
def test_a_failed_sweep_ends_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit, match=message) as excinfo:
        seeds.main(["--seeds", "0", "--no-report", *argv])
    assert "\n" not in str(excinfo.value.code)
    assert capsys.readouterr().out == ""  # no table, nothing written


def test_a_sweep_other_than_the_default_is_titled_by_its_seeds_and_flags():
    assert seeds.section_title(seeds.parse_args([])) == (
        "Every seed: accuracy and connectivity AUC of the default pipeline"
    )
    args = seeds.parse_args(["--seeds", "10", "11", "--train-flags", "--noise-sigma 0.3", "--section", "seeds-x"])
    assert seeds.section_title(args) == (
        "Seeds 10, 11: accuracy and connectivity AUC of the pipeline with train_snn.py `--noise-sigma 0.3`"
    )
    with pytest.raises(SystemExit):
        seeds.parse_args(["--section", "Seeds X"])


def test_a_title_names_the_default_seeds_every_seed_and_lists_any_others():
    assert seeds.seeds_phrase(range(10)) == "every seed"
    assert seeds.seeds_phrase([3, 5]) == "seeds 3, 5"
    assert seeds.seeds_phrase([*range(9), 10]) == "seeds 0, 1, 2, 3, 4, 5, 6, 7, 8, 10"
