"""Tests of cli_types.py: each type parses good text and refuses nonsense with one line."""

import argparse
import math

import pytest

import cli_types


@pytest.mark.parametrize(
    "parse, text, value",
    [
        (cli_types.positive_int, "3", 3),
        (cli_types.non_negative_int, "0", 0),
        (cli_types.seed_int, str(2**32 - 1), 2**32 - 1),
        (cli_types.int_at_least(4), "4", 4),
        (cli_types.positive_float, "1e-3", 0.001),
        (cli_types.non_negative_float, "0", 0.0),
        (cli_types.finite_float, "-2.5", -2.5),
        (cli_types.worker_count, "-1", -1),
    ],
)
def test_good_text_gives_its_value(parse, text, value):
    assert parse(text) == value and type(parse(text)) is type(value)


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (cli_types.positive_int, "0", "must be a positive integer, at most 2147483647, got 0"),
        (cli_types.positive_int, "ten", "invalid int value: 'ten'"),
        (cli_types.positive_int, "1.5", "invalid int value: '1.5'"),
        (cli_types.non_negative_int, "-1", "must be a non-negative integer, at most 2147483647, got -1"),
        (cli_types.positive_int, str(10**30), f"must be a positive integer, at most 2147483647, got {10**30}"),
        (cli_types.seed_int, str(2**32), f"must be an integer from 0 to 4294967295, got {2**32}"),
        (cli_types.int_at_least(2), "1", "must be >= 2 and <= 2147483647, got 1"),
        (cli_types.positive_float, "nan", "must be a positive number, got nan"),
        (cli_types.positive_float, "-0.1", "must be a positive number, got -0.1"),
        (cli_types.non_negative_float, "inf", "must be a non-negative number, got inf"),
        (cli_types.finite_float, "x", "invalid float value: 'x'"),
        (cli_types.worker_count, "0", "must be a positive worker count or negative (-1: all cores), got 0"),
        (cli_types.number(float, lambda v: 0 <= v <= 1, "in [0, 1]"), "2", "must be in [0, 1], got 2"),
    ],
)
def test_nonsense_is_refused_with_one_line(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parse(text)
    assert str(info.value) == message and "\n" not in message


def test_argparse_prints_the_refusal_as_one_line(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=cli_types.positive_float, default=math.pi)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--rate", "0"])
    assert info.value.code == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .splitlines()[-1]
        .endswith("error: argument --rate: must be a positive number, got 0")
    )
