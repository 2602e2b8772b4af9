"""benchmarks/fit_settings.py fits one network per seed under several settings and sets them side by side."""

import numpy as np
import pytest

import fit_hawkes_process
from benchmarks import fit_settings, seeds

TINY_TRAIN = (
    "--generations 20 --cma-runs 2 --n-train 40 --n-test 40 --n-validation 20 --select-draws 1 --select-generations 2"
).split()
TINY_FIT = "--n-samples 40 --max-samples 40 --n-warmup 40".split()


def test_the_first_settings_column_is_the_seed_sweeps_fit():
    """Against the seed sweep's own run of the scripts (its fit on one core; the fit's result does not depend on it)."""
    settings = {
        "default": TINY_FIT,
        "prior mean 1": [*TINY_FIT, "--alpha-prior-mean", "1"],
        "chains seeded 7": [*TINY_FIT, "--seed", "7"],
    }
    row = fit_settings.run_seed(3, settings, TINY_TRAIN)
    swept = seeds.run_seed(3, TINY_TRAIN, TINY_FIT)
    assert row["test_accuracy"] == swept["test_accuracy"]
    assert row["trials"] == swept["trials"]
    assert row["fits"]["default"]["auc_observable"] == swept["auc_observable"]
    assert row["fits"]["prior mean 1"]["auc_observable"] != swept["auc_observable"]  # the flag reaches the fit
    assert all(fit["fit_seconds"] > 0 for fit in row["fits"].values())  # each fit timed
    # A setting's own --seed comes after the network's and seeds the chains: the same data, other draws.
    assert row["fits"]["chains seeded 7"]["trials"] == swept["trials"]
    assert row["fits"]["chains seeded 7"]["ks"] != swept["ks"]


def fake_row(seed, aucs_by_setting, trials):
    """A row of ``run_seed`` from group AUCs per setting."""
    fits = {
        name: {
            "auc_observable": dict(aucs),
            "converged": len(aucs) - 1,
            "unconverged": list(aucs)[-1:],
            "groups": len(aucs),
            "trials": trials,
            "fit_seconds": 10.0 * (seed + 1) * (k + 1),
        }
        for k, (name, aucs) in enumerate(aucs_by_setting.items())
    }
    return {"seed": seed, "test_accuracy": 0.97, "trials": trials, "fits": fits}


def test_the_summary_counts_each_group_against_the_first_setting():
    trials = {"sine_correct": 190, "cosine_correct": 195, "cosine_wrong": 9}
    rows = [
        fake_row(
            0,
            {
                "a": {"sine_correct": 0.95, "cosine_correct": 0.93, "cosine_wrong": 0.88},
                "b": {"sine_correct": 0.96, "cosine_correct": 0.93, "cosine_wrong": 0.91},
            },
            trials,
        ),
        fake_row(
            1,
            {
                "a": {"sine_correct": 0.92, "cosine_correct": 0.94, "cosine_wrong": 0.90},
                "b": {"sine_correct": np.nan, "cosine_correct": 0.9401, "cosine_wrong": 0.90},
            },
            trials,
        ),
    ]
    text = fit_settings.markdown_table(rows, {"a": [], "b": []})
    # The groups whose chains missed the limits are marked: here each fit's last group.
    assert "| 0 | 0.970 | cosine_wrong (9) | 0.880† | 0.910† |" in text
    assert "| 0 | 0.970 | cosine_correct (195) | 0.930 | 0.930 |" in text
    assert "†: the group's chains missed the fit script's convergence limits (R-hat <= 1.01" in text
    a_line = "a: worst group's AUC 0.880-0.900 (median 0.890), >= 0.9 in every group at 1 of 2 seeds"
    assert a_line + "; groups converged: 4 of 6; median fit 15 s." in text  # fits of 10 and 20 s
    assert "groups converged: 4 of 6; median fit 30 s. Against a:" in text  # b: 20 and 40 s
    # b against a, correct groups: +0.01, 0, +0.0001 (0.000 as shown), the NaN left out; wrong: +0.03, 0.
    correct = np.median([0.01, 0.0, 0.0001])
    assert (
        f"groups of correct trials higher in 1, lower in 0, the same in 2 of 3 (median change {correct:+.3f})" in text
    )
    assert "of wrong trials higher in 1, lower in 0, the same in 1 of 2 (median change +0.015)." in text
    # b's worst group at seed 1 is its lowest AUC with one: the NaN of a group without scorable pairs is skipped.
    assert "b: worst group's AUC 0.900-0.910 (median 0.905), >= 0.9 in every group at 2 of 2 seeds" in text


def test_the_summary_compares_groups_as_the_table_shows_them():
    # 0.9334 -> 0.9336 reads 0.933 -> 0.934 in the table: higher, though the difference rounds to 0;
    # 0.9301 -> 0.9302 reads 0.930 -> 0.930: the same.
    trials = {"sine_correct": 190, "cosine_correct": 195}
    aucs = {
        "a": {"sine_correct": 0.9334, "cosine_correct": 0.9301},
        "b": {"sine_correct": 0.9336, "cosine_correct": 0.9302},
    }
    text = fit_settings.markdown_table([fake_row(0, aucs, trials)], {"a": [], "b": []})
    assert "| 0 | 0.970 | sine_correct (190) | 0.933 | 0.934 |" in text
    assert (
        "| 0 | 0.970 | cosine_correct (195) | 0.930† | 0.930† |" in text
    )  # fake_row: the last group missed the limits
    assert "groups of correct trials higher in 1, lower in 0, the same in 1 of 2 (median change" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--setting", "only", ""], "at least two settings"),
        (["--setting", "x", "", "--setting", "x", "--n-samples 40"], "a name of its own"),
        (["--setting", "x", "", "--setting", "y", "--no-such-flag 1"], "--setting y: unrecognized arguments"),
        (["--setting", "x", "", "--setting", "y", "--alpha-prior-mean 0"], "--setting y: argument --alpha-prior-mean"),
        (["--seeds", "-1"], "seeds must be >= 0"),
        (["--section", "Bad Name"], "--section"),
        (
            ["--fit-flags", "--n-chains 0", "--setting", "x", "", "--setting", "y", "--seed 1"],
            "--setting x: argument --n-chains",
        ),
    ],
)
def test_nonsense_arguments_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        fit_settings.parse_args(argv)
    assert info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in last and "Traceback" not in last


def test_the_default_settings_are_the_prior_sensitivity_around_the_default_fit():
    args = fit_settings.parse_args([])
    assert list(args.settings.values())[0] == []
    means = [float(flags[1]) for flags in list(args.settings.values())[1:]]
    assert all(flags[0] == "--alpha-prior-mean" for flags in list(args.settings.values())[1:])
    default = fit_hawkes_process.parse_args([]).alpha_prior_mean
    assert default not in means and min(means) < default < max(means)


def test_the_common_fit_flags_come_before_each_settings_own_which_win():
    args = fit_settings.parse_args(
        ["--fit-flags", "--partial-pooling none", "--setting", "a", "", "--setting", "b", "--partial-pooling class"]
    )
    assert args.settings == {
        "a": ["--partial-pooling", "none"],
        "b": ["--partial-pooling", "none", "--partial-pooling", "class"],
    }
    pooling = [fit_hawkes_process.parse_args(flags).partial_pooling for flags in args.settings.values()]
    assert pooling == ["none", "class"]
