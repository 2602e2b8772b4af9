"""benchmarks/bench_snn.py: a child run that fails says so, and nonsense repeats are refused."""

import subprocess
import sys

import pytest

from benchmarks import bench_snn


def test_run_child_raises_on_a_failed_run():
    with pytest.raises(subprocess.CalledProcessError) as excinfo:
        bench_snn.run_child([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert excinfo.value.returncode == 3


@pytest.mark.parametrize("repeats", ["0", "-1"])
def test_repeats_below_one_are_refused_before_any_timing(repeats):
    with pytest.raises(SystemExit) as stop:
        bench_snn.parse_args(["--repeats", repeats])
    assert stop.value.code == 2
