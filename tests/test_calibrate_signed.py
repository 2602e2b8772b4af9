"""benchmarks/calibrate_signed.py: its truths are drawn from the prior it fits with, its interval
hits are those of a direct count, and each fit keeps the decay it was meant to."""

import numpy as np
import pytest

import signed_sampler as ss
from benchmarks import calibrate_signed as cal


def test_truths_are_drawn_from_the_calibration_prior():
    rng = np.random.default_rng(0)
    draws = [cal.draw_truth(rng) for _ in range(4000)]
    m, w, h, beta = (np.array(part) for part in zip(*draws))
    prior = cal.CALIB_PRIOR
    assert np.all(w[:, np.arange(cal.CALIB_N_DIMS), np.arange(cal.CALIB_N_DIMS)] == 0)
    off = w[:, ~np.eye(cal.CALIB_N_DIMS, dtype=bool)]
    for values, mean, sd in (
        (m, np.log(cal.CALIB_RATE), prior.m_sd),
        (off, 0.0, prior.w_sd),
        (h, 0.0, prior.w_sd),
        (np.log(beta), np.log(1.0 / cal.DT), prior.beta_log_sd),
    ):
        assert values.mean() == pytest.approx(mean, abs=4 * sd / np.sqrt(values.size))
        assert values.std() == pytest.approx(sd, rel=0.05)


def test_hits_are_a_direct_count_of_the_draws_around_the_truth():
    # Draws 0..99 of every parameter: the central 50% interval is [24.75, 74.25], the 90% one
    # [4.95, 94.05].
    d, n_lags = 2, 1
    grid = np.arange(100.0).reshape(4, 25)
    post = ss.SignedPosterior(
        m=np.repeat(grid[..., None], d, axis=2),
        w=np.repeat(grid[..., None, None], d, axis=2).repeat(d, axis=3),
        h=np.repeat(grid[..., None, None], d, axis=2),
        beta=np.full((4, 25), 1000.0),
        acceptance={},
        free=np.ones((d, 1 + d + n_lags), bool),
    )
    truth = (np.array([24.0, 50.0]), np.array([[0.0, 80.0], [4.0, 0.0]]), np.array([[94.0], [95.0]]), 1000.0)
    hits50 = cal.hits_by_kind(post, truth, 0.5)
    hits90 = cal.hits_by_kind(post, truth, 0.9)
    assert hits50["m"].tolist() == [False, True] and hits90["m"].tolist() == [True, True]
    assert hits50["w"].tolist() == [False, False] and hits90["w"].tolist() == [True, False]  # off-diagonal only
    assert hits50["h"].tolist() == [False, False] and hits90["h"].tolist() == [True, False]


def test_one_data_set_fits_with_the_true_decay_at_its_mode_and_sampled():
    record = cal.calibrate_one(np.random.SeedSequence(1), n_trials=5, n_samples=20, max_samples=20, n_warmup=20)
    assert record["known"]["beta"] == record["beta"]
    lo, hi = np.exp(np.log(1.0 / cal.DT) + np.array([-2, 2]) * cal.CALIB_PRIOR.beta_log_sd)
    assert lo <= record["mode"]["beta"] <= hi  # find_mode searches two prior sd about the centre
    n = cal.CALIB_N_DIMS
    sizes = {"m": n, "w": n * (n - 1), "h": n * cal.N_LAGS}
    for fit in ("known", "mode", "sampled"):
        want = {**sizes, "beta": 1} if fit == "sampled" else sizes
        assert {kind: len(hits) for kind, hits in record[fit]["hits90"].items()} == want
    # A fit left out leaves the others' seeds alone.
    alone = cal.calibrate_one(
        np.random.SeedSequence(1), n_trials=5, fits=("mode",), n_samples=20, max_samples=20, n_warmup=20
    )
    assert alone.keys() == {"beta", "spikes", "mode"} and alone["mode"]["hits90"] == record["mode"]["hits90"]


def test_the_title_names_the_fits():
    assert cal.title(200, ["known", "mode"]).endswith("(200 trials): calibration with beta known and at its mode")
    assert cal.title(30, list(cal.FITS)).endswith("calibration with beta known, at its mode and sampled")


def test_nonsense_arguments_end_in_one_line(capsys):
    for argv in (["--n-sets", "0"], ["--n-trials", "-3"], ["--fits", "exact"], ["--section", "Bad Name"]):
        with pytest.raises(SystemExit) as stop:
            cal.parse_args(argv)
        assert stop.value.code == 2
    assert "error" in capsys.readouterr().err
