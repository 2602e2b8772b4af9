"""Argparse types that refuse nonsense with one line.

Each is an argparse ``type``: it turns the text of one argument into its value or raises
``argparse.ArgumentTypeError``, which argparse prints as one line after the usage (exit code
2), e.g. ``error: argument --n-chains: must be >= 2, got 1``. The scripts and the benchmarks
take their numbers through these, so a flag means the same wherever it appears.
"""

import argparse
import math


def number(kind, valid, meaning):
    """An argparse ``type``: ``kind(text)`` for which ``valid`` holds, else a one-line error.

    Parameters
    ----------
    kind : {int, float}
        Parser of the text; its name appears in the error (``invalid int value: 'ten'``).
    valid : callable
        ``value -> bool``.
    meaning : str
        What a valid value is, completing "must be ...", e.g. ``"a positive integer"``.

    Returns
    -------
    callable
        ``text -> value``.
    """

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {meaning}, got {text}")
        return value

    return parse


# A count beyond it overflows a C integer somewhere in numpy, torch or pycma (a traceback), and
# no machine holds that many trials, steps or draws.
MAX_COUNT = 2**31 - 1
# numpy's and pycma's seeds are 32-bit.
MAX_SEED = 2**32 - 1


def int_at_least(low):
    """An argparse ``type``: an integer from ``low`` to ``MAX_COUNT`` (``must be >= 4 ...``)."""
    return number(int, lambda value: low <= value <= MAX_COUNT, f">= {low} and <= {MAX_COUNT}")


positive_int = number(int, lambda value: 1 <= value <= MAX_COUNT, f"a positive integer, at most {MAX_COUNT}")
non_negative_int = number(int, lambda value: 0 <= value <= MAX_COUNT, f"a non-negative integer, at most {MAX_COUNT}")
seed_int = number(int, lambda value: 0 <= value <= MAX_SEED, f"an integer from 0 to {MAX_SEED}")
positive_float = number(float, lambda value: math.isfinite(value) and value > 0, "a positive number")
non_negative_float = number(float, lambda value: math.isfinite(value) and value >= 0, "a non-negative number")
finite_float = number(float, math.isfinite, "a finite number")
# joblib's n_jobs: a count of workers, or -1 (all cores), -2 (all but one)...; 0 means nothing.
worker_count = number(int, lambda value: value != 0, "a positive worker count or negative (-1: all cores)")
