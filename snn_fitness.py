"""The objective CMA-ES minimises and the readout it scores: ``predict``, ``fitness`` and its terms.

``fitness`` is the count readout's logistic loss plus the penalties that keep the network in a
regime whose spike trains still show their synapses (the silence penalty, the rate band,
``excess_synchrony`` and ``excess_repeats``). Its own module because each term is a small pure
function of spike counts, tested against hand counts and closed forms, apart from the CMA-ES
machinery of ``snn_training.py``.
"""

import torch


def predict(counts):
    """Predicted class: 1 ("cosine") if output 1 fires more than output 0, else 0 (ties too).

    Parameters
    ----------
    counts : torch.Tensor, shape (..., n_neurons)
        Spike counts whose last two columns are the output neurons 0 and 1.

    Returns
    -------
    torch.Tensor, shape (...), int64
    """
    return (counts[..., -1] > counts[..., -2]).long()


def fitness(
    counts,
    labels,
    temperature,
    silence_penalty,
    min_count,
    n_steps=1,
    rate_floor=0.0,
    rate_target=1.0,
    rate_penalty=0.0,
    output_rate_target=None,
    sync_penalty=0.0,
    pairs=None,
    sync_two_sided=False,
    burst_penalty=0.0,
    repeats=None,
):
    """CMA-ES fitness to minimise: count cross-entropy, silence, activity, synchrony and burst penalties.

    ``mean_trials log(1 + exp(-(2 y - 1) (c_1 - c_0) / temperature))
    + silence_penalty * sum_outputs max(0, min_count - mean_trials c_o)
    + rate_penalty * mean_neurons (max(0, r_i - target_i) + max(0, rate_floor - r_i))
    + sync_penalty * excess_synchrony + burst_penalty * excess_repeats``
    with ``r_i = mean_trials n_i / n_steps`` the firing rate of LIF neuron ``i`` and
    ``target_i`` ``rate_target`` for a hidden neuron, ``output_rate_target`` for an output.
    The first term is the logistic loss of the count margin: unlike the error count it
    changes with every spike that moves the margin, so CMA-ES has a slope to follow. The
    second term pushes away from the basin where an output neuron is (nearly) silent, every
    trial ties and the first term is flat at ``log 2``. The third keeps every LIF neuron
    (hidden and output) inside a band of rates: above ``rate_target`` CMA-ES would use
    self-sustaining lateral loops firing at the refractory limit all trial, which classify
    well but hide every synapse from the Hawkes analysis; below ``rate_floor`` a neuron is
    (nearly) silent and its synapses leave no trace either. The fourth (``excess_synchrony``)
    keeps the hidden neurons from firing in lockstep, which hides a synapse between two of
    them from the Hawkes analysis: a target that fires with its source is refractory when the
    source's spike arrives. The fifth (``excess_repeats``) keeps each hidden neuron from firing
    in bursts at the refractory limit, every other step, where a target is refractory for half
    of its sources' spikes.

    Parameters
    ----------
    counts : torch.Tensor, shape (population, trials, n_neurons)
        Spike counts ``n_i`` of the LIF neurons; the last two columns are the outputs
        ``c_0, c_1``.
    labels : torch.Tensor, shape (trials,)
        True classes ``y``.
    temperature : float
        Spikes of count margin per unit of logit.
    silence_penalty : float
        Penalty per missing spike per trial below ``min_count``.
    min_count : float
        Mean spikes per trial below which an output neuron counts as silent.
    n_steps : int
        Steps per trial, to turn counts into rates.
    rate_target : float
        Mean firing rate in spikes per step above which a neuron is penalised.
    rate_floor : float
        Mean firing rate in spikes per step below which a neuron is penalised.
    rate_penalty : float
        Penalty per spike per step of rate outside ``[rate_floor, rate_target]``, averaged
        over neurons.
    output_rate_target : float or None
        ``rate_target`` of the two output neurons, whose counts are the readout; None:
        ``rate_target``.
    sync_penalty : float
        Weight of ``excess_synchrony``.
    pairs : torch.Tensor, shape (population, trials), or None
        Same-step pairs of hidden neurons (``simulate_network(..., cofiring=True)``); needed
        only if ``sync_penalty > 0``.
    sync_two_sided : bool
        Penalise same-step pairs below chance too (``excess_synchrony``'s ``two_sided``).
    burst_penalty : float
        Weight of ``excess_repeats``.
    repeats : torch.Tensor, shape (population, trials, n_hidden), or None
        Each hidden neuron's spikes two steps after one of its own
        (``simulate_network(..., repeats=True)``); needed only if ``burst_penalty > 0``.

    Returns
    -------
    torch.Tensor, shape (population,)
    """
    outputs = counts[..., -2:]  # (P, T, 2)
    sign = 2.0 * labels.to(counts.dtype) - 1.0  # (T,)
    margin = sign * (outputs[..., 1] - outputs[..., 0])  # (P, T)
    cross_entropy = torch.nn.functional.softplus(-margin / temperature).mean(dim=-1)
    silence = (min_count - outputs.mean(dim=1)).clamp(min=0.0).sum(dim=-1)  # (P,)
    rates = counts.mean(dim=1) / n_steps  # (P, N)
    target = torch.full(rates.shape[-1:], rate_target, dtype=rates.dtype, device=rates.device)  # (N,)
    target[-2:] = rate_target if output_rate_target is None else output_rate_target
    excess = ((rates - target).clamp(min=0.0) + (rate_floor - rates).clamp(min=0.0)).mean(dim=-1)  # (P,)
    value = cross_entropy + silence_penalty * silence + rate_penalty * excess
    if sync_penalty:
        if pairs is None:
            raise ValueError("a synchrony penalty needs the same-step pairs (simulate_network(..., cofiring=True))")
        value = value + sync_penalty * excess_synchrony(counts[..., :-2], pairs, n_steps, sync_two_sided)
    if burst_penalty:
        if repeats is None:
            raise ValueError("a burst penalty needs the repeated spikes (simulate_network(..., repeats=True))")
        value = value + burst_penalty * excess_repeats(counts[..., :-2], repeats, n_steps)
    return value


def excess_repeats(counts, repeats, n_steps):
    """Spikes two steps after a neuron's own beyond chance, per neuron and step, averaged over trials.

    ``mean_trials mean_i max(0, R_i - E_i) / n_steps`` with ``R_i = sum_k s_i[k] s_i[k-2]`` and
    ``E_i = n_i^2 (n_steps - 2) / n_steps^2``, what a neuron firing its trial's ``n_i`` spikes
    at a steady rate would give. A neuron bursting at the refractory limit (one refractory
    step: a spike every other step) fires nearly every spike of a burst two steps after the
    last; an irregular one at about the square of its rate.

    Parameters
    ----------
    counts : torch.Tensor, shape (population, trials, n)
        Spike counts of the ``n`` neurons (the hidden layer).
    repeats : torch.Tensor, shape (population, trials, n)
        ``R_i`` of each.
    n_steps : int

    Returns
    -------
    torch.Tensor, shape (population,)
    """
    chance = counts**2 * max(n_steps - 2, 0) / n_steps**2  # a trial of under 3 steps has no lag of 2
    return (repeats - chance).clamp(min=0.0).mean(dim=(1, 2)) / n_steps


def excess_synchrony(counts, pairs, n_steps, two_sided=False):
    """Same-step firing of neuron pairs beyond chance, per pair and step, averaged over trials.

    ``mean_trials max(0, C - E) / (n_steps * n (n - 1) / 2)`` with ``C`` the pairs that fire in
    the same step (summed over the steps) and ``E = sum_{i<j} n_i n_j / n_steps`` the pairs
    that independent neurons with the trial's spike counts ``n_i``, each firing at a steady
    rate, would give. A pair locked in step fires together at its rate (up to 0.15 per step
    in the rate band); an independent pair at the product of its rates. With ``two_sided``
    the distance from chance either way, ``|C - E|``: neurons that take turns fire together
    less often than chance.

    Parameters
    ----------
    counts : torch.Tensor, shape (population, trials, n)
        Spike counts of the ``n`` neurons (the hidden layer).
    pairs : torch.Tensor, shape (population, trials)
        ``C``: same-step pairs among them, summed over the steps.
    n_steps : int
    two_sided : bool

    Returns
    -------
    torch.Tensor, shape (population,)
        Zeros for fewer than two neurons.
    """
    n = counts.shape[-1]
    if n < 2:
        return pairs.new_zeros(pairs.shape[0])
    chance = (counts.sum(dim=-1) ** 2 - (counts**2).sum(dim=-1)) / (2 * n_steps)  # (P, T)
    excess = (pairs - chance).abs() if two_sided else (pairs - chance).clamp(min=0.0)
    return excess.mean(dim=-1) / (n_steps * n * (n - 1) / 2)
