"""benchmarks/selection.py refuses bad training flags before it prints a line."""

import pytest

from benchmarks import selection


@pytest.mark.parametrize(
    "flags, message",
    [
        ("--n-train 0", "--n-train: must be a positive integer, at most 2147483647, got 0"),
        ("'unclosed", "No closing quotation"),
    ],
)
def test_bad_train_flags_end_in_one_error_before_any_output(flags, message, capsys):
    with pytest.raises(SystemExit) as excinfo:
        selection.main(["--seeds", "0", "--no-report", "--train-flags", flags])
    assert excinfo.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].endswith(message) and "--train-flags: " in err.splitlines()[-1]


def test_a_bad_section_name_is_refused_before_any_output(capsys):
    with pytest.raises(SystemExit) as excinfo:
        selection.main(["--seeds", "0", "--no-report", "--section", "Bad Name"])
    assert excinfo.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "argument --section: use lower-case letters, digits and hyphens" in err


def test_choices_name_draws_and_validation_trials_in_the_given_order():
    args = selection.parse_args(["--choices", "10x200", "2x1000", "1x2000", "--pool-generations", "50"])
    assert selection.settings_of(args) == [(10, 50, 200), (2, 50, 1000), (1, 50, 2000)]
    assert selection.section_title(args) == (
        "The choice of the final weights: draws x validation trials 10 x 200, 2 x 1000, 1 x 2000"
    )
    default = selection.parse_args(["--seeds", "40", "41"])
    settings = selection.settings_of(default)
    assert settings[0] == (1, selection.SHORT_POOL, 200) and len(settings) == 7
    assert selection.section_title(default) == (
        "The choice of the final weights: one noise draw or several, seeds 40, 41"
    )


@pytest.mark.parametrize("item", ["10", "0x200", "10x0", "x200", "tenx200", "10x200x3"])
def test_a_choice_that_is_not_draws_x_trials_ends_in_one_line(item, capsys):
    with pytest.raises(SystemExit) as excinfo:
        selection.parse_args(["--choices", item])
    assert excinfo.value.code == 2
    assert "use DRAWSxTRIALS with both at least 1" in capsys.readouterr().err.splitlines()[-1]
