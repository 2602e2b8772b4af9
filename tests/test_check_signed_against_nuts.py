"""benchmarks/check_signed_against_nuts.py without jax: its parameters line up with its draws, and
its arguments are checked before any fit."""

import numpy as np
import pytest

import signed_hawkes as sh
import signed_sampler as ss
from benchmarks import check_signed_against_nuts as check


def test_signed_draws_are_in_the_order_of_their_names(monkeypatch):
    m, w, h, _ = check.signed_truth()
    d, n_lags = h.shape
    # Draws that name their own parameter: m[i] = i, w[i, j] = 100 (i + 1) + j, h[i, l] = -(10 i + l).
    shape = (2, 3)
    fake = ss.SignedPosterior(
        m=np.broadcast_to(np.arange(d, dtype=float), (*shape, d)),
        w=np.broadcast_to(100.0 * (np.arange(d)[:, None] + 1) + np.arange(d), (*shape, d, d)),
        h=np.broadcast_to(-(10.0 * np.arange(d)[:, None] + np.arange(1, n_lags + 1)), (*shape, d, n_lags)),
        beta=np.full(shape, 1000.0),
        acceptance={"hmc": np.full(2, 0.8)},
        free=np.ones((d, 1 + d + n_lags), bool),
    )
    monkeypatch.setattr(ss, "fit_signed", lambda *args, **kwargs: fake)
    draws, beta, _ = check.fit_ours_signed(None, sh.SignedPrior(), 3, 0, 0)
    names, groups = check.signed_parameters(w, n_lags)
    assert beta == 1000.0 and draws.shape == (*shape, len(names))
    for name, value in zip(names, draws[0, 0]):
        kind, index = name[0], [int(k) for k in name[2 : name.index("]")].split(",")]
        want = {"m": lambda i: i, "w": lambda i, j: 100 * (i + 1) + j, "h": lambda i, lag: -(10 * i + lag)}[kind]
        assert value == want(*index), name
    assert sum(groups.values()).tolist() == [1] * len(names)  # the groups split the parameters
    for name, mask in groups.items():
        if name.startswith("w, "):
            assert all(f"({name[3:]})" in names[p] for p in np.flatnonzero(mask))


def test_a_sampled_decay_is_the_last_column_and_its_own_group(monkeypatch):
    m, w, h, _ = check.signed_truth()
    d, n_lags = h.shape
    shape = (2, 3)
    beta = np.arange(6.0).reshape(shape) + 900.0
    fake = ss.SignedPosterior(
        m=np.zeros((*shape, d)),
        w=np.zeros((*shape, d, d)),
        h=np.zeros((*shape, d, n_lags)),
        beta=beta,
        acceptance={"hmc": np.full(2, 0.8), "beta": np.full(2, 0.4)},
        free=np.ones((d, 1 + d + n_lags), bool),
        beta_sampled=True,
    )
    monkeypatch.setattr(ss, "fit_signed", lambda *args, **kwargs: fake)
    draws, fixed, info = check.fit_ours_signed(None, sh.SignedPrior(), 3, 0, 0, sample_beta=True)
    names, groups = check.signed_parameters(w, n_lags, with_beta=True)
    assert fixed is None and names[-1] == "beta" and draws.shape == (*shape, len(names))
    np.testing.assert_array_equal(draws[..., -1], beta)
    assert groups["beta"].tolist() == [False] * (len(names) - 1) + [True]
    assert sum(groups.values()).tolist() == [1] * len(names)
    assert info["acceptance"] == {"hmc": 0.8, "beta": 0.4}


def test_signed_truth_excites_and_inhibits_on_the_standard_networks_edges():
    m, w, h, beta = check.signed_truth()
    mu, alpha, true_beta = check.discrete_truth()
    np.testing.assert_array_equal(w != 0, alpha > 0)
    assert (w > 0).any() and (w < 0).any() and np.all(np.diag(w) == 0)
    np.testing.assert_allclose(np.exp(m), mu)
    assert beta == true_beta and h.shape == (len(m), sh.N_LAGS)


def test_conjugate_columns_are_refused_with_the_signed_model(capsys):
    with pytest.raises(SystemExit) as excinfo:
        check.parse_args(["--conjugate-columns", "3"])
    assert excinfo.value.code == 2
    assert "--conjugate-columns" in capsys.readouterr().err.splitlines()[-1]
