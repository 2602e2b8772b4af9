"""Benchmark the batched LIF network against a per-individual, per-trial loop; time training.

Measures, side by side in one run on this machine:

1. one CMA-ES generation's evaluation (population 14, 100 training trials of 100 steps):
   ``simulate_network`` on the whole population and all trials at once, against the same
   function called once per individual and per trial (batch size 1);
2. one generation of the default training (every CMA-ES run's population, the default
   training trials, noise on), and one of four times its population: the population run in
   cache-sized chunks (``spiking_network.STATE_CHUNK``), as the training does, against all of
   it at once;
3. the spike test of ``lif_step`` on one chunk's state: ``torch.ge`` written straight into a
   float tensor, as the step does, against a bool result converted with ``.to()``;
4. one step's input current on one chunk's state (one input neuron): the broadcast multiply
   ``_run_steps`` uses, against a batched matmul of inner size 1;
5. one LIF step on one chunk's state at the default one-step refractory period: the last
   step's spikes as the refractory counter, as ``lif_step`` takes them, against the counter's
   own test and arithmetic (the general step, which any longer period takes);
6. one generation's evaluation of the default training with its fitness's synchrony term
   (which counts the hidden layer's same-step pairs in every step), without it, and with the
   burst term as well (``--burst-penalty``, off by default; it counts spikes that repeat a
   neuron's spike of two steps before);
7. the time loop of one generation of the default training: the state in buffers allocated
   once, as ``_run_steps`` keeps it, against the same steps writing new tensors every step;
8. the full default training, ``python train_snn.py`` in a subprocess, with its test accuracy
   (its peak memory is ``benchmarks.pipeline``'s: see ``run_child``).

Reads and writes nothing in the repo (the training writes to a temporary folder). It imports
``train_snn`` for the training's own defaults. Run from the repository root::

    python -m benchmarks.bench_snn
"""

import argparse
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import snn_fitness
import snn_training
import spiking_network
import train_snn
from benchmarks.report import printed_section
from cli_types import positive_int
from spike_file import load_spike_trains

ROOT = Path(__file__).resolve().parent.parent
POPULATION = 14
N_TRIALS = 100
N_STEPS = 100
DT = 0.001
BURST_PENALTY = 10.0  # the weight DEFAULTS.md steps 35-36 tried


def evaluate_batched(theta, spikes, labels, layer_sizes, lif, fitness_options):
    """One generation's fitness, the way ``snn_training`` computes it: all at once."""
    weights = spiking_network.theta_to_weights(theta, layer_sizes)
    return snn_training.evaluate(weights, spikes, labels, lif, DT, None, fitness_options)[1]


def evaluate_looped(theta, spikes, labels, layer_sizes, lif, fitness_options):
    """The same fitness with one network run per individual and per trial."""
    cofiring, repeats = bool(fitness_options.get("sync_penalty")), bool(fitness_options.get("burst_penalty"))
    values = torch.zeros(theta.shape[0])
    for p in range(theta.shape[0]):
        weights = spiking_network.theta_to_weights(theta[p : p + 1], layer_sizes)
        runs = [
            spiking_network.simulate_network(weights, spikes[t : t + 1], lif, DT, cofiring=cofiring, repeats=repeats)
            for t in range(spikes.shape[0])
        ]
        runs = [run if cofiring or repeats else (run,) for run in runs]
        counts = torch.stack([run[0] for run in runs], dim=1)[:, :, 0]  # (1, T, N)
        pairs = torch.stack([run[1] for run in runs], dim=1)[..., 0] if cofiring else None  # (1, T)
        repeated = torch.stack([run[-1] for run in runs], dim=1)[:, :, 0] if repeats else None  # (1, T, n_hidden)
        values[p] = snn_fitness.fitness(
            counts, labels, n_steps=N_STEPS, pairs=pairs, repeats=repeated, **fitness_options
        )[0]
    return values


def best_time(function, repeats):
    """Minimum wall time of ``repeats`` calls, in seconds, and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def run_child(argv):
    """Run ``argv`` silently to its end; raise ``CalledProcessError`` if it fails.

    Its peak memory is not taken here: Linux starts a child's high-water mark (``ru_maxrss``)
    at its parent's, which here is this benchmark's. ``benchmarks.pipeline`` samples each
    script's resident memory instead.
    """
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def time_training(extra_args):
    """Run the default training in a subprocess; return wall seconds and test accuracy."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "spike_trains.pkl"
        start = time.perf_counter()
        run_child(
            [sys.executable, str(ROOT / "train_snn.py"), "--spike-file", str(out), "--figure-dir", folder, *extra_args]
        )
        seconds = time.perf_counter() - start
        return seconds, load_spike_trains(out)["metrics"]["test"]["accuracy"]


def default_generation(defaults, layer_sizes, rng, scale=1):
    """One generation of the default training (every run's population, the training trials,
    noise on) with ``scale`` times its population, drawn from ``rng``.

    Returns
    -------
    spikes : torch.Tensor, shape (trials, 1, n_steps)
    labels : torch.Tensor, shape (trials,)
    lif : spiking_network.LIFParams
    weights : the population's weights (``spiking_network.theta_to_weights``)
    """
    population = defaults.population * defaults.cma_runs * scale
    rates = snn_training.class_rates(defaults.n_steps, defaults.sine_freq, defaults.cosine_freq)
    spikes, labels = snn_training.generate_trials(defaults.n_train, rates, rng)
    lif = spiking_network.LIFParams(tau_mem=defaults.tau_mem, tau_ref=defaults.tau_ref, sigma=defaults.noise_sigma)
    theta = torch.as_tensor(
        rng.normal(0.5, 1.0, (population, spiking_network.n_parameters(layer_sizes))), dtype=torch.float32
    )
    return torch.as_tensor(spikes), torch.as_tensor(labels), lif, spiking_network.theta_to_weights(theta, layer_sizes)


def time_chunking(defaults, layer_sizes, rng, repeats, scale):
    """Print one generation's simulation time, chunked and in one piece, at 1 and 2 threads.

    The generation is the default training's (every run's population, the training trials,
    noise on) with ``scale`` times its population.
    """
    population = defaults.population * defaults.cma_runs * scale
    spikes, _, lif, weights = default_generation(defaults, layer_sizes, rng, scale)

    def simulate():
        return spiking_network.simulate_network(weights, spikes, lif, DT, torch.Generator().manual_seed(0))

    print(f"\none generation of {scale} x the default population: {population}, {defaults.n_train} trials, noise on")
    print("| variant | torch threads | seconds | speed-up vs one piece |")
    print("|---|---|---|---|")
    chunk = spiking_network.STATE_CHUNK
    n_chunks = spiking_network.population_chunks(
        population, defaults.n_train, layer_sizes["hidden"] + layer_sizes["output"]
    )
    for threads in (1, 2):
        torch.set_num_threads(threads)
        spiking_network.STATE_CHUNK = sys.maxsize  # the whole population in one chunk
        try:
            whole_seconds, whole = best_time(simulate, repeats)
        finally:
            spiking_network.STATE_CHUNK = chunk
        seconds, chunked = best_time(simulate, repeats)
        assert torch.equal(chunked, whole)  # chunks change the speed, never a spike count
        print(f"| one piece | {threads} | {whole_seconds:.4f} | 1x |")
        print(
            f"| {n_chunks} chunk(s) of at most {chunk} elements | {threads} | {seconds:.4f} "
            f"| {whole_seconds / seconds:.2f}x |"
        )


def repeat_call(call, steps):
    """Call ``call()`` ``steps`` times; return the last result. Each result is let go before the
    next call, as in a time loop: kept, they would make every call allocate fresh memory."""
    for _ in range(steps):
        result = call()
    return result


def time_per_call(variants, repeats, steps, against):
    """Print each variant's microseconds per call, at 1 and 2 torch threads, and its speed-up.

    ``variants``: name -> function of no arguments, the first the one ``against`` names; every
    variant must return the same tensor as the first (checked), so the table compares the cost
    of one computation.
    """
    print(f"| variant | torch threads | microseconds | speed-up vs {against} |")
    print("|---|---|---|---|")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results = {
            name: best_time(lambda call=call: repeat_call(call, steps), repeats) for name, call in variants.items()
        }
        (first_seconds, reference), *_ = results.values()
        for name, (seconds, result) in results.items():
            assert torch.equal(result, reference)
            print(f"| {name} | {threads} | {seconds / steps * 1e6:.1f} | {first_seconds / seconds:.1f}x |")


def time_spike_test(repeats, steps=1000):
    """Print the seconds per step of the spike test, float output against bool then ``.to()``."""
    u = torch.randn(spiking_network.STATE_CHUNK)  # one chunk's potentials
    variants = {
        "bool, then .to(float32)": lambda: (u >= 1.0).to(u.dtype),
        "torch.ge into a float tensor (lif_step)": lambda: torch.ge(u, 1.0, out=torch.empty_like(u)),
    }
    print(f"\nspike test of one chunk ({spiking_network.STATE_CHUNK} potentials), per step")
    time_per_call(variants, repeats, steps, "bool")


def time_input_drive(defaults, layer_sizes, rng, repeats, steps=200):
    """Print the seconds per step of the input current plus noise, broadcast against ``baddbmm``.

    The state is one chunk of the default training's generation: every run's population, the
    training trials, the LIF neurons. With 0/1 inputs both add the same products.
    """
    population = defaults.population * defaults.cma_runs
    n_lif = layer_sizes["hidden"] + layer_sizes["output"]
    noise = torch.randn(defaults.n_train, n_lif)  # (T, N), one step's noise
    previous_input = torch.as_tensor(rng.random((defaults.n_train, 1)) < 0.5, dtype=torch.float32)  # (T, 1)
    w_in = torch.randn(population, 1, n_lif)  # (P, 1, N)
    variants = {
        "batched matmul (baddbmm)": lambda: torch.baddbmm(
            noise.expand(population, -1, -1), previous_input.expand(population, -1, -1), w_in
        ),
        "broadcast multiply (addcmul, _run_steps)": lambda: torch.addcmul(noise, previous_input, w_in),
    }
    print(f"\ninput current of one step: population {population}, {defaults.n_train} trials, {n_lif} LIF neurons")
    time_per_call(variants, repeats, steps, "matmul")


def counter_step(v, refractory, current, leak, lif, n_ref):
    """One LIF step with the refractory counter tested and counted down (v_reset = 0): the
    general step, which ``lif_step`` takes for any period but one step."""
    active = torch.le(refractory, 0.0, out=torch.empty_like(refractory))
    u = current.add_(v, alpha=leak).mul_(active)  # current overwritten, as lif_step does
    spikes = torch.ge(u, lif.v_threshold, out=torch.empty_like(u))
    v = u.addcmul_(spikes, u, value=-1.0)
    refractory = (refractory - 1.0).clamp_(min=0.0).add_(spikes, alpha=n_ref)
    return v, refractory, spikes


def time_refractory_counter(defaults, layer_sizes, repeats, steps=500):
    """Print the seconds per LIF step of one chunk of the default training's generation at its
    one-step refractory period: ``lif_step`` against ``counter_step``. The state is random: the
    potentials, the current, and last step's spikes (a tenth of the neurons), which at one
    silent step are the refractory counter; both steps must give the same spikes (checked).
    Both overwrite their current, so each takes a copy of it, written into one buffer."""
    lif = spiking_network.LIFParams(tau_mem=defaults.tau_mem, tau_ref=defaults.tau_ref)
    leak, n_ref = lif.leak(DT), lif.refractory_steps(DT)
    if n_ref != 1:
        print(f"\nrefractory counter: not timed, the default period is {n_ref} steps")
        return
    n_lif = layer_sizes["hidden"] + layer_sizes["output"]
    shape = (defaults.population * defaults.cma_runs, defaults.n_train, n_lif)
    generator = torch.Generator().manual_seed(0)
    v, current = torch.rand(shape, generator=generator), torch.randn(shape, generator=generator)
    last_spikes = (torch.rand(shape, generator=generator) < 0.1).float()
    scratch = torch.empty_like(current)
    variants = {
        "counter tested and counted down (general step)": lambda: counter_step(
            v, last_spikes, scratch.copy_(current), leak, lif, n_ref
        )[2],
        "last spikes as the counter (lif_step)": lambda: spiking_network.lif_step(
            v, last_spikes, scratch.copy_(current), leak, lif, n_ref
        )[2],
    }
    print(f"\none LIF step, one refractory step: population {shape[0]}, {shape[1]} trials, {n_lif} LIF neurons")
    time_per_call(variants, repeats, steps, "the general step")


def time_fitness_terms(defaults, layer_sizes, rng, repeats, fitness_options):
    """Print one generation's evaluation with the default fitness, its synchrony term off, and the burst term on.

    The generation is the default training's (every run's population, the training trials,
    noise on), evaluated as ``snn_training.evaluate`` does in every CMA-ES step: the synchrony
    term needs the same-step pairs of the hidden neurons counted in every step of the
    simulation, the burst term each neuron's repeats at two steps. All variants draw the same
    noise, so their spike counts must agree (checked).
    """
    population = defaults.population * defaults.cma_runs
    spikes, labels, lif, weights = default_generation(defaults, layer_sizes, rng)
    variants = {
        "synchrony term off (--sync-penalty 0)": {**fitness_options, "sync_penalty": 0.0},
        f"default (--sync-penalty {fitness_options['sync_penalty']:g})": fitness_options,
        f"default and burst term (--burst-penalty {BURST_PENALTY:g})": {
            **fitness_options,
            "burst_penalty": BURST_PENALTY,
        },
    }
    print(f"\none generation's evaluation: population {population}, {defaults.n_train} trials, noise on")
    print("| fitness | torch threads | seconds | time vs synchrony term off |")
    print("|---|---|---|---|")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results = {
            name: best_time(
                lambda options=options: snn_training.evaluate(
                    weights, spikes, labels, lif, DT, torch.Generator().manual_seed(0), options
                )[0],
                repeats,
            )
            for name, options in variants.items()
        }
        (off_seconds, off_counts), *_ = results.values()
        for name, (seconds, counts) in results.items():
            assert torch.equal(counts, off_counts)  # counting pairs or repeats never changes a spike
            print(f"| {name} | {threads} | {seconds:.4f} | {seconds / off_seconds:.2f}x |")


def allocating_steps(w_in, w_lif, inputs, noise, lif, n_cofiring):
    """``spiking_network._run_steps`` at the default neuron (one input, one refractory step,
    ``v_reset`` 0), counting the same-step pairs of the first ``n_cofiring`` neurons, as it was
    before its buffers: a new tensor for every step's current, potential and spikes, and the
    pairs as ``h (h - 1) / 2`` every step. The same numbers (checked by ``time_state_buffers``)."""
    leak = lif.leak(DT)
    v = torch.zeros(w_lif.shape[0], inputs.shape[1], w_lif.shape[-1])
    spikes, counts, pairs = torch.zeros_like(v), torch.zeros_like(v), v.new_zeros(v.shape[:2])
    mask = v.new_zeros(v.shape[-1])
    mask[:n_cofiring] = 1.0
    no_input = inputs.new_zeros(inputs.shape[1:])
    for k in range(len(inputs)):
        current = torch.addcmul(noise[k], inputs[k - 1] if k else no_input, w_in).baddbmm_(spikes, w_lif)
        u = torch.add(current, v, alpha=leak)
        u.addcmul_(u, spikes, value=-1.0)  # silent after a spike
        spikes = torch.ge(u, lif.v_threshold, out=torch.empty_like(u))
        v = u.addcmul_(spikes, u, value=-1.0)
        counts += spikes
        together = spikes @ mask
        pairs.addcmul_(together, together - 1.0, value=0.5)
    return counts, pairs


def time_state_buffers(defaults, layer_sizes, rng, repeats):
    """Print the seconds of one generation's time loop (the default training's population,
    trials and noise, the same-step pairs counted): the state in buffers allocated once
    (``_run_steps``) against new tensors every step (``allocating_steps``). Both must give the
    same counts and pairs (checked)."""
    population = defaults.population * defaults.cma_runs
    spikes, _, lif, weights = default_generation(defaults, layer_sizes, rng)
    if lif.refractory_steps(DT) != 1 or lif.v_reset:
        print("\nstate buffers: not timed, the default neuron is not the one allocating_steps runs")
        return
    n_hidden, n_lif = layer_sizes["hidden"], layer_sizes["hidden"] + layer_sizes["output"]
    w_in, w_lif = spiking_network.lif_weights(weights)
    inputs = spikes.float().permute(2, 0, 1).contiguous()  # (S, T, 1)
    noise = spiking_network.draw_noise(lif, inputs.shape[0], inputs.shape[1], n_lif, torch.Generator().manual_seed(0))
    variants = {
        "new tensors every step": lambda: allocating_steps(w_in, w_lif, inputs, noise, lif, n_hidden),
        "buffers allocated once (_run_steps)": lambda: spiking_network._run_steps(
            w_in, w_lif, inputs, noise, lif, DT, False, n_hidden
        )[::2],  # counts and pairs
    }
    print(f"\ntime loop of one generation: population {population}, {defaults.n_train} trials, noise on")
    print("| state | torch threads | seconds | speed-up vs new tensors |")
    print("|---|---|---|---|")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results = {name: best_time(call, repeats) for name, call in variants.items()}
        (first_seconds, reference), *_ = results.values()
        for name, (seconds, result) in results.items():
            assert all(torch.equal(a, b) for a, b in zip(result, reference))
            print(f"| {name} | {threads} | {seconds:.4f} | {first_seconds / seconds:.2f}x |")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="timed repeats of the batched evaluation (default 5)"
    )
    parser.add_argument("--skip-training", action="store_true", help="do not time the full default training")
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    return parser.parse_args(argv)


def run(args):
    """The benchmark itself, printing its tables."""
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, "
        f"{os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}"
    )
    rng = np.random.default_rng(0)
    layer_sizes = spiking_network.DEFAULT_LAYER_SIZES
    defaults = train_snn.parse_args([])  # the training's own defaults
    # The looped variant draws its noise trial by trial, so the two agree only without noise;
    # the noise itself is one randn call before the time loop.
    lif = spiking_network.LIFParams(tau_mem=defaults.tau_mem, tau_ref=defaults.tau_ref, sigma=0.0)
    fitness_options = {
        "temperature": defaults.temperature,
        "silence_penalty": defaults.silence_penalty,
        "min_count": defaults.min_count,
        "rate_floor": defaults.rate_floor,
        "rate_target": defaults.rate_target,
        "rate_penalty": defaults.rate_penalty,
        "output_rate_target": defaults.output_rate_target,
        "sync_penalty": defaults.sync_penalty,
        "sync_two_sided": defaults.sync_two_sided,
        "burst_penalty": defaults.burst_penalty,
    }
    spikes, labels = snn_training.generate_trials(
        N_TRIALS, snn_training.class_rates(N_STEPS, defaults.sine_freq, defaults.cosine_freq), rng
    )
    spikes, labels = torch.as_tensor(spikes), torch.as_tensor(labels)
    theta = torch.as_tensor(
        rng.normal(0.5, 1.0, (POPULATION, spiking_network.n_parameters(layer_sizes))), dtype=torch.float32
    )

    print(f"one generation: population {POPULATION}, {N_TRIALS} trials, {N_STEPS} steps")
    print("| variant | torch threads | seconds | speed-up vs loop |")
    print("|---|---|---|---|")
    torch.set_num_threads(1)
    loop_seconds, loop_values = best_time(
        lambda: evaluate_looped(theta, spikes, labels, layer_sizes, lif, fitness_options), 1
    )
    rows = [("per-individual, per-trial loop", 1, loop_seconds)]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        seconds, values = best_time(
            lambda: evaluate_batched(theta, spikes, labels, layer_sizes, lif, fitness_options), args.repeats
        )
        torch.testing.assert_close(values, loop_values)  # the two compute the same thing
        rows.append(("batched (population x trials)", threads, seconds))
    for name, threads, seconds in rows:
        print(f"| {name} | {threads} | {seconds:.4f} | {loop_seconds / seconds:.0f}x |")

    for scale in (1, 4):
        time_chunking(defaults, layer_sizes, rng, args.repeats, scale)
    time_spike_test(args.repeats)
    time_input_drive(defaults, layer_sizes, rng, args.repeats)
    time_refractory_counter(defaults, layer_sizes, args.repeats)
    time_fitness_terms(defaults, layer_sizes, rng, args.repeats, fitness_options)
    time_state_buffers(defaults, layer_sizes, rng, args.repeats)

    if not args.skip_training:
        seconds, accuracy = time_training([])
        print(
            f"default training (python train_snn.py): {seconds:.1f} s wall, test accuracy {accuracy:.3f} "
            "(its peak memory: python -m benchmarks.pipeline)"
        )
    own_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this benchmark process: {own_mib:.0f} MiB")


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "benchmarks.bench_snn", *(sys.argv[1:] if argv is None else argv)])
    with printed_section(
        "bench-snn",
        "The network: batched against per-individual simulation, training time",
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
