"""The agent as the shipped systemd unit runs it: an ordinary user with no capabilities at all, ICMP through ping
sockets (allowed by net.ipv4.ping_group_range, as resources/systemd/99-pingmos-ping.conf sets it) and UDP through
UDP sockets. Run in a network namespace of its own (loopback only), so the sysctl changes nothing outside."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_privileges import _env_for, _reachable_python, as_root

NOBODY = 65534


def _metrics(pid: int, port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=10).read().decode())"
    r = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=30)  # fmt: skip
    return r.stdout if r.returncode == 0 else ""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def _ppid(stat: Path) -> int | None:
    text = _read(stat).decode(errors="replace")
    fields = text.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 else None


def _value(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{([^}}]*)\}} (\S+)$", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            return float(m.group(2))
    return None


@as_root
def test_the_agent_runs_unprivileged_as_the_unit_does(shared_dir):  # noqa: F811 - the fixture
    python = _reachable_python()
    tools = [shutil.which(t) for t in ("unshare", "nsenter", "setpriv", "ip")]
    if python is None or None in tools:
        pytest.skip("needs a Python the user nobody may run, and unshare, nsenter, setpriv, ip (util-linux, iproute2)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = shared_dir / "data"
    cfg = shared_dir / "agent.toml"
    cfg.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{data}"\nrefresh_s = 0.5\ninterval_s = 0.2\n'
        'max_ttl = 2\nprobe_mode = "auto"\n'
        '[[target]]\nhost = "127.0.0.1"\nname = "icmp"\n'
        '[[target]]\nhost = "127.0.0.1"\nname = "udp"\nprotocol = "udp"\nport = 33434\n'
    )
    # The unit's confinement in setpriv's words: User=nobody, CapabilityBoundingSet= (empty), NoNewPrivileges.
    inner = (
        f"ip link set lo up && echo '{NOBODY} {NOBODY}' > /proc/sys/net/ipv4/ping_group_range && "
        f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --no-new-privs --inh-caps=-all "
        f"--bounding-set=-all -- {python} -m pingmos monitor {cfg} --no-dns"
    )
    proc = subprocess.Popen(["unshare", "--net", "--", "/bin/sh", "-c", inner], env=_env_for(python, {}),
                            cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            text = _metrics(proc.pid, port)
            got = [_value(text, "pingmos_hop_probes_received_total", target=t, hop="1") for t in ("icmp", "udp")]
            # The window series (destination reached, MOS) come from a snapshot the agent recomputes once a second,
            # so they can lag the counters: wait for both (checking only the counters failed about once in five).
            windows = [_value(text, "pingmos_target_destination_reached", target=t) for t in ("icmp", "udp")]
            # A call's MOS once the window holds the minimum of samples (10 rounds, 2 s here).
            scored = [_value(text, "pingmos_target_mos", target=t) is not None for t in ("icmp", "udp")]
            if all(g and g >= 5 for g in got) and windows == [1.0, 1.0] and all(scored):
                break
            time.sleep(0.5)
        assert all(g and g >= 5 for g in got), text[-2000:]
        lines = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        status = dict(line.split(":", 1) for line in lines)
        assert status["Uid"].split()[0] == str(NOBODY)
        assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0
        assert status["NoNewPrivs"].strip() == "1"
        # Its probing process (monitor.prober) is the same user with the same nothing: it gained no right.
        probers = [
            p.parent
            for p in Path("/proc").glob("[0-9]*/stat")
            if _ppid(p) == proc.pid and b"pingmos.monitor.prober" in _read(p.parent / "cmdline")
        ]
        assert len(probers) == 1, probers
        child = dict(line.split(":", 1) for line in (probers[0] / "status").read_text().splitlines())
        assert child["Uid"].split() == [str(NOBODY)] * 4 and child["Gid"].split()[0] == str(NOBODY)
        assert int(child["CapEff"], 16) == int(child["CapPrm"], 16) == int(child["CapBnd"], 16) == 0
        assert child["NoNewPrivs"].strip() == "1"
        # Both reached the destination (loopback): its MOS is served.
        for t in ("icmp", "udp"):
            assert _value(text, "pingmos_target_destination_reached", target=t) == 1.0
            assert _value(text, "pingmos_target_mos", target=t) is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err  # SIGTERM: stopped in order, 128 + 15 as every command
    assert "icmp: probing via unprivileged ICMP" in err and "udp: probing via" in err, err
    assert not [line for line in err.splitlines() if "probing via" in line and "raw" in line], err
    sessions = sorted(p.parent.name for p in data.rglob("*.pingmos"))
    assert sessions == ["icmp", "udp"] and all(p.stat().st_uid == NOBODY for p in data.rglob("*.pingmos"))
