"""The documents' links: every local file they name exists, and every #anchor is a heading there.

The benchmarks rewrite section titles from their flags, so an anchor written by hand goes stale
when a default or a section changes; this catches it before a reader does.
"""

import re
from pathlib import Path

import pytest

from benchmarks.report import heading_anchor

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path):
    return {heading_anchor(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


def local_links(document):
    for target in LINK.findall(document.read_text()):
        if "://" in target:
            continue
        file_part, _, anchor = target.partition("#")
        yield (document.parent / file_part).resolve() if file_part else document, anchor


def test_heading_anchor_follows_github():
    title = "Every seed: accuracy of the pipeline with train_snn.py `--min-weight 0.5 --noise-sigma 0.2`"
    expected = "every-seed-accuracy-of-the-pipeline-with-train_snnpy---min-weight-05---noise-sigma-02"
    assert heading_anchor(title) == expected


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_local_link_resolves(document):
    broken = []
    for target, anchor in local_links(document):
        if not target.exists():
            broken.append(f"{target.relative_to(ROOT)} is missing")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{target.relative_to(ROOT)}#{anchor} is no heading")
    assert not broken, broken
