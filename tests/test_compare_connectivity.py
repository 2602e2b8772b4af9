"""The alternatives of benchmarks/compare_connectivity.py against brute force and planted truth."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import fit_hawkes_process
from benchmarks import compare_connectivity as cc


def random_raster(seed, n_trials=3, n_dims=4, n_steps=50, rate=0.3):
    return np.random.default_rng(seed).random((n_trials, n_dims, n_steps)) < rate


def test_lag1_excess_matches_counting_bin_by_bin():
    spikes = random_raster(0)
    spikes[:, 3] = False  # a silent source: no conditional probability, scores -P(y_i)
    n_trials, n_dims, n_steps = spikes.shape
    expected = np.zeros((n_dims, n_dims))
    for i in range(n_dims):
        base = np.mean([spikes[r, i, k] for r in range(n_trials) for k in range(1, n_steps)])
        for j in range(n_dims):
            after = [spikes[r, i, k] for r in range(n_trials) for k in range(1, n_steps) if spikes[r, j, k - 1]]
            expected[i, j] = (np.mean(after) if after else 0.0) - base
    np.testing.assert_allclose(cc.lag1_excess(spikes), expected, atol=1e-12)


def test_filtered_past_is_the_sum_over_earlier_spikes():
    spikes = random_raster(1, n_trials=2, n_dims=2, n_steps=30)
    beta_dt = 0.7
    r = np.exp(-beta_dt)
    expected = np.zeros(spikes.shape)
    for k in range(spikes.shape[2]):
        for m in range(1, k + 1):
            expected[:, :, k] += (1 - r) * r ** (m - 1) * spikes[:, :, k - m]
    np.testing.assert_allclose(cc.filtered_past(spikes, beta_dt), expected, atol=1e-12)


def test_glm_and_correlogram_find_a_planted_synapse():
    # Neuron 1 fires one step after neuron 0 with probability 0.8; 2 and 3 are independent.
    rng = np.random.default_rng(2)
    spikes = random_raster(3, n_trials=20, n_steps=200, rate=0.1)
    spikes[:, 1, 1:] |= spikes[:, 0, :-1] & (rng.random(spikes[:, 0, :-1].shape) < 0.8)
    for scores in (cc.logistic_glm(spikes), cc.lag1_excess(spikes)):
        off_diagonal = scores[~np.eye(4, dtype=bool)]
        assert scores[1, 0] == off_diagonal.max() and scores[1, 0] > 0


def test_glm_with_dead_steps_regresses_each_target_on_its_live_steps_only():
    spikes = random_raster(4, n_trials=6, n_steps=80, rate=0.2)
    dead = np.array([0, 2, 1, 3])
    features = cc.filtered_past(spikes, cc.KERNEL_BETA_DT).transpose(0, 2, 1).reshape(-1, 4)
    expected = np.zeros((4, 4))
    for i in range(4):  # rows by a loop over trials and steps: not within dead[i] after a spike of i
        rows = [
            r * 80 + k
            for r in range(6)
            for k in range(80)
            if not any(spikes[r, i, k - lag] for lag in range(1, dead[i] + 1) if k - lag >= 0)
        ]
        assert (dead[i] == 0) == (len(rows) == 6 * 80)
        y = spikes[:, i, :].reshape(-1)[rows]
        expected[i] = LogisticRegression(C=cc.GLM_C, max_iter=1000).fit(features[rows], y).coef_[0]
    np.testing.assert_allclose(cc.logistic_glm(spikes, dead=dead), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(cc.logistic_glm(spikes, dead=np.zeros(4, dtype=int)), cc.logistic_glm(spikes))


def test_a_target_that_never_fires_gets_a_zero_glm_row():
    spikes = random_raster(4)
    spikes[:, 2] = False
    assert np.all(cc.logistic_glm(spikes)[2] == 0)


def test_own_history_is_each_neurons_own_earlier_spikes():
    spikes = random_raster(5, n_trials=2, n_dims=3, n_steps=20)
    history = cc.own_history(spikes, 3)
    for r, i, k, m in np.ndindex(2, 3, 20, 3):
        assert history[r, i, k, m] == (spikes[r, i, k - m - 1] if k - m - 1 >= 0 else 0)


def heldout_by_rows(features, y, folds, c):
    """The held-out log-likelihood row by row, skipping a fold whose other rows hold one outcome."""
    total = 0.0
    for fold in sorted(set(folds)):
        rest = folds != fold
        if len(set(y[rest])) < 2:
            continue
        model = LogisticRegression(C=c, max_iter=1000, tol=1e-10).fit(features[rest], y[rest])
        for row in np.flatnonzero(~rest):
            p = model.predict_proba(features[row : row + 1])[0, 1]
            total += math.log(p if y[row] else 1 - p)
    return total


def test_penalised_logistic_is_scikit_learns_fit_and_meets_the_bound_conditions():
    rng = np.random.default_rng(10)
    features = rng.normal(size=(2000, 4))
    y = rng.random(2000) < 1 / (1 + np.exp(-(0.5 + features @ [1.5, -1.0, 0.0, -0.3])))
    model = LogisticRegression(C=2.0, max_iter=1000, tol=1e-10).fit(features, y)
    coef, intercept = cc.penalised_logistic(features, y, 2.0)
    np.testing.assert_allclose(coef, model.coef_[0], rtol=1e-5, atol=1e-6)
    assert intercept == pytest.approx(model.intercept_[0], rel=1e-5)
    # Bounded: the negative coefficients stop at 0, where the objective must not fall by raising
    # them (gradient >= 0, the Karush-Kuhn-Tucker condition), and is flat in the free ones.
    coef, intercept = cc.penalised_logistic(features, y, 2.0, nonnegative=3)
    params = np.append(coef, intercept)
    p = 1 / (1 + np.exp(-(features @ coef + intercept)))
    gradient = -np.append(features, np.ones((2000, 1)), axis=1).T @ (y - p) + np.append(coef / 2.0, 0.0)
    assert coef[0] > 0 and coef[1] == 0 and coef[2] == 0 and coef[3] < 0  # the fourth is not bounded
    assert gradient[1] > 0 and gradient[2] >= -1e-6
    np.testing.assert_allclose(gradient[[0, 3, 4]], 0, atol=1e-4)
    assert np.all(params[:3] >= 0)


def test_heldout_log_likelihood_sums_each_folds_test_rows_under_a_fit_to_the_rest():
    rng = np.random.default_rng(6)
    features = rng.normal(size=(120, 3))
    y = rng.random(120) < 1 / (1 + np.exp(-features[:, 0]))
    folds = np.arange(120) % 4
    assert cc.heldout_log_likelihood(features, y, folds, 0.5) == pytest.approx(
        heldout_by_rows(features, y, folds, 0.5), rel=1e-6
    )
    # Every spike in fold 0: the other rows hold none, so fold 0 is left out and folds 1-3 count.
    only_fold_0 = (folds == 0) & y
    expected = heldout_by_rows(features, only_fold_0, folds, 0.5)
    assert expected < 0
    assert cc.heldout_log_likelihood(features, only_fold_0, folds, 0.5) == pytest.approx(expected, rel=1e-6)


def test_history_glm_fits_the_design_built_by_loops_with_the_cross_validated_strength():
    spikes = random_raster(7, n_trials=6, n_dims=3, n_steps=60, rate=0.25)
    n_trials, n_dims, n_steps = spikes.shape
    coupling = cc.filtered_past(spikes, cc.KERNEL_BETA_DT)
    cs = (0.1, 10.0)
    scores, chosen = cc.history_glm(spikes, n_lags=2, cs=cs, n_folds=3)
    for i in range(n_dims):
        rows, y, folds = [], [], []
        for r in range(n_trials):
            for k in range(n_steps):
                own = [spikes[r, i, k - m] if k - m >= 0 else 0 for m in (1, 2)]
                rows.append([coupling[r, j, k] for j in range(n_dims) if j != i] + own)
                y.append(spikes[r, i, k])
                folds.append(r % 3)
        rows, y, folds = np.array(rows, dtype=float), np.array(y), np.array(folds)
        best = max(cs, key=lambda c: cc.heldout_log_likelihood(rows, y, folds, c))
        assert chosen[i] == best
        coef = LogisticRegression(C=best, max_iter=1000, tol=1e-10).fit(rows, y).coef_[0]
        np.testing.assert_allclose(np.delete(scores[i], i), coef[: n_dims - 1], rtol=1e-4, atol=1e-5)
        assert scores[i, i] == pytest.approx(coef[n_dims - 1], rel=1e-4, abs=1e-5)


def test_history_glm_finds_a_planted_excitation_and_inhibition():
    # Neuron 1 is driven up by neuron 0 and down by neuron 2 one step later; 3 is independent.
    rng = np.random.default_rng(8)
    spikes = random_raster(9, n_trials=40, n_steps=200, rate=0.15)
    drive = -2.0 + 3.0 * spikes[:, 0, :-1] - 3.0 * spikes[:, 2, :-1]
    spikes[:, 1, 1:] = rng.random(drive.shape) < 1 / (1 + np.exp(-drive))
    scores, chosen = cc.history_glm(spikes)
    off_diagonal = scores[~np.eye(4, dtype=bool)]
    assert scores[1, 0] == off_diagonal.max() > 0
    assert scores[1, 2] == off_diagonal.min() < 0
    assert set(chosen) <= set(cc.GLM_CS)
    # Held at >= 0, the inhibition is lost (0) and the excitation still ranks first.
    scores, _ = cc.history_glm(spikes, excitatory=True)
    off_diagonal = scores[~np.eye(4, dtype=bool)]
    assert scores[1, 0] == off_diagonal.max() > 0 and scores[1, 2] == 0 and off_diagonal.min() == 0


def test_history_glm_leaves_a_silent_target_at_zero():
    spikes = random_raster(4)
    spikes[:, 2] = False
    scores, chosen = cc.history_glm(spikes, n_folds=3)
    assert np.all(scores[2] == 0) and np.isnan(chosen[2]) and np.isfinite(np.delete(chosen, 2)).all()


def test_standing_counts_each_group_and_trial_count_and_names_the_methods_that_rank_better():
    def cell(hawkes, glm, tick=float("nan")):
        values = {
            "Hawkes posterior": hawkes,
            "signed Hawkes posterior": 0.5,
            "logistic GLM": glm,
            "GLM, dead steps out": glm - 0.01,
            "history GLM, CV": 0.5,
            "history GLM, excitatory": 0.5,
            "cross-correlogram": 0.5,
            "tick MLE": tick,
        }
        return {method: (value, value) for method, value in values.items()}

    by_group = {"a": {4: cell(0.9, 0.8), 16: cell(0.9, 0.8, 0.95)}, "b": {4: cell(0.7, 0.7)}}
    text = cc.hawkes_standing(by_group)
    assert "in 2 of 3 (group, trials) cells" in text
    assert text.endswith("; in the other 1, methods that rank better: tick MLE in 1 (AUC higher by 0.050).")
    assert cc.hawkes_standing({"b": {4: cell(0.7, 0.7)}}).endswith("in 1 of 1 (group, trials) cells.")
    text = cc.hawkes_standing({"a": {4: cell(0.9, 0.95)}, "b": {4: cell(0.7, 0.8), 8: cell(0.9, 0.8, 0.95)}})
    assert "in 0 of 3 (group, trials) cells; in the other 3, methods that rank better: " in text
    # A cell counts for every method above the posterior: both GLMs rank above it in a/4 and b/4.
    assert text.endswith(
        "logistic GLM in 2 (AUC higher by 0.050-0.100); GLM, dead steps out in 2 (AUC higher by 0.040-0.090); "
        "tick MLE in 1 (AUC higher by 0.050)."
    )
    # A cell without a scorable pair (every AUC NaN) is no cell; a NaN method is never above.
    nan_cell = {method: (float("nan"),) * 2 for method in cc.METHODS}
    assert cc.hawkes_standing({"a": {4: cell(0.9, 0.8), 8: nan_cell}}).endswith("in 1 of 1 (group, trials) cells.")


def test_bad_input_ends_in_one_line(tmp_path):
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"not a pickle")
    with pytest.raises(SystemExit, match=r"^compare_connectivity: error: .*garbage.pkl is not a readable spike file"):
        cc.main(["--spike-file", str(garbage), "--no-report"])
    for argv in (
        ["--trial-counts", "-4"],
        ["--figure", str(tmp_path / "no" / "auc.png")],
        ["--figure", str(tmp_path)],  # a folder
        ["--figure", str(tmp_path / "auc")],  # no format to save in
    ):
        with pytest.raises(SystemExit) as excinfo:
            cc.parse_args(argv)
        assert excinfo.value.code == 2
    # A fit that fails says why in the script's own line, not in a CalledProcessError.
    with pytest.raises(RuntimeError, match=r"^fit_hawkes_process.py: error: spike file .*missing.pkl does not exist"):
        cc.fit_hawkes(tmp_path / "missing.pkl", 0, 0, tmp_path)


@pytest.mark.parametrize("model", ["hawkes", "signed"])
def test_the_hawkes_fits_take_each_group_alone_so_every_method_sees_the_same_trials(tmp_path, monkeypatch, model):
    ran = []

    def fake_run(argv, **_):
        ran.append(argv)
        return SimpleNamespace(returncode=0, stderr="")

    monkeypatch.setattr(cc.subprocess, "run", fake_run)
    monkeypatch.setattr(cc, "load_posterior", lambda path: path)
    assert cc.fit_hawkes(tmp_path / "spikes.pkl", 4, 7, tmp_path, model) == tmp_path / f"posterior_{model}_4.npz"
    args = fit_hawkes_process.parse_args(ran[0][2:])
    assert (args.partial_pooling, args.model, args.max_trials, args.seed) == ("none", model, 4, 7)
