"""The discrete-time Hawkes models written again in jax and NumPyro, and the NUTS fits of them.

Its own module because it is the only code that needs jax and numpyro (optional, from
``requirements-bench.txt`` in a separate venv); ``check_against_nuts.py`` and
``check_signed_against_nuts.py`` check these models against ``HawkesProcessModel`` and
``signed_hawkes`` and compare their NUTS draws with the project's samplers.

The linear model has one shared beta, no background and no alpha mask; its equations are those of
the module docstring of ``hawkes_model.py``. The signed model has no background, a fixed beta and
every off-diagonal coupling; its equations are those of the module docstring of
``signed_hawkes.py``. Every trial starts with an empty history. If jax or numpyro does not import,
the module still imports, with ``jax`` set to ``None``.
"""

from time import perf_counter

import numpy as np

try:  # optional (requirements-bench.txt); check_against_nuts.py says how to install them when absent
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS, init_to_median

    jax.config.update("jax_enable_x64", True)  # NUTS and the likelihood check in float64
except ImportError:
    jax = None

# NUTS (diagonal mass matrix): chains one after another, on one core; vectorized chains would
# wait for the longest tree at every draw.
NUTS_CHAIN_METHOD = "sequential"
NUTS_TARGET_ACCEPT = 0.8  # NumPyro's default


# ----------------------------------------------------------------------------- data
def spike_bins(y):
    """``nonzero(y)`` as jax arrays: trial, step and neuron of each spike of an (R, K, D) raster."""
    return tuple(jnp.asarray(index) for index in np.nonzero(y))


# ----------------------------------------------------------------------------- the model in jax
def kernel_sums(y, beta, dt):
    """``S_j[k] = sum_{m>=1} g(m) y_j[k-m] / dt`` of every trial, from an empty history.

    With ``e = exp(-beta dt)``, ``g(m) = (1 - e) e^(m-1)``, so ``x[k] = dt S[k]`` follows
    ``x[0] = 0``, ``x[k] = e x[k-1] + (1 - e) y[k-1]``: one ``lax.scan`` over the steps.

    Parameters
    ----------
    y : jax array, shape (R, K, D)
        Spike raster (0/1).
    beta : jax scalar
        Shared decay, 1/s.
    dt : float
        Step, s.

    Returns
    -------
    jax array, shape (R, K, D)
        1/s.
    """
    decay = jnp.exp(-beta * dt)

    def step(x, y_k):  # x: (R, D) at step k; y_k: the spikes of step k
        return decay * x - jnp.expm1(-beta * dt) * y_k, x

    _, x = jax.lax.scan(step, jnp.zeros((y.shape[0], y.shape[2])), jnp.swapaxes(y, 0, 1))
    return jnp.swapaxes(x, 0, 1) / dt  # (K, R, D) -> (R, K, D)


def log_likelihood_jax(y, spikes, mu, alpha, beta, dt):
    """Discrete-time Hawkes log-likelihood of a raster, every trial from an empty history.

    ``sum_{r,k,i} y log(1 - exp(-lambda dt)) - (1 - y) lambda dt`` is evaluated as
    ``sum_{spike bins} (log(1 - exp(-lambda dt)) + lambda dt) - sum_{all bins} lambda dt``, the
    same sum: ``lambda`` is needed per bin only where ``y = 1``, and its sum over all bins of
    target ``i`` is ``mu_i R K + sum_j alpha[i, j] sum_{r,k} S_j[k]``.

    Parameters
    ----------
    y : jax array, shape (R, K, D)
        Spike raster (0/1).
    spikes : tuple of 3 jax int arrays, each shape (n_spikes,)
        ``nonzero(y)``: trial, step and neuron of every spike.
    mu : jax array, shape (D,)
        Background rates, 1/s.
    alpha : jax array, shape (D, D)
        Branching ratios ``alpha[target, source]``.
    beta : jax scalar
        Shared decay, 1/s.
    dt : float
        Step, s.

    Returns
    -------
    jax scalar
    """
    trial, step, target = spikes
    s = kernel_sums(y, beta, dt)  # (R, K, D)
    at_spikes = (mu[target] + jnp.sum(alpha[target] * s[trial, step], axis=1)) * dt  # (n,)
    total = mu * (y.shape[0] * y.shape[1]) + alpha @ jnp.sum(s, axis=(0, 1))  # (D,) sum of lambda_i
    return jnp.sum(jnp.log(-jnp.expm1(-at_spikes)) + at_spikes) - jnp.sum(total) * dt


def hawkes_numpyro_model(y, spikes, dt, prior):
    """NumPyro model: the project's prior (``PriorRates``) and the discrete Hawkes likelihood.

    Parameters
    ----------
    y : jax array, shape (R, K, D)
        Spike raster.
    spikes : tuple of 3 jax int arrays, each shape (n_spikes,)
        ``nonzero(y)``.
    dt : float
        Step, s.
    prior : PriorRates
        The numbers of ``HawkesProcessModel._resolve_prior`` for these data.
    """
    n_dims = y.shape[2]
    mu = numpyro.sample("mu", dist.Gamma(prior.mu_shape, prior.mu_rate).expand([n_dims]).to_event(1))
    alpha = numpyro.sample(
        "alpha", dist.Gamma(prior.alpha_shape, prior.alpha_rate).expand([n_dims, n_dims]).to_event(2)
    )
    log_beta = numpyro.sample("log_beta", dist.Normal(prior.log_beta_mean, prior.log_beta_sd))
    numpyro.factor("log_lik", log_likelihood_jax(y, spikes, mu, alpha, jnp.exp(log_beta), dt))


# ----------------------------------------------------------------------------- likelihood check and fit
def check_likelihood(model, events, end_time, y, points):
    """Relative difference of the jax likelihood to ``model.log_likelihood`` at each point.

    Returns
    -------
    list of (label, ours float, jax float, relative difference float)
    """
    rows = []
    for label, mu, alpha, beta in points:
        ours = model.log_likelihood(events, end_time, mu, alpha, beta)
        theirs = float(
            log_likelihood_jax(
                jnp.asarray(y), spike_bins(y), jnp.asarray(mu), jnp.asarray(alpha), jnp.asarray(beta), model.dt
            )
        )
        rows.append((label, ours, theirs, abs(ours - theirs) / abs(ours)))
    return rows


def run_nuts(model, seed, n_samples, n_warmup, n_chains, *args):
    """NUTS on a NumPyro ``model(*args)``, timed (jit compilation included).

    Every chain starts at the median of 15 prior draws of every site (``init_to_median``).

    Returns
    -------
    samples : dict of ndarray, each shape (C, S, ...)
    info : dict
        ``wall_s``, ``divergences`` (total), ``mean_steps`` (leapfrog steps per draw) and
        ``max_steps``.
    """
    kernel = NUTS(model, init_strategy=init_to_median(num_samples=15), target_accept_prob=NUTS_TARGET_ACCEPT)
    mcmc = MCMC(
        kernel,
        num_warmup=n_warmup,
        num_samples=n_samples,
        num_chains=n_chains,
        chain_method=NUTS_CHAIN_METHOD,
        progress_bar=False,
    )
    start = perf_counter()
    mcmc.run(jax.random.PRNGKey(seed), *args, extra_fields=("diverging", "num_steps"))
    samples = jax.block_until_ready(mcmc.get_samples(group_by_chain=True))
    wall = perf_counter() - start
    extra = mcmc.get_extra_fields(group_by_chain=True)
    steps = np.asarray(extra["num_steps"])
    info = {
        "wall_s": wall,
        "divergences": int(np.sum(extra["diverging"])),
        "mean_steps": float(steps.mean()),
        "max_steps": int(steps.max()),
    }
    return {name: np.asarray(value) for name, value in samples.items()}, info


def fit_nuts(y, dt, prior, n_samples, n_warmup, n_chains, seed):
    """Fit the linear NumPyro model with NUTS (``run_nuts``). Starting at the prior's median puts
    beta near ``exp(log_beta_mean)``; NumPyro's default ``init_to_uniform`` can start beta near 0, a
    known false mode of grid data.

    Returns
    -------
    draws : ndarray, shape (C, S, P)
        As ``check_against_nuts.fit_ours``.
    info : dict
        As ``run_nuts``.
    """
    samples, info = run_nuts(
        hawkes_numpyro_model, seed, n_samples, n_warmup, n_chains, jnp.asarray(y), spike_bins(y), dt, prior
    )
    mu, alpha = samples["mu"], samples["alpha"]
    c, s = mu.shape[:2]
    beta = np.exp(samples["log_beta"])
    return np.concatenate([mu, alpha.reshape(c, s, -1), beta[:, :, None]], axis=2), info


# ----------------------------------------------------------------------------- the signed model
def signed_inputs(y, beta, dt):
    """The filtered past ``x = dt S`` (``kernel_sums``) of every trial, (R, K, D), at a fixed decay."""
    return kernel_sums(jnp.asarray(y), beta, dt) * dt


def signed_log_likelihood_jax(y, x, m, w, h, dt):
    """Discrete-time log-likelihood of the signed Hawkes model, every trial from an empty history.

    ``log(lambda_i[k] dt) = m_i + log dt + sum_{j != i} w[i, j] x_j[k] + sum_l h[i, l] y_i[k-l]``;
    ``sum_{r,k,i} y log(1 - exp(-lambda dt)) - (1 - y) lambda dt``, every bin evaluated.

    Parameters
    ----------
    y : jax array, shape (R, K, D)
        Spike raster (0/1).
    x : jax array, shape (R, K, D)
        ``signed_inputs`` of ``y``.
    m : jax array, shape (D,)
    w : jax array, shape (D, D)
        ``[target, source]``; the diagonal is ignored.
    h : jax array, shape (D, L)
    dt : float
        Step, s.

    Returns
    -------
    jax scalar
    """
    n_steps, n_dims = y.shape[1], y.shape[2]
    own = sum(h[:, lag - 1] * jnp.pad(y, ((0, 0), (lag, 0), (0, 0)))[:, :n_steps] for lag in range(1, h.shape[1] + 1))
    u = jnp.exp(m + jnp.log(dt) + x @ (w * (1 - jnp.eye(n_dims))).T + own)
    spiked = y > 0
    at_spike = jnp.where(spiked, u, 1.0)  # the other branch's gradient must stay finite
    return jnp.sum(jnp.where(spiked, jnp.log(-jnp.expm1(-at_spike)), -u))


def signed_numpyro_model(y, x, dt, log_rate, prior, n_lags):
    """NumPyro model: ``signed_hawkes``'s prior (``SignedPrior``, ``m`` about ``log_rate``) and the
    signed likelihood given the filtered past ``x`` (``signed_inputs``, a fixed decay); the sites
    are ``m`` (D,), ``w_off`` (the off-diagonal couplings, row-major, D (D - 1)) and ``h`` (D, L).
    ``x`` None: the decay is sampled too, site ``log_beta`` with ``SignedPrior``'s prior, and the
    filtered past computed from it."""
    n_dims = y.shape[2]
    if x is None:
        log_beta = numpyro.sample("log_beta", dist.Normal(np.log(1.0 / dt), prior.beta_log_sd))
        x = signed_inputs(y, jnp.exp(log_beta), dt)
    m = numpyro.sample("m", dist.Normal(log_rate, prior.m_sd).expand([n_dims]).to_event(1))
    w_off = numpyro.sample("w_off", dist.Normal(0.0, prior.w_sd).expand([n_dims * (n_dims - 1)]).to_event(1))
    h = numpyro.sample("h", dist.Normal(0.0, prior.w_sd).expand([n_dims, n_lags]).to_event(2))
    target, source = np.nonzero(~np.eye(n_dims, dtype=bool))
    w = jnp.zeros((n_dims, n_dims)).at[target, source].set(w_off)
    numpyro.factor("log_lik", signed_log_likelihood_jax(y, x, m, w, h, dt))


def fit_signed_nuts(y, dt, beta, log_rate, prior, n_lags, n_samples, n_warmup, n_chains, seed):
    """Fit the signed NumPyro model with NUTS at the fixed decay ``beta``, or with the decay sampled
    where ``beta`` is None (``run_nuts``).

    Returns
    -------
    draws : ndarray, shape (C, S, P)
        ``m`` (D), the off-diagonal ``w`` row-major (D (D - 1)), ``h`` row-major (D L) per draw, and
        beta (1/s) last where sampled.
    info : dict
        As ``run_nuts``.
    """
    inputs = None if beta is None else signed_inputs(y, beta, dt)
    samples, info = run_nuts(
        signed_numpyro_model, seed, n_samples, n_warmup, n_chains, jnp.asarray(y), inputs, dt, log_rate, prior, n_lags
    )
    c, s = samples["m"].shape[:2]
    columns = [samples["m"], samples["w_off"], samples["h"].reshape(c, s, -1)]
    if beta is None:
        columns.append(np.exp(samples["log_beta"])[..., None])
    return np.concatenate(columns, axis=2), info
