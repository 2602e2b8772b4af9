"""benchmarks/bench_snn.py's child runs: their own usage, and a failure that says so."""

import subprocess
import sys

import pytest

from benchmarks import bench_snn


def test_run_child_counts_that_child_alone():
    touch = "import numpy as np; np.ones(2**24).sum()"  # 128 MiB of fresh pages to fault in
    light = bench_snn.run_child([sys.executable, "-c", "pass"]).ru_minflt
    heavy = bench_snn.run_child([sys.executable, "-c", touch]).ru_minflt
    again = bench_snn.run_child([sys.executable, "-c", "pass"]).ru_minflt
    # Counts summed over every child so far (RUSAGE_CHILDREN) would only grow.
    assert light < heavy and again < heavy


def test_run_child_raises_on_a_failed_run():
    with pytest.raises(subprocess.CalledProcessError) as excinfo:
        bench_snn.run_child([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert excinfo.value.returncode == 3


@pytest.mark.parametrize("repeats", ["0", "-1"])
def test_repeats_below_one_are_refused_before_any_timing(repeats):
    with pytest.raises(SystemExit) as stop:
        bench_snn.parse_args(["--repeats", repeats])
    assert stop.value.code == 2
