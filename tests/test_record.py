"""benchmarks/record.py gathers the default's runs from the sections that ran it, and counts them right."""

import math

import numpy as np
import pytest
import sweep_rows

import train_snn
from benchmarks import fresh_test_sets, record, seeds
from benchmarks.report import read_sections, write_section

NOISE = train_snn.parse_args([]).noise_sigma  # the default, spelled out as an adopted step's check spells it


def sweep_row(seed, test_accuracy, worst_auc, train_seconds=40.0):
    """A row whose worst group is 8 wrong cosine trials at ``worst_auc``."""
    groups = {"sine_correct": (0.99, 0.99, 0.1, 200), "cosine_wrong": (worst_auc, worst_auc, 0.1, 8)}
    return sweep_rows.sweep_row(seed, test_accuracy, test_accuracy, groups, train_seconds)


def fresh_row(seed, both_per_set):
    """A seed's fresh sets, each meeting both goals or missing the accuracy bar."""
    judged = [
        {"accuracy": 0.97 if both else 0.9, "auc": {"g": 0.95}, "trials": {"g": 200}, "converged": {"g": True}}
        for both in both_per_set
    ]
    return {"seed": seed, "stored": judged[0], "fresh": judged}


def write_sweep(path, name, command, rows):
    write_section(name, "t", command, seeds.markdown_table(rows), path)


@pytest.fixture
def document(tmp_path):
    """A results document: the default's sections, one of another pipeline, one whose flags no longer parse."""
    path = tmp_path / "RESULTS.md"
    default = [sweep_row(0, 0.98, 0.95, 41), sweep_row(1, 0.955, 0.884, 39)]
    write_sweep(path, "seeds", "python -m benchmarks.seeds --seeds 0 1", default)
    other = "python -m benchmarks.seeds --seeds 0 1 --section seeds-other --train-flags '--noise-sigma 0.9'"
    write_sweep(path, "seeds-other", other, [sweep_row(0, 0.5, 0.5), sweep_row(1, 0.5, 0.5)])  # another pipeline
    spelled = f"python -m benchmarks.seeds --seeds 1 210 --section seeds-210 --train-flags '--noise-sigma {NOISE}'"
    write_sweep(path, "seeds-210", spelled, [sweep_row(1, 0.955, 0.884, 61), sweep_row(210, 0.94, 0.97, 33)])
    gone = "python -m benchmarks.seeds --seeds 211 --section seeds-gone --train-flags '--no-such-flag 1'"
    write_sweep(path, "seeds-gone", gone, [sweep_row(211, 0.99, 0.99)])
    table = fresh_test_sets.markdown_table([fresh_row(0, [True] * 4), fresh_row(1, [True, False, False, True])])
    write_section("fresh-test-sets", "t", "python -m benchmarks.fresh_test_sets --seeds 0 1", table, path)
    table = fresh_test_sets.markdown_table([fresh_row(210, [False] * 4)])
    fresh_210 = "python -m benchmarks.fresh_test_sets --seeds 210 --section fresh-test-sets-210"
    write_section("fresh-test-sets-210", "t", fresh_210, table, path)
    return path


def test_the_record_counts_each_seed_of_the_defaults_sections_once(document):
    sweeps, seconds, fresh, names = record.gather(document.read_text())
    assert names == ["seeds", "seeds-210", "fresh-test-sets", "fresh-test-sets-210"]
    assert sweeps == {0: (0.98, 0.95), 1: (0.955, 0.884), 210: (0.94, 0.97)}
    assert seconds == {0: [41.0], 1: [39.0, 61.0], 210: [33.0]}
    assert fresh == {0: (4, 4), 1: (2, 4), 210: (0, 4)}
    text = record.report(document.read_text())
    # 1 of 2: P(X >= 1) = 1 - (1 - p)^2 and P(X <= 1) = 1 - p^2 hit 0.025 at these rates; 0 of 1: 1 - p,
    # so 0.975 (printed outwards: 0.98).
    one_of_two = f"{np.floor(100 * (1 - np.sqrt(0.975))) / 100:.2f}-{np.ceil(100 * np.sqrt(0.975)) / 100:.2f}"
    tuned_span, fresh_span = "39-61 s (median 41), <= 60 s in 2 of 3", "33-33 s (median 33), <= 60 s in 1 of 1"
    assert f"| 0-1 (judged every choice) | 2 | 2 | 1 | {one_of_two} | 1 (0.955; 0.884) | {tuned_span} |" in text
    assert f"| 210 (fresh when swept) | 1 | 0 | 0 | 0.00-0.98 | 210 (0.940; 0.970) | {fresh_span} |" in text
    low, high = brute_force_interval(1, 3)
    interval = f"{np.floor(100 * low) / 100:.2f}-{np.ceil(100 * high) / 100:.2f}"
    assert f"| all | 3 | 2 | 1 | {interval} | 2 seeds | 33-61 s (median 40), <= 60 s in 3 of 4 |" in text
    assert "3 networks (seeds 0-1, 210): 1 meet both goals on every set, 1 on some (1), 1 on none (210); " in text
    assert "6 of 12 sets meet both." in text
    assert "Training: every training of those sections, so a seed swept in two counts twice." in text  # 1: 39 and 61 s


def test_without_fresh_test_sets_the_record_has_no_sentence_on_them(tmp_path):
    path = tmp_path / "RESULTS.md"
    write_sweep(
        path, "seeds", "python -m benchmarks.seeds --seeds 0 1", [sweep_row(0, 0.98, 0.95), sweep_row(1, 0.97, 0.93)]
    )
    text = record.report(path.read_text())
    assert "| all | 2 | 2 | 2 |" in text
    assert "fresh test sets" not in text
    table = fresh_test_sets.markdown_table([fresh_row(0, [True, False])])
    write_section("fresh-test-sets", "t", "python -m benchmarks.fresh_test_sets --seeds 0", table, path)
    text = record.report(path.read_text())
    assert (
        "On fresh test sets, 1 network (seeds 0): 0 meet" in text
        and "| all | 2 | 2 | 2 | 0.15-1.00 | 0 seeds |" in text
    )
    write_sweep(
        path, "seeds", "python -m benchmarks.seeds --seeds 0 1", [sweep_row(0, 0.98, 0.95), sweep_row(1, 0.9, 0.95)]
    )
    assert "| 1 seed |" in record.report(path.read_text())


def test_a_stale_section_that_disagrees_is_an_error(document):
    stale = "python -m benchmarks.seeds --seeds 210 --section seeds-stale"
    write_sweep(document, "seeds-stale", stale, [sweep_row(210, 0.99, 0.97)])
    with pytest.raises(ValueError, match="section seeds-stale: seed 210 disagrees"):
        record.gather(document.read_text())


def test_a_seed_on_fresh_sets_in_two_sections_counts_once_from_the_one_with_more_sets(document):
    # Sets are drawn by (seed, index), so the 2-set run's sets are the first 2 of the 4-set run's.
    table = fresh_test_sets.markdown_table([fresh_row(1, [True, False])])
    write_section(
        "fresh-fewer",
        "t",
        "python -m benchmarks.fresh_test_sets --seeds 1 --test-sets 2 --section fresh-fewer",
        table,
        document,
    )
    table = fresh_test_sets.markdown_table([fresh_row(1, [True, True, False, True, True, True])])
    write_section(
        "fresh-more",
        "t",
        "python -m benchmarks.fresh_test_sets --seeds 1 --test-sets 6 --section fresh-more",
        table,
        document,
    )
    *_, fresh, names = record.gather(document.read_text())
    assert fresh == {0: (4, 4), 1: (5, 6), 210: (0, 4)}
    assert names[-2:] == ["fresh-fewer", "fresh-more"]
    table = fresh_test_sets.markdown_table([fresh_row(0, [True, True, True, False])])
    write_section(
        "fresh-stale",
        "t",
        "python -m benchmarks.fresh_test_sets --seeds 0 --section fresh-stale --test-sets 4",
        table,
        document,
    )
    with pytest.raises(ValueError, match="section fresh-stale: seed 0 disagrees"):  # as many sets, other counts
        record.gather(document.read_text())


def test_a_row_just_below_a_bar_is_counted_as_its_sweep_counted_it(tmp_path):
    path = tmp_path / "RESULTS.md"
    write_sweep(
        path, "seeds", "python -m benchmarks.seeds --seeds 0 1", [sweep_row(0, 0.98, 0.8996), sweep_row(1, 0.98, 0.9)]
    )
    assert record.sweep_scores(record.sections(path.read_text())["seeds"][1]) == {
        0: (0.98, 0.8996, 40.0),
        1: (0.98, 0.9, 40.0),
    }
    table = record.sweep_table({0: (0.98, 0.8996), 1: (0.98, 0.9)}, {0: [40.0], 1: [40.0]})
    assert "| 0-1 (judged every choice) | 2 | 2 | 1 | 0.01-0.99 | 0 (0.980; 0.8996) |" in table


def test_rows_that_round_onto_a_bar_cannot_be_miscounted(tmp_path):
    path = tmp_path / "RESULTS.md"
    write_sweep(path, "seeds", "python -m benchmarks.seeds --seeds 0", [sweep_row(0, 0.98, 0.8996)])
    rounded = path.read_text().replace("0.8996", "0.900")  # as a table printed at three decimals only would show it
    with pytest.raises(ValueError, match="section seeds: its rows do not give its own count at both goals"):
        record.gather(rounded)


def test_a_broken_section_is_a_one_line_error(tmp_path, monkeypatch):
    path = tmp_path / "RESULTS.md"
    write_section("seeds", "t", "python -m benchmarks.seeds", "no table here", path)
    monkeypatch.setattr(record, "RESULTS", path)
    with pytest.raises(SystemExit, match="benchmarks.record: section seeds: no table"):
        record.main(["--no-report"])
    write_section(
        "seeds", "t", "python -m benchmarks.seeds --seeds 1", seeds.markdown_table([sweep_row(0, 0.98, 0.95)]), path
    )
    with pytest.raises(SystemExit, match="section seeds: its rows are not the seeds its command ran"):
        record.main(["--no-report"])
    write_section("seeds", "t", "python -m benchmarks.seeds --no-such-flag", "", path)
    with pytest.raises(SystemExit, match="section seeds: its command no longer parses"):
        record.main(["--no-report"])
    monkeypatch.setattr(record, "RESULTS", tmp_path / "missing.md")
    with pytest.raises(SystemExit, match="benchmarks.record: .*missing.md"):
        record.main(["--no-report"])


def test_an_earlier_defaults_fit_gathers_the_sections_that_spell_it_into_its_own_record(tmp_path, monkeypatch):
    path = tmp_path / "RESULTS.md"
    alone = "python -m benchmarks.seeds --seeds 0 --section seeds-alone --fit-flags '--partial-pooling none'"
    write_sweep(path, "seeds-alone", alone, [sweep_row(0, 0.98, 0.884, 41)])
    write_sweep(path, "seeds", "python -m benchmarks.seeds --seeds 0", [sweep_row(0, 0.98, 0.95, 43)])
    text = path.read_text()
    assert record.gather(text)[0] == {0: (0.98, 0.95)}  # the seed's two fits do not disagree: one is today's
    sweeps, seconds, _, names = record.gather(text, ["--partial-pooling", "none"])
    assert (sweeps, seconds, names) == ({0: (0.98, 0.884)}, {0: [41.0]}, ["seeds-alone"])
    with pytest.raises(ValueError, match="--fit-flags: fit_hawkes_process.py refuses them"):
        record.gather(text, ["--n-chains", "0"])
    with pytest.raises(ValueError, match="no seed sweep of the default"):
        record.report(text, ["--partial-pooling", "class"])
    monkeypatch.setattr(record, "RESULTS", path)
    record.main(["--section", "record-alone", "--fit-flags", "--partial-pooling none"])
    section = read_sections(path.read_text())["record-alone"]
    assert section.command == "python -m benchmarks.record --section record-alone --fit-flags '--partial-pooling none'"
    assert "`--partial-pooling none`" in section.title and "0 (0.980; 0.884)" in section.body
    assert "that ran today's training with fit_hawkes_process.py `--partial-pooling none`: seeds-alone." in section.body
    record.main([])
    assert read_sections(path.read_text())["record"].command == "python -m benchmarks.record"


def test_an_earlier_training_gathers_the_sections_that_spell_it_into_its_own_record(tmp_path, monkeypatch):
    path = tmp_path / "RESULTS.md"
    earlier = "python -m benchmarks.seeds --seeds 0 --section seeds-earlier --train-flags '--noise-sigma 0.25'"
    write_sweep(path, "seeds-earlier", earlier, [sweep_row(0, 0.95, 0.93, 39)])
    write_sweep(path, "seeds", "python -m benchmarks.seeds --seeds 0", [sweep_row(0, 0.97, 0.94, 41)])
    text = path.read_text()
    assert record.gather(text)[0] == {0: (0.97, 0.94)}
    sweeps, seconds, _, names = record.gather(text, (), ["--noise-sigma", "0.25"])
    assert (sweeps, seconds, names) == ({0: (0.95, 0.93)}, {0: [39.0]}, ["seeds-earlier"])
    assert record.gather(text, ["--partial-pooling", "none"], ["--noise-sigma", "0.25"])[0] == {}  # not that fit
    with pytest.raises(ValueError, match="--train-flags: train_snn.py refuses them"):
        record.gather(text, (), ["--n-train", "0"])
    monkeypatch.setattr(record, "RESULTS", path)
    record.main(["--section", "record-earlier", "--train-flags", "--noise-sigma 0.25"])
    section = read_sections(path.read_text())["record-earlier"]
    assert section.command == "python -m benchmarks.record --section record-earlier --train-flags '--noise-sigma 0.25'"
    assert section.title == "The record of train_snn.py `--noise-sigma 0.25` over every seed it ran on"
    assert "that ran train_snn.py `--noise-sigma 0.25`: seeds-earlier." in section.body
    assert record.title(["--partial-pooling", "none"], ["--noise-sigma", "0.25"]) == (
        "The record of train_snn.py `--noise-sigma 0.25` with fit_hawkes_process.py `--partial-pooling none` "
        "over every seed it ran on"
    )


def test_seed_ranges_join_runs_of_consecutive_seeds():
    assert record.seed_ranges([212, 0, 1, 2, 210, 211, 7]) == "0-2, 7, 210-212"
    assert record.seed_ranges([]) == "-"


def test_a_group_without_an_auc_misses_the_goal():
    assert not record.meets_both(0.99, np.nan) and record.meets_both(0.95, 0.9) and not record.meets_both(0.949, 0.95)


def brute_force_interval(k, n, tail=0.025):
    """The Clopper-Pearson bounds by bisection on binomial tails summed term by term."""

    def at_least(j, p):  # P(X >= j), rising in p
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(j, n + 1))

    def solve(j, target):  # the p at which P(X >= j) = target
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if at_least(j, mid) < target else (lo, mid)
        return (lo + hi) / 2

    # The lowest rate with P(X >= k) >= tail, and the highest with P(X <= k) >= tail.
    return solve(k, tail) if k > 0 else 0.0, solve(k + 1, 1 - tail) if k < n else 1.0


@pytest.mark.parametrize("k, n", [(0, 10), (1, 2), (9, 10), (10, 10), (81, 100), (16, 20)])
def test_the_rate_interval_inverts_the_binomial_tails(k, n):
    assert record.rate_interval(k, n) == pytest.approx(brute_force_interval(k, n), abs=1e-9)


@pytest.mark.parametrize("k, n", [(97, 120), (88, 110), (9, 10), (1, 3)])
def test_the_printed_interval_holds_the_exact_one(k, n):
    # Rounded to nearest, 97 of 120's lower bound 0.7264 printed 0.73: narrower than the interval.
    low, high = brute_force_interval(k, n)
    printed_low, printed_high = map(float, record.interval_text(*record.rate_interval(k, n)).split("-"))
    assert printed_low <= low < printed_low + 0.01 and printed_high - 0.01 < high <= printed_high


def test_a_bound_on_a_whole_hundredth_prints_as_it_is():
    assert record.interval_text(0.29, 0.57) == "0.29-0.57"  # 100 x 0.29 is 28.999999999999996


def test_the_rate_interval_at_no_seed_or_every_seed_has_its_closed_form():
    # P(X = 0) = (1 - p)^n = 0.025 and P(X = n) = p^n = 0.025.
    assert record.rate_interval(0, 20) == pytest.approx((0.0, 1 - 0.025 ** (1 / 20)))
    assert record.rate_interval(20, 20) == pytest.approx((0.025 ** (1 / 20), 1.0))
