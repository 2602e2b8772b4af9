"""Leaky integrate-and-fire (LIF) network: input -> recurrent hidden -> output, in torch.

One step of one LIF neuron ``i`` (potentials and weights dimensionless, times in seconds)::

    r_i[k-1] > 0 (refractory):  u_i[k] = v_reset,                        s_i[k] = 0
    otherwise:                  u_i[k] = lam * v_i[k-1] + I_i[k] + sigma * xi_i[k]
                                s_i[k] = 1 if u_i[k] >= v_th else 0
    reset:                      v_i[k] = v_reset if s_i[k] else u_i[k]
    refractory counter:         r_i[k] = n_ref if s_i[k] else max(r_i[k-1] - 1, 0)

with

    lam   = exp(-dt / tau_mem)          leak: the potential decays towards 0 by this factor
    n_ref = round(tau_ref / dt)         steps after a spike in which the neuron is silent
    I_i[k] = sum_j W[j, i] s_j[k-1]     input current from every presynaptic neuron j,
                                        W[source, target]; s_j[-1] = 0
    xi_i[k] ~ N(0, 1)                   intrinsic noise: independent per neuron, step and
                                        trial, drawn from a ``torch.Generator`` passed in

Symbols: ``v_i[k]`` membrane potential after step ``k`` (starts at ``v_reset``), ``u_i[k]``
potential before the threshold check, ``s_i[k]`` spike (0 or 1), ``r_i[k]`` refractory steps
left, ``v_th`` firing threshold, ``v_reset`` reset potential, ``tau_mem`` membrane time constant
in seconds, ``tau_ref`` refractory period in seconds, ``dt`` seconds per step, ``sigma`` the
standard deviation of the noise current (in potential units, per step). During the refractory
period the potential is clamped to ``v_reset`` and input and noise are discarded.

The noise stands for the channel and background-synaptic noise every real neuron has; it
makes firing stochastic and irregular, as a Hawkes process assumes, and keeps neurons with
similar input from locking into identical spike trains. With ``sigma = 0`` the network is
deterministic given its input.

The current uses the spikes of step ``k-1``: every synapse, between layers and within the
hidden layer, has a delay of one step, so a spike at step ``k`` reaches its targets at step
``k + 1``. The hidden layer is recurrent (``W_hh`` with zero diagonal); the input layer is the
Bernoulli spike train itself. Layers and their weight matrices, all ``[source, target]``
(``spike_file.weight_shapes``: the spike file stores them so)::

    weights["input_hidden"]   (n_in, n_hidden)
    weights["hidden_hidden"]  (n_hidden, n_hidden), zero diagonal
    weights["hidden_output"]  (n_hidden, n_out)

CMA-ES optimises a flat vector ``theta`` that ``theta_to_weights`` and ``weights_to_theta``
map to and from these matrices (the diagonal of ``W_hh`` is not a parameter). Nothing here is
differentiated, so there is no ``nn.Module``; ``simulate_network`` runs a whole population of
weight vectors on all trials at once, with the time loop as its only Python loop.
"""

import math
from dataclasses import dataclass

import torch

from spike_file import weight_shapes

DEFAULT_LAYER_SIZES = {"input": 1, "hidden": 10, "output": 2}
# Elements (population x trials x neurons) of one chunk's state tensors in simulate_network:
# small enough for the per-step state to stay in the CPU caches, large enough that the fixed
# cost of each torch call stays small (benchmarks/bench_snn.py times it against one chunk).
STATE_CHUNK = 320_000


@dataclass(frozen=True)
class LIFParams:
    """Parameters shared by every LIF neuron (see the module docstring for the equations).

    Attributes
    ----------
    tau_mem : float
        Membrane time constant in seconds.
    tau_ref : float
        Refractory period in seconds (rounded to whole steps of ``dt``).
    v_threshold : float
        Firing threshold ``v_th`` (dimensionless; weights are in the same unit).
    v_reset : float
        Potential at the start and after a spike.
    sigma : float
        Standard deviation of the Gaussian noise current added to every neuron at every step,
        in the unit of the potential (``v_threshold`` = 1 by default).
    """

    tau_mem: float = 0.005
    tau_ref: float = 0.002
    v_threshold: float = 1.0
    v_reset: float = 0.0
    sigma: float = 0.0

    def __post_init__(self):
        values = {name: getattr(self, name) for name in ("tau_mem", "tau_ref", "v_threshold", "v_reset", "sigma")}
        for name, value in values.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"LIFParams.{name} must be a finite number, got {value!r}")
        if self.tau_mem <= 0:
            raise ValueError(f"LIFParams.tau_mem must be > 0 s, got {self.tau_mem}")
        if self.tau_ref < 0 or self.sigma < 0:
            raise ValueError(f"LIFParams.tau_ref and sigma must be >= 0, got {self.tau_ref} and {self.sigma}")
        # A reset at or above threshold would fire again on the first step after the
        # refractory period without any input, every time: the neuron becomes a clock.
        if self.v_reset >= self.v_threshold:
            raise ValueError(f"LIFParams.v_reset ({self.v_reset}) must be below v_threshold ({self.v_threshold})")

    def leak(self, dt):
        """Return ``lam = exp(-dt / tau_mem)``, the per-step decay factor of the potential."""
        return math.exp(-dt / self.tau_mem)

    def refractory_steps(self, dt):
        """Return ``n_ref = round(tau_ref / dt)``, the silent steps after a spike."""
        return round(self.tau_ref / dt)


def lif_step(v, refractory, current, leak, lif, n_ref, out=None):
    """Advance LIF neurons by one step.

    Parameters
    ----------
    v : torch.Tensor, shape (..., n)
        Membrane potentials after the previous step.
    refractory : torch.Tensor, shape (..., n)
        Refractory steps left after the previous step (whole numbers, stored as floats). With
        ``n_ref > 1`` it is updated in place.
    current : torch.Tensor, shape (..., n)
        Input current ``I[k]`` arriving this step. It is overwritten: its storage becomes the
        new potential.
    leak : float
        Per-step decay factor ``lam``.
    lif : LIFParams
    n_ref : int
        Refractory period in steps.
    out : torch.Tensor, shape (..., n), optional
        Where this step's spikes are written (a new tensor if None); neither ``v`` nor
        ``refractory``.

    Returns
    -------
    v, refractory, spikes : torch.Tensor, shape (..., n)
        The new state and this step's spikes (0.0 or 1.0); with ``n_ref == 1`` the counter is
        the spikes tensor itself.
    """
    # Arithmetic on 0/1 floats and in-place updates instead of boolean masks and torch.where,
    # and comparisons written straight into float tensors: converting a bool result with .to()
    # costs more than the comparison (benchmarks/bench_snn.py times both). This step
    # dominates the run time on CPU.
    if n_ref == 1:
        # With one silent step the counter after a step is 1 where the neuron fired and 0
        # elsewhere: it is that step's spikes, and needs neither a test nor arithmetic of its own.
        silent = refractory
    else:
        silent = torch.gt(refractory, 0.0, out=torch.empty_like(refractory))  # 1 if refractory, else 0
    u = current.add_(v, alpha=leak)
    # Clamp to v_reset while refractory (u - u * silent), and keep u - v_reset for the reset
    # below. With the default v_reset = 0 both are u itself: two passes over the state fewer
    # each step.
    if lif.v_reset:
        u.sub_(lif.v_reset)
        u.addcmul_(u, silent, value=-1.0).add_(lif.v_reset)
        above_reset = u - lif.v_reset
    else:
        above_reset = u.addcmul_(u, silent, value=-1.0)
    spikes = torch.ge(u, lif.v_threshold, out=torch.empty_like(u) if out is None else out)
    v = u.addcmul_(spikes, above_reset, value=-1.0)  # v_reset where spiking, else u
    if n_ref == 1:
        return v, spikes, spikes
    # A neuron fires only with refractory == 0, so the two terms never overlap.
    refractory = refractory.sub_(1.0).clamp_(min=0.0).add_(spikes, alpha=n_ref)
    return v, refractory, spikes


def _n_entries(name, shape):
    # The recurrent matrix has no self-connections, so its diagonal is not a parameter.
    n = shape[0] * shape[1]
    return n - shape[0] if name == "hidden_hidden" else n


def n_parameters(layer_sizes):
    """Return the length of ``theta`` for a network of these layer sizes."""
    return sum(_n_entries(name, shape) for name, shape in weight_shapes(layer_sizes).items())


def theta_to_weights(theta, layer_sizes, limits=None, min_weight=0.0, floors=None):
    """Unpack flat parameter vectors into named weight matrices.

    Parameters
    ----------
    theta : torch.Tensor, shape (..., n_parameters)
    layer_sizes : dict
        ``{"input": n_in, "hidden": n_hidden, "output": n_out}``.
    limits : dict, optional
        Weight name -> largest magnitude (threshold units); the matrix is clipped to
        ``[-limit, limit]``. CMA-ES searches ``theta`` unbounded; the network only ever sees
        the clipped weights, so ``weights_to_theta`` of them maps back to the same weights.
    min_weight : float
        Smallest magnitude of a synapse (threshold units): every weight of smaller magnitude
        is 0, no synapse. A synapse is then either absent or strong enough to move its
        target's firing; the weights map back to themselves as with ``limits``.
    floors : dict, optional
        Weight name -> a smallest magnitude of its own (threshold units), applied on top of
        ``min_weight``: the stronger of the two holds for that matrix.

    Returns
    -------
    dict of torch.Tensor
        ``weights[name]`` of shape ``(..., n_source, n_target)``; the diagonal of
        ``hidden_hidden`` is zero.
    """
    limits, floors = limits or {}, floors or {}
    batch = theta.shape[:-1]
    weights, start = {}, 0
    for name, shape in weight_shapes(layer_sizes).items():
        stop = start + _n_entries(name, shape)
        block = theta[..., start:stop]
        if name == "hidden_hidden":
            matrix = theta.new_zeros(*batch, *shape)
            off_diagonal = ~torch.eye(shape[0], dtype=torch.bool, device=theta.device)
            matrix[..., off_diagonal] = block
        else:
            matrix = block.reshape(*batch, *shape)
        if name in limits:
            matrix = matrix.clamp(-limits[name], limits[name])
        floor = max(min_weight, floors.get(name, 0.0))
        if floor > 0:
            matrix = torch.where(matrix.abs() >= floor, matrix, 0.0)
        weights[name] = matrix
        start = stop
    return weights


def weights_to_theta(weights, layer_sizes):
    """Inverse of ``theta_to_weights``: flatten named matrices into ``(..., n_parameters)``."""
    blocks = []
    for name, shape in weight_shapes(layer_sizes).items():
        matrix = weights[name]
        if name == "hidden_hidden":
            off_diagonal = ~torch.eye(shape[0], dtype=torch.bool, device=matrix.device)
            blocks.append(matrix[..., off_diagonal])
        else:
            blocks.append(matrix.reshape(*matrix.shape[:-2], shape[0] * shape[1]))
    return torch.cat(blocks, dim=-1)


def population_chunks(n_pop, n_trials, n_neurons):
    """Chunks a CPU run of ``n_pop`` networks is split into (``simulate_network``).

    The elements of state (population x trials x LIF neurons) over ``STATE_CHUNK``, rounded up;
    the members are then shared out evenly among the chunks.
    """
    return math.ceil(n_pop * n_trials * n_neurons / STATE_CHUNK)


def draw_noise(lif, n_steps, n_trials, n_neurons, generator, dtype=torch.float32):
    """Draw the noise current ``sigma * xi`` of every LIF neuron, step and trial.

    The same draw is shared by every member of a population (common random numbers), so
    CMA-ES compares individuals on the same noise. It is drawn on the CPU, so a seed gives the
    same noise on every device.

    Parameters
    ----------
    lif : LIFParams
    n_steps, n_trials, n_neurons : int
        ``n_neurons`` counts the LIF neurons, hidden then output.
    generator : torch.Generator or None
        CPU generator; may be None only if ``lif.sigma == 0``.
    dtype : torch.dtype

    Returns
    -------
    torch.Tensor, shape (n_steps, n_trials, n_neurons), or None if ``lif.sigma == 0``
    """
    if lif.sigma == 0:
        return None
    if generator is None:
        raise ValueError("a noisy network (sigma > 0) needs a torch.Generator")
    xi = torch.randn(n_steps, n_trials, n_neurons, generator=generator, dtype=dtype)
    return xi.mul_(lif.sigma)


def lif_weights(weights):
    """The weights onto the LIF neurons (hidden, then output) as ``simulate_network`` steps them.

    Hidden and output neurons share one state tensor and one recurrent matrix
    ``[[W_hh, W_ho], [0, 0]]``, so each step is one batched matmul and one LIF update.

    Parameters
    ----------
    weights : dict of torch.Tensor
        As returned by ``theta_to_weights``, each of shape ``(population, n_source, n_target)``.

    Returns
    -------
    w_in : torch.Tensor, shape (population, n_in, N)
        Input weights onto the N = n_hidden + n_out LIF neurons, output columns zero.
    w_lif : torch.Tensor, shape (population, N, N)
        ``[source, target]`` among the LIF neurons, output rows zero.
    """
    w_ih, w_hh, w_ho = (weights[name] for name in ("input_hidden", "hidden_hidden", "hidden_output"))
    n_pop, n_hidden, n_out = w_ih.shape[0], w_hh.shape[-1], w_ho.shape[-1]
    n_lif = n_hidden + n_out
    w_lif = w_ih.new_zeros(n_pop, n_lif, n_lif)
    w_lif[:, :n_hidden, :n_hidden] = w_hh
    w_lif[:, :n_hidden, n_hidden:] = w_ho
    w_in = w_ih.new_zeros(n_pop, w_ih.shape[1], n_lif)
    w_in[..., :n_hidden] = w_ih
    return w_in, w_lif


@torch.inference_mode()
def simulate_network(weights, input_spikes, lif, dt, generator=None, record=False, cofiring=False, repeats=False):
    """Run a population of networks on a batch of trials.

    Parameters
    ----------
    weights : dict of torch.Tensor
        As returned by ``theta_to_weights``, each of shape ``(population, n_source, n_target)``.
    input_spikes : torch.Tensor, shape (trials, n_in, n_steps)
        Input-layer spikes (0/1 or bool), shared by every member of the population.
    lif : LIFParams
    dt : float
        Seconds per step.
    generator : torch.Generator or None
        CPU generator of the noise current (``draw_noise``); needed only if ``lif.sigma > 0``.
    record : bool
        Also return every neuron's spikes.
    cofiring : bool
        Also return how often pairs of hidden neurons fire in the same step.
    repeats : bool
        Also return how often each hidden neuron fires two steps after one of its own spikes.

    Returns
    -------
    counts : torch.Tensor, shape (population, trials, n_hidden + n_out)
        Spike counts over the trial of every LIF neuron, hidden then output; the last
        ``n_out`` columns are the readout.
    spikes : torch.Tensor, shape (population, trials, n_in + n_hidden + n_out, n_steps), bool
        Only if ``record``: neurons ordered input, hidden, output.
    pairs : torch.Tensor, shape (population, trials)
        Only if ``cofiring`` (after ``spikes`` if both): ``sum_k h[k] (h[k] - 1) / 2`` with
        ``h[k]`` the hidden spikes of step ``k``, the pairs of hidden neurons that fire
        together, summed over the steps.
    repeats : torch.Tensor, shape (population, trials, n_hidden)
        Only if ``repeats`` (last): ``sum_k s_i[k] s_i[k-2]`` for every hidden neuron ``i``, its
        spikes that follow one of its own by two steps (with one refractory step, a burst at
        the refractory limit).
    """
    w_ih = weights["input_hidden"]
    dtype = w_ih.dtype
    n_pop, n_hidden = w_ih.shape[0], w_ih.shape[-1]
    n_trials, _, n_steps = input_spikes.shape
    w_in, w_lif = lif_weights(weights)
    n_lif = w_lif.shape[-1]
    # The input current is made step by step, not for all steps at once: a (n_steps, P, T, N)
    # tensor is hundreds of MB at CMA-ES sizes, and allocating it every generation costs more
    # than the steps.
    inputs = input_spikes.to(dtype).permute(2, 0, 1).contiguous()  # (S, T, n_in)
    noise = draw_noise(lif, n_steps, n_trials, n_lif, generator, dtype)  # (S, T, N)
    noise = w_ih.new_zeros(n_steps, n_trials, n_lif) if noise is None else noise.to(w_ih.device)
    # Members of the population are independent: on a CPU they run in chunks small enough for
    # the per-step state to stay in cache (each member's result is the same either way); a GPU
    # takes them all at once.
    n_chunks = population_chunks(n_pop, n_trials, n_lif) if w_ih.device.type == "cpu" else 1
    rows = math.ceil(n_pop / n_chunks)  # chunks of equal size: a small last one costs a full step's calls
    chunks = [
        _run_steps(w_in_c, w_lif_c, inputs, noise, lif, dt, record, n_hidden if cofiring else 0, repeats)
        for w_in_c, w_lif_c in zip(w_in.split(rows), w_lif.split(rows))
    ]
    results = [torch.cat([c[0] for c in chunks])]
    if record:
        raster = torch.cat([c[1] for c in chunks], dim=1)  # (S, P, T, N)
        input_raster = input_spikes.to(torch.bool).expand(n_pop, -1, -1, -1)
        results.append(torch.cat([input_raster, raster.to(torch.bool).permute(1, 2, 3, 0)], dim=2))
    if cofiring:
        results.append(torch.cat([c[2] for c in chunks]))
    if repeats:
        results.append(torch.cat([c[3] for c in chunks])[..., :n_hidden])
    return results[0] if len(results) == 1 else tuple(results)


def _run_steps(w_in, w_lif, inputs, noise, lif, dt, record, n_cofiring, repeats=False):
    """The time loop of ``simulate_network`` for one chunk of the population.

    Parameters
    ----------
    w_in : torch.Tensor, shape (P, n_in, N)
    w_lif : torch.Tensor, shape (P, N, N)
    inputs : torch.Tensor, shape (n_steps, T, n_in)
    noise : torch.Tensor, shape (n_steps, T, N)
        The noise current (zeros for a noiseless network).
    lif, dt
        As in ``simulate_network``.
    record : bool
    n_cofiring : int
        Count the same-step pairs among the first ``n_cofiring`` neurons (the hidden ones); 0:
        none.
    repeats : bool
        Count each neuron's spikes two steps after one of its own.

    Returns
    -------
    counts : torch.Tensor, shape (P, T, N)
    raster : torch.Tensor, shape (n_steps, P, T, N), or None unless ``record``
    pairs : torch.Tensor, shape (P, T), or None unless ``n_cofiring``
    repeated : torch.Tensor, shape (P, T, N), or None unless ``repeats``
    """
    leak, n_ref = lif.leak(dt), lif.refractory_steps(dt)
    n_steps, n_trials = inputs.shape[:2]
    v = torch.full((w_lif.shape[0], n_trials, w_lif.shape[-1]), lif.v_reset, dtype=w_lif.dtype, device=w_lif.device)
    refractory = torch.zeros_like(v)
    # The state lives in buffers allocated once and taken in turn, not in new tensors every
    # step, which take longer (benchmarks/bench_snn.py times both) and give the same numbers.
    # A step's current becomes its potential, so two buffers alternate (step k-1's potential
    # is read while step k's current is made); the spikes of k-1 and k-2 are still read at
    # step k, so three.
    potentials = [torch.empty_like(v) for _ in range(2)]
    spike_buffers = [torch.zeros_like(v) for _ in range(3)]
    spikes = spike_buffers[-1]  # spikes of k-1
    two_back = spike_buffers[-2]  # spikes of k-2
    counts = torch.zeros_like(v)
    raster = v.new_zeros(n_steps, *v.shape) if record else None
    # Same-step pairs h (h - 1) / 2 summed over steps are (sum h^2 - sum h) / 2, and sum h is
    # the hidden counts' total: one product a step instead of two; exact, as small integers.
    squares = v.new_zeros(v.shape[:2]) if n_cofiring else None
    repeated = torch.zeros_like(v) if repeats else None
    # A matmul with a 0/1 mask sums the hidden neurons' spikes faster than a sum over the
    # strided slice [..., :n_cofiring], and exactly so (small integer sums in floating point).
    cofiring_mask = v.new_zeros(v.shape[-1])
    cofiring_mask[:n_cofiring] = 1.0
    no_input = inputs.new_zeros(inputs.shape[1:])  # (T, n_in)
    one_input = inputs.shape[-1] == 1
    for k in range(n_steps):
        # One-step delay: step k integrates the spikes of step k-1 (none before step 0), of
        # the input layer and of the LIF neurons. The noise enters as the sums' starting value,
        # which spares a pass over the state.
        previous_input = inputs[k - 1] if k else no_input  # (T, n_in)
        current = potentials[k % 2]
        if one_input:
            # An outer product (T, 1) x (P, 1, N): a broadcast multiply computes it faster than a
            # batched matmul of inner size 1 (benchmarks/bench_snn.py times both), and with 0/1
            # inputs the result is the same.
            torch.addcmul(noise[k], previous_input, w_in, out=current)  # (P, T, N)
        else:
            torch.baddbmm(noise[k].expand_as(v), previous_input.expand(len(w_in), -1, -1), w_in, out=current)
        current.baddbmm_(spikes, w_lif)  # (P, T, N)
        one_back = spikes
        v, refractory, spikes = lif_step(v, refractory, current, leak, lif, n_ref, out=spike_buffers[k % 3])
        counts += spikes
        if repeats:
            repeated.addcmul_(spikes, two_back)
            two_back = one_back
        if n_cofiring:
            together = spikes @ cofiring_mask  # (P, T)
            squares.addcmul_(together, together)
        if record:
            raster[k] = spikes
    pairs = (squares - counts[..., :n_cofiring].sum(-1)).mul_(0.5) if n_cofiring else None
    return counts, raster, pairs, repeated
