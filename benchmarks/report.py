"""The results document: every benchmark writes its own section of ``docs/RESULTS.md`` (and a
few write a short one into ``README.md``).

A section lies between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``; writing it again
replaces it and leaves the others alone, so each table is printed by the run that measured it
and never typed by hand. New sections are appended in the order they are first written, except
the contents (``benchmarks.contents``), which go before them all.
"""

import argparse
import contextlib
import functools
import io
import os
import platform
import re
import shlex
import sys
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np

from safe_files import atomic_write

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "RESULTS.md"
README = ROOT / "README.md"
SECTION_NAME = re.compile(r"[a-z0-9-]+")  # section keys: lower-case letters, digits and hyphens


def section_name(text):
    """An argparse ``type``: a section key (``SECTION_NAME``), refused before a run, not after it."""
    if not SECTION_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(f"use lower-case letters, digits and hyphens, got {text!r}")
    return text


SECTION = re.compile(r"<!-- begin ([a-z0-9-]+) -->\n## ([^\n]*)\n\n    ([^\n]*)\n(.*?)<!-- end \1 -->", re.S)
HEADER = (
    "# Results\n\nEvery table below was written by the benchmark named under its title "
    "(`make results` runs them all); nothing here is typed by hand.\n"
)


def machine_line():
    """One line on where and when a table was measured: CPU count, load, versions, date."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"Measured {date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores "
        f"(load {load:.2f} at the end), Python {platform.python_version()}, numpy {np.__version__}."
    )


def heading_anchor(title):
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


class Section(NamedTuple):
    """One section of the results document, as ``write_section`` wrote it."""

    title: str
    command: str  # the command line under the heading
    body: str  # the machine line and what the benchmark wrote


def read_sections(text):
    """Name -> ``Section`` of every section of a results document, in document order."""
    return {name: Section(title, command, body) for name, title, command, body in SECTION.findall(text)}


def write_section(name, title, command, body, path=RESULTS, first=False, stamp=None):
    """Replace (or append) section ``name`` of the results document.

    Parameters
    ----------
    name : str
        Section key, letters, digits and hyphens.
    title : str
        Its heading.
    command : str
        The command that regenerates it, shown under the heading.
    body : str
        Markdown: tables and notes.
    path : Path
        The document (``docs/RESULTS.md``).
    first : bool
        Where a new section goes: before every other section (a contents list) instead of after.
    stamp : str or None
        The line under the command; None: ``machine_line()``, where and when it was measured.
    """
    if not SECTION_NAME.fullmatch(name):
        raise ValueError(f"section name {name!r}: use lower-case letters, digits and hyphens")
    path = Path(path)
    text = path.read_text() if path.exists() else HEADER
    stamp = machine_line() if stamp is None else stamp
    section = f"<!-- begin {name} -->\n## {title}\n\n    {command}\n\n{stamp}\n\n{body.strip()}\n<!-- end {name} -->"
    pattern = re.compile(rf"<!-- begin {name} -->.*?<!-- end {name} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    elif first and "<!-- begin " in text:
        head, begin, rest = text.partition("<!-- begin ")
        text = f"{head}{section}\n\n{begin}{rest}"
    else:
        text = f"{text.rstrip()}\n\n{section}\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text)


class _Tee(io.TextIOBase):
    """Writes to the real stdout and keeps a copy."""

    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text):
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


@contextlib.contextmanager
def printed_section(name, title, command, enabled=True, path=RESULTS):
    """Print as usual inside the block; afterwards write what was printed as section ``name``.

    For benchmarks whose output is already the report (tables in markdown). With ``enabled``
    False nothing is written.
    """
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    if enabled:
        write_section(name, title, command, tee.copy.getvalue(), path)


def summarise_results(argv, summary, name, title, module, path=RESULTS, first=False, by_flags=False):
    """The ``main`` of a benchmark that reads the results document and writes one section of it.

    Parameters
    ----------
    argv : list of str or None
        Its command line: ``--no-report`` prints the section without writing it.
    summary : callable
        Document text -> the section's markdown; raises ValueError on a section it cannot read.
    name, title : str
        The section's key and heading.
    module : str
        The benchmark, e.g. ``"benchmarks.record"``: its command and its errors' prefix.
    path : Path
        The document, read and written.
    first : bool
        Write the section, when new, before every other (``write_section``).
    by_flags : bool
        Take ``--fit-flags`` and ``--train-flags`` too, the flags of the fit and the training whose
        runs to gather (an earlier default's, e.g. ``--partial-pooling none``), and ``--section``:
        then ``summary`` is called as ``summary(text, fit_flags, train_flags)`` and ``title`` as
        ``title(fit_flags, train_flags)``.
    """
    parser = argparse.ArgumentParser(prog=f"python -m {module}", allow_abbrev=False, description=title)
    parser.add_argument("--no-report", action="store_true", help="print only; do not write docs/RESULTS.md")
    if by_flags:
        parser.add_argument("--section", default=name, help="section of docs/RESULTS.md to write")
        parser.add_argument(
            "--fit-flags",
            type=shlex.split,
            default=[],
            help="gather the runs fitted with these fit_hawkes_process.py flags, quoted, instead of the fit's defaults",
        )
        parser.add_argument(
            "--train-flags",
            type=shlex.split,
            default=[],
            help="gather the runs trained with these train_snn.py flags, quoted, instead of the training's defaults",
        )
    args = parser.parse_args(argv)
    command = ["python", "-m", module]
    if by_flags:
        if not SECTION_NAME.fullmatch(args.section):
            parser.error("--section: use lower-case letters, digits and hyphens")
        command += ["--section", args.section] if args.section != name else []
        command += ["--fit-flags", shlex.join(args.fit_flags)] if args.fit_flags else []
        command += ["--train-flags", shlex.join(args.train_flags)] if args.train_flags else []
        name, title = args.section, title(args.fit_flags, args.train_flags)
        summary = functools.partial(summary, fit_flags=args.fit_flags, train_flags=args.train_flags)
    try:
        body = summary(Path(path).read_text())
    except (OSError, ValueError) as err:
        sys.exit(f"{module}: {err}")
    print(body)
    if not args.no_report:
        # It measures nothing: its numbers are the other sections', as each measured them.
        stamp = f"Gathered {date.today().isoformat()} from the sections of this document."
        write_section(name, title, shlex.join(command), body, path, first, stamp)
