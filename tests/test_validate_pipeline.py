"""benchmarks/validate_pipeline.py ends bad input and a failed fit in one line."""

import pytest
from test_fit_hawkes_process import QUICK, make_spike_data

from benchmarks import validate_pipeline as vp
from safe_files import save_pickle


@pytest.mark.parametrize("argv", [["--seed", "-1"], ["--max-spikes", "-1"]])
def test_nonsense_arguments_are_refused(argv):
    with pytest.raises(SystemExit) as excinfo:
        vp.parse_args(argv)
    assert excinfo.value.code == 2


def test_a_bad_spike_file_and_a_failed_fit_say_why_in_one_line(tmp_path):
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"not a pickle")
    with pytest.raises(SystemExit, match=r"^validate_pipeline.py: error: .*garbage.pkl is not a readable spike file"):
        vp.run(vp.parse_args(["--spike-file", str(garbage), "--no-report"]))
    with pytest.raises(RuntimeError, match=r"^fit_hawkes_process.py: error: spike file .*missing.pkl does not exist"):
        vp.fit_and_score(tmp_path / "missing.pkl", tmp_path, [], 0, 1000)


def test_a_fits_warnings_still_reach_stderr(tmp_path, capsys):
    spike_file = tmp_path / "spike_trains.pkl"
    split = ["test", "test", "test", "test", "train"]
    save_pickle(make_spike_data([0, 0, 1, 1, 0], [0, 1, 1, 1, 0], split), spike_file)  # 1 sine_correct trial
    results = vp.fit_and_score(spike_file, tmp_path, [*QUICK, "--min-trials", "2"], 0, 0)
    assert list(results) == ["cosine_correct"]
    assert "group sine_correct has only 1 test trial(s)" in capsys.readouterr().err
