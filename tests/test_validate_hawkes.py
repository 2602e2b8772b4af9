"""benchmarks/validate_hawkes.py refuses its nonsense arguments before any fit."""

import pytest

from benchmarks import validate_hawkes


@pytest.mark.parametrize(
    "argv", [["--seed", "-1"], ["--n-calibration", "-2"], ["--out", "no/such/folder/x.json"], ["--out", "."]]
)
def test_nonsense_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as excinfo:
        validate_hawkes.parse_args(argv)
    assert excinfo.value.code == 2
    assert ": error: " in capsys.readouterr().err.splitlines()[-1]


def test_an_out_file_in_an_existing_folder_is_taken(tmp_path):
    assert validate_hawkes.parse_args(["--out", str(tmp_path / "numbers.json")]).out == tmp_path / "numbers.json"
