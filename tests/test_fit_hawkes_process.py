"""Tests of fit_hawkes_process.py: per-trial sums, the fit options, the posterior it writes, bad input.

The posterior file's layout and loader are tested on their own in test_posterior_file.py."""

import os
import pickle
import re

import numpy as np
import pytest
from joblib import Parallel, cpu_count

import fit_hawkes_process as fhp
import group_fits
from hawkes_model import HawkesPrior, simulate_hawkes
from posterior_file import load_posterior
from safe_files import save_pickle
from trial_groups import cut_leads, exogenous_input_mask, stimulus_background

LAYER_SIZES = {"input": 1, "hidden": 3, "output": 2}
LABELS = ["in0", "h0", "h1", "h2", "out0", "out1"]
# Tiny sampler settings: these tests check plumbing, not convergence.
N_DRAWS = 20  # per chain, after as many warm-up steps
QUICK = (
    f"--n-samples {N_DRAWS} --max-samples {N_DRAWS} --n-warmup {N_DRAWS} --n-chains 2 --n-jobs 1 --min-trials 1"
).split()


def make_spike_data(labels, predictions, split, n_steps=40, rate=0.1, seed=0):
    """A version-1 spike-file dict with a feed-forward raster (in0 drives the hidden layer)."""
    rng = np.random.default_rng(seed)
    n_trials = len(labels)
    spikes = rng.random((n_trials, 6, n_steps)) < rate  # (n_trials, n_neurons, n_steps)
    spikes[:, 1:4, 1:] |= spikes[:, :1, :-1] & (rng.random((n_trials, 3, n_steps - 1)) < 0.5)
    for k in range(1, n_steps):  # the LIF neurons (all but in0) are dead for 2 steps after a spike
        spikes[:, 1:, k] &= ~spikes[:, 1:, max(k - 2, 0) : k].any(axis=2)
    return {
        "format": "snn-spike-trains",
        "version": 1,
        "dt": 0.001,
        "n_steps": n_steps,
        "layer_sizes": dict(LAYER_SIZES),
        "neuron_labels": list(LABELS),
        "class_names": ["sine", "cosine"],
        "spikes": spikes,
        "labels": np.asarray(labels),
        "predictions": np.asarray(predictions),
        "split": np.asarray(split),
        "weights": {
            "input_hidden": np.array([[1.0, 0.5, -0.3]]),
            "hidden_hidden": rng.normal(size=(3, 3)) * (1 - np.eye(3)),
            "hidden_output": rng.normal(size=(3, 2)),
        },
        "metrics": {
            split_name: {"accuracy": 0.5, "f1": 0.5, "precision": 0.5, "recall": 0.5}
            for split_name in ("train", "test")
        },
        "lif": {"tau_ref": 0.002},
        "history": {},
        "config": {},
        "seed": 0,
    }


@pytest.fixture
def spike_file(tmp_path):
    """Four test trials: two sine (one right, one wrong), two cosine correct; one train trial."""
    path = tmp_path / "spike_trains.pkl"
    save_pickle(make_spike_data([0, 0, 1, 1, 0], [0, 1, 1, 1, 0], ["test", "test", "test", "test", "train"]), path)
    return path


def run_main(spike_file, posterior_file, *extra):
    fhp.main(["--spike-file", str(spike_file), "--posterior-file", str(posterior_file), *QUICK, *extra])


def exit_message(excinfo):
    message = str(excinfo.value.code)
    assert "\n" not in message and "Traceback" not in message
    return message


# ----------------------------------------------------------------------------- pure functions
def test_sum_trial_fits_adds_draws_of_independent_trials():
    rng = np.random.default_rng(2)

    def fake_fit(scale):
        return {
            "mu": rng.random((2, 50, 3)) * scale,
            "alpha": rng.random((2, 50, 3, 3)) * scale,
            "beta": rng.random((2, 50)) * scale + 1,
            "max_rhat": 1.0 + scale / 100,
            "min_ess_bulk": 100.0 * scale,
            "acceptance": {"beta": np.full(2, 0.1 * scale)},
            "gof_ks": np.full(3, 0.1 * scale),
            "seconds": scale,
            "cpu_seconds": scale,
        }

    fits = [fake_fit(1.0), fake_fit(2.0), fake_fit(3.0)]
    combined = group_fits.sum_trial_fits(fits)
    np.testing.assert_allclose(combined["alpha"], fits[0]["alpha"] + fits[1]["alpha"] + fits[2]["alpha"])
    np.testing.assert_allclose(combined["beta"], (fits[0]["beta"] + fits[1]["beta"] + fits[2]["beta"]) / 3)
    # The summed matrix's mean is the sum of the trials' posterior means (the original's plot).
    np.testing.assert_allclose(
        combined["summary"]["alpha"]["mean"], sum(fit["alpha"].mean(axis=(0, 1)) for fit in fits)
    )
    np.testing.assert_allclose(combined["trial_alpha_mean"].sum(axis=0), combined["summary"]["alpha"]["mean"])
    pooled = combined["alpha"].reshape(100, 3, 3)
    np.testing.assert_allclose(combined["summary"]["alpha"]["q05"], np.quantile(pooled, 0.05, axis=0))
    assert combined["max_rhat"] == pytest.approx(1.03) and combined["min_ess_bulk"] == 100.0
    np.testing.assert_allclose(combined["acceptance"]["beta"], 0.2)


# ----------------------------------------------------------------------------- the script
def test_main_fits_each_group_and_loads_back(spike_file, tmp_path, capsys):
    posterior_file = tmp_path / "posterior.npz"
    run_main(spike_file, posterior_file)
    out = capsys.readouterr().out
    for name in ("sine_correct", "cosine_correct", "sine_wrong"):
        assert name in out
    posterior = load_posterior(posterior_file)
    assert posterior.group_names == ["sine_correct", "cosine_correct", "sine_wrong"]
    assert posterior.neuron_labels == LABELS and posterior.layer_sizes == LAYER_SIZES
    np.testing.assert_array_equal(posterior.groups["cosine_correct"].trials, [2, 3])
    group = posterior.groups["cosine_correct"]
    assert group.alpha.shape == (2, N_DRAWS, 6, 6) and group.alpha.dtype == np.float32
    assert group.beta.shape == (2, N_DRAWS)
    assert group.summary["alpha"]["mean"].shape == (6, 6)
    np.testing.assert_allclose(group.summary["alpha"]["mean"], group.alpha.mean(axis=(0, 1)), rtol=1e-5)
    data = pickle.loads(spike_file.read_bytes())
    np.testing.assert_array_equal(group.n_spikes, data["spikes"][[2, 3]].sum(axis=(0, 2)))
    np.testing.assert_array_equal(posterior.weights["hidden_output"], data["weights"]["hidden_output"])
    assert posterior.config["time"] == "discrete" and posterior.config["seed"] == 0


def test_background_option_is_stored_with_the_posterior(spike_file, tmp_path):
    run_main(spike_file, tmp_path / "stimulus.npz")
    run_main(spike_file, tmp_path / "constant.npz", "--background", "constant")
    stimulus = load_posterior(tmp_path / "stimulus.npz")
    constant = load_posterior(tmp_path / "constant.npz")
    assert stimulus.config["background"] == "stimulus" and constant.config["background"] == "constant"
    data = pickle.loads(spike_file.read_bytes())
    for name, group in stimulus.groups.items():
        expected = stimulus_background(
            data["spikes"], data["labels"], data["split"], group.trials, np.arange(LAYER_SIZES["input"])
        )
        np.testing.assert_array_equal(group.background, expected)
        np.testing.assert_array_equal(constant.groups[name].background, np.ones((6, 40)))
    # The sine class has a training trial, so its input's background is not flat.
    assert np.ptp(stimulus.groups["sine_correct"].background[0]) > 0


def test_conjugate_proposals_reach_the_sampler_after_its_warm_up(spike_file, tmp_path, capsys):
    run_main(spike_file, tmp_path / "default.npz")
    assert "acc(conj)" not in capsys.readouterr().out
    run_main(spike_file, tmp_path / "conjugate.npz", "--conjugate-columns", "3")
    out = capsys.readouterr().out
    assert "conjugate proposals on 3 columns a sweep" in out
    header = next(line for line in out.splitlines() if line.startswith("group"))
    column = slice(header.index("acc(conj)"), header.index("acc(conj)") + len("acc(conj)"))  # right-aligned
    default, conjugate = load_posterior(tmp_path / "default.npz"), load_posterior(tmp_path / "conjugate.npz")
    assert default.config["conjugate_columns"] == 0 and conjugate.config["conjugate_columns"] == 3
    for name, group in default.groups.items():
        other = conjugate.groups[name]
        assert "conjugate" not in group.acceptance
        rate = other.acceptance["conjugate"]
        assert rate.shape == (2,) and np.all((rate >= 0) & (rate <= 1))
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert float(row[column]) == pytest.approx(rate.mean(), abs=0.005)
        assert other.alpha.shape == group.alpha.shape
        # The move draws random numbers of its own, so every kept draw differs.
        assert not np.array_equal(other.alpha, group.alpha)


@pytest.mark.parametrize(
    "option, beta_shape", [(["--beta", "pair"], (2, N_DRAWS, 6, 6)), (["--time", "continuous"], (2, N_DRAWS))]
)
def test_other_model_options_fit_and_plot(spike_file, tmp_path, option, beta_shape):
    import plot_alpha_heatmaps as pah

    run_main(spike_file, tmp_path / "posterior.npz", *option)
    posterior = load_posterior(tmp_path / "posterior.npz")
    assert posterior.config[option[0][2:]] == option[1]
    group = posterior.groups["cosine_correct"]
    assert group.beta.shape == beta_shape
    assert group.summary["beta"]["mean"].shape == beta_shape[2:]
    names = [name for name, _, _ in pah.trace_parameters(group, LABELS, posterior.alpha_free)]
    # A per-pair beta is traced for the pair of the largest alpha.
    edge = names[1].removeprefix("largest alpha ")
    assert names[0] == (f"beta {edge} (1/s)" if option[1] == "pair" else "beta (shared, 1/s)")
    pah.main(["--posterior-file", str(tmp_path / "posterior.npz"), "--figure-dir", str(tmp_path / "figures")])
    assert len(list((tmp_path / "figures").glob("*.png"))) == 4


def test_signed_model_fits_signed_couplings_and_plots_them(spike_file, tmp_path, capsys):
    import plot_alpha_heatmaps as pah

    run_main(spike_file, tmp_path / "signed.npz", "--model", "signed")
    table = capsys.readouterr().out
    assert "signed Hawkes model" in table and "acc(hmc)" in table and "acc(beta)" not in table
    posterior = load_posterior(tmp_path / "signed.npz")
    assert posterior.config["model"] == "signed" and "conjugate_columns" not in posterior.config
    group = posterior.groups["cosine_correct"]
    assert (group.alpha < 0).any() and (group.alpha > 0).any()
    assert np.all(group.alpha[:, :, 0, :] == 0) and np.all(group.alpha[:, :, np.arange(6), np.arange(6)] == 0)
    assert np.all(group.beta == group.beta.flat[0]) and group.acceptance.keys() == {"hmc"}
    assert np.all(np.isfinite(group.gof_ks[group.n_spikes >= 2]))
    names = [name for name, _, _ in pah.trace_parameters(group, LABELS, posterior.alpha_free, "w")]
    assert names[0] == "beta (fixed, 1/s)" and names[1].startswith("largest w ")
    pah.main(["--posterior-file", str(tmp_path / "signed.npz"), "--figure-dir", str(tmp_path / "figures")])
    assert len(list((tmp_path / "figures").glob("*.png"))) == 4
    run_main(spike_file, tmp_path / "again.npz", "--model", "signed")
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "signed.npz").read_bytes()


def test_signed_model_samples_its_decay_when_asked_and_only_it(spike_file, tmp_path, capsys):
    run_main(spike_file, tmp_path / "sampled.npz", "--model", "signed", "--sample-beta")
    assert "acc(beta)" in capsys.readouterr().out
    posterior = load_posterior(tmp_path / "sampled.npz")
    assert posterior.config["sample_beta"] is True
    group = posterior.groups["cosine_correct"]
    assert np.unique(group.beta).size > 1 and group.acceptance.keys() == {"hmc", "beta"}
    assert np.isfinite(group.summary["beta"]["rhat"])
    with pytest.raises(SystemExit) as excinfo:
        run_main(spike_file, tmp_path / "linear.npz", "--sample-beta")
    message = "--sample-beta samples the signed model's decay; pass --model signed or drop --sample-beta"
    assert exit_message(excinfo) == f"fit_hawkes_process.py: error: {message}"
    assert not (tmp_path / "linear.npz").exists()


def test_coupling_prior_sd_reaches_the_signed_fit_and_only_it(spike_file, tmp_path):
    run_main(spike_file, tmp_path / "narrow.npz", "--model", "signed", "--coupling-prior-sd", "0.01")
    posterior = load_posterior(tmp_path / "narrow.npz")
    assert posterior.config["coupling_prior_sd"] == 0.01
    fitted = posterior.alpha_free & ~np.eye(len(posterior.alpha_free), dtype=bool)
    # A Gaussian prior times a log-concave likelihood: no draw strays many prior sds from 0.
    assert np.abs(posterior.groups["cosine_correct"].alpha[..., fitted]).max() < 0.08
    with pytest.raises(SystemExit) as excinfo:
        run_main(spike_file, tmp_path / "linear.npz", "--coupling-prior-sd", "1")
    message = "--coupling-prior-sd sets the signed model's prior; pass --model signed or drop --coupling-prior-sd"
    assert exit_message(excinfo) == f"fit_hawkes_process.py: error: {message}"
    assert not (tmp_path / "linear.npz").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--time", "continuous"], "--model signed fits --time discrete only; drop --time continuous"),
        (["--refractory", "lif"], "--model signed fits --refractory none only; drop --refractory lif"),
        (["--beta", "pair"], "--model signed fits --beta shared only; drop --beta pair"),
        (["--conjugate-columns", "2"], "--model signed fits --conjugate-columns 0 only; drop --conjugate-columns 2"),
        (["--per-trial"], "--model signed fits pooled groups only; drop --per-trial"),
        (["--alpha-prior-mean", "0.5"], "--model signed has priors of its own; drop --alpha-prior-mean 0.5"),
        (["--partial-pooling", "class"], "--model signed fits each group alone; drop --partial-pooling class"),
        (["--partial-pooling", "cut"], "--model signed fits each group alone; drop --partial-pooling cut"),
    ],
)
def test_signed_model_refuses_the_options_it_does_not_fit(spike_file, tmp_path, extra, message):
    with pytest.raises(SystemExit) as excinfo:
        run_main(spike_file, tmp_path / "posterior.npz", "--model", "signed", *extra)
    assert exit_message(excinfo) == f"fit_hawkes_process.py: error: {message}"
    assert not (tmp_path / "posterior.npz").exists()


def test_a_prior_too_flat_for_the_data_ends_in_one_line(spike_file, tmp_path):
    # Four trials and couplings whose prior sd is 1e100: the Laplace covariance that starts the
    # chains cannot be factored.
    with pytest.raises(SystemExit) as excinfo:
        run_main(spike_file, tmp_path / "posterior.npz", "--model", "signed", "--coupling-prior-sd", "1e100")
    message = exit_message(excinfo)
    assert message.startswith("fit_hawkes_process.py: error: the posterior is too flat to sample (")
    assert message.endswith("use a smaller --coupling-prior-sd or more trials")
    assert not (tmp_path / "posterior.npz").exists()


@pytest.mark.parametrize("pooling", ["none", "class"])
def test_settings_beyond_the_memory_end_in_one_line(spike_file, tmp_path, pooling):
    with pytest.raises(SystemExit) as excinfo:
        run_main(spike_file, tmp_path / "posterior.npz", "--n-chains", str(2**31 - 1), "--partial-pooling", pooling)
    assert exit_message(excinfo).startswith("fit_hawkes_process.py: error: not enough memory for these settings")
    assert not (tmp_path / "posterior.npz").exists()


def test_refractory_option_is_stored_and_lif_changes_the_fit(spike_file, tmp_path):
    posteriors = {}
    for option in ("lif", "none"):
        run_main(spike_file, tmp_path / f"{option}.npz", "--refractory", option)
        posteriors[option] = load_posterior(tmp_path / f"{option}.npz")
        assert posteriors[option].config["refractory"] == option
    run_main(spike_file, tmp_path / "default.npz")
    assert load_posterior(tmp_path / "default.npz").config["refractory"] == "none"
    assert (tmp_path / "default.npz").read_bytes() == (tmp_path / "none.npz").read_bytes()
    lif, plain = (posteriors[o].groups["sine_correct"].alpha for o in ("lif", "none"))
    assert not np.array_equal(lif, plain)


@pytest.mark.parametrize(
    "change, message",
    [
        ("continuous", "--refractory lif needs --time discrete; pass --refractory none"),
        ("no_tau_ref", "no valid tau_ref.*; pass --refractory none"),
        ("fires_inside", r"neuron\(s\) 2 fire inside the refractory period.*; pass --refractory none"),
    ],
)
def test_refractory_lif_refuses_what_it_cannot_fit(tmp_path, change, message):
    data = make_spike_data([0, 1], [0, 1], ["test", "test"])
    if change == "no_tau_ref":
        data["lif"] = {}
    if change == "fires_inside":
        data["spikes"][1, 2, 10:12] = True
    save_pickle(data, tmp_path / "spikes.pkl")
    extra = ["--refractory", "lif", *(["--time", "continuous"] if change == "continuous" else [])]
    with pytest.raises(SystemExit) as excinfo:
        run_main(tmp_path / "spikes.pkl", tmp_path / "posterior.npz", *extra)
    assert re.search(message, exit_message(excinfo))
    assert not (tmp_path / "posterior.npz").exists()
    if change != "continuous":  # the same file fits as the plain model, the default
        run_main(tmp_path / "spikes.pkl", tmp_path / "posterior.npz")


def test_input_option_fixes_or_fits_the_input_row(spike_file, tmp_path):
    run_main(spike_file, tmp_path / "exogenous.npz")
    run_main(spike_file, tmp_path / "coupled.npz", "--input", "coupled")
    exogenous = load_posterior(tmp_path / "exogenous.npz")
    coupled = load_posterior(tmp_path / "coupled.npz")
    assert exogenous.config["input"] == "exogenous" and coupled.config["input"] == "coupled"
    np.testing.assert_array_equal(exogenous.alpha_free, exogenous_input_mask(LAYER_SIZES))
    assert coupled.alpha_free.all()
    for name, group in exogenous.groups.items():
        assert np.all(group.alpha[:, :, 0] == 0) and np.all(group.summary["alpha"]["mean"][0] == 0)
        assert np.all(coupled.groups[name].alpha[:, :, 0] > 0)


def test_unconverged_group_is_warned_about(spike_file, tmp_path, capsys):
    run_main(spike_file, tmp_path / "posterior.npz")  # 2 x N_DRAWS draws cannot reach ESS 400
    err = capsys.readouterr().err
    assert "WARNING: group sine_correct has NOT converged" in err
    assert err.count("or with --conjugate-columns 3") == err.count("WARNING")
    run_main(spike_file, tmp_path / "conjugate.npz", "--conjugate-columns", "3")
    err = capsys.readouterr().err
    assert "WARNING: group sine_correct has NOT converged" in err and "--conjugate-columns" not in err
    run_main(spike_file, tmp_path / "signed.npz", "--model", "signed")  # which refuses conjugate proposals
    err = capsys.readouterr().err
    assert "WARNING: group sine_correct has NOT converged" in err and "--conjugate-columns" not in err


def test_workers_are_no_more_than_the_groups_and_the_cores(spike_file, tmp_path, monkeypatch):
    started = []

    def recording_parallel(n_jobs):
        started.append(n_jobs)
        return Parallel(n_jobs=n_jobs)

    monkeypatch.setattr(group_fits, "Parallel", recording_parallel)
    run_main(spike_file, tmp_path / "many.npz", "--n-jobs", "1000", "--partial-pooling", "none")
    run_main(spike_file, tmp_path / "one.npz", "--n-jobs", "1", "--partial-pooling", "none")
    assert started == [min(3, cpu_count()), 1]  # three groups
    assert (tmp_path / "many.npz").read_bytes() == (tmp_path / "one.npz").read_bytes()
    started.clear()  # the cut: both correct groups, then the wrong group after its lead
    run_main(spike_file, tmp_path / "many_cut.npz", "--n-jobs", "1000")
    run_main(spike_file, tmp_path / "one_cut.npz", "--n-jobs", "1")
    assert started == [min(2, cpu_count()), 1, 1, 1]
    assert (tmp_path / "many_cut.npz").read_bytes() == (tmp_path / "one_cut.npz").read_bytes()


def test_unconverged_chains_run_on_to_max_samples_but_not_per_trial(spike_file, tmp_path, capsys):
    # 2 chains cannot reach ESS 400 here, so every group's chains go on: 20, 40, then 50 draws.
    run_main(spike_file, tmp_path / "pooled.npz", "--max-samples", "50")
    table = capsys.readouterr().out
    pooled = load_posterior(tmp_path / "pooled.npz")
    assert pooled.config["max_samples"] == 50 and pooled.config["n_samples"] == N_DRAWS
    for name, group in pooled.groups.items():
        assert group.alpha.shape == (2, 50, 6, 6) and group.beta.shape == (2, 50)
        assert next(line for line in table.splitlines() if line.startswith(name)).split()[3] == "50"
    run_main(spike_file, tmp_path / "trials.npz", "--max-samples", "50", "--per-trial")
    trials = load_posterior(tmp_path / "trials.npz")
    assert trials.config["max_samples"] == N_DRAWS
    assert all(group.alpha.shape[1] == N_DRAWS for group in trials.groups.values())


def test_small_groups_are_reported_and_skipped(spike_file, tmp_path, capsys):
    run_main(spike_file, tmp_path / "posterior.npz", "--min-trials", "2")
    assert "group sine_wrong has only 1 test trial(s)" in capsys.readouterr().err
    posterior = load_posterior(tmp_path / "posterior.npz")
    assert posterior.group_names == ["cosine_correct"]
    assert posterior.skipped_groups == ["sine_correct", "sine_wrong"]


def test_same_seed_same_bytes_wherever_the_data_lie_and_whatever_n_jobs(spike_file, tmp_path):
    moved = tmp_path / "elsewhere" / "copy.pkl"
    moved.parent.mkdir()
    moved.write_bytes(spike_file.read_bytes())
    run_main(spike_file, tmp_path / "a.npz", "--seed", "3")
    run_main(moved, moved.with_name("b.npz"), "--seed", "3", "--n-jobs", "2")
    run_main(spike_file, tmp_path / "c.npz", "--seed", "4")
    assert (tmp_path / "a.npz").read_bytes() == moved.with_name("b.npz").read_bytes()
    assert (tmp_path / "a.npz").read_bytes() != (tmp_path / "c.npz").read_bytes()


def test_per_trial_mode_sums_the_trials(spike_file, tmp_path):
    run_main(spike_file, tmp_path / "posterior.npz", "--per-trial")
    posterior = load_posterior(tmp_path / "posterior.npz")
    assert posterior.config["per_trial"] is True
    group = posterior.groups["cosine_correct"]
    assert group.trial_alpha_mean.shape == (2, 6, 6)
    np.testing.assert_allclose(group.trial_alpha_mean.sum(axis=0), group.summary["alpha"]["mean"], rtol=1e-10)


def test_partial_pooling_fits_each_class_jointly_and_stores_its_hyperparameters(spike_file, tmp_path, capsys):
    run_main(spike_file, tmp_path / "a.npz", "--partial-pooling", "class", "--seed", "5")
    table = capsys.readouterr().out.splitlines()[1:]
    assert table[0].split()[-2:] == ["k", "b"] and "acc(k)" in table[0]
    posterior = load_posterior(tmp_path / "a.npz")
    assert posterior.config["partial_pooling"] == "class"
    sine = [posterior.groups[name] for name in ("sine_correct", "sine_wrong")]
    assert set(sine[0].pool) == {"k", "b"} and sine[0].pool["k"].shape == sine[0].alpha.shape[:2]
    np.testing.assert_array_equal(sine[0].pool["k"], sine[1].pool["k"])  # one prior per class
    # The cosine class has one group: fitted alone (``test_a_class_of_one_group_is_fitted_alone``).
    cosine = posterior.groups["cosine_correct"]
    assert cosine.pool is None and "pool_k" not in cosine.acceptance
    rows = {line.split()[0]: line.split() for line in table[1:4]}
    assert rows["cosine_correct"][-2:] == ["-", "-"] and rows["sine_wrong"][-2:] != ["-", "-"]
    assert set(sine[0].acceptance) >= {
        "pool_k",
        "pool_b",
        "pool_scale",
        "pool_transfer",
        "pool_resplit",
        "pool_k_carried",
    }
    run_main(spike_file, tmp_path / "b.npz", "--partial-pooling", "class", "--seed", "5", "--n-jobs", "2")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    run_main(spike_file, tmp_path / "c.npz", "--partial-pooling", "none", "--seed", "5")
    assert load_posterior(tmp_path / "c.npz").groups["sine_wrong"].pool is None


def test_a_class_of_one_group_is_fitted_alone_with_its_classs_seed():
    events = [
        simulate_hawkes(np.array([2.0, 1.0]), np.array([[0.2, 0.3], [0.0, 0.1]]), 5.0, 10.0, seed=s) for s in range(5)
    ]
    groups = {"sine_correct": [0, 1], "sine_wrong": [2], "cosine_correct": [3, 4]}
    sampler = {"n_samples": 20, "max_samples": 20, "n_warmup": 10, "n_chains": 2, "conjugate_columns": 0}
    fits = group_fits.fit_groups(events, 10.0, groups, 2, {}, sampler, False, 7, 1, None, pooling="class")
    assert fits["sine_correct"]["pool"] is not None and fits["cosine_correct"].get("pool") is None
    alone = group_fits.fit_group(
        events[3:], 10.0, 2, {"background": None}, sampler, np.random.SeedSequence(7).spawn(2)[1]
    )
    np.testing.assert_array_equal(fits["cosine_correct"]["alpha"], alone["alpha"])


def test_cut_fits_a_wrong_group_after_its_correct_group_under_a_prior_centred_on_its_posterior_means():
    events = [
        simulate_hawkes(np.array([2.0, 1.0]), np.array([[0.2, 0.3], [0.0, 0.1]]), 5.0, 10.0, seed=s) for s in range(6)
    ]
    groups = {"sine_correct": [0, 1], "cosine_correct": [2, 3], "sine_wrong": [4], "cosine_other": [5]}
    sampler = {"n_samples": 20, "max_samples": 20, "n_warmup": 10, "n_chains": 2, "conjugate_columns": 0}
    prior = HawkesPrior(alpha_mean=0.2)
    options = {"prior": prior}
    cut = group_fits.fit_groups(events, 10.0, groups, 2, options, sampler, False, 7, 2, None, pooling="cut")
    plain = group_fits.fit_groups(events, 10.0, groups, 2, options, sampler, False, 7, 1, None)
    assert list(cut) == list(groups)
    for name in ("sine_correct", "cosine_correct", "cosine_other"):  # no lead: as fitted alone
        np.testing.assert_array_equal(cut[name]["alpha"], plain[name]["alpha"])
    # The wrong group, refitted by hand: its own seed, each alpha's prior mean the correct
    # group's posterior mean of it, every other number of the prior unchanged.
    means = plain["sine_correct"]["alpha"].mean(axis=(0, 1))
    by_hand = group_fits.fit_group(
        [events[4]],
        10.0,
        2,
        {**options, "background": None, "prior": HawkesPrior(alpha_mean=means)},
        sampler,
        np.random.SeedSequence(7).spawn(4)[2],
    )
    np.testing.assert_array_equal(cut["sine_wrong"]["alpha"], by_hand["alpha"])
    assert not np.array_equal(cut["sine_wrong"]["alpha"], plain["sine_wrong"]["alpha"])


def test_cut_prior_keeps_the_prior_where_a_pair_is_fixed_at_zero():
    alpha = np.zeros((2, 3, 2, 2))
    alpha[..., 0, 1] = [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]
    alpha[..., 1, 0] = 0.05
    prior = group_fits.cut_prior(HawkesPrior(alpha_mean=0.4, mu_shape=3.0), alpha)
    np.testing.assert_allclose(prior.alpha_mean, [[0.4, 0.2], [0.05, 0.4]])
    assert prior.mu_shape == 3.0 and prior.alpha_shape == 1.0
    assert cut_leads(["a_correct", "a_wrong", "b_wrong", "b_correct_wrong"]) == {"a_wrong": "a_correct"}


@pytest.mark.parametrize("pooling", ["class", "cut"])
def test_partial_pooling_refuses_per_trial_fits(spike_file, tmp_path, pooling):
    with pytest.raises(SystemExit) as excinfo:
        run_main(spike_file, tmp_path / "posterior.npz", "--partial-pooling", pooling, "--per-trial")
    assert exit_message(excinfo) == (
        f"fit_hawkes_process.py: error: --per-trial fits every trial alone; drop --partial-pooling {pooling}"
    )


def test_cut_option_is_stored_and_changes_only_the_wrong_groups(spike_file, tmp_path):
    run_main(spike_file, tmp_path / "cut.npz", "--partial-pooling", "cut", "--seed", "5")
    run_main(spike_file, tmp_path / "none.npz", "--partial-pooling", "none", "--seed", "5")
    cut, plain = load_posterior(tmp_path / "cut.npz"), load_posterior(tmp_path / "none.npz")
    assert cut.config["partial_pooling"] == "cut" and list(cut.groups) == list(plain.groups)
    assert plain.config["partial_pooling"] == "none"
    for name, group in cut.groups.items():
        same = np.array_equal(group.alpha, plain.groups[name].alpha)
        assert same == (name != "sine_wrong"), name
    run_main(spike_file, tmp_path / "default.npz", "--seed", "5")
    assert (tmp_path / "default.npz").read_bytes() == (tmp_path / "cut.npz").read_bytes()


@pytest.mark.parametrize(
    "flags, pooling",
    [
        ([], "cut"),
        (["--model", "signed"], "none"),
        (["--per-trial"], "none"),
        (["--partial-pooling", "none"], "none"),
        (["--partial-pooling", "class"], "class"),
        (["--model", "signed", "--partial-pooling", "none"], "none"),
    ],
)
def test_the_cut_is_the_default_where_the_fit_has_a_prior_to_borrow_into(flags, pooling):
    assert fhp.parse_args(flags).partial_pooling == pooling


@pytest.mark.parametrize("prior_mean", [None, 0.7])
def test_silent_group_fits_from_the_prior(tmp_path, prior_mean):
    data = make_spike_data([0, 0, 1, 1], [0, 0, 1, 1], ["test"] * 4)
    data["spikes"][:2] = False  # the sine trials have no spike at all
    save_pickle(data, tmp_path / "spikes.pkl")
    flags = [] if prior_mean is None else ["--alpha-prior-mean", str(prior_mean)]
    run_main(tmp_path / "spikes.pkl", tmp_path / "posterior.npz", *flags)
    posterior = load_posterior(tmp_path / "posterior.npz")
    prior = HawkesPrior() if prior_mean is None else HawkesPrior(alpha_mean=prior_mean)
    assert posterior.config["alpha_prior_mean"] == prior.alpha_mean
    silent = posterior.groups["sine_correct"]
    assert silent.n_spikes.sum() == 0
    for values in (silent.mu, silent.beta):
        assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert np.all(silent.alpha[:, :, 0] == 0)  # the input's row is fixed at 0
    # With no source spikes the data say nothing about the fitted alphas: their draws are the
    # prior's Gamma(shape, mean), so their grand mean lies within 4 standard errors of it.
    draws = silent.alpha[:, :, 1:].astype(float)
    assert np.all(draws > 0)
    standard_error = prior.alpha_mean / np.sqrt(prior.alpha_shape * draws.size)
    assert abs(draws.mean() - prior.alpha_mean) < 4 * standard_error


# ----------------------------------------------------------------------------- bad input
class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _corrupt(tmp_path, kind):
    """Write a bad spike file of the given kind and return its path."""
    path = tmp_path / "spike_trains.pkl"
    data = make_spike_data([0, 1], [0, 1], ["test", "test"])
    if kind == "malicious":
        path.write_bytes(pickle.dumps({"format": "snn-spike-trains", "payload": _Payload(tmp_path / "pwned")}))
    elif kind == "garbage":
        path.write_bytes(b"this is not a pickle \x00\x01\x02")
    elif kind == "truncated":
        save_pickle(data, path)
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif kind == "version":
        save_pickle({**data, "version": 99}, path)
    elif kind == "shapes":
        save_pickle({**data, "spikes": data["spikes"][:, :5]}, path)  # 5 neurons, sizes say 6
    return path


@pytest.mark.parametrize("kind", ["malicious", "garbage", "truncated", "version", "shapes"])
def test_bad_spike_file_is_refused_and_nothing_is_overwritten(tmp_path, kind):
    path = _corrupt(tmp_path, kind)
    posterior_file = tmp_path / "posterior.npz"
    posterior_file.write_bytes(b"an earlier posterior")
    with pytest.raises(SystemExit) as excinfo:
        run_main(path, posterior_file)
    assert exit_message(excinfo).startswith("fit_hawkes_process.py: error:")
    assert not (tmp_path / "pwned").exists()
    assert posterior_file.read_bytes() == b"an earlier posterior"


def test_missing_spike_file_says_run_train_snn(tmp_path):
    with pytest.raises(SystemExit) as excinfo:
        run_main(tmp_path / "nowhere.pkl", tmp_path / "posterior.npz")
    assert "run `python train_snn.py` first" in exit_message(excinfo)
    assert not (tmp_path / "posterior.npz").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--n-samples", "0"],
        ["--n-samples", "-5"],
        ["--n-samples", "3"],
        ["--max-samples", "3"],
        ["--n-chains", "1"],
        ["--n-jobs", "0"],
        ["--time", "weird"],
        ["--beta", "each"],
        ["--n-warmup", "-1"],
        ["--conjugate-columns", "-1"],
        ["--min-trials", "0"],
        ["--max-spikes", "-1"],
        ["--seed", "-1"],
        ["--background", "psth"],
        ["--n-samples", "many"],
        ["--alpha-prior-mean", "0"],
        ["--alpha-prior-mean", "nan"],
        ["--alpha-prior-mean", "-0.1"],
        ["--alpha-prior-mean", "1e308"],
        ["--seed", str(2**32)],
        ["--n-chains", str(10**30)],
    ],
)
def test_nonsense_arguments_exit_2(args):
    with pytest.raises(SystemExit) as excinfo:
        fhp.parse_args(args)
    assert excinfo.value.code == 2


@pytest.mark.parametrize("where", ["under_a_file", "a_folder", "read_only_folder"])
def test_unwritable_posterior_path_fails_before_fitting(spike_file, tmp_path, capsys, where):
    if where == "under_a_file":
        blocker = tmp_path / "a_file"
        blocker.write_text("not a folder")
        target = blocker / "posterior.npz"
    elif where == "a_folder":
        target = tmp_path / "posterior.npz"
        target.mkdir()
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
        target = folder / "posterior.npz"
    with pytest.raises(SystemExit) as excinfo:
        run_main(spike_file, target)
    message = exit_message(excinfo)
    assert f"cannot write {target}" in message and "--posterior-file" in message and "\n" not in message
    assert "fitting" not in capsys.readouterr().out
    assert not any(p.name.endswith(".check") for p in tmp_path.rglob("*"))
