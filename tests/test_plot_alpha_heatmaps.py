"""Tests of plot_alpha_heatmaps.py: the plots, their figures, bad input."""

import dataclasses
import re
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
from posterior_records import fake_group, fake_posterior

import plot_alpha_heatmaps as pah
from connectivity import connection_matrix
from posterior_file import load_posterior, save_posterior
from spike_file import weight_shapes

LAYER_SIZES = {"input": 1, "hidden": 2, "output": 1}
LABELS = ["in0", "h0", "h1", "out0"]
N_STEPS = 50
WEIGHTS = {
    "input_hidden": np.array([[1.0, -2.0]]),  # (n_in, n_hidden) [source, target]
    "hidden_output": np.array([[3.0], [4.0]]),
}  # (n_hidden, n_out)


# ----------------------------------------------------------------------------- plots
def test_plot_alpha_matrix_draws_target_rows_and_source_columns():
    alpha = np.arange(16.0).reshape(4, 4) / 16
    mask = np.zeros((4, 4), dtype=bool)
    mask[0, 3] = True
    fig, ax = plt.subplots()
    assert pah.plot_alpha_matrix(ax, alpha, LABELS, LAYER_SIZES, mask=mask) is ax
    drawn = ax.collections[0].get_array()
    # seaborn draws row 0 at the top: the mesh holds alpha row by row, target by target.
    np.testing.assert_array_equal(drawn.data.reshape(4, 4), alpha)
    assert drawn.mask.reshape(4, 4)[0, 3] and drawn.mask.sum() == 1
    assert [t.get_text() for t in ax.get_yticklabels()] == LABELS
    assert [t.get_text() for t in ax.get_xticklabels()] == LABELS
    assert "source" in ax.get_xlabel() and "target" in ax.get_ylabel()
    assert "caused by one spike of the source" in fig.axes[1].get_ylabel()
    boundaries = sorted({line.get_ydata()[0] for line in ax.lines if line.get_ydata()[0] > 0})
    assert boundaries == [1, 3]  # after in0 and after h1


def test_plot_alpha_vs_weights_one_series_per_connection_type():
    true_weights, types = connection_matrix(WEIGHTS, LAYER_SIZES)
    alpha = np.random.default_rng(0).random((4, 4))
    fig, ax = plt.subplots()
    assert pah.plot_alpha_vs_weights(ax, alpha, alpha * 0.5, alpha * 2, true_weights, types) is ax
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1:] == ["input→hidden (2)", "hidden→output (2)", "lateral (2)", "reverse (5)", "none (1)", "self (4)"]
    heights = np.sort(np.concatenate([c.lines[0].get_ydata() for c in ax.containers]))
    np.testing.assert_allclose(heights, np.sort(alpha.ravel()))


def test_plot_alpha_vs_weights_draws_unobservable_pairs_hollow():
    true_weights, types = connection_matrix(WEIGHTS, LAYER_SIZES)
    alpha = np.random.default_rng(0).random((4, 4))
    observable = np.ones((4, 4), dtype=bool)
    observable[:, 1] = observable[3] = False  # h0 and out0 never fire
    fig, ax = plt.subplots()
    pah.plot_alpha_vs_weights(ax, alpha, alpha, alpha, true_weights, types, observable=observable)
    hollow = [c.lines[0] for c in ax.containers if c.lines[0].get_markerfacecolor() == "none"]
    np.testing.assert_allclose(
        np.sort(np.concatenate([line.get_ydata() for line in hollow])), np.sort(alpha[~observable])
    )
    # hidden->output is all hollow here and keeps its legend entry.
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["threshold 0.05", "hollow: not observable"]
    assert legend[2:] == ["input→hidden (2)", "hidden→output (2)", "lateral (2)", "reverse (5)", "none (1)", "self (4)"]


def _points(ax):
    """Every drawn (x, y) point of ``plot_alpha_vs_weights``, sorted by y."""
    xy = np.concatenate([np.column_stack(c.lines[0].get_data()) for c in ax.containers])
    return xy[np.argsort(xy[:, 1])]


def test_the_seed_moves_only_the_weight_zero_points_and_only_sideways():
    true_weights, types = connection_matrix(WEIGHTS, LAYER_SIZES)
    alpha = np.random.default_rng(0).random((4, 4))  # distinct heights: sorting by y pairs the points
    drawn = {}
    for seed in (0, 0, 1):
        fig, ax = plt.subplots()
        pah.plot_alpha_vs_weights(ax, alpha, alpha, alpha, true_weights, types, seed=seed)
        drawn.setdefault(seed, []).append(_points(ax))
        plt.close(fig)
    np.testing.assert_array_equal(drawn[0][0], drawn[0][1])
    (x0, y0), (x1, y1) = drawn[0][0].T, drawn[1][0].T
    np.testing.assert_array_equal(y0, y1)
    at_zero = np.sort(alpha.ravel())[:, None] == alpha[true_weights == 0][None, :]
    zero = at_zero.any(axis=1)
    assert zero.sum() == (true_weights == 0).sum() > 0
    np.testing.assert_array_equal(x0[~zero], x1[~zero])  # a synapse stays at its weight
    assert not np.array_equal(x0[zero], x1[zero])
    spread = 0.015 * np.ptp(true_weights)
    assert np.all(np.abs(x1[zero]) <= spread)


def test_plot_trace_one_line_per_chain():
    draws = np.random.default_rng(0).random((3, 20))
    fig, ax = plt.subplots()
    assert pah.plot_trace(ax, draws, "beta") is ax
    assert len(ax.lines) == 3
    np.testing.assert_array_equal(ax.lines[2].get_ydata(), draws[2])


def _write_posterior(path, groups):
    """Save a posterior of ``groups``: name -> (trials, alpha around which its draws scatter)."""
    records = {
        name: fake_group(alpha, trials, N_STEPS, seed=k) for k, (name, (trials, alpha)) in enumerate(groups.items())
    }
    save_posterior(fake_posterior(records, LAYER_SIZES, WEIGHTS, N_STEPS), path)


def test_trace_parameters_pick_the_largest_and_a_near_zero_alpha(tmp_path):
    alpha = np.full((4, 4), 0.3)
    alpha[3, 2], alpha[0, 1] = 0.9, 0.001
    _write_posterior(tmp_path / "post.npz", {"sine_correct": ([0, 1], alpha)})
    group = load_posterior(tmp_path / "post.npz").groups["sine_correct"]
    picks = pah.trace_parameters(group, LABELS, np.ones((4, 4), dtype=bool))
    assert [name for name, _, _ in picks] == [
        "beta (shared, 1/s)",
        "largest alpha h1→out0",
        "near-zero alpha h0→in0",
        "mu out0 (1/s)",
    ]
    # A fixed alpha never moves, so the near-zero trace is picked among the fitted ones.
    free = np.ones((4, 4), dtype=bool)
    free[0] = False
    assert pah.trace_parameters(group, LABELS, free)[2][0] != "near-zero alpha h0→in0"
    np.testing.assert_array_equal(picks[1][1], group.alpha[:, :, 3, 2])
    assert picks[1][1].shape == (2, 40)


def test_example_figure_greys_the_columns_of_sources_that_never_fired(tmp_path):
    _write_posterior(tmp_path / "post.npz", {"sine_correct": ([0, 1], np.full((4, 4), 0.3))})
    posterior = load_posterior(tmp_path / "post.npz")

    def with_spikes(n_spikes):
        group = dataclasses.replace(posterior.groups["sine_correct"], n_spikes=np.array(n_spikes))
        return dataclasses.replace(posterior, groups={"sine_correct": group})

    fig = pah.figure_example(with_spikes([5, 0, 3, 2]), "sine_correct", pah.ALPHA_LABEL)  # h0 silent
    drawn_mask = fig.axes[0].collections[0].get_array().mask.reshape(4, 4)
    expected = np.zeros((4, 4), dtype=bool)
    expected[:, 1] = True
    np.testing.assert_array_equal(drawn_mask, expected)
    assert "never fired" in fig.axes[0].get_title()
    fig = pah.figure_example(with_spikes([5, 1, 3, 2]), "sine_correct", pah.ALPHA_LABEL)
    assert "never fired" not in fig.axes[0].get_title()


@pytest.mark.parametrize(
    ("max_rhat", "min_ess", "marked"),
    [(1.001, 500.0, False), (1.0114, 500.0, True), (1.001, 399.0, True), (1.01, 400.0, False)],
)
def test_figures_of_a_group_that_missed_the_convergence_limits_say_so(tmp_path, max_rhat, min_ess, marked):
    _write_posterior(tmp_path / "post.npz", {"sine_correct": ([0, 1], np.full((4, 4), 0.3))})
    posterior = load_posterior(tmp_path / "post.npz")
    group = dataclasses.replace(posterior.groups["sine_correct"], max_rhat=max_rhat, min_ess_bulk=min_ess)
    posterior = dataclasses.replace(posterior, groups={"sine_correct": group})
    titles = [
        pah.figure_example(posterior, "sine_correct", pah.ALPHA_LABEL).axes[0].get_title(),
        pah.figure_by_group(posterior, pah.ALPHA_LABEL).axes[0].get_title(),
    ]
    expected = f"NOT converged: max R-hat {max_rhat:.4f}, min bulk ESS {min_ess:.0f}"
    assert all((expected in title) == marked for title in titles), titles
    plt.close("all")


@pytest.mark.parametrize("pooling, noted", [("cut", True), ("none", False), (None, False)])
def test_under_the_cut_a_wrong_groups_heatmap_names_the_group_its_prior_came_from(tmp_path, pooling, noted):
    groups = {name: ([0, 1], np.full((4, 4), 0.3)) for name in ("sine_correct", "sine_wrong", "cosine_wrong")}
    _write_posterior(tmp_path / "post.npz", groups)
    posterior = load_posterior(tmp_path / "post.npz")
    config = {} if pooling is None else {"partial_pooling": pooling}  # files before step 43 lack the key
    posterior = dataclasses.replace(posterior, config={**posterior.config, **config})
    titles = [ax.get_title() for ax in pah.figure_by_group(posterior, pah.ALPHA_LABEL).axes[:3]]
    assert titles == [
        "sine_correct (2 trials)",
        "sine_wrong (2 trials)" + ("\nprior from sine_correct" if noted else ""),
        "cosine_wrong (2 trials)",  # no correct group of its class to borrow from
    ]
    plt.close("all")


def test_main_group_is_the_largest():
    posterior = SimpleNamespace(
        group_names=["a", "b", "c"],
        groups={
            "a": SimpleNamespace(trials=[1]),
            "b": SimpleNamespace(trials=[2, 3, 4]),
            "c": SimpleNamespace(trials=[5, 6, 7]),
        },
    )
    assert pah.main_group(posterior) == "b"


# ----------------------------------------------------------------------------- the script
def test_main_draws_the_four_figures(tmp_path, capsys):
    true_weights, _ = connection_matrix(WEIGHTS, LAYER_SIZES)
    alpha = np.where(true_weights > 0, 0.8, 0.02)  # a perfect ranking: AUC 1
    _write_posterior(tmp_path / "post.npz", {"sine_correct": ([0, 1, 2], alpha), "cosine_correct": ([3, 4], alpha.T)})
    pah.main(["--posterior-file", str(tmp_path / "post.npz"), "--figure-dir", str(tmp_path / "fig")])
    for name in ("example_alpha_matrix", "alpha_heatmaps_by_group", "alpha_vs_weights", "mcmc_traces"):
        assert (tmp_path / "fig" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "sine_correct 1.000" in capsys.readouterr().out
    assert plt.get_fignums() == []


def test_the_same_seed_draws_the_same_files(tmp_path):
    true_weights, _ = connection_matrix(WEIGHTS, LAYER_SIZES)
    _write_posterior(tmp_path / "post.npz", {"sine_correct": ([0, 1, 2], np.where(true_weights > 0, 0.8, 0.02))})
    drawn = {}
    for run, seed in enumerate(("3", "3", "4")):
        folder = tmp_path / f"fig{run}"
        pah.main(["--posterior-file", str(tmp_path / "post.npz"), "--figure-dir", str(folder), "--seed", seed])
        drawn[run] = {path.name: path.read_bytes() for path in folder.glob("*.png")}
    assert len(drawn[0]) == 4 and drawn[0] == drawn[1]
    changed = [name for name in drawn[0] if drawn[0][name] != drawn[2][name]]
    assert changed == ["alpha_vs_weights.png"]


def test_plotting_before_fitting_says_run_fit(tmp_path):
    with pytest.raises(SystemExit) as excinfo:
        pah.main(["--posterior-file", str(tmp_path / "none.npz"), "--figure-dir", str(tmp_path)])
    message = str(excinfo.value.code)
    assert "run `python fit_hawkes_process.py` first" in message and "\n" not in message
    assert not list(tmp_path.glob("*.png"))


def test_a_mean_outside_its_interval_draws_no_negative_bar(tmp_path):
    # A skewed posterior's mean can lie beyond its 95% quantile; the bar then ends at the mean.
    true_weights, connection_types = connection_matrix(WEIGHTS, LAYER_SIZES)
    _write_posterior(tmp_path / "post.npz", {"sine_correct": ([0, 1, 2], np.where(true_weights > 0, 0.8, 0.02))})
    posterior = load_posterior(tmp_path / "post.npz")
    summary = posterior.groups["sine_correct"].summary["alpha"]
    summary["q95"] = summary["mean"] - 0.01
    fig = pah.figure_vs_weights(posterior, "sine_correct", true_weights, connection_types)
    bars = np.concatenate([np.asarray(c.get_segments()) for c in fig.axes[0].collections if c.get_segments()])
    plt.close(fig)
    lows, highs = bars[:, 0, 1], bars[:, 1, 1]  # every bar is vertical: (x, low) to (x, high)
    np.testing.assert_allclose(np.sort(highs), np.sort(summary["mean"][np.isfinite(summary["mean"])].ravel()))
    assert np.all(lows <= highs)


def test_an_unwritable_figure_stops_the_script_before_it_writes_any(tmp_path):
    true_weights, _ = connection_matrix(WEIGHTS, LAYER_SIZES)
    _write_posterior(tmp_path / "post.npz", {"sine_correct": ([0, 1, 2], np.where(true_weights > 0, 0.8, 0.02))})
    (tmp_path / "fig" / "mcmc_traces.png").mkdir(parents=True)  # a folder where the last figure goes
    with pytest.raises(SystemExit) as excinfo:
        pah.main(["--posterior-file", str(tmp_path / "post.npz"), "--figure-dir", str(tmp_path / "fig")])
    assert str(excinfo.value.code).startswith("plot_alpha_heatmaps.py: error: cannot write figures")
    assert [path.name for path in (tmp_path / "fig").iterdir()] == ["mcmc_traces.png"]
    assert plt.get_fignums() == []


def test_corrupt_posterior_is_one_line(tmp_path):
    (tmp_path / "post.npz").write_bytes(b"not a zip")
    with pytest.raises(SystemExit) as excinfo:
        pah.main(["--posterior-file", str(tmp_path / "post.npz"), "--figure-dir", str(tmp_path)])
    assert str(excinfo.value.code).startswith("plot_alpha_heatmaps.py: error:")


@pytest.mark.parametrize("n_hidden, written", [(10, True), (30, False)])
def test_cells_carry_numbers_only_while_they_can_be_read_and_figures_grow_with_the_network(n_hidden, written):
    layer_sizes = {"input": 1, "hidden": n_hidden, "output": 2}
    n = sum(layer_sizes.values())
    weights = {name: np.ones(shape) for name, shape in weight_shapes(layer_sizes).items()}
    group = fake_group(np.full((n, n), 0.2), [0, 1], n_steps=20)
    posterior = fake_posterior({"sine_correct": group}, layer_sizes, weights, n_steps=20)
    fig = pah.figure_example(posterior, "sine_correct", pah.ALPHA_LABEL)
    cell_texts = [text for text in fig.axes[0].texts if re.fullmatch(r"\d\.\d\d", text.get_text())]
    assert (len(cell_texts) == n * n) if written else not cell_texts
    assert fig.get_size_inches()[1] >= 0.22 * n  # room for a label per neuron
    by_group = pah.figure_by_group(posterior, pah.ALPHA_LABEL)
    assert by_group.get_size_inches()[1] >= 0.22 * n
