"""Fitting the groups of test trials: one posterior per group, and the record of them all.

``fit_hawkes_process.py`` decides what to fit (``plan_fit``) and reports it; here the fits
themselves run: each group pooled over its trials, or every trial alone and summed as the
original did (``--per-trial``), all in parallel through joblib, each fit seeded by its own child
of one ``SeedSequence`` so the result depends neither on the workers nor on the backend; then
``posterior_record`` gathers them into the ``posterior_file.Posterior`` the script writes, and
``format_diagnostics`` into the table it prints.
``benchmarks/fresh_test_sets.py`` fits its fresh test sets with the same functions.
"""

import dataclasses
from time import perf_counter, process_time

import numpy as np
from joblib import Parallel, cpu_count, delayed, effective_n_jobs

from hawkes_bayes import HawkesPrior
from hawkes_model import HawkesProcessModel
from hawkes_partial_pooling import fit_pooled
from mcmc_diagnostics import is_converged, summarise_draws
from posterior_file import PARAMETERS, GroupPosterior, Posterior
from signed_hawkes import goodness_of_fit, prepare
from signed_sampler import fit_signed
from spike_file import events_to_raster
from trial_groups import cut_leads


def fit_group(events, end_time, n_dims, model_options, sampler_options, seed):
    """Fit one pooled posterior to a list of realisations (one joblib task).

    Parameters
    ----------
    events : list of realisations, each a list of n_dims sorted float arrays (seconds)
    end_time : float
        Length of every realisation in seconds.
    n_dims : int
    model_options : dict
        ``time``, ``dt``, ``beta``, ``background``, ``alpha_mask`` and ``refractory`` (if
        any) for ``HawkesProcessModel``.
    sampler_options : dict
        ``n_samples``, ``max_samples``, ``n_warmup``, ``n_chains`` and ``conjugate_columns``
        for ``HawkesProcessModel.fit``.
    seed : numpy.random.SeedSequence

    Returns
    -------
    dict
        ``mu`` (C, S, D), ``alpha`` (C, S, D, D), ``beta`` (C, S) or (C, S, D, D) draws;
        ``summary`` as ``HawkesPosterior.summary()``; ``max_rhat``, ``min_ess_bulk``;
        ``acceptance`` move -> (C,); ``gof_ks`` (D,) KS statistics at the posterior mean;
        ``seconds`` of wall time and ``cpu_seconds`` of this process's CPU time (the
        load-independent cost on a shared machine).
    """
    if model_options.get("model") == "signed":
        return fit_signed_group(events, end_time, model_options, sampler_options, seed)
    start, cpu_start = perf_counter(), process_time()
    model = HawkesProcessModel(n_dims, **model_options)
    post = model.fit(events, end_time, seed=seed, progress=False, **sampler_options)
    return {
        **_hawkes_result(model, post, events, end_time),
        "seconds": perf_counter() - start,
        "cpu_seconds": process_time() - cpu_start,
    }


def _hawkes_result(model, post, events, end_time):
    """A ``HawkesPosterior``'s part of ``fit_group``'s result (no timings)."""
    summary = post.summary()
    gof_ks = model.goodness_of_fit(events, end_time, *(summary[p]["mean"] for p in PARAMETERS))
    return {
        "mu": post.mu,
        "alpha": post.alpha,
        "beta": post.beta,
        "summary": summary,
        "max_rhat": post.max_rhat,
        "min_ess_bulk": post.min_ess_bulk,
        "acceptance": dict(post.acceptance),
        "gof_ks": np.asarray(gof_ks, dtype=float),
    }


def _fit_one(events, end_time, n_dims, model_options, sampler_options, seed):
    """``fit_group`` with the arguments of ``fit_pooled_groups`` for one group: a list of one result."""
    return [fit_group(events[0], end_time, n_dims, model_options[0], sampler_options, seed)]


def fit_pooled_groups(events, end_time, n_dims, model_options, sampler_options, seed):
    """Fit several groups jointly under the pooled alpha prior of ``hawkes_partial_pooling`` (one joblib task).

    Parameters
    ----------
    events : list
        One list of realisations per group.
    end_time, n_dims, sampler_options, seed
        As for ``fit_group``.
    model_options : list of dict
        One per group, as for ``fit_group`` (they differ in the background only).

    Returns
    -------
    list of dict
        One ``fit_group``-style result per group, plus ``pool``: ``k`` and ``b`` -> their draws
        (C, S), shared by the groups; their R-hat and ESS count in every group's ``max_rhat`` and
        ``min_ess_bulk``; the acceptance of their walks, of the scale move, of the collapsed
        transfers and resplits and of the carried moves are ``acceptance["pool_k"]``,
        ``["pool_b"]``, ``["pool_scale"]``, ``["pool_transfer"]``, ``["pool_resplit"]``,
        ``["pool_k_carried"]`` and ``["pool_b_carried"]``. ``seconds`` and ``cpu_seconds`` are
        the joint fit's, the same in each of its groups.
    """
    start, cpu_start = perf_counter(), process_time()
    models = [HawkesProcessModel(n_dims, **options) for options in model_options]
    post = fit_pooled(models, events, end_time, seed=seed, **sampler_options)
    hyper_rhat, hyper_ess = post.hyper_diagnostics
    results = [
        _hawkes_result(model, group_post, group_events, end_time)
        for model, group_post, group_events in zip(models, post.groups, events)
    ]
    seconds, cpu_seconds = perf_counter() - start, process_time() - cpu_start
    for result in results:
        result["max_rhat"] = max(result["max_rhat"], hyper_rhat)
        result["min_ess_bulk"] = min(result["min_ess_bulk"], hyper_ess)
        result["acceptance"].update({f"pool_{hyper}": rate for hyper, rate in post.acceptance.items()})
        result.update(pool={"k": post.k, "b": post.b}, seconds=seconds, cpu_seconds=cpu_seconds)
    return results


def fit_signed_group(events, end_time, model_options, sampler_options, seed):
    """``fit_group`` for the signed Hawkes model (``signed_hawkes``, ``signed_sampler``), its result in the same layout.

    ``alpha`` holds the signed couplings ``w`` (change of the target's log intensity per unit of
    the source's filtered past), ``mu`` the rates ``exp(m)`` in 1/s, ``beta`` the decay fixed at its
    mode, repeated in every draw, or its draws with ``sample_beta``; R-hat and ESS are over every
    fitted parameter, the own history's (and log beta where sampled) included, and ``gof_ks`` is
    taken at the posterior means (beta's too).

    Parameters
    ----------
    events, end_time, seed
        As for ``fit_group``.
    model_options : dict
        ``dt``, ``alpha_mask`` (or None), ``background`` (or None) and ``prior`` (``SignedPrior``).
    sampler_options : dict
        ``n_samples``, ``max_samples``, ``n_warmup``, ``n_chains``, ``sample_beta``.
    """
    start, cpu_start = perf_counter(), process_time()
    dt = model_options["dt"]
    spikes = events_to_raster(events, round(end_time / dt), dt)
    data = prepare(
        spikes, dt, background=model_options.get("background"), coupling_free=model_options.get("alpha_mask")
    )
    post = fit_signed(data, model_options["prior"], seed=seed, **sampler_options)
    draws = {"mu": np.exp(post.m), "alpha": post.w, "beta": post.beta}
    max_rhat, min_ess_bulk = post.diagnostics()
    theta_mean = np.concatenate(
        [post.m.mean(axis=(0, 1))[:, None], post.w.mean(axis=(0, 1)), post.h.mean(axis=(0, 1))], axis=1
    )
    return {
        **draws,
        "summary": {p: summarise_draws(draws[p]) for p in PARAMETERS},
        "max_rhat": max_rhat,
        "min_ess_bulk": min_ess_bulk,
        "acceptance": dict(post.acceptance),
        "gof_ks": goodness_of_fit(theta_mean, post.beta_mean(), data),
        "seconds": perf_counter() - start,
        "cpu_seconds": process_time() - cpu_start,
    }


def sum_trial_fits(fits):
    """Combine one group's per-trial fits into the original's summed alpha matrix.

    The trials' posteriors are independent, so adding their draws index by index gives draws
    of the summed ``mu`` and ``alpha``; ``beta`` is averaged instead (a typical decay rate).
    Convergence is judged trial by trial: the worst R-hat and ESS over trials are reported.

    Parameters
    ----------
    fits : list of dict
        Outputs of ``fit_group``, one per trial, all with the same chains and samples.

    Returns
    -------
    dict
        Same keys as ``fit_group``'s output, plus ``trial_alpha_mean`` (n_trials, D, D), each
        trial's posterior-mean alpha.
    """
    draws = {p: np.stack([fit[p] for fit in fits]) for p in PARAMETERS}  # (n_trials, C, S, ...)
    combined = {"mu": draws["mu"].sum(axis=0), "alpha": draws["alpha"].sum(axis=0), "beta": draws["beta"].mean(axis=0)}
    combined["summary"] = {p: summarise_draws(combined[p]) for p in PARAMETERS}
    combined["max_rhat"] = max(fit["max_rhat"] for fit in fits)
    combined["min_ess_bulk"] = min(fit["min_ess_bulk"] for fit in fits)
    combined["acceptance"] = {
        move: np.mean([fit["acceptance"][move] for fit in fits], axis=0) for move in fits[0]["acceptance"]
    }
    ks = np.stack([fit["gof_ks"] for fit in fits])  # (n_trials, D); NaN: < 2 spikes in a trial
    n_finite = np.isfinite(ks).sum(axis=0)
    combined["gof_ks"] = np.divide(
        np.nansum(ks, axis=0), n_finite, out=np.full(ks.shape[1], np.nan), where=n_finite > 0
    )
    combined["seconds"] = sum(fit["seconds"] for fit in fits)
    combined["cpu_seconds"] = sum(fit["cpu_seconds"] for fit in fits)
    combined["trial_alpha_mean"] = draws["alpha"].mean(axis=(1, 2))
    return combined


def _in_parallel(calls, n_jobs):
    """Run joblib's delayed ``calls``, their results in order, on at most ``n_jobs`` workers (-1:
    all cores)."""
    # joblib starts every worker asked for, however few the fits: more than the fits or the
    # cores only cost their start (thousands stall the machine).
    return Parallel(n_jobs=min(effective_n_jobs(n_jobs), cpu_count(), len(calls)))(calls)


def fit_groups(
    events,
    end_time,
    groups,
    n_dims,
    model_options,
    sampler_options,
    per_trial,
    seed,
    n_jobs,
    backgrounds=None,
    pooling="none",
):
    """Fit every group (or, with ``per_trial``, every trial of every group) in parallel.

    Parameters
    ----------
    events : list of realisations, one per trial of the spike file
    end_time : float
        Seconds per trial.
    groups : dict
        Group name (any key) -> trial indices, as from ``group_test_trials``; a trial may
        appear more than once.
    n_dims : int
    model_options, sampler_options : dict
        As for ``fit_group``.
    per_trial : bool
        Fit each trial alone and sum the group's matrices (``sum_trial_fits``).
    seed : int or sequence of int
        Entropy of the ``SeedSequence`` whose children, one per fit in the order of
        ``groups``, seed the fits.
    n_jobs : int
        joblib workers (-1: all cores); at most one per fit and per core are started. The result
        does not depend on it.
    backgrounds : dict or None
        Group name -> relative background (n_dims, n_steps) of its fits; None: constant.
    pooling : {"none", "class", "cut"}
        none: every group alone. class: the groups of each class (``"<class>_<outcome>"``)
        jointly under the pooled alpha prior (``fit_pooled_groups``), one task per class seeded
        by its own child; a class of one group is fitted alone (``fit_group``): with no other
        group to learn from, the pooled prior would only learn the scale of its alphas, and its
        funnel slows the chains. cut: every group alone, as by none and with the same draws,
        except a class's wrong group whose correct group is fitted too: it is fitted after,
        each of its alphas under an exponential prior whose mean is the correct group's
        posterior mean of that alpha (``cut_prior``). Neither with ``per_trial``.

    Returns
    -------
    dict
        Group name -> ``fit_group``-style result, in the order of ``groups``.
    """
    backgrounds = backgrounds or {}
    if pooling == "cut":
        return _fit_cut(events, end_time, groups, n_dims, model_options, sampler_options, seed, n_jobs, backgrounds)
    if pooling == "class":
        classes = {}
        for name in groups:
            classes.setdefault(name.rsplit("_", 1)[0], []).append(name)
        seeds = np.random.SeedSequence(seed).spawn(len(classes))
        fits = _in_parallel(
            [
                delayed(fit_pooled_groups if len(names) > 1 else _fit_one)(
                    [[events[t] for t in groups[name]] for name in names],
                    end_time,
                    n_dims,
                    [{**model_options, "background": backgrounds.get(name)} for name in names],
                    sampler_options,
                    class_seed,
                )
                for names, class_seed in zip(classes.values(), seeds)
            ],
            n_jobs,
        )
        by_name = {name: fit for names, results in zip(classes.values(), fits) for name, fit in zip(names, results)}
        return {name: by_name[name] for name in groups}
    if per_trial:
        tasks = [(name, [trial]) for name, trials in groups.items() for trial in trials]
    else:
        tasks = [(name, list(trials)) for name, trials in groups.items()]
    seeds = np.random.SeedSequence(seed).spawn(len(tasks))
    fits = _fit_alone(tasks, seeds, events, end_time, n_dims, model_options, sampler_options, backgrounds, n_jobs)
    if not per_trial:
        return {name: fit for (name, _), fit in zip(tasks, fits)}
    return {
        name: sum_trial_fits([fit for (task_name, _), fit in zip(tasks, fits) if task_name == name]) for name in groups
    }


def cut_prior(prior, alpha):
    """The cut fit's prior of a wrong group: ``prior`` with each alpha's mean set to its
    posterior mean in the class's correct group.

    Parameters
    ----------
    prior : HawkesPrior or None
        The correct group's prior (None: ``HawkesPrior()``); its shape and mu and beta priors stay.
    alpha : ndarray, shape (C, S, D, D)
        The correct group's draws of alpha. A pair fixed at 0 there (``alpha_mask``) is fixed in
        the wrong group too; its mean, unused, stays the prior's.
    """
    prior = prior or HawkesPrior()
    means = alpha.mean(axis=(0, 1))
    return dataclasses.replace(prior, alpha_mean=np.where(means > 0, means, prior.alpha_mean))


def _fit_alone(
    tasks, seeds, events, end_time, n_dims, model_options, sampler_options, backgrounds, n_jobs, priors=None
):
    """``fit_group`` of every task ``(name, trials)`` with its seed, in parallel; a task's background
    is its group's, and ``priors`` (group name -> ``HawkesPrior``) replaces a group's prior."""
    priors = priors or {}
    calls = [
        delayed(fit_group)(
            [events[t] for t in trials],
            end_time,
            n_dims,
            {
                **model_options,
                "background": backgrounds.get(name),
                **({"prior": priors[name]} if name in priors else {}),
            },
            sampler_options,
            task_seed,
        )
        for (name, trials), task_seed in zip(tasks, seeds)
    ]
    return _in_parallel(calls, n_jobs) if calls else []


def _fit_cut(events, end_time, groups, n_dims, model_options, sampler_options, seed, n_jobs, backgrounds):
    """``fit_groups(pooling="cut")``: the groups without a lead first, then the wrong groups with one."""
    seeds = dict(zip(groups, np.random.SeedSequence(seed).spawn(len(groups))))  # each group's, as fitted alone
    leads = cut_leads(list(groups))
    options = (events, end_time, n_dims, model_options, sampler_options, backgrounds, n_jobs)

    def fit_batch(batch, priors=None):
        tasks = [(name, list(groups[name])) for name in batch]
        return dict(zip(batch, _fit_alone(tasks, [seeds[name] for name in batch], *options, priors)))

    fits = fit_batch([name for name in groups if name not in leads])
    priors = {name: cut_prior(model_options.get("prior"), fits[lead]["alpha"]) for name, lead in leads.items()}
    fits.update(fit_batch(list(leads), priors))
    return {name: fits[name] for name in groups}


def posterior_record(spike_data, groups, skipped, fits, config, backgrounds=None, alpha_free=None):
    """Build the ``posterior_file.Posterior`` that this fit writes.

    Parameters
    ----------
    spike_data : dict
        The spike file, as from ``spike_file.load_spike_trains``.
    groups : dict
        Group name -> the fitted trial indices (``select_trials``).
    skipped : list of str
        Groups too small to fit.
    fits : dict
        Group name -> ``fit_group``-style result, in the order the groups are stored.
    config : dict
        The settings that change the result (JSON-able).
    backgrounds : dict or None
        Group name -> relative background (D, n_steps) it was fitted with; missing: constant.
    alpha_free : ndarray of bool, shape (D, D), or None
        The fitted alphas; None: all of them.

    Returns
    -------
    posterior_file.Posterior
    """
    backgrounds = backgrounds or {}
    n_dims = len(spike_data["neuron_labels"])
    records = {}
    for name, fit in fits.items():
        spikes = spike_data["spikes"][groups[name]]  # (n_trials, D, n_steps)
        background = backgrounds.get(name)
        records[name] = GroupPosterior(
            trials=np.asarray(groups[name], dtype=np.int64),
            n_spikes=spikes.sum(axis=(0, 2)).astype(np.int64),
            mu=fit["mu"],
            alpha=fit["alpha"],
            beta=fit["beta"],
            summary=fit["summary"],
            max_rhat=float(fit["max_rhat"]),
            min_ess_bulk=float(fit["min_ess_bulk"]),
            acceptance=fit["acceptance"],
            gof_ks=fit["gof_ks"],
            background=np.ones(spikes.shape[1:]) if background is None else background,
            trial_alpha_mean=fit.get("trial_alpha_mean"),
            pool=fit.get("pool"),
        )
    return Posterior(
        config=config,
        dt=float(spike_data["dt"]),
        n_steps=int(spike_data["n_steps"]),
        neuron_labels=list(spike_data["neuron_labels"]),
        layer_sizes=dict(spike_data["layer_sizes"]),
        class_names=list(spike_data["class_names"]),
        weights=spike_data["weights"],
        alpha_free=(
            np.ones((n_dims, n_dims), dtype=bool) if alpha_free is None else np.asarray(alpha_free, dtype=bool)
        ),
        group_names=list(fits),
        skipped_groups=list(skipped),
        groups=records,
    )


def format_diagnostics(fits, groups, n_available, n_spikes):
    """One table row per group: trials, spikes, max R-hat, min bulk ESS, acceptance, KS, time.

    Parameters
    ----------
    fits : dict
        Group name -> ``fit_group``-style result.
    groups : dict
        Group name -> fitted trial indices.
    n_available : dict
        Group name -> number of test trials in the group (fitted or not).
    n_spikes : dict
        Group name -> total spike count of the fitted trials.

    Returns
    -------
    str
        The table, header first. ``draws`` are the kept draws per chain; ``acc(hmc)`` and
        ``acc(beta)`` the acceptance rates of the HMC and beta moves averaged over chains
        (``acc(conj)`` that of the conjugate proposals, a column only where a fit ran them);
        ``KS`` the goodness-of-fit KS statistic averaged over neurons; ``seconds`` wall and
        ``cpu s`` CPU time of the group's fit (with ``--partial-pooling``, of its class's joint
        fit), and there ``k`` and ``b`` the posterior means of the class's pooled shape and scale
        (``-`` for a class of one group, fitted alone), ``acc(k)`` and ``acc(b)`` their walks'
        acceptance, ``acc(scale)`` the scale move's.
    """
    pooled = any(fit.get("pool") is not None for fit in fits.values())
    columns = [("acc(hmc)", "hmc", 8)]
    # Moves a fit may lack.
    optional_moves = (
        ("acc(beta)", "beta"),
        ("acc(conj)", "conjugate"),
        ("acc(k)", "pool_k"),
        ("acc(b)", "pool_b"),
        ("acc(scale)", "pool_scale"),
    )
    for title, move in optional_moves:
        if any(move in fit["acceptance"] for fit in fits.values()):
            columns.append((title, move, max(9, len(title))))
    lines = [
        f"{'group':<16} {'trials':>9} {'spikes':>7} {'draws':>5} {'max R-hat':>9} {'min ESS':>8} "
        + "".join(f"{title:>{width}} " for title, _, width in columns)
        + f"{'KS':>6} {'seconds':>7} {'cpu s':>6}  converged"
        + (f" {'k':>6} {'b':>7}" if pooled else "")
    ]
    for name, fit in fits.items():
        ks = fit["gof_ks"][np.isfinite(fit["gof_ks"])]  # NaN for neurons with < 2 spikes
        trials = f"{len(groups[name])}/{n_available[name]}"
        lines.append(
            f"{name:<16} {trials:>9} {n_spikes[name]:>7} {fit['mu'].shape[1]:>5} "
            f"{fit['max_rhat']:>9.4f} {fit['min_ess_bulk']:>8.0f} "
            + "".join(f"{np.mean(fit['acceptance'].get(move, np.nan)):>{width}.2f} " for _, move, width in columns)
            + f"{ks.mean() if ks.size else np.nan:>6.3f} "
            f"{fit['seconds']:>7.1f} {fit['cpu_seconds']:>6.1f}  "
            f"{'yes' if is_converged(fit['max_rhat'], fit['min_ess_bulk']) else 'NO':<9}"
            + (_pool_columns(fit.get("pool")) if pooled else "")
        )
    return "\n".join(line.rstrip() for line in lines)


def _pool_columns(pool):
    """The k and b columns of ``format_diagnostics`` for one fit (``-`` where it was fitted alone)."""
    if pool is None:
        return f" {'-':>6} {'-':>7}"
    return f" {pool['k'].mean():>6.2f} {pool['b'].mean():>7.4f}"
