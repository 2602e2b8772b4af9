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
