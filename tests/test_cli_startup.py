"""`pingmos score` starts fast (issue 11): it loads neither the probing engine, nor the report's formats and
diagnosis, nor Qt or SQLite; and the report's --format choices are the formatters that exist."""

import subprocess
import sys

from pingmos import cli
from pingmos.report.formats import FORMATTERS

CHECK = """
import contextlib, io, sys
from pingmos import cli
with contextlib.redirect_stdout(io.StringIO()):
    assert cli.main(["score", "--latency", "80"]) == 0
print(" ".join(sorted(sys.modules)))
"""


def test_pingmos_score_loads_only_what_it_runs():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "pingmos.scoring.formulas.g107_jb" in loaded  # it did score, with the default model
    heavy = {
        "pingmos.engine.tracer",
        "pingmos.engine.network",
        "pingmos.engine.mode",
        "pingmos.report.formats",
        "pingmos.diagnosis",
        "importlib.metadata",  # entry points are looked up only for a model that is no built-in
        "pingmos.scoring.sandbox.parent",  # the worker process of a user's formula: not for a built-in
        "subprocess",
        "sqlite3",
        "PySide6",
        "scapy",
        "numpy",  # a summary window needs no array: stats, window and jitter import it on first use
    }
    assert not heavy & loaded


def test_lazy_numpy_becomes_numpy_on_first_use():
    import numpy

    from pingmos.lazy_numpy import LazyNumpy

    space = {}
    space["np"] = LazyNumpy(space)
    assert space["np"].arange(3).tolist() == [0, 1, 2]
    assert space["np"] is numpy  # later lookups in that module hit numpy itself


def test_report_format_choices_are_the_formatters():
    assert tuple(FORMATTERS) == cli.REPORT_FORMATS
