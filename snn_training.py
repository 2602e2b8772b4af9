"""The task and its training: sine/cosine trials, noise streams and CMA-ES.

Holds the two classes' input trials (``class_rates``, ``generate_trials``), the seeded noise
streams (``noise_generator``), the CMA-ES runs and their candidates (``run_cmaes``, searching
as a ``Search`` says, minimising ``snn_fitness.fitness``), and the choice among them on the
validation trials (``select_weights``, ``rank_candidates``). Its own module because it is the
training without the command line, the file or the figures.
"""

import math
from dataclasses import dataclass

import cma
import numpy as np
import torch
from tqdm import tqdm

import spiking_network
from snn_fitness import fitness, predict
from spike_file import weight_shapes

# The starts were chosen by seed sweeps together with the noise, the rate band and the smallest
# weight, which are train_snn.py's defaults (docs/DEFAULTS.md).
INIT_INPUT_WEIGHT = 1.0  # CMA-ES start of input->hidden weights, in units of v_threshold
INIT_OUTPUT_WEIGHT = 0.6  # CMA-ES start of hidden->output weights, in units of v_threshold
# A random lateral start (``Search.lateral_start``) draws each started synapse's strength from
# this range, threshold units: above the default lateral floor (1), up to the default cap (3).
LATERAL_START_RANGE = (1.5, 3.0)
# The stream a run's random lateral start comes from: default_rng([run's pycma seed, this]).
LATERAL_START_STREAM = 6
# The final weights are chosen among the CMA-ES mean, the best weights of all generations and
# the best individual of each of the last SELECT_GENERATIONS generations of every run, by their
# accuracy on the validation trials over SELECT_DRAWS noise draws of each: on one draw the most
# accurate of many candidates is partly the luckiest. Both were chosen by the rule of step 5 in
# docs/DEFAULTS.md.
SELECT_GENERATIONS = 100
SELECT_DRAWS = 10
# Runs compared for a cull by their median fitness over this many last generations, so that
# one generation's noise draw does not decide.
CULL_WINDOW = 20


def class_rates(n_steps, sine_freq, cosine_freq):
    """Return the per-step firing probability of each class's input neuron.

    Parameters
    ----------
    n_steps : int
    sine_freq, cosine_freq : float
        Angular frequencies in units of pi per trial (the original's 10 and 15).

    Returns
    -------
    np.ndarray, shape (2, n_steps)
        Row 0: ``0.5 (1 + sin(sine_freq pi t))``, row 1: ``0.5 (1 + cos(cosine_freq pi t))``,
        with ``t = linspace(0, 1, n_steps)`` the trial's normalised time.
    """
    t = np.linspace(0.0, 1.0, n_steps)
    return np.stack([0.5 * (1.0 + np.sin(sine_freq * np.pi * t)), 0.5 * (1.0 + np.cos(cosine_freq * np.pi * t))])


def generate_trials(n_trials, rates, rng):
    """Draw a balanced, shuffled set of labelled Bernoulli input spike trains.

    Parameters
    ----------
    n_trials : int
    rates : np.ndarray, shape (2, n_steps)
        Firing probability per step of each class, from ``class_rates``.
    rng : np.random.Generator

    Returns
    -------
    spikes : np.ndarray, shape (n_trials, 1, n_steps), bool
        Input-layer spikes.
    labels : np.ndarray, shape (n_trials,), int64
    """
    labels = rng.permutation(np.arange(n_trials) % 2).astype(np.int64)
    spikes = rng.random((n_trials, rates.shape[1])) < rates[labels]  # (n_trials, n_steps)
    return spikes[:, None, :], labels


def noise_generator(seed, purpose):
    """Return the seeded CPU ``torch.Generator`` of the network's noise for one purpose.

    Parameters
    ----------
    seed : int
        The run's ``--seed``.
    purpose : {"train", "record", "select", "cull", "check"}
        ``"train"`` feeds the CMA-ES generations (fresh noise every generation, common to the
        population); ``"record"`` the final run whose spikes are stored, so that the stored
        weights, inputs and seed reproduce every stored spike; ``"select"`` the held-out
        noise draw on which the final weights are chosen (``select_weights``); ``"cull"`` the
        held-out noise on which a cull by validation judges the runs' means; ``"check"`` the
        noise of the check trials on which ``--restarts`` judge the chosen weights.

    Returns
    -------
    torch.Generator
    """
    # spawn(n)[i] does not depend on n: adding "select", "cull", then "check" left the others unchanged.
    purposes = ("train", "record", "select", "cull", "check")
    child = np.random.SeedSequence(seed).spawn(len(purposes))[purposes.index(purpose)]
    return torch.Generator().manual_seed(int(child.generate_state(1, np.uint64)[0] >> 1))


def recent_fitness(medians):
    """Each run's median fitness averaged over its last ``CULL_WINDOW`` generations.

    Parameters
    ----------
    medians : np.ndarray, shape (generations, runs)
        Each generation's median fitness of each run's population.

    Returns
    -------
    np.ndarray, shape (runs,)
    """
    return medians[-CULL_WINDOW:].mean(axis=0)


def runs_to_keep(scores, keep):
    """The runs a cull keeps: the ``keep`` of lowest score.

    Parameters
    ----------
    scores : np.ndarray, shape (runs,)
    keep : int

    Returns
    -------
    np.ndarray of int, shape (min(keep, runs),)
        The kept runs in their original order; of equal scores the earlier run is kept.
    """
    return np.sort(np.argsort(scores, kind="stable")[:keep])


def step_multipliers(layer_sizes, factors):
    """Per-parameter factors of the CMA-ES step size: ``factors[name]`` for that matrix, else 1.

    Returns
    -------
    np.ndarray, shape (n_parameters,)
    """
    blocks = {
        name: torch.full(shape, float(factors.get(name, 1.0)), dtype=torch.float64)
        for name, shape in weight_shapes(layer_sizes).items()
    }
    return spiking_network.weights_to_theta(blocks, layer_sizes).numpy()


@dataclass(frozen=True)
class Search:
    """How ``run_cmaes`` searches: its runs, their start and step size, budget, cull and candidates.

    Attributes
    ----------
    population, generations : int
        Per run.
    sigma0 : float
        Initial CMA-ES step size, in weight units (the threshold is ``lif.v_threshold``).
    seed : int
        Run ``r`` gives pycma ``seed + 1 + 1000 (first_run + r)`` (pycma reads 0 as "seed from
        the clock"). pycma samples from numpy's global generator and seeds it when a run is
        made, so the last run's seed starts the one stream from which all runs then draw in
        turn; nothing else in the training draws from it (the trials have their own
        ``np.random.Generator``), so the runs do not depend on what drew from it before. The
        noise comes from ``noise_generator(seed, "train")``.
    runs : int
        Independent CMA-ES runs. Cost grows linearly.
    first_run : int
        Number of the first run, for its pycma seed: a restart (``train_snn.py --restarts``)
        numbers its runs after those of the trainings before it, so that they are new runs.
    noise_draws : int
        Noise draws per training trial and generation; the fitness averages over them (the
        trials are simply repeated, each copy gets its own noise). Cost grows linearly.
    output_start : float
        CMA-ES start of every hidden->output weight, threshold units.
    split_outputs : bool
        Start each output reading its own contiguous share of the hidden layer (hidden neuron
        ``h`` feeds output ``h * n_output // n_hidden``) instead of all of it: the outputs
        start as two readers with independent noise instead of copies whose counts tie.
    lateral_start : float
        Share of the hidden->hidden weights each run starts with a synapse
        (``random_lateral_start``), each run its own draw; 0: every lateral weight starts at 0.
    lateral_sigma0 : float or None
        Initial CMA-ES step size of the hidden->hidden weights (pycma's ``CMA_stds``), in
        the units of ``sigma0``; None: ``sigma0`` like the rest.
    cull : tuple of int or None
        ``(generation, keep)``: after that many generations only the ``keep`` runs whose
        population's median fitness, averaged over their last ``CULL_WINDOW`` generations, is
        lowest run on (or of lowest ``cull_scores``, see ``run_cmaes``); the others stop and
        leave no candidates. The runs share every noise draw, so their fitnesses compare.
        None: every run runs every generation.
    select_generations : int
        The last generations whose best individuals are candidates.
    """

    population: int
    generations: int
    sigma0: float
    seed: int
    runs: int = 1
    first_run: int = 0
    noise_draws: int = 1
    output_start: float = INIT_OUTPUT_WEIGHT
    split_outputs: bool = False
    lateral_start: float = 0.0
    lateral_sigma0: float | None = None
    cull: tuple[int, int] | None = None
    select_generations: int = SELECT_GENERATIONS


def random_lateral_start(start, share, seed, v_threshold):
    """``start`` with lateral synapses at random: a run's own start (``Search.lateral_start``).

    Each hidden->hidden weight off the diagonal is, with probability ``share``, a synapse of
    strength uniform in ``LATERAL_START_RANGE`` threshold units and of either sign with equal
    probability; the others stay at 0. The draw comes from
    ``default_rng([seed, LATERAL_START_STREAM])``: in this order, which synapses, their
    strengths, their signs, each as a whole (n_hidden, n_hidden) array.

    Parameters
    ----------
    start : dict of torch.Tensor
        The start of every weight matrix, unbatched, float64; it is not changed.
    share : float
        In [0, 1].
    seed : int
        The run's pycma seed.
    v_threshold : float

    Returns
    -------
    dict of torch.Tensor
        ``start`` with a new ``"hidden_hidden"`` block.
    """
    rng = np.random.default_rng([seed, LATERAL_START_STREAM])
    n = start["hidden_hidden"].shape[0]
    synapse = (rng.random((n, n)) < share) & ~np.eye(n, dtype=bool)
    strength = rng.uniform(*LATERAL_START_RANGE, (n, n)) * rng.choice([-1.0, 1.0], (n, n))
    return {**start, "hidden_hidden": torch.as_tensor(np.where(synapse, strength * v_threshold, 0.0))}


def run_cmaes(
    layer_sizes,
    lif,
    dt,
    spikes,
    labels,
    fitness_options,
    weight_options,
    search,
    device,
    on_generation=None,
    cull_scores=None,
    new_trials=None,
):
    """Minimise ``fitness`` over the network weights with ``runs`` CMA-ES runs side by side.

    The runs are independent (pycma's ask/tell; ``seed`` says where their samples come from)
    but share every network simulation: each generation, all their populations are evaluated
    as one batch on the same noise draw. A run can settle in a poor local optimum from which
    more generations do not lead out, so several runs, and a choice among their candidates on
    trials no run trained on (``select_weights``), make the result depend less on one run's
    luck.

    Parameters
    ----------
    layer_sizes : dict
    lif : spiking_network.LIFParams
    dt : float
        Seconds per step.
    spikes : torch.Tensor, shape (trials, 1, n_steps)
        Training inputs.
    labels : torch.Tensor, shape (trials,)
    fitness_options : dict
        ``temperature``, ``silence_penalty``, ``min_count``, ``rate_floor``, ``rate_target``,
        ``rate_penalty``, ``output_rate_target``, ``sync_penalty``, ``sync_two_sided`` and
        ``burst_penalty`` of ``fitness``.
    weight_options : dict or None
        ``limits``, ``min_weight`` and ``floors`` of ``spiking_network.theta_to_weights``; None: none.
    search : Search
        The runs, their start, step size, budget, cull and candidates.
    device : torch.device
    on_generation : callable or None
        Called as ``on_generation(generation, means)`` after each generation, ``means`` of
        shape (runs, n_parameters) the runs' CMA-ES means (``benchmarks/training_runs.py``
        follows the runs with it).
    cull_scores : callable or None
        ``cull_scores(means) -> scores``, ``means`` of shape (runs, n_parameters) the runs'
        CMA-ES means at the cull, ``scores`` of shape (runs,): the cull keeps the runs of
        lowest score instead of lowest recent fitness (``train_snn.py --cull-by validation``).
    new_trials : callable or None
        ``new_trials() -> (spikes, labels)``, shaped like ``spikes`` and ``labels``: every
        generation after the first trains on trials it returns instead (``train_snn.py
        --fresh-trials``); None: every generation trains on ``spikes`` and ``labels``.

    Returns
    -------
    candidates : np.ndarray, shape (runs * (2 + min(select_generations, generations)), n_parameters)
        Of ``search``, ``runs`` those that ran to the end. Rows ``0 .. runs-1``: each run's
        weights of lowest fitness over all generations; ``runs .. 2 runs - 1``: each run's
        final CMA-ES mean; then, generation by generation over the last ``select_generations``
        (oldest first), each run's best individual. (A generation's lowest fitness is one lucky
        or unlucky noise draw on the training trials, so none of them is the answer without a
        choice on other trials.)
    history : dict of np.ndarray, each shape (generations,)
        Per generation, over the runs running then: best and median fitness, and the best individual's
        training accuracy.
    """
    # Start where every layer is active: each input spike fires the hidden layer, and a few
    # hidden spikes together fire both outputs (or, split, each its own); lateral weights start at
    # zero, or each run at its own random synapses.
    weight_options = weight_options or {}
    runs, population, generations = search.runs, search.population, search.generations
    start = {name: torch.zeros(shape, dtype=torch.float64) for name, shape in weight_shapes(layer_sizes).items()}
    start["input_hidden"] += INIT_INPUT_WEIGHT * lif.v_threshold
    start["hidden_output"] += search.output_start * lif.v_threshold
    if search.split_outputs:
        n_hidden, n_output = start["hidden_output"].shape
        owner = torch.arange(n_hidden) * n_output // n_hidden
        start["hidden_output"] *= torch.nn.functional.one_hot(owner, n_output)
    options = {"popsize": population, "verbose": -9, "verb_log": 0}
    if search.lateral_sigma0 is not None:
        factors = {"hidden_hidden": search.lateral_sigma0 / search.sigma0}
        options["CMA_stds"] = step_multipliers(layer_sizes, factors)
    seeds = [search.seed + 1 + 1000 * (search.first_run + run) for run in range(runs)]
    starts = [
        random_lateral_start(start, search.lateral_start, seed, lif.v_threshold) if search.lateral_start else start
        for seed in seeds
    ]
    theta0 = [spiking_network.weights_to_theta(s, layer_sizes).numpy() for s in starts]
    strategies = [
        cma.CMAEvolutionStrategy(x0, search.sigma0, {**options, "seed": seed}) for x0, seed in zip(theta0, seeds)
    ]
    history = {name: np.zeros(generations) for name in ("best_fitness", "median_fitness", "train_accuracy")}
    best = [(x0, math.inf) for x0 in theta0]  # per run: (theta, fitness)
    generator = noise_generator(search.seed, "train")

    def with_draws(trial_spikes, trial_labels):  # each trial once per noise draw
        return trial_spikes.repeat(search.noise_draws, 1, 1), trial_labels.repeat(search.noise_draws)

    trial_spikes, trial_labels = with_draws(spikes, labels)
    finalists = []  # best individual of each run in each of the last select_generations generations
    progress = tqdm(range(generations), desc="CMA-ES", unit="gen", disable=None)
    medians = []  # per generation: (R,) each run's median fitness
    for generation in progress:
        if search.cull is not None and generation == search.cull[0]:
            if cull_scores is None:
                scores = recent_fitness(np.array(medians))
            else:
                scores = cull_scores(np.stack([s.mean for s in strategies]))
            kept = runs_to_keep(scores, search.cull[1])
            strategies, best, runs = [strategies[r] for r in kept], [best[r] for r in kept], len(kept)
            finalists = [generation_best[kept] for generation_best in finalists]
        if generation and new_trials is not None:
            trial_spikes, trial_labels = with_draws(*new_trials())
        candidates = np.stack([np.asarray(s.ask()) for s in strategies])  # (R, P, n_params)
        theta = torch.as_tensor(candidates.reshape(runs * population, -1), dtype=torch.float32, device=device)
        weights = spiking_network.theta_to_weights(theta, layer_sizes, **weight_options)
        counts, values = evaluate(weights, trial_spikes, trial_labels, lif, dt, generator, fitness_options)
        values = values.cpu().numpy().astype(np.float64).reshape(runs, population)
        medians.append(np.median(values, axis=1))
        for strategy, run_candidates, run_values in zip(strategies, candidates, values):
            strategy.tell(list(run_candidates), run_values.tolist())
        if on_generation is not None:
            on_generation(generation, np.stack([s.mean for s in strategies]))
        leaders = values.argmin(axis=1)  # (R,) best of each run
        overall = int(np.argmin(values.min(axis=1)))
        accuracy = (predict(counts[overall * population + leaders[overall]]) == trial_labels).double().mean().item()
        history["best_fitness"][generation] = values.min()
        history["median_fitness"][generation] = np.median(values)
        history["train_accuracy"][generation] = accuracy
        best = [
            (candidates[r, leaders[r]], values[r, leaders[r]]) if values[r, leaders[r]] < best[r][1] else best[r]
            for r in range(runs)
        ]
        if generation >= generations - search.select_generations:
            finalists.append(candidates[np.arange(runs), leaders])  # (R, n_params)
        progress.set_postfix(fitness=f"{values.min():.4f}", accuracy=f"{accuracy:.3f}")
    bests, means = np.stack([theta for theta, _ in best]), np.stack([s.mean for s in strategies])
    return np.concatenate([bests, means, *finalists]), history


def evaluate(weights, spikes, labels, lif, dt, generator, fitness_options):
    """Simulate a population on the trials and score it: ``(counts, fitness)``.

    ``counts`` (population, trials, N) as ``simulate_network`` returns them, ``fitness``
    (population,); the same-step pairs of the hidden neurons are counted only when
    ``fitness_options`` carries a ``sync_penalty``, their repeated spikes only with a
    ``burst_penalty``.
    """
    cofiring, repeats = bool(fitness_options.get("sync_penalty")), bool(fitness_options.get("burst_penalty"))
    result = spiking_network.simulate_network(weights, spikes, lif, dt, generator, cofiring=cofiring, repeats=repeats)
    counts, *extra = result if cofiring or repeats else (result,)
    pairs = extra.pop(0) if cofiring else None
    repeated = extra.pop(0) if repeats else None
    return counts, fitness(counts, labels, n_steps=spikes.shape[-1], pairs=pairs, repeats=repeated, **fitness_options)


def judge_candidates(
    candidates, layer_sizes, lif, dt, spikes, labels, fitness_options, generator, device, weight_options=None, draws=1
):
    """Each candidate's accuracy and fitness on the given trials, both averaged over noise draws.

    Parameters
    ----------
    candidates : np.ndarray, shape (C, n_parameters)
    layer_sizes, lif, dt, fitness_options, device, weight_options
        As in ``run_cmaes``.
    spikes, labels : torch.Tensor, shapes (trials, 1, n_steps) and (trials,)
        The trials to judge on (the validation trials).
    generator : torch.Generator
        The held-out noise, common to all candidates (``noise_generator(seed, "select")``).
    draws : int
        Noise draws per trial (the trials are repeated, each copy gets its own noise).

    Returns
    -------
    accuracy, fitness : np.ndarray, each shape (C,)
    """
    spikes, labels = spikes.repeat(draws, 1, 1), labels.repeat(draws)
    theta = torch.as_tensor(candidates, dtype=torch.float32, device=device)
    weights = spiking_network.theta_to_weights(theta, layer_sizes, **(weight_options or {}))
    counts, values = evaluate(weights, spikes, labels, lif, dt, generator, fitness_options)
    values = values.cpu().numpy()
    accuracy = (predict(counts) == labels).double().mean(dim=1).cpu().numpy()
    return accuracy, values


def rank_candidates(*args, **kwargs):
    """Order the candidates from the one that classifies the given trials best to the worst.

    Accuracy is the task; the fitness (which also carries the rate band and the silence
    penalty) only breaks ties, so a candidate cannot win by its regularisers alone. Both are
    averaged over ``draws`` noise draws of every trial (``judge_candidates``, which takes the
    arguments): the most accurate of many candidates on one draw is partly the luckiest, and
    its accuracy on new noise is lower (the winner's curse); more draws make the choice depend
    more on the weights than on the draw.

    Returns
    -------
    np.ndarray of int, shape (C,)
        Rows of ``candidates`` by highest accuracy, then lowest fitness, then first.
    """
    return ranking(*judge_candidates(*args, **kwargs))


def ranking(accuracy, values):
    """Rows by highest ``accuracy``, then lowest ``values`` (fitness), then first: ``rank_candidates``'s order."""
    return np.lexsort((np.arange(len(values)), values, -accuracy))


def select_weights(*args, **kwargs):
    """The row of the candidate that classifies the given trials best: ``rank_candidates``'s first."""
    return int(rank_candidates(*args, **kwargs)[0])
