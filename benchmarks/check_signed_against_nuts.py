"""Check the signed Hawkes model's sampler against NumPyro's NUTS on the same model, prior, decay
and data.

``check_against_nuts.py`` does this for the linear model's sampler; this is the same check (its
comparison, verdict and report) for ``signed_sampler.fit_signed``. The signed model of
``signed_hawkes.py`` with no background, every off-diagonal coupling and ``N_LAGS`` own lags is
written again in jax from its equations (``hawkes_jax.signed_log_likelihood_jax``)::

    log(lambda_i[k] dt) = m_i + log dt + sum_{j != i} w[i,j] x_j[k] + sum_l h[i,l] y_i[k-l],
    log L = sum_{i,k} ( y_i[k] log(1 - exp(-lambda_i[k] dt)) - (1 - y_i[k]) lambda_i[k] dt ),

with the prior of ``SignedPrior`` (``m`` about the log of the data's mean rate). Before sampling,
this likelihood is checked against ``signed_hawkes.log_likelihood`` at the truth, the prior's
centre and prior draws (relative difference below ``LOGLIK_RTOL``, else the script stops). Both
samplers then draw ``m``, ``w`` and ``h`` given the decay: the project's sampler fixes beta at the
joint posterior mode (``find_mode``) and NUTS is given that same beta, so the check is of the HMC
draws, not of the choice of beta. With ``--sample-beta`` both draw the decay as well (ours with
``sample_beta``, NUTS with a site ``log beta`` under the same prior), and beta is compared too.

The data: ``signed_truth``, the standard network of ``bench_hawkes.py`` with signed couplings,
simulated by ``signed_hawkes.simulate`` (13 neurons, 30 trials x 100 steps of 1 ms, ``--seed``).
Chains, draws, z-scores, sd ratios and the verdict are those of ``check_against_nuts.py``; the
parameter groups are m, excitatory, inhibitory and absent w, and h. It reports and does not
assert: the exit status is 0 either way (1 without NumPyro/JAX).

Reads:  nothing (all data are simulated with ``--seed``).
Writes: the "nuts-signed" section of docs/RESULTS.md ("nuts-signed-beta" with ``--sample-beta``;
none with ``--no-report``); prints it.
Needs:  numpyro and jax, ``pip install -r requirements-bench.txt`` in a separate venv.
Command, from the repository root (several minutes on 2 cores, most of it NUTS):
    .venv-bench/bin/python -m benchmarks.check_signed_against_nuts
    .venv-bench/bin/python -m benchmarks.check_signed_against_nuts --sample-beta
Short smoke test:
    .venv-bench/bin/python -m benchmarks.check_signed_against_nuts --quick
"""

import shlex
import sys
from time import perf_counter

import numpy as np

import signed_hawkes as sh
import signed_sampler as ss
from benchmarks import hawkes_jax
from benchmarks.bench_hawkes import DISC_BETA, DISC_DT, DISC_N_STEPS, discrete_truth
from benchmarks.check_against_nuts import (
    N_CHAINS,
    N_PRIOR_POINTS,
    N_SAMPLES,
    N_TRIALS,
    N_WARMUP,
    OURS_SAMPLES_FACTOR,
    argument_parser,
    comparison,
    draw_counts,
    machine_line,
    print_comparison,
    require_same_model,
    settings_line,
)
from benchmarks.report import printed_section

# The standard network's edges with signs, in log-intensity units per unit of filtered past (+3:
# one spike multiplies the target's next-step intensity by about 6.6 at beta dt = 1), and a
# refractory own past.
SIGNED_INPUT_WEIGHT = 3.0
SIGNED_OUTPUT_WEIGHTS = (2.0, 2.0, 2.0, -3.0, -3.0)
SIGNED_OWN_PAST = (-3.0, -1.0, -0.5)


# ----------------------------------------------------------------------------- the problem, fits and comparison
def signed_truth():
    """The standard network of ``discrete_truth`` with signed couplings, for ``signed_hawkes``.

    Returns
    -------
    m : ndarray, shape (13,)
        Log of the rates with no recent spikes (``discrete_truth``'s mu), log 1/s.
    w : ndarray, shape (13, 13)
        ``[target, source]``: the input excites hidden 0-5; output 0 is excited by hidden 0-2 and
        inhibited by hidden 3-4, output 1 inhibited by hidden 5-6 and excited by hidden 7-9.
    h : ndarray, shape (13, N_LAGS)
        Every neuron's own past (refractoriness).
    beta : float
        Decay, 1/s.
    """
    mu, alpha, beta = discrete_truth()
    w = np.zeros_like(alpha)
    w[alpha[:, 0] > 0, 0] = SIGNED_INPUT_WEIGHT
    w[11, 1:6] = SIGNED_OUTPUT_WEIGHTS
    w[12, 6:11] = SIGNED_OUTPUT_WEIGHTS[::-1]
    return np.log(mu), w, np.tile(SIGNED_OWN_PAST, (len(mu), 1)), beta


def signed_check_points(truth, log_rate, prior, rng):
    """Points of the signed likelihood check: the truth, the prior's centre at the true decay, prior
    draws (the decay's too).

    Returns
    -------
    list of (label, m (D,), w (D, D), h (D, L), beta float)
    """
    m, w, h, beta = truth
    d, n_lags = h.shape
    points = [
        ("truth", m, w, h, beta),
        ("prior centre", np.full(d, log_rate), np.zeros((d, d)), np.zeros_like(h), beta),
    ]
    for n in range(N_PRIOR_POINTS):
        points.append(
            (
                f"prior draw {n + 1}",
                rng.normal(log_rate, prior.m_sd, d),
                rng.normal(0.0, prior.w_sd, (d, d)),
                rng.normal(0.0, prior.w_sd, (d, n_lags)),
                float(np.exp(rng.normal(np.log(1.0 / DISC_DT), prior.beta_log_sd))),
            )
        )
    return points


def check_signed_likelihood(data, y, points):
    """Relative difference of the jax signed likelihood to ``signed_hawkes.log_likelihood``
    (summed over targets) at each point; rows as ``hawkes_jax.check_likelihood``."""
    rows = []
    for label, m, w, h, beta in points:
        theta = np.concatenate([m[:, None], w * data.free[:, 1 : 1 + len(m)], h], axis=1)[None]
        inputs = sh.design(sh.coupling_inputs(data.spikes, np.array([beta]), data.dt))
        ours = float(sh.log_likelihood(theta, inputs, data).sum())
        theirs = float(
            hawkes_jax.signed_log_likelihood_jax(y, hawkes_jax.signed_inputs(y, beta, data.dt), m, w, h, data.dt)
        )
        rows.append((label, ours, theirs, abs(ours - theirs) / abs(ours)))
    return rows


def fit_ours_signed(data, prior, n_samples, n_warmup, seed, sample_beta=False):
    """Fit with ``signed_sampler.fit_signed`` and time it.

    Returns
    -------
    draws : ndarray, shape (C, S, P)
        As ``hawkes_jax.fit_signed_nuts``.
    beta : float or None
        The fixed decay, 1/s; None where it was sampled.
    info : dict
        As ``fit_ours``.
    """
    start = perf_counter()
    post = ss.fit_signed(data, prior, n_samples, n_warmup, N_CHAINS, seed, sample_beta=sample_beta)
    wall = perf_counter() - start
    c, s = post.m.shape[:2]
    off = ~np.eye(post.m.shape[2], dtype=bool)
    columns = [post.m, post.w[..., off], post.h.reshape(c, s, -1)]
    if sample_beta:
        columns.append(post.beta[..., None])
    acceptance = {k: float(np.mean(v)) for k, v in post.acceptance.items()}
    beta = None if sample_beta else float(post.beta[0, 0])
    return np.concatenate(columns, axis=2), beta, {"wall_s": wall, "n_samples": n_samples, "acceptance": acceptance}


def signed_parameters(w_true, n_lags, with_beta=False):
    """Names and group masks of the flattened signed parameters (``m``, off-diagonal ``w``, ``h``,
    and ``beta`` last ``with_beta``).

    Returns
    -------
    names : list of str
    groups : dict of str -> ndarray of bool, shape (P,)
    """
    d = len(w_true)
    target, source = np.nonzero(~np.eye(d, dtype=bool))
    sign = np.sign(w_true[target, source]).astype(int)
    kind = {1: "excitatory", -1: "inhibitory", 0: "absent"}
    names = [f"m[{i}]" for i in range(d)]
    names += [f"w[{i},{j}] ({kind[k]})" for i, j, k in zip(target, source, sign)]
    names += [f"h[{i},{lag}]" for i in range(d) for lag in range(1, n_lags + 1)]
    group = np.concatenate([np.full(d, 2), sign, np.full(d * n_lags, 3), [4] if with_beta else []])
    masks = {"m": group == 2, "w, excitatory": group == 1, "w, inhibitory": group == -1, "w, absent": group == 0}
    masks["h"] = group == 3
    if with_beta:
        names.append("beta")
        masks["beta"] = group == 4
    return names, masks


def compare_signed_samplers(
    seed=0, n_samples=N_SAMPLES, n_warmup=N_WARMUP, ours_factor=OURS_SAMPLES_FACTOR, sample_beta=False
):
    """``compare_samplers`` for the signed model: simulate ``signed_truth``, check the likelihoods
    agree, fit with ``fit_signed`` and with NUTS at its decay, or both with the decay sampled
    (``sample_beta``), compare.

    Returns
    -------
    dict
        As ``compare_samplers``, ``prior`` a ``SignedPrior``, plus ``beta`` (the fixed decay; where
        sampled, the joint posterior mode's, at which the default fit would fix it) and ``log_rate``
        (the centre of ``m``'s prior).
    """
    truth = signed_truth()
    m, w, h, beta = truth
    spikes = sh.simulate(m, w, h, beta, DISC_DT, N_TRIALS, DISC_N_STEPS, seed=seed)
    data = sh.prepare(spikes, DISC_DT, n_lags=h.shape[1])
    y = spikes.transpose(0, 2, 1).astype(float)  # (R, K, D), as the linear check's
    prior = sh.SignedPrior()
    check = check_signed_likelihood(
        data, y, signed_check_points(truth, data.log_rate, prior, np.random.default_rng(seed))
    )
    require_same_model(check, "signed_hawkes.log_likelihood")

    ours_draws, fixed_beta, ours_info = fit_ours_signed(
        data, prior, ours_factor * n_samples, n_warmup, seed, sample_beta
    )
    nuts_draws, nuts_info = hawkes_jax.fit_signed_nuts(
        y, DISC_DT, fixed_beta, data.log_rate, prior, h.shape[1], n_samples, n_warmup, N_CHAINS, seed
    )
    if sample_beta:
        fixed_beta = sh.find_mode(data, prior)[1]
    names, groups = signed_parameters(w, h.shape[1], sample_beta)
    off = ~np.eye(len(m), dtype=bool)
    return {
        "names": names,
        "truth": np.concatenate([m, w[off], h.ravel(), [beta] if sample_beta else []]),
        "groups": groups,
        "n_spikes": int(y.sum()),
        "prior": prior,
        "beta": fixed_beta,
        "log_rate": data.log_rate,
        "loglik_check": check,
        **comparison(ours_draws, ours_info, nuts_draws, nuts_info),
    }


# ----------------------------------------------------------------------------- report and CLI
def print_report(result, args, n_samples, n_warmup):
    """Print the settings, the prior and ``check_against_nuts.print_comparison``."""
    p = result["prior"]
    option = ", beta sampled (sample_beta)" if args.sample_beta else ""
    print(settings_line(result, args.seed, n_samples, n_warmup, model="signed model, ", ours_option=option))
    if args.sample_beta:
        decay = f"log beta ~ Normal(log {1 / DISC_DT:g}, {p.beta_log_sd:g}), sampled by both (truth {DISC_BETA:g} 1/s)"
    else:
        decay = (
            f"beta fixed at ours' joint posterior mode {result['beta']:.6g} 1/s (truth {DISC_BETA:g}), given to NUTS"
        )
    print(f"prior: m ~ Normal({result['log_rate']:.6g}, {p.m_sd:g}), w, h ~ Normal(0, {p.w_sd:g}); {decay}")
    if args.sample_beta:
        ours, nuts = result["ours"], result["nuts"]
        print(
            f"beta (1/s): posterior mean {ours['mean'][-1]:.6g} (sd {ours['sd'][-1]:.4g}) ours, "
            f"{nuts['mean'][-1]:.6g} (sd {nuts['sd'][-1]:.4g}) NUTS; the joint posterior mode, where the "
            f"default fit fixes it, {result['beta']:.6g}"
        )
    print_comparison(result, "signed_hawkes.log_likelihood", "signed_hawkes")


def parse_args(argv=None):
    parser = argument_parser(__doc__.split("\n")[0])
    parser.add_argument(
        "--sample-beta",
        action="store_true",
        help="both samplers draw the decay too (ours: sample_beta); written as its own section",
    )
    return parser.parse_args(argv)


def run(args):
    """The benchmark itself, printing its tables."""
    n_samples, n_warmup = draw_counts(args)
    print(machine_line())
    result = compare_signed_samplers(args.seed, n_samples, n_warmup, sample_beta=args.sample_beta)
    print_report(result, args, n_samples, n_warmup)
    return result


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join(
        ["python", "-m", "benchmarks.check_signed_against_nuts", *(sys.argv[1:] if argv is None else argv)]
    )
    with printed_section(
        "nuts-signed-beta" if args.sample_beta else "nuts-signed",
        "The signed model's sampler against NumPyro's NUTS, same model and prior, decay sampled"
        if args.sample_beta
        else "The signed model's sampler against NumPyro's NUTS, same model, prior and decay",
        command,
        enabled=not args.no_report,
    ):
        return run(args)


if __name__ == "__main__":
    main()
