"""Shared fixtures: a headless matplotlib that closes every figure a test leaves open, and the
order in which the tests start."""

import matplotlib
import pytest

matplotlib.use("Agg")  # before pyplot is imported anywhere: no display in tests or CI
import matplotlib.pyplot as plt  # noqa: E402

# Tests that take longest start first, so that with `pytest -n 2` the other worker runs the
# rest meanwhile instead of both waiting for them at the end.
START_FIRST = (
    "test_train_fit_plot",
    "test_discrete_model_ranks_edges",
    "test_same_seed_same_bytes",
    "test_other_model_options",
    "test_ninety_percent_intervals",
    "test_fit_recovers_known_connectivity",
    "test_goodness_of_fit_rejects_the_true_model",
    "test_identical_sources_share_their_alpha",
)


@pytest.fixture(autouse=True)
def close_figures():
    """Close the figures a test opened, so none leaks into the next one."""
    yield
    plt.close("all")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: not any(name in item.nodeid for name in START_FIRST))
