"""scripts/lab.py, the lab by hand: Ctrl-C (SIGINT) tears it down even when it was started where SIGINT is
ignored (a shell script's background job inherits SIG_IGN for SIGINT), so `kill -INT` ends it as Ctrl-C would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netlab import lab_unavailable_reason

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout


def test_sigint_tears_the_lab_down_even_when_inherited_as_ignored():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "lab.py"), "--routers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as `cmd &` in a script
    )
    try:
        first = proc.stdout.readline()  # "lab NAME: client ..., target ..."
        assert first.startswith("lab "), first + proc.stderr.read()
        name = first.split()[1].rstrip(":")
        for line in proc.stdout:
            if line.startswith("Ctrl-C tears the lab down"):
                break
        assert name in _namespaces()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert name not in _namespaces()
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM tears it down either way
            proc.wait(timeout=60)


def _lab_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("lab_script", REPO / "scripts" / "lab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_link_impairs_one_link_one_way_over_the_base():
    lab = _lab_script()
    args = lab.parse_args(["--routers", "4", "--delay", "1", "--link", "3:loss=10,burst=200,dir=fwd"])
    (i, items), base = args.link[0], lab.LinkSpec.symmetric(1.0)
    spec = lab.link_spec(items, base)
    assert i == 3
    assert (spec.fwd.delay_ms, spec.fwd.loss_pct, spec.fwd.burst_ms) == (1.0, 10.0, 200.0)
    assert spec.rev == base.rev  # the other direction keeps the base link's values


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--routers", "4", "--link", "5:loss=1"], "link 5 does not exist (0..4"),
        (["--link", "3:los=1"], "expected I:key=value"),
        (["--link", "3"], "expected I:key=value"),
    ],
)
def test_a_bad_link_is_refused_in_one_line(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        _lab_script().parse_args(argv)
    assert exc.value.code == 2 and words in capsys.readouterr().err


def test_a_link_of_its_own_reaches_the_lab():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    argv = [sys.executable, str(REPO / "scripts" / "lab.py"), "--routers", "2", "--delay", "1", "--link", "1:delay=20"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        for line in proc.stdout:
            if line.startswith("configured round trip"):
                break
        # Links 0 and 2 add 1 ms each way, link 1 20 ms: 2 * (1 + 20 + 1).
        assert line.strip() == "configured round trip to the target: 44 ms", line + proc.stderr.read()
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0
