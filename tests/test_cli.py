"""The report command's contract: one-line errors with exit 2, the permission message, output on loopback."""

import json
import os
import socket
import subprocess
import sys

import pytest

from pingmos.cli import EXIT_NO_PERMISSION, main

ROOT = os.geteuid() == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "127.0.0.1", "--interval", "0.05"],
        ["report", "127.0.0.1", "--interval", "61"],
        ["report", "127.0.0.1", "--interval", "fast"],
        ["report", "127.0.0.1", "--count", "0"],
        ["report", "127.0.0.1", "--max-ttl", "0"],
        ["report", "127.0.0.1", "--protocol", "sctp"],
        ["report", "127.0.0.1", "--window", "-3"],
        ["report", "127.0.0.1", "--format", "xml"],
        ["report"],
    ],
)
def test_bad_options_are_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err


def test_unresolvable_target_is_one_line_and_exit_2(monkeypatch, capsys):
    # No DNS query leaves the machine: the resolver is replaced by one that knows nothing.
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    assert main(["report", "no-such-host.lab.test"]) == 2
    err = capsys.readouterr().err
    assert err == "pingmos report: error: cannot resolve 'no-such-host.lab.test': Name or service not known\n"


@pytest.mark.skipif(not ROOT, reason="needs root to drop to another user")
def test_no_raw_socket_permission_says_what_to_do():
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
    probe = subprocess.run(as_nobody + [sys.executable, "-c", "import pingmos"], capture_output=True, cwd="/")
    if probe.returncode != 0:
        pytest.skip("this checkout is not readable by user nobody")
    proc = subprocess.run(
        as_nobody + [sys.executable, "-m", "pingmos", "report", "127.0.0.1", "--count", "1", "--no-dns"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert proc.returncode == EXIT_NO_PERMISSION, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "root" in proc.stderr and "setcap cap_net_raw+ep" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.skipif(not ROOT, reason="raw sockets need root")
@pytest.mark.parametrize("protocol", ["icmp", "udp"])
def test_report_on_loopback(protocol, capsys):
    assert main(["report", "127.0.0.1", "-c", "3", "-i", "0.1", "--protocol", protocol, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["destination_reached"] and doc["rounds"] == 3 and doc["protocol"] == protocol
    (hop,) = doc["hops"]
    assert (hop["ttl"], hop["address"], hop["sent"], hop["received"]) == (1, "127.0.0.1", 3, 3)
    assert 0.0 < hop["avg_ms"] < 50.0 and hop["mos"] > 4.0
