"""The command line of ``train_snn.py``: the training's defaults and the checks of its settings.

Every default that sets the network's regime or its training was chosen by seed sweeps
(docs/DEFAULTS.md); the comment beside each says why it is what it is. ``parse_args`` turns the
command line into the settings ``snn_session.training_problem`` reads, and refuses nonsense
(values out of range, settings that contradict each other, numbers the arithmetic would
overflow on) with one line and exit status 2.
"""

import argparse
import math
import os
from pathlib import Path

import torch

import spiking_network
from cli_types import (
    MAX_SEED,
    finite_float,
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
    seed_int,
)
from snn_training import INIT_OUTPUT_WEIGHT, LATERAL_START_RANGE, SELECT_DRAWS, SELECT_GENERATIONS
from spike_file import MAX_DT

ROOT = Path(__file__).resolve().parent
# Weaker weights are no synapse: a synapse too weak to move its target's spikes cannot be seen
# in them, so the fit would be asked for what the trains do not hold. The output weights start
# above it (INIT_OUTPUT_WEIGHT), or the outputs would start without synapses.
MIN_WEIGHT = 0.5  # smallest weight magnitude that is a synapse, in units of v_threshold
# Intrinsic noise and the activity regulariser keep the hidden layer irregular and below
# saturation, so its spike trains carry its synapses: without them CMA-ES builds clock-like,
# saturated chains that classify well but hide their synapses. Their strengths pull two ways
# (docs/DEFAULTS.md): a band that binds made every seed accurate but, alone, showed the synapses
# worse; more noise shows them better but costs accuracy. The noise, the rate band and the
# weights (MIN_WEIGHT and the CMA-ES starts of snn_training.py) were chosen by seed sweeps, and
# the changes to the smallest weight and to the lateral cap with the noise by rules written
# down before their fresh seeds ran (docs/DEFAULTS.md). Under the synchrony term (SYNC_PENALTY
# below), which keeps the neurons out of lockstep, more noise showed the synapses in more groups
# at a small price in accuracy; chosen by such a rule (docs/DEFAULTS.md, step 32).
NOISE_SIGMA = 0.3  # sd of the noise current per step, in units of v_threshold
# A cap on the hidden->hidden weights breaks the chains of neurons that latch each other into
# lockstep copies, whose spike trains cannot tell their synapses from their shared drive.
MAX_LATERAL_WEIGHT = 3.0  # largest hidden->hidden weight magnitude, in units of v_threshold
# A smallest hidden->hidden weight of its own, above MIN_WEIGHT: the weak synapses that the
# posterior ranked worst were mostly lateral, and at one threshold unit a lateral synapse fires
# its resting target on its own, so its spikes show in the target's train. Chosen by a rule
# written down before its fresh seeds ran (docs/DEFAULTS.md).
MIN_LATERAL_WEIGHT = 1.0  # in units of v_threshold
# A membrane that forgets within a few steps made more seeds classify (docs/DEFAULTS.md, step 21),
# and a one-step refractory period discards fewer of the spikes that reach a target just after
# its own. Chosen over the neuron's 5 ms and 2 ms (spiking_network.LIFParams) by a rule on
# accuracy and synapses written down before its fresh seeds ran (docs/DEFAULTS.md, step 24).
TAU_MEM = 0.002  # membrane time constant, seconds
TAU_REF = 0.001  # refractory period, seconds: one step of the default dt
GENERATIONS = 1000  # CMA-ES generations of each run that is not culled
# A run still near chance after a few hundred generations seldom catches up (docs/DEFAULTS.md):
# culling the runs of higher recent fitness then gives their simulations to the others.
CULL_AT = 300  # generation of the cull, in a training longer than that and of more runs than CULL_TO
CULL_TO = 4  # runs kept at the cull
CULL_BY = "fitness"  # what the cull ranks the runs by
# Validation accuracy below which --restarts train again: above the test accuracy of 0.95 the seed
# sweeps ask for, because the most accurate of hundreds of candidates on the validation trials is
# partly the luckiest (--n-check judges on trials no choice saw instead).
RESTART_BELOW = 0.97
# A floor that binds harder than 0.03, under which CMA-ES kept hidden neurons of the fast
# neuron's networks nearly silent: a source with a handful of spikes gets large alphas that rank
# above real synapses. It is a penalty averaged over the neurons, not a bound, so a neuron can
# still fall silent. Chosen by a rule written down before its fresh seeds ran (docs/DEFAULTS.md,
# step 25).
RATE_FLOOR = 0.05  # spikes per step below which a hidden/output neuron is penalised
RATE_TARGET = 0.15  # spikes per step a hidden/output neuron may fire before penalty
RATE_PENALTY = 5.0  # fitness per spike/step of rate outside the band, averaged over neurons
# Hidden neurons that share the one input fire in lockstep unless it is priced, and a target
# that fires with its source is refractory when the source's spike arrives; priced one way only
# they take turns instead, in sequences that look like chains of synapses. Chosen by a rule
# written down before its fresh seeds ran (docs/DEFAULTS.md, steps 29-31).
SYNC_PENALTY = 40.0  # fitness per same-step pair per step off chance, averaged over hidden pairs
SYNC_TWO_SIDED = True  # price pairs firing together less often than chance too
BURST_PENALTY = 0.0  # fitness per spike per step two steps after a neuron's own beyond chance


# Far beyond any use; pycma's set-up alone stalls for minutes on a billion.
MAX_POPULATION, MAX_CMA_RUNS = 10_000, 1_000
_population_size = number(
    int, lambda v: 2 <= v <= MAX_POPULATION, f"from 2 (CMA-ES needs a population) to {MAX_POPULATION}"
)
_cma_runs = number(int, lambda v: 1 <= v <= MAX_CMA_RUNS, f"from 1 to {MAX_CMA_RUNS}")
# Beyond these the arithmetic overflows, to nothing a user could want: a first CMA-ES step of
# thousands of threshold units gives infinite weights, a temperature near 0 a fitness of NaN.
MAX_SIGMA0 = 100.0
MIN_TEMPERATURE = 0.01
MAX_WEIGHT = 1e6  # threshold units; the network computes in float32, whose range ends near 3e38
_step = number(float, lambda v: 0 < v <= MAX_DT, f"a positive number of seconds, at most {MAX_DT}")
_cma_step = number(float, lambda v: 0 < v <= MAX_SIGMA0, f"a positive number, at most {MAX_SIGMA0}")
_weight = number(float, lambda v: 0 <= v <= MAX_WEIGHT, f"a number in [0, {MAX_WEIGHT:g}] (threshold units)")
_positive_weight = number(float, lambda v: 0 < v <= MAX_WEIGHT, f"a number in (0, {MAX_WEIGHT:g}] (threshold units)")
# A penalty of a million already outweighs every trial's count margin; at 1e308 the fitness
# overflows, and that showed only after the whole training.
MAX_PENALTY = 1e6
_penalty = number(float, lambda v: 0 <= v <= MAX_PENALTY, f"a number in [0, {MAX_PENALTY:g}]")
_temperature = number(float, lambda v: MIN_TEMPERATURE <= v < math.inf, f"a number of at least {MIN_TEMPERATURE}")
# More threads than cores only slow the simulation, and torch crashes on absurd counts.
MAX_THREADS = max(os.cpu_count() or 1, 2)
_threads = number(int, lambda v: 1 <= v <= MAX_THREADS, f"from 1 to {MAX_THREADS} (the cores here)")
_fraction = number(float, lambda v: 0 <= v <= 1, "a fraction in [0, 1]")
_rate = number(float, lambda v: 0 <= v <= 1, "a rate in spikes per step, in [0, 1]")


def _device(text):
    """An argparse ``type``: a torch device this machine has, else a one-line usage error."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown torch device {text!r}; use cpu, cuda or cuda:N") from None
    available = {
        "cpu": lambda: True,
        "cuda": torch.cuda.is_available,
        "mps": lambda: torch.backends.mps.is_available(),
    }.get(device.type, lambda: False)
    if not available():
        raise argparse.ArgumentTypeError(
            f"device {text!r} is not available on this machine (torch sees no such device); use --device cpu"
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f"device {text!r} does not exist: torch sees {torch.cuda.device_count()} CUDA device(s)"
        )
    return device


def parse_args(argv=None):
    """Parse the command line; nonsense values exit with code 2 and one line."""
    lif = spiking_network.LIFParams()
    parser = argparse.ArgumentParser(
        prog="train_snn.py",
        allow_abbrev=False,
        description="Train the LIF network with CMA-ES to tell a sine from a cosine; store its spike trains.",
    )
    add = parser.add_argument
    add("--n-train", type=positive_int, default=200, help="training trials (default 200)")
    add("--n-test", type=positive_int, default=400, help="fresh test trials (default 400)")
    add("--n-steps", type=positive_int, default=100, help="steps per trial (default 100)")
    add("--dt", type=_step, default=0.001, help=f"seconds per step, at most {MAX_DT} (default 0.001)")
    add(
        "--sine-freq",
        type=positive_float,
        default=10.0,
        help="class 0 rate 0.5 (1 + sin(F pi t)), t in [0, 1]; F in units of pi (default 10)",
    )
    add(
        "--cosine-freq",
        type=positive_float,
        default=15.0,
        help="class 1 rate 0.5 (1 + cos(F pi t)); F in units of pi (default 15)",
    )
    add("--n-hidden", type=positive_int, default=10, help="hidden LIF neurons (default 10)")
    add(
        "--tau-mem",
        type=positive_float,
        default=TAU_MEM,
        help=f"membrane time constant in seconds (default {TAU_MEM})",
    )
    add(
        "--tau-ref",
        type=non_negative_float,
        default=TAU_REF,
        help=f"refractory period in seconds (default {TAU_REF})",
    )
    add(
        "--v-threshold",
        type=finite_float,
        default=lif.v_threshold,
        help=f"firing threshold; weights are in its unit (default {lif.v_threshold})",
    )
    add(
        "--v-reset",
        type=finite_float,
        default=lif.v_reset,
        help=f"potential at the start and after a spike, below --v-threshold (default {lif.v_reset})",
    )
    add(
        "--noise-sigma",
        type=_weight,
        default=NOISE_SIGMA,
        help=f"sd of every LIF neuron's Gaussian noise current per step, in threshold units (default {NOISE_SIGMA})",
    )
    add(
        "--noise-draws",
        type=positive_int,
        default=1,
        help="noise draws per training trial per generation, averaged in the fitness (default 1)",
    )
    add(
        "--fresh-trials",
        action="store_true",
        help="every CMA-ES generation after the first trains on --n-train new trials (default: the same trials)",
    )
    add(
        "--n-validation",
        type=positive_int,
        default=200,
        help="validation trials, drawn like the training trials, on which the final weights are chosen (default 200)",
    )
    add(
        "--select-draws",
        type=positive_int,
        default=SELECT_DRAWS,
        help=f"noise draws of every validation trial on which the final weights are chosen (default {SELECT_DRAWS})",
    )
    add(
        "--select-generations",
        type=positive_int,
        default=SELECT_GENERATIONS,
        help=f"the best individual of every run in each of the last G generations is a candidate for the "
        f"final weights, with each run's final mean and best weights (default {SELECT_GENERATIONS})",
    )
    add(
        "--cma-runs",
        type=_cma_runs,
        default=8,
        help="independent CMA-ES runs trained side by side; the final weights are the best "
        "of all of them on the validation trials (default 8)",
    )
    add(
        "--cull-at",
        type=non_negative_int,
        default=None,
        help=f"after this many generations only the --cull-to runs of lowest recent training fitness "
        f"run on (default {CULL_AT} where --generations is above it and --cma-runs above --cull-to, "
        f"else none; 0: every run to the end)",
    )
    add("--cull-to", type=positive_int, default=CULL_TO, help=f"runs kept at --cull-at (default {CULL_TO})")
    add(
        "--cull-by",
        choices=("fitness", "validation"),
        default=CULL_BY,
        help="what the cull ranks the runs by: recent training fitness, or the accuracy of each run's "
        f"CMA-ES mean on the validation trials under --select-draws draws of held-out noise (default {CULL_BY})",
    )
    add(
        "--restarts",
        type=non_negative_int,
        default=0,
        help="trainings with new runs, one after another, while the chosen weights classify fewer than "
        "--restart-below of the validation (or --n-check) trials; the choice is then made among all "
        "of them on the validation trials (default 0)",
    )
    add(
        "--restart-below",
        type=_fraction,
        default=RESTART_BELOW,
        help=f"accuracy under --select-draws noise draws below which --restarts train again (default {RESTART_BELOW})",
    )
    add(
        "--n-check",
        type=non_negative_int,
        default=0,
        help="check trials, drawn like the validation trials and judged by no choice, on which "
        "--restarts judge the chosen weights (default 0: the validation trials they were chosen on)",
    )
    add("--population", type=_population_size, default=16, help="CMA-ES population size, at least 2 (default 16)")
    add("--generations", type=positive_int, default=GENERATIONS, help=f"CMA-ES generations (default {GENERATIONS})")
    add(
        "--sigma0",
        type=_cma_step,
        default=0.3,
        help=f"initial CMA-ES step size in threshold units, at most {MAX_SIGMA0} (default 0.3)",
    )
    add(
        "--lateral-sigma0",
        type=_cma_step,
        default=None,
        help="initial CMA-ES step size of the hidden->hidden weights in threshold units (default: --sigma0)",
    )
    add(
        "--temperature",
        type=_temperature,
        default=5.0,
        help=f"spikes of count margin per logit in the fitness, at least {MIN_TEMPERATURE} (default 5)",
    )
    add(
        "--silence-penalty",
        type=_penalty,
        default=0.1,
        help="fitness penalty per missing output spike per trial below --min-count (default 0.1)",
    )
    add(
        "--min-count",
        type=non_negative_float,
        default=2.0,
        help="mean output spikes per trial below which an output counts as silent (default 2)",
    )
    add(
        "--rate-floor",
        type=_rate,
        default=RATE_FLOOR,
        help=f"firing rate in spikes per step below which the fitness penalises a hidden or "
        f"output neuron (default {RATE_FLOOR})",
    )
    add(
        "--rate-target",
        type=_rate,
        default=RATE_TARGET,
        help=f"firing rate in spikes per step above which the fitness penalises a hidden or "
        f"output neuron (default {RATE_TARGET}; the outputs': --output-rate-target)",
    )
    add(
        "--output-rate-target",
        type=_rate,
        default=None,
        help="firing rate in spikes per step above which the fitness penalises an output neuron "
        "(default: --rate-target)",
    )
    add(
        "--rate-penalty",
        type=_penalty,
        default=RATE_PENALTY,
        help=f"fitness penalty per spike per step of rate outside [--rate-floor, "
        f"--rate-target], averaged over neurons "
        f"(default {RATE_PENALTY})",
    )
    add(
        "--sync-penalty",
        type=_penalty,
        default=SYNC_PENALTY,
        help=f"fitness penalty on hidden pairs firing in the same step off what independent neurons "
        f"with the trial's spike counts would give (--no-sync-two-sided: beyond it only), per pair "
        f"and step, averaged over the hidden pairs (default {SYNC_PENALTY}; 0: none)",
    )
    add(
        "--sync-two-sided",
        action=argparse.BooleanOptionalAction,
        default=SYNC_TWO_SIDED,
        help="--sync-penalty also penalises hidden pairs firing in the same step less often than "
        "chance (neurons taking turns): the distance from chance either way (default: on; "
        "--no-sync-two-sided: beyond chance only; docs/DEFAULTS.md step 30)",
    )
    add(
        "--burst-penalty",
        type=_penalty,
        default=BURST_PENALTY,
        help="fitness penalty on hidden neurons firing in bursts at the refractory limit: spikes two "
        "steps after one of the neuron's own beyond what a steady rate would give, per neuron and "
        f"step, averaged over the hidden neurons (default {BURST_PENALTY:g}: none; docs/DEFAULTS.md, "
        "steps 35-36)",
    )
    add(
        "--max-input-weight",
        type=_weight,
        default=0.0,
        help="clip every input->hidden weight to [-W, W], threshold units (default 0: unbounded)",
    )
    add(
        "--max-lateral-weight",
        type=_weight,
        default=MAX_LATERAL_WEIGHT,
        help=f"clip every hidden->hidden weight to [-W, W], threshold units "
        f"(default {MAX_LATERAL_WEIGHT}; 0: unbounded)",
    )
    add(
        "--min-weight",
        type=_weight,
        default=MIN_WEIGHT,
        help=f"every weight of smaller magnitude is 0, no synapse; threshold units (default {MIN_WEIGHT}; 0: none)",
    )
    add(
        "--min-lateral-weight",
        type=_weight,
        default=MIN_LATERAL_WEIGHT,
        help=f"every hidden->hidden weight of smaller magnitude is 0 too, no synapse; threshold units, "
        f"below --max-lateral-weight (default {MIN_LATERAL_WEIGHT}; 0: --min-weight alone)",
    )
    add(
        "--init-output-weight",
        type=_positive_weight,
        default=INIT_OUTPUT_WEIGHT,
        help=f"CMA-ES start of every hidden->output weight, threshold units, at least --min-weight "
        f"(default {INIT_OUTPUT_WEIGHT})",
    )
    add(
        "--split-outputs",
        action="store_true",
        help="start each output reading its own half of the hidden layer instead of all of it",
    )
    add(
        "--lateral-start",
        type=_fraction,
        default=0.0,
        help="share of the hidden->hidden weights each CMA-ES run starts as a synapse of random sign "
        f"and strength {LATERAL_START_RANGE[0]}-{LATERAL_START_RANGE[1]} threshold units, each run its "
        "own draw (default 0: all start at 0)",
    )
    add("--seed", type=seed_int, default=0, help="seed of data, CMA-ES and noise (default 0)")
    add("--device", type=_device, default="cpu", help="torch device: cpu, cuda or cuda:N (default cpu)")
    add(
        "--threads",
        type=_threads,
        default=2,
        help="torch CPU threads, at most the machine's cores (default 2; the result may differ between thread counts)",
    )
    add(
        "--spike-file",
        type=Path,
        default=ROOT / "data" / "spike_trains.pkl",
        help="spike file to write (default data/spike_trains.pkl)",
    )
    add(
        "--figure-dir",
        type=Path,
        default=ROOT / "figures",
        help="folder for the raster and training-curve figures (default figures/)",
    )
    add("--no-figures", action="store_true", help="write the spike file only (for seed sweeps)")
    args = parser.parse_args(argv)
    for flag, frequency in (("--sine-freq", args.sine_freq), ("--cosine-freq", args.cosine_freq)):
        if frequency > args.n_steps:  # above it the rate alternates faster than every other step
            parser.error(
                f"argument {flag}: must be at most --n-steps ({args.n_steps}), the grid's Nyquist limit; "
                f"got {frequency}"
            )
    if args.burst_penalty and round(args.tau_ref / args.dt) != 1:
        parser.error(
            f"argument --burst-penalty: counts spikes two steps after a neuron's own, the limit of a "
            f"refractory period of one step; needs --tau-ref equal to --dt ({args.dt}), got --tau-ref {args.tau_ref}"
        )
    if args.min_count > args.n_steps:
        parser.error(f"argument --min-count: must be at most --n-steps ({args.n_steps}) spikes, got {args.min_count}")
    if args.tau_ref > args.n_steps * args.dt:
        parser.error(
            f"argument --tau-ref: must be at most a trial's length (--n-steps x --dt = {args.n_steps * args.dt} s), "
            f"got {args.tau_ref}"
        )
    last_cma_seed = args.seed + 1 + 1000 * (args.cma_runs * (args.restarts + 1) - 1)
    if last_cma_seed > MAX_SEED:
        parser.error(
            f"argument --seed: must be at most {args.seed + MAX_SEED - last_cma_seed} with "
            f"{args.cma_runs} CMA-ES runs and {args.restarts} restarts (each run's pycma seed is "
            f"seed + 1 + 1000 run, below 2**32), got {args.seed}"
        )
    if args.v_reset >= args.v_threshold:
        parser.error(f"argument --v-reset: must be below --v-threshold ({args.v_threshold}), got {args.v_reset}")
    targets = {"--rate-target": args.rate_target, "--output-rate-target": args.output_rate_target}
    for flag, target in targets.items():
        if target is not None and args.rate_floor >= target:
            parser.error(
                f"argument --rate-floor: must be below {flag} ({target}), or no rate escapes the "
                f"fitness's penalty; got {args.rate_floor}"
            )
    if args.init_output_weight < args.min_weight:
        parser.error(
            f"argument --init-output-weight: must be at least --min-weight ({args.min_weight}), "
            f"or the outputs start without synapses; got {args.init_output_weight}"
        )
    limits = {"--max-input-weight": args.max_input_weight, "--max-lateral-weight": args.max_lateral_weight}
    for flag, limit in limits.items():
        if limit and limit <= args.min_weight:
            parser.error(
                f"argument {flag}: must be 0 (unbounded) or above --min-weight ({args.min_weight}), got {limit}"
            )
    if args.max_lateral_weight and args.min_lateral_weight >= args.max_lateral_weight:
        parser.error(
            f"argument --min-lateral-weight: must be below --max-lateral-weight ({args.max_lateral_weight}), "
            f"or no lateral synapse is left; got {args.min_lateral_weight}"
        )
    if args.n_check and not args.restarts:
        parser.error(
            f"argument --n-check: only --restarts use the check trials, and --restarts is 0; got {args.n_check}"
        )

    def can_cull(generation):
        return generation < args.generations and args.cull_to < args.cma_runs

    if args.cull_at is None:  # a short or small training, a test's or a quick look, runs without the cull
        args.cull_at = CULL_AT if can_cull(CULL_AT) else 0
    elif args.cull_at and not can_cull(args.cull_at):
        parser.error(
            f"argument --cull-at: needs --cull-at below --generations ({args.generations}) and --cull-to "
            f"below --cma-runs ({args.cma_runs}); got {args.cull_at} and {args.cull_to}"
        )
    return args
