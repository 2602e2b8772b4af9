"""benchmarks/paired_sweeps.py pairs each candidate with today's default on the seeds swept beside it."""

import math

import pytest
from test_record import NOISE, sweep_row, write_sweep

from benchmarks import paired_sweeps
from benchmarks.report import write_section


def brute_force_p(only_candidate, only_default):
    """Twice the probability, under fair coins, of a split at least as uneven as the one seen, at most 1."""
    n = only_candidate + only_default
    as_uneven = sum(math.comb(n, i) for i in range(n + 1) if min(i, n - i) <= min(only_candidate, only_default))
    return min(1.0, as_uneven / 2**n) if n else 1.0


@pytest.mark.parametrize("only_candidate, only_default", [(0, 0), (0, 5), (5, 0), (1, 2), (4, 6), (3, 12), (7, 7)])
def test_the_mcnemar_p_is_the_exact_binomial_tail(only_candidate, only_default):
    assert paired_sweeps.mcnemar_p(only_candidate, only_default) == pytest.approx(
        brute_force_p(only_candidate, only_default), abs=1e-12
    )


def test_the_mcnemar_p_of_a_one_sided_split_has_its_closed_form():
    assert paired_sweeps.mcnemar_p(0, 5) == pytest.approx(2 / 2**5)  # 5 of 5 to one side, either side


def sweep(path, name, seeds_, rows, flags=""):
    command = f"python -m benchmarks.seeds --seeds {' '.join(map(str, seeds_))} --section {name}"
    write_sweep(path, name, command + (f" --train-flags '{flags}'" if flags else ""), rows)


@pytest.fixture
def document(tmp_path):
    """The README's sweep and its neighbour; a candidate swept twice beside the default; two that pair with none."""
    path = tmp_path / "RESULTS.md"
    write_sweep(path, "seeds", "python -m benchmarks.seeds --seeds 0", [sweep_row(0, 0.99, 0.95)])
    sweep(path, "seeds-next-to-readme", [0], [sweep_row(0, 0.5, 0.5)], "--noise-sigma 0.9")
    # Seeds 300-301: the candidate meets both goals at 300 only, the default at 301 only.
    sweep(path, "cand-300", [300, 301], [sweep_row(300, 0.99, 0.95), sweep_row(301, 0.9, 0.95)], "--rate-floor 0.08")
    sweep(path, "default-300", [300, 301], [sweep_row(300, 0.99, 0.85), sweep_row(301, 0.99, 0.95)])
    # Seeds 310-311, default first (spelled out, as an adopted step's check spells it): the default alone at both.
    spelled = f"--noise-sigma {NOISE}"
    sweep(path, "default-310", [310, 311], [sweep_row(310, 0.99, 0.95), sweep_row(311, 0.99, 0.95)], spelled)
    sweep(path, "cand-310", [310, 311], [sweep_row(310, 0.94, 0.95), sweep_row(311, 0.99, 0.89)], "--rate-floor 0.08")
    sweep(path, "other-310", [310, 311], [sweep_row(310, 0.5, 0.5), sweep_row(311, 0.5, 0.5)], "--noise-sigma 0.9")
    sweep(path, "default-320", [320], [sweep_row(320, 0.99, 0.95)])
    sweep(path, "cand-321", [321], [sweep_row(321, 0.99, 0.95)], "--noise-sigma 0.9")  # other seeds
    return path


def test_a_candidate_pairs_with_the_default_next_to_it_and_pools_over_sections(document):
    paired = paired_sweeps.pairs(document.read_text())
    met = {300: (True, False), 301: (False, True), 310: (False, True), 311: (False, True)}  # (candidate, default)
    assert paired == {"train: --rate-floor 0.08; fit: -": met}
    row = "| train: --rate-floor 0.08; fit: - | 300-301, 310-311 | 4 | 1 | 3 | 1 | 3 | 0.62 |"
    assert row in paired_sweeps.report(document.read_text())  # 1 against 3: 2 * 5/16


def test_a_missing_document_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(paired_sweeps, "RESULTS", tmp_path / "missing.md")
    with pytest.raises(SystemExit, match="benchmarks.paired_sweeps: .*missing.md"):
        paired_sweeps.main(["--no-report"])


def test_a_broken_section_is_a_one_line_error(tmp_path, monkeypatch):
    path = tmp_path / "RESULTS.md"
    monkeypatch.setattr(paired_sweeps, "RESULTS", path)
    write_section("cand", "t", "python -m benchmarks.seeds --seeds 1 --no-such-flag", "", path)
    with pytest.raises(SystemExit, match="benchmarks.paired_sweeps: section cand: its command no longer parses"):
        paired_sweeps.main(["--no-report"])
    path.unlink()
    sweep(path, "cand", [1], [sweep_row(1, 0.99, 0.95)], "--rate-floor 0.08")
    write_section("default", "t", "python -m benchmarks.seeds --seeds 1 --section default", "no table here", path)
    with pytest.raises(SystemExit, match="benchmarks.paired_sweeps: sections cand and default: no table"):
        paired_sweeps.main(["--no-report"])


def test_under_an_earlier_defaults_fit_the_candidates_beside_it_pair_with_it(tmp_path):
    path = tmp_path / "RESULTS.md"
    alone = "--fit-flags '--partial-pooling none'"
    command = "python -m benchmarks.seeds --seeds 300 --section {} {}"
    write_sweep(
        path, "cand", command.format("cand", f"--train-flags '--rate-floor 0.08' {alone}"), [sweep_row(300, 0.99, 0.95)]
    )
    write_sweep(path, "default-alone", command.format("default-alone", alone), [sweep_row(300, 0.99, 0.85)])
    assert paired_sweeps.pairs(path.read_text()) == {}  # neither ran today's fit
    paired = paired_sweeps.pairs(path.read_text(), ["--partial-pooling", "none"])
    assert paired == {"train: --rate-floor 0.08; fit: --partial-pooling none": {300: (True, False)}}
    with pytest.raises(ValueError, match="--fit-flags: fit_hawkes_process.py refuses them"):
        paired_sweeps.pairs(path.read_text(), ["--n-chains", "0"])
    earlier = ["--noise-sigma", "0.25"]  # under an earlier training too: the same pair, its flags spelled
    write_sweep(
        path,
        "cand-earlier",
        command.replace("300", "301").format(
            "cand-earlier", f"--train-flags '--rate-floor 0.08 --noise-sigma 0.25' {alone}"
        ),
        [sweep_row(301, 0.99, 0.85)],
    )
    write_sweep(
        path,
        "default-earlier",
        command.replace("300", "301").format("default-earlier", f"--train-flags '--noise-sigma 0.25' {alone}"),
        [sweep_row(301, 0.99, 0.95)],
    )
    paired = paired_sweeps.pairs(path.read_text(), ["--partial-pooling", "none"], earlier)
    assert paired == {"train: --rate-floor 0.08 --noise-sigma 0.25; fit: --partial-pooling none": {301: (False, True)}}
    assert paired_sweeps.title(["--partial-pooling", "none"], earlier) == (
        "Candidates against train_snn.py `--noise-sigma 0.25` with fit_hawkes_process.py `--partial-pooling none` "
        "on the seeds swept beside it"
    )
