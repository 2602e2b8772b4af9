"""Tests of posterior_file.py: the typed records, the npz layout and its bytes, the safe loader."""

import dataclasses
import zipfile

import numpy as np
import pytest
from posterior_records import expected_keys, fake_group, fake_posterior

import posterior_file as pf
from safe_files import InputFileError

LAYER_SIZES = {"input": 1, "hidden": 3, "output": 2}
N_STEPS = 40
WEIGHTS = {
    "input_hidden": np.array([[1.0, 0.5, -0.3]]),
    "hidden_hidden": np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [2.0, 0.0, 0.0]]),
    "hidden_output": np.array([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]]),
}


def make_posterior(per_trial=False, pair_beta=False, pooled=False):
    """Two fitted groups of a 1-3-2 network; the input's row of alpha fixed at 0."""
    alpha = np.full((6, 6), 0.1)
    alpha[0] = 0.0
    free = np.ones((6, 6), dtype=bool)
    free[0] = False
    groups = {
        name: fake_group(
            alpha * (k + 1), trials, N_STEPS, seed=k, pair_beta=pair_beta, per_trial=per_trial, pooled=pooled
        )
        for k, (name, trials) in enumerate((("sine_correct", [0, 4, 5]), ("cosine_correct", [2, 3])))
    }
    return fake_posterior(
        groups,
        LAYER_SIZES,
        WEIGHTS,
        N_STEPS,
        alpha_free=free,
        config={"seed": 0, "per_trial": per_trial, "max_rhat_limit": 1.01},
        skipped_groups=["sine_wrong"],
    )


# ----------------------------------------------------------------------------- writing
def test_save_npz_is_deterministic_and_loads_without_pickle(tmp_path):
    arrays = {"format": np.str_("x"), "a/b": np.arange(6.0).reshape(2, 3), "names": np.array(["h0", "out1"])}
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    pf.save_npz(arrays, first)
    pf.save_npz(arrays, second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {pf.ZIP_DATE_TIME}
    with np.load(first, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["a/b", "format", "names"]
        np.testing.assert_array_equal(npz["a/b"], arrays["a/b"])
        assert list(npz["names"]) == ["h0", "out1"]
    with pytest.raises(ValueError):
        pf.save_npz({"bad": np.array([{"a": 1}], dtype=object)}, tmp_path / "bad.npz")


@pytest.mark.parametrize("per_trial, pooled", [(False, False), (True, False), (False, True)])
def test_the_file_holds_the_documented_keys_and_dtypes(tmp_path, per_trial, pooled):
    posterior = make_posterior(per_trial=per_trial, pooled=pooled)
    pf.save_posterior(posterior, tmp_path / "post.npz")
    with np.load(tmp_path / "post.npz", allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    assert set(arrays) == expected_keys(posterior)
    assert str(arrays["format"]) == "snn-hawkes-posterior" and int(arrays["version"]) == 3
    assert arrays["alpha_free"].dtype == bool and arrays["layer_sizes"].dtype == np.int64
    assert arrays["sine_correct/alpha"].dtype == np.float32
    assert arrays["sine_correct/alpha/q05"].dtype == np.float64
    assert arrays["sine_correct/trials"].dtype == np.int64
    assert list(arrays["group_names"]) == ["sine_correct", "cosine_correct"]


# ----------------------------------------------------------------------------- the records
@pytest.mark.parametrize(
    "per_trial, pair_beta, pooled",
    [(False, False, False), (True, False, False), (False, True, False), (False, False, True)],
)
def test_a_posterior_loads_back_as_the_same_records(tmp_path, per_trial, pair_beta, pooled):
    posterior = make_posterior(per_trial=per_trial, pair_beta=pair_beta, pooled=pooled)
    pf.save_posterior(posterior, tmp_path / "post.npz")
    loaded = pf.load_posterior(tmp_path / "post.npz")
    assert isinstance(loaded, pf.Posterior)
    for field in ("config", "dt", "n_steps", "neuron_labels", "class_names", "group_names", "skipped_groups"):
        assert getattr(loaded, field) == getattr(posterior, field)
    assert list(loaded.layer_sizes.items()) == list(posterior.layer_sizes.items())
    np.testing.assert_array_equal(loaded.alpha_free, posterior.alpha_free)
    for name, weight in posterior.weights.items():
        np.testing.assert_array_equal(loaded.weights[name], weight)
    for name, group in posterior.groups.items():
        back = loaded.groups[name]
        assert isinstance(back, pf.GroupPosterior)
        for field in ("trials", "n_spikes", "gof_ks", "background"):
            np.testing.assert_array_equal(getattr(back, field), getattr(group, field))
        for p in pf.PARAMETERS:  # draws are stored as float32
            assert getattr(back, p).dtype == pf.DRAW_DTYPE
            np.testing.assert_allclose(getattr(back, p), getattr(group, p), rtol=1e-6)
            for stat in pf.SUMMARY_STATS:  # summaries stay float64
                np.testing.assert_array_equal(back.summary[p][stat], group.summary[p][stat])
        assert back.max_rhat == group.max_rhat and back.min_ess_bulk == group.min_ess_bulk
        assert list(back.acceptance) == list(group.acceptance)
        if per_trial:
            np.testing.assert_array_equal(back.trial_alpha_mean, group.trial_alpha_mean)
        else:
            assert back.trial_alpha_mean is None
        if pooled:
            assert set(back.pool) == {"k", "b"}
            for hyper, draws in group.pool.items():
                np.testing.assert_array_equal(back.pool[hyper], draws)
        else:
            assert back.pool is None


def test_a_loaded_posterior_writes_the_same_bytes_again(tmp_path):
    pf.save_posterior(make_posterior(per_trial=True), tmp_path / "first.npz")
    pf.save_posterior(pf.load_posterior(tmp_path / "first.npz"), tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "first.npz").read_bytes()


def test_records_are_frozen_and_replace_checks_again():
    posterior = make_posterior()
    group = posterior.groups["sine_correct"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        group.n_spikes = np.zeros(6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        posterior.dt = 0.002
    quiet = dataclasses.replace(group, n_spikes=np.zeros(6, dtype=np.int64))
    replaced = dataclasses.replace(posterior, groups={**posterior.groups, "sine_correct": quiet})
    assert replaced.groups["sine_correct"].n_spikes.sum() == 0
    short = dataclasses.replace(group, n_spikes=np.zeros(5))  # 5 neurons of 6
    with pytest.raises(ValueError, match="n_spikes"):
        dataclasses.replace(posterior, groups={**posterior.groups, "sine_correct": short})


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda p: {"group_names": ["cosine_correct", "sine_correct"]}, "group_names"),
        (lambda p: {"group_names": [], "groups": {}}, "no fitted group"),
        (lambda p: {"alpha_free": np.ones((6, 6))}, "alpha_free has dtype"),
        (lambda p: {"alpha_free": np.ones((5, 5), dtype=bool)}, "alpha_free has shape"),
        (lambda p: {"n_steps": 41}, "background"),
        (lambda p: {"neuron_labels": p.neuron_labels[:-1]}, "do not add up"),
        (lambda p: {"weights": {**p.weights, "input_hidden": np.zeros((2, 3))}}, "weights/input_hidden"),
        (lambda p: {"config": [1, 2]}, "JSON object"),
        (
            lambda p: {
                "groups": {
                    **p.groups,
                    "sine_correct": dataclasses.replace(
                        p.groups["sine_correct"], beta=p.groups["sine_correct"].beta[:, :-1]
                    ),
                }
            },
            "beta",
        ),
    ],
)
def test_a_posterior_refuses_parts_that_disagree(change, fragment):
    posterior = make_posterior()
    with pytest.raises(ValueError, match=fragment):
        dataclasses.replace(posterior, **change(posterior))


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda pool: {"k": pool["k"]}, "pool has"),
        (lambda pool: {**pool, "k": pool["k"] - 1.0}, "pool/k holds values below 1"),
        (lambda pool: {**pool, "b": -pool["b"]}, "pool/b holds values below 0"),
        (lambda pool: {**pool, "b": pool["b"][:, :-1]}, "pool/b has shape"),
        (lambda pool: {**pool, "k": np.full_like(pool["k"], np.nan)}, "pool/k holds NaN"),
    ],
)
def test_a_posterior_refuses_pooled_draws_no_fit_writes(change, fragment):
    posterior = make_posterior(pooled=True)
    group = posterior.groups["sine_correct"]
    bad = dataclasses.replace(group, pool=change(group.pool))
    with pytest.raises(ValueError, match=fragment):
        dataclasses.replace(posterior, groups={**posterior.groups, "sine_correct": bad})


# ----------------------------------------------------------------------------- the loader
def test_load_posterior_missing_says_run_fit(tmp_path):
    with pytest.raises(InputFileError, match=r"run `python fit_hawkes_process.py` first"):
        pf.load_posterior(tmp_path / "hawkes_posterior.npz")


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "text",
        "npy",
        "directory",
        "truncated",
        "pickled",
        "version",
        "shapes",
        "weights",
        "no_group",
        "n_spikes",
        "config",
        "beta",
        "background",
        "summary",
        "alpha_free",
        "missing",
    ],
)
def test_load_posterior_refuses_bad_files(tmp_path, kind):
    good = tmp_path / "good.npz"
    pf.save_posterior(make_posterior(), good)
    with np.load(good, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    bad = tmp_path / "bad.npz"
    if kind == "garbage":
        bad.write_bytes(b"PK\x03\x04 not really a zip")
    elif kind == "text":  # numpy would try it as a pickle and suggest loading it unsafely
        bad.write_text("garbage\n")
    elif kind == "npy":  # np.load returns a bare array for it, not an archive
        with bad.open("wb") as handle:
            np.save(handle, np.arange(3))
    elif kind == "directory":
        bad.mkdir()
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[:2000])
    elif kind == "pickled":
        np.savez(bad, **{**arrays, "config": np.array([{"a": 1}], dtype=object)})
    elif kind == "version":
        pf.save_npz({**arrays, "version": np.int64(pf.POSTERIOR_VERSION + 1)}, bad)
    elif kind == "shapes":
        pf.save_npz({**arrays, "sine_correct/alpha": arrays["sine_correct/alpha"][..., :5]}, bad)
    elif kind == "missing":
        pf.save_npz({key: value for key, value in arrays.items() if key != "cosine_correct/gof_ks"}, bad)
    else:  # a loadable file whose contents disagree with themselves
        wrong = {
            "weights": ("weights/input_hidden", np.zeros((2, 3))),
            "no_group": ("group_names", np.array([], dtype=str)),
            "n_spikes": ("sine_correct/n_spikes", np.zeros(5, dtype=np.int64)),
            "config": ("config", np.str_("[1, 2]")),
            "beta": ("sine_correct/beta", arrays["sine_correct/beta"][:, :-1]),
            "background": ("sine_correct/background", np.ones((6, 39))),
            "summary": ("sine_correct/alpha/mean", np.zeros((6, 5))),
            "alpha_free": ("alpha_free", np.ones((6, 6))),
        }[kind]
        pf.save_npz({**arrays, wrong[0]: wrong[1]}, bad)
    with pytest.raises(InputFileError) as excinfo:
        pf.load_posterior(bad)
    message = str(excinfo.value)
    assert "\n" not in message and "fit_hawkes_process.py" in message
    assert "unsafely" not in message  # never advise loading a bad file with pickle


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("sine_correct/alpha/mean", lambda a: np.where(np.eye(6, dtype=bool), np.nan, a), "alpha/mean holds NaN"),
        ("sine_correct/alpha/q95", lambda a: np.full_like(a, np.inf), "alpha/q95 holds NaN or infinite"),
        ("sine_correct/alpha", lambda a: np.where(a > 0, np.nan, a).astype(a.dtype), "alpha holds NaN"),
        ("sine_correct/alpha/mean", lambda a: a.astype(str), "alpha/mean has dtype <U"),
        ("sine_correct/mu", lambda a: -a, "a rate mu < 0"),
        ("sine_correct/beta", lambda a: np.zeros_like(a), "a decay beta <= 0"),
        ("sine_correct/n_spikes", lambda a: -a - 1, "n_spikes holds negative values"),
        ("sine_correct/trials", lambda a: a.astype(float), "trials has dtype float64"),
        ("sine_correct/background", lambda a: a * np.nan, "background holds NaN"),
        ("weights/hidden_hidden", lambda a: a + np.inf, "weights/hidden_hidden holds NaN"),
        ("dt", lambda a: np.float64(np.nan), "dt nan"),
        ("config", lambda a: np.str_("[" * 100_000 + "]" * 100_000), "RecursionError"),
    ],
)
def test_load_posterior_refuses_values_no_fit_writes(tmp_path, key, value, fragment):
    good = tmp_path / "good.npz"
    pf.save_posterior(make_posterior(), good)
    with np.load(good, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    bad = tmp_path / "bad.npz"
    pf.save_npz({**arrays, key: value(arrays[key])}, bad)
    with pytest.raises(InputFileError, match=fragment) as excinfo:
        pf.load_posterior(bad)
    assert "\n" not in str(excinfo.value)


def test_load_posterior_refuses_groups_without_draws_or_trials(tmp_path):
    posterior = make_posterior()
    group = posterior.groups["sine_correct"]
    for changed, fragment in (
        (lambda g: {p: getattr(g, p)[:, :0] for p in ("mu", "alpha", "beta")}, "holds no draws"),
        (lambda g: {"trials": g.trials[:0]}, "fitted to no trial"),
    ):
        with pytest.raises(ValueError, match=fragment):
            dataclasses.replace(
                posterior, groups={**posterior.groups, "sine_correct": dataclasses.replace(group, **changed(group))}
            )
