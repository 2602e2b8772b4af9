"""benchmarks/bench_snn.py: a child run that fails says so, and nonsense repeats are refused."""

import subprocess
import sys

import pytest
import torch

import spiking_network
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


def test_the_loop_with_new_tensors_every_step_counts_what_the_buffered_loop_counts():
    lif = spiking_network.LIFParams(tau_mem=0.002, tau_ref=bench_snn.DT, sigma=0.4)
    generator = torch.Generator().manual_seed(3)
    w_in, w_lif = torch.randn(5, 1, 6, generator=generator), torch.randn(5, 6, 6, generator=generator) * 2
    inputs = (torch.rand(40, 7, 1, generator=generator) < 0.5).float()  # (steps, trials, 1)
    noise = spiking_network.draw_noise(lif, 40, 7, 6, generator)
    counts, pairs = bench_snn.allocating_steps(w_in, w_lif, inputs, noise, lif, 4)
    buffered = spiking_network._run_steps(w_in, w_lif, inputs, noise, lif, bench_snn.DT, False, 4)
    assert counts.sum() > 0 and pairs.sum() > 0
    assert torch.equal(counts, buffered[0]) and torch.equal(pairs, buffered[2])
