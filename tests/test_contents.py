"""benchmarks/contents.py lists every section of the results document under the benchmark that wrote it."""

import importlib
import re
import shlex
from datetime import date

import pytest
from test_record import NOISE, sweep_row, write_sweep

from benchmarks import contents
from benchmarks.report import RESULTS, heading_anchor, read_sections, summarise_results, write_section


@pytest.fixture
def document(tmp_path):
    """A pipeline section, the default's sweep, a candidate's sweep on a bar, a sweep spelling the default."""
    path = tmp_path / "RESULTS.md"
    write_section("pipeline", "The default pipeline", "python -m benchmarks.pipeline", "a table", path)
    write_sweep(
        path, "seeds", "python -m benchmarks.seeds --seeds 0 1", [sweep_row(0, 0.98, 0.95), sweep_row(1, 0.9, 0.95)]
    )
    # 0.8996 prints as 0.900 in the row: the sweep's own count (0 of 1 at both goals) is the one kept.
    flags = "python -m benchmarks.seeds --seeds 5 --section seeds-candidate --train-flags '--rate-floor 0.08'"
    write_sweep(path, "seeds-candidate", flags + " --fit-flags '--refractory lif'", [sweep_row(5, 0.99, 0.8996)])
    spelled = (
        f"python -m benchmarks.seeds --seeds 210 211 212 --section seeds-210 --train-flags '--noise-sigma {NOISE}'"
    )
    write_sweep(path, "seeds-210", spelled, [sweep_row(seed, 0.97, 0.95) for seed in (210, 211, 212)])
    write_section("record", "The record", "python -m benchmarks.record", "a table", path)
    return path


def rename_titles(path, titles):
    """Give the sections written with the placeholder title ``t`` titles of their own, in order."""
    text = path.read_text()
    for title in titles:
        text = text.replace("## t\n", f"## {title}\n", 1)
    path.write_text(text)


def test_every_section_is_listed_under_its_benchmark_and_each_sweep_has_its_row(document):
    rename_titles(document, ["Sweep of the default", "Sweep of a candidate", "Sweep spelling the default"])
    text = contents.report(document.read_text())
    assert "- `benchmarks.pipeline`: Run the default pipeline as a user would" in text
    assert "[The default pipeline](#the-default-pipeline)." in text
    assert "- `benchmarks.record`: The default's record" in text and "[The record](#the-record)." in text
    assert "The 3 sweeps are in the table below." in text
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    today = re.escape(date.today().isoformat())
    assert re.fullmatch(
        rf"\| \[today's default\]\(#sweep-of-the-default\) \| 0-1 \| {today} \| 1 of 2 \| 1 of 2 \|", rows[0]
    )
    candidate = "[train `--rate-floor 0.08`; fit `--refractory lif`](#sweep-of-a-candidate) | 5 |"
    assert rows[1].startswith("| " + candidate) and rows[1].endswith("| 1 of 1 | 0 of 1 |")
    assert rows[2].startswith("| [today's default](#sweep-spelling-the-default) | 210-212 |")
    assert len(rows) == 3


def test_the_contents_go_first_and_stay_there(document):
    rename_titles(document, ["A", "B", "C"])
    write_section("contents", contents.TITLE, "python -m benchmarks.contents", "first", document, first=True)
    write_section("late", "Late", "python -m benchmarks.pipeline", "x", document)
    write_section("contents", contents.TITLE, "python -m benchmarks.contents", "again", document, first=True)
    assert list(read_sections(document.read_text())) == [
        "contents",
        "pipeline",
        "seeds",
        "seeds-candidate",
        "seeds-210",
        "record",
        "late",
    ]
    assert document.read_text().startswith("# Results\n")


def test_the_contents_leave_themselves_out(document):
    rename_titles(document, ["A", "B", "C"])
    before = contents.report(document.read_text())
    write_section("contents", contents.TITLE, "python -m benchmarks.contents", before, document, first=True)
    assert contents.report(document.read_text()) == before


def test_two_sections_with_one_title_are_refused(document):
    rename_titles(document, ["Same", "Same", "Other"])
    with pytest.raises(ValueError, match="share the title 'Same'"):
        contents.report(document.read_text())


def test_a_sweep_without_its_counts_is_named(document):
    rename_titles(document, ["A", "B", "C"])
    text = document.read_text().replace("both in 0 of 1", "both of them")
    with pytest.raises(ValueError, match="section seeds-candidate: no counts"):
        contents.report(text)


def test_a_summary_says_it_gathered_its_numbers_and_a_benchmark_where_it_measured_them(document):
    rename_titles(document, ["A", "B", "C"])
    summarise_results([], contents.report, contents.NAME, contents.TITLE, "benchmarks.contents", document, first=True)
    sections = read_sections(document.read_text())
    stamp = sections[contents.NAME].body.strip().split("\n\n", 1)[0]
    assert stamp == f"Gathered {date.today().isoformat()} from the sections of this document."
    assert sections["pipeline"].body.strip().startswith(f"Measured {date.today().isoformat()} on ")


def test_the_committed_contents_are_current():
    text = RESULTS.read_text()
    written = read_sections(text)[contents.NAME]
    _, body = written.body.split("\n\n", 1)  # the machine line, then what the benchmark printed
    assert body.strip() == contents.report(text).strip(), "stale: run `python -m benchmarks.contents`"
    assert text.index("<!-- begin contents -->") < text.index("<!-- begin pipeline -->")


def test_every_committed_heading_is_the_one_its_command_writes():
    """A benchmark that heads its section by its flags heads it the same way when rerun: a heading
    (and the anchor every link uses) cannot drift from the command under it."""
    checked = 0
    for name, section in read_sections(RESULTS.read_text()).items():
        argv = shlex.split(section.command)
        module = importlib.import_module(argv[2])
        if hasattr(module, "section_title"):
            assert module.section_title(module.parse_args(argv[3:])) == section.title, name
            checked += 1
    assert checked >= 100  # the seed sweeps, fit settings, comparisons, fresh test sets and subsets


def test_the_anchors_follow_the_headings(document):
    rename_titles(document, ["Every seed: of train_snn.py `--x 0.5`", "B", "C"])
    text = contents.report(document.read_text())
    assert f"(#{heading_anchor('Every seed: of train_snn.py `--x 0.5`')})" in text
    assert "(#every-seed-of-train_snnpy---x-05)" in text
