"""benchmarks/synapse_strength.py scores each bin's synapses (by strength, by refractory share)
against the absent pairs."""

import numpy as np
import pytest
from test_pipeline import hawkes_spike_record

import fit_hawkes_process
from benchmarks import synapse_strength
from benchmarks.synapse_strength import bin_names, refractory_share, share_aucs, share_names, strength_aucs
from spike_file import save_spike_trains


def test_each_bin_is_scored_against_every_absent_pair_alone():
    true_weights = np.array(
        [
            [0.0, 0.2, 0.0, 1.5],
            [0.0, 0.0, 0.8, 0.0],
            [0.25, 0.0, 0.0, -1.0],
            [2.0, 0.0, 0.5, 0.0],
        ]
    )
    # Weak synapses (0, 0.3] get the alpha of absent pairs; the rest outrank them.
    alpha = np.where(true_weights > 0.3, true_weights, 0.1)
    alpha[1, 0] = 0.05  # one absent pair below the weak synapses' tie
    pairs = ~np.eye(4, dtype=bool)
    aucs = strength_aucs(alpha, true_weights, pairs)
    assert [n for _, n in aucs] == [2, 1, 1, 2]
    # 5 absent off-diagonal pairs (the inhibitory one is no negative): 4 tie the weak
    # synapses, one lies below: (1 + 4 / 2) / 5.
    assert np.isclose(aucs[0][0], (1 + 4 / 2) / 5)
    assert [auc for auc, _ in aucs[1:]] == [1.0, 1.0, 1.0]
    pairs[0, 3] = pairs[3, 0] = False  # without the strong synapses the last bin is empty
    assert np.isnan(strength_aucs(alpha, true_weights, pairs)[-1][0])
    assert bin_names() == ["(0, 0.3]", "(0.3, 0.6]", "(0.6, 1]", "> 1"]


def brute_force_share(spikes, n_ref):
    """Spike by spike: the share of each source's spikes that arrive while the target is refractory."""
    n_trials, n_neurons, n_steps = spikes.shape
    blocked = np.zeros((n_neurons, n_neurons))
    counted = np.zeros(n_neurons)
    for trial in range(n_trials):
        for source in range(n_neurons):
            for k in np.flatnonzero(spikes[trial, source]):
                if k + 1 >= n_steps:  # arrives after the trial
                    continue
                counted[source] += 1
                for target in range(n_neurons):
                    last = np.flatnonzero(spikes[trial, target, : k + 1])
                    if last.size and k + 1 - last[-1] <= n_ref:
                        blocked[target, source] += 1
    with np.errstate(invalid="ignore"):
        return blocked / counted[None, :]


@pytest.mark.parametrize("n_ref", [0, 1, 2, 3])
def test_refractory_share_matches_a_spike_by_spike_count(n_ref):
    spikes = np.random.default_rng(n_ref).random((3, 4, 30)) < 0.25
    spikes[:, 3] = False  # a silent source: NaN
    spikes[0, 2, :] = False
    spikes[0, 2, -1] = True  # a spike that arrives after its trial is not counted
    share = refractory_share(spikes, n_ref)
    np.testing.assert_allclose(share, brute_force_share(spikes, n_ref), equal_nan=True)
    assert np.isnan(share[:, 3]).all() and (n_ref > 0 or np.nanmax(share) == 0)


def test_share_bins_hold_each_synapse_once_and_give_its_mean_weight():
    true_weights = np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    share = np.array([[np.nan, 0.1, 1.0], [0.5, np.nan, 0.3], [0.2, 0.9, np.nan]])
    alpha = np.array([[0.0, 0.9, 0.2], [0.5, 0.0, 0.1], [0.3, 0.05, 0.0]])
    pairs = ~np.eye(3, dtype=bool)
    (low, n_low, w_low), (mid, n_mid, _), (high, n_high, w_high) = share_aucs(alpha, true_weights, pairs, share)
    assert (n_low, n_mid, n_high) == (1, 0, 2) and np.isnan(mid)
    assert low == 1.0 and w_low == 2.0  # 0.9 beats the absent 0.1, 0.3, 0.05
    assert high == pytest.approx((2 / 3 + 3 / 3) / 2) and w_high == 2.0  # 0.2 beats 0.1 and 0.05, 0.5 all three
    assert share_names() == ["[0, 0.2)", "[0.2, 0.5)", "[0.5, 1]"]


def test_main_prints_both_tables_and_refuses_a_spike_file_the_posterior_was_not_fitted_to(tmp_path, capsys):
    fitted, other, posterior_file = tmp_path / "fitted.pkl", tmp_path / "other.pkl", tmp_path / "post.npz"
    save_spike_trains(hawkes_spike_record(n_trials=6, n_steps=60, seed=1), fitted)
    save_spike_trains(hawkes_spike_record(n_trials=6, n_steps=60, seed=2), other)
    quick = "--n-samples 8 --max-samples 8 --n-warmup 0 --n-chains 2 --min-trials 1 --n-jobs 1".split()
    fit_hawkes_process.main(["--spike-file", str(fitted), "--posterior-file", str(posterior_file), *quick])
    capsys.readouterr()
    files = ["--posterior-file", str(posterior_file), "--no-report"]
    synapse_strength.main([*files, "--spike-file", str(fitted)])
    out = capsys.readouterr().out
    assert "| group | weight (0, 0.3]" in out and "| group | share [0, 0.2)" in out
    with pytest.raises(SystemExit) as excinfo:
        synapse_strength.main([*files, "--spike-file", str(other)])
    message = str(excinfo.value.code)
    assert "was not fitted to" in message and "\n" not in message
