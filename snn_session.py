"""The training that ``train_snn.py``'s parsed settings describe, from its trials to its record.

``training_problem`` turns the settings into the network, trials, weight bounds and fitness;
``train`` runs the CMA-ES runs (``run_training``) and chooses their final weights on the
validation trials (``choose``); the cull by validation judges the runs' means the same way
(``cull_scores``, both through ``on_validation``); ``record_run`` simulates the chosen weights
under the recording noise whose spikes the spike file stores. The task, fitness and CMA-ES
themselves live in ``snn_training.py``; the benchmarks train through this module as the script
does.
"""

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import spiking_network
from snn_training import (
    Search,
    class_rates,
    generate_trials,
    judge_candidates,
    noise_generator,
    rank_candidates,
    ranking,
    run_cmaes,
    select_weights,
)

# The fresh trials' SeedSequence spawn key: noise_generator's children have keys (0,) .. (4,).
FRESH_TRIALS_KEY = 5


def training_problem(args):
    """What the command line asks to train: network, trials, weight bounds and fitness.

    Returns
    -------
    dict
        ``layer_sizes``; ``lif`` (``spiking_network.LIFParams``); ``trials``, split name ->
        ``(spikes, labels)`` as from ``generate_trials``, for ``"train"``, ``"test"``,
        ``"validation"`` and, with ``--n-check``, ``"check"``, drawn in that order from
        ``default_rng(args.seed)`` (so the check trials leave the others unchanged);
        ``weight_options`` and ``fitness_options`` as ``run_cmaes`` takes them.
    """
    rng = np.random.default_rng(args.seed)
    rates = class_rates(args.n_steps, args.sine_freq, args.cosine_freq)
    sizes = {"train": args.n_train, "test": args.n_test, "validation": args.n_validation}
    if args.n_check:
        sizes["check"] = args.n_check
    return {
        "layer_sizes": {"input": 1, "hidden": args.n_hidden, "output": 2},
        "lif": spiking_network.LIFParams(
            tau_mem=args.tau_mem,
            tau_ref=args.tau_ref,
            v_threshold=args.v_threshold,
            v_reset=args.v_reset,
            sigma=args.noise_sigma,
        ),
        "trials": {name: generate_trials(n, rates, rng) for name, n in sizes.items()},
        "weight_options": {
            "limits": {
                name: limit * args.v_threshold
                for name, limit in (("input_hidden", args.max_input_weight), ("hidden_hidden", args.max_lateral_weight))
                if limit
            },
            "min_weight": args.min_weight * args.v_threshold,
            "floors": {"hidden_hidden": args.min_lateral_weight * args.v_threshold},
        },
        "fitness_options": {
            "temperature": args.temperature,
            "silence_penalty": args.silence_penalty,
            "min_count": args.min_count,
            "rate_floor": args.rate_floor,
            "rate_target": args.rate_target,
            "rate_penalty": args.rate_penalty,
            "output_rate_target": args.output_rate_target,
            "sync_penalty": args.sync_penalty,
            "sync_two_sided": args.sync_two_sided,
            "burst_penalty": args.burst_penalty,
        },
    }


def run_training(args, problem, on_generation=None, restart=0):
    """``run_cmaes`` on ``training_problem(args)`` with the settings of ``args``; return its candidates and history.

    ``restart`` k > 0 trains the same way with new runs (``search``).
    """
    # pycma's eigendecomposition of a ~120 x 120 covariance is slower with a multi-threaded
    # BLAS than with one thread, and far slower under CPU contention, so numpy's BLAS gets one.
    with threadpool_limits(limits=1, user_api="blas"):
        return run_cmaes(
            *on_trials(args, problem, "train"),
            problem["weight_options"],
            search(args, restart),
            args.device,
            on_generation,
            cull_scores(args, problem),
            fresh_trials(args, restart),
        )


def fresh_trials(args, restart=0):
    """``run_cmaes``'s ``new_trials`` for ``--fresh-trials``: None without it.

    Each call draws ``--n-train`` new trials like the training trials, as tensors on
    ``args.device``, from a generator of their own (per seed and training), so that the
    stored splits stay as they are.
    """
    if not args.fresh_trials:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(FRESH_TRIALS_KEY, restart)))
    rates = class_rates(args.n_steps, args.sine_freq, args.cosine_freq)

    def draw():
        return tuple(torch.as_tensor(array, device=args.device) for array in generate_trials(args.n_train, rates, rng))

    return draw


def on_trials(args, problem, split):
    """``run_cmaes``'s and the judges' leading arguments: the network, the trials of ``split``, the fitness.

    Returns
    -------
    tuple
        ``(layer_sizes, lif, dt, spikes, labels, fitness_options)``, the trials as tensors on
        ``args.device``.
    """
    spikes, labels = (torch.as_tensor(array, device=args.device) for array in problem["trials"][split])
    return problem["layer_sizes"], problem["lif"], args.dt, spikes, labels, problem["fitness_options"]


def search(args, restart=0):
    """The ``snn_training.Search`` that ``args`` describe; restart k numbers its runs after those before it."""
    return Search(
        population=args.population,
        generations=args.generations,
        sigma0=args.sigma0,
        seed=args.seed,
        runs=args.cma_runs,
        first_run=restart * args.cma_runs,
        noise_draws=args.noise_draws,
        output_start=args.init_output_weight,
        split_outputs=args.split_outputs,
        lateral_start=args.lateral_start,
        lateral_sigma0=args.lateral_sigma0,
        cull=(args.cull_at, args.cull_to) if args.cull_at else None,
        select_generations=args.select_generations,
    )


def cull_scores(args, problem):
    """The cull's ``cull_scores`` for ``run_cmaes``: None (recent fitness) or the validation ranks.

    With ``--cull-by validation`` each run's CMA-ES mean is ranked as the final choice ranks
    candidates (``rank_candidates``: accuracy, then fitness), under ``--select-draws`` draws of
    the held-out noise ``noise_generator(args.seed, "cull")`` (``on_validation``).
    """
    if args.cull_by == "fitness":
        return None

    def scores(means):
        order = on_validation(rank_candidates, args, problem, means, args.select_draws, "cull")
        return np.argsort(order)  # each run's place, 0 for the best

    return scores


def final_runs(args):
    """CMA-ES runs that run to the last generation: ``--cull-to`` after a cull, else ``--cma-runs``."""
    return args.cull_to if args.cull_at else args.cma_runs


def on_validation(judge, args, problem, candidates, draws, purpose, split="validation"):
    """``judge`` (``select_weights``, ``rank_candidates``, ``judge_candidates``) of ``candidates`` on held-out trials.

    The test trials take no part: the judge sees the trials of ``split`` (the validation trials,
    or the check trials of ``restart_accuracy``), each under ``draws`` draws of the held-out
    noise ``noise_generator(args.seed, purpose)``.
    """
    return judge(
        candidates,
        *on_trials(args, problem, split),
        noise_generator(args.seed, purpose),
        args.device,
        problem["weight_options"],
        draws,
    )


def choose(args, problem, candidates, draws):
    """Index of the row of ``candidates`` that ``select_weights`` picks on the validation trials.

    Under ``draws`` draws of the held-out noise ``noise_generator(args.seed, "select")``
    (``on_validation``).
    """
    return on_validation(select_weights, args, problem, candidates, draws, "select")


def train(args, problem, on_generation=None):
    """Train as ``args`` say: the CMA-ES runs, then the choice of their final weights.

    The choice (``select_weights``'s, under ``args.select_draws`` draws of the held-out noise
    ``noise_generator(args.seed, "select")``) is made among the candidates of every training so
    far. While its accuracy (``restart_accuracy``) is below ``args.restart_below``, up to
    ``args.restarts`` times, the training runs again with new runs (``run_training``'s
    ``restart``): a seed whose runs all settled in poor optima gets another draw. The test
    trials take no part.

    Returns
    -------
    theta : np.ndarray, shape (n_parameters,)
        The chosen candidate.
    history : dict of np.ndarray
        As from ``run_cmaes``, the trainings' generations one after another.
    """
    pools, scores, histories = [], [], []
    for restart in range(args.restarts + 1):
        candidates, history = run_training(args, problem, on_generation, restart)
        pools.append(candidates)
        histories.append(history)
        # Each candidate is judged once: its scores do not depend on the others judged with it.
        scores.append(on_validation(judge_candidates, args, problem, candidates, args.select_draws, "select"))
        accuracy, values = (np.concatenate(score) for score in zip(*scores))
        chosen = int(ranking(accuracy, values)[0])
        theta = np.concatenate(pools)[chosen]
        if restart < args.restarts and restart_accuracy(args, problem, theta, accuracy[chosen]) >= args.restart_below:
            break
    return theta, {name: np.concatenate([h[name] for h in histories]) for name in histories[0]}


def restart_accuracy(args, problem, theta, validation_accuracy):
    """The accuracy of the chosen weights ``theta`` that ``--restarts`` compare with ``--restart-below``.

    Without ``--n-check``, ``validation_accuracy``, the accuracy they were chosen by: the most
    accurate of hundreds of candidates there is partly the luckiest, so it overstates what the
    weights do on new trials. With it, their accuracy on the check trials, drawn like the
    validation trials and judged by no choice, each under ``--select-draws`` draws of the noise
    ``noise_generator(args.seed, "check")``: an estimate the choice has not biased.
    """
    if not args.n_check:
        return validation_accuracy
    accuracy, _ = on_validation(judge_candidates, args, problem, theta[None], args.select_draws, "check", "check")
    return accuracy[0]


def record_run(args, problem, theta):
    """Run the weights ``theta`` on the training, then the test trials under the recording noise.

    The run whose spikes the spike file stores: ``noise_generator(args.seed, "record")``, so the
    stored weights, inputs and seed reproduce every stored spike.

    Returns
    -------
    weights : dict of torch.Tensor
        As from ``spiking_network.theta_to_weights``, population 1.
    counts : torch.Tensor, shape (1, n_train + n_test, n_hidden + n_out)
    spikes : torch.Tensor, shape (1, n_train + n_test, n_neurons, n_steps), bool
    """
    weights = spiking_network.theta_to_weights(
        torch.as_tensor(theta[None], dtype=torch.float32, device=args.device),
        problem["layer_sizes"],
        **problem["weight_options"],
    )
    inputs = np.concatenate([problem["trials"]["train"][0], problem["trials"]["test"][0]])
    counts, spikes = spiking_network.simulate_network(
        weights,
        torch.as_tensor(inputs, device=args.device),
        problem["lif"],
        args.dt,
        noise_generator(args.seed, "record"),
        record=True,
    )
    return weights, counts, spikes
