"""Least privilege: who pingmos becomes after opening its sockets, and who runs what it does not trust."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pingmos import privileges
from pingmos.privileges import Account, PrivilegeError, invoking_account

ROOT = Path(__file__).resolve().parents[1]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_the_invoking_user_comes_from_the_configured_user_then_sudo_then_pkexec():
    assert invoking_account({}) is None
    assert invoking_account({"SUDO_UID": "65534", "SUDO_GID": "65534"}).name == "nobody"
    assert invoking_account({"PKEXEC_UID": "65534"}).uid == 65534
    assert invoking_account({"SUDO_UID": "0"}) is None  # root asked for root: nobody to give back to
    assert invoking_account({"PINGMOS_USER": "nobody", "SUDO_UID": "0"}).uid == 65534
    with pytest.raises(PrivilegeError, match="does not exist"):
        invoking_account({"PINGMOS_USER": "no-such-user-here"})
    with pytest.raises(PrivilegeError, match="names root"):
        invoking_account({"PINGMOS_USER": "root"})


@as_root
def test_as_root_with_nobody_invoking_untrusted_code_runs_as_nobody():
    assert privileges.untrusted_account({}).name == "nobody"
    assert privileges.untrusted_account({"SUDO_UID": "65534"}).uid == 65534
    options = privileges.child_options({})
    assert options["user"] == 65534 and options["extra_groups"] == [] and options["env"]["HOME"] == "/nonexistent"


def test_reachability_is_judged_folder_by_folder(tmp_path):
    nobody = Account("nobody", 65534, 65534, "/nonexistent")
    closed = tmp_path / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0o700)
    assert privileges._can_reach("/usr", nobody)
    assert privileges._can_reach(str(closed / "inner"), nobody) == (os.stat(closed).st_uid == 65534)


def _reachable_python() -> str | None:
    """A Python 3.11 that the user nobody can run, for running pingmos as root-then-nobody (this checkout's own
    interpreter may live under /root)."""
    nobody = Account("nobody", 65534, 65534, "/nonexistent")
    if privileges._can_reach(os.path.dirname(os.__file__), nobody):
        return sys.executable
    system = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    return system


def _report(python: str, out: Path, extra_env: dict, extra_args=()) -> subprocess.CompletedProcess:
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *site]), **extra_env}
    args = ["report", "127.0.0.1", "--count", "2", "--interval", "0.1", "--no-dns", "--record", str(out),
            *extra_args]  # fmt: skip
    return subprocess.run([python, "-m", "pingmos", *args], capture_output=True, text=True, timeout=120, env=env,
                          cwd=out.parent)  # fmt: skip


@as_root
def test_sudo_pingmos_report_opens_its_sockets_then_becomes_the_invoking_user(shared_dir):
    python = _reachable_python()
    if python is None:
        pytest.skip("no Python here that the user nobody may run")
    out = shared_dir / "run.pmsession"
    # The formula reports its own ids and the report process's (its parent): uid, CapEff from /proc.
    (shared_dir / "scoring").mkdir(mode=0o777)
    (shared_dir / "scoring").chmod(0o777)
    seen = shared_dir / "seen"
    (shared_dir / "scoring" / "who.py").write_text(
        '"""Who."""\nimport os\n\ndef ids(pid):\n    st = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))\n'
        '    return st["Uid"].split()[0] + " " + st["CapEff"].split()[0]\n\ndef score_hop(hop):\n'
        f"    open({str(seen)!r}, 'w').write(ids('self') + ' ' + ids(os.getppid()))\n    return 80.0, 4.0\n"
    )
    rules = shared_dir / "rules.toml"
    marker = shared_dir / "alert"
    command = f"id -u > {marker}; grep CapEff /proc/self/status >> {marker}"
    rule = '[[rules]]\nmetric = "latency_ms"\nabove = 0\nmin_samples = 1\n'
    rules.write_text(rule + f"command = \"/bin/sh -c '{command}'\"\n")
    env = {"SUDO_UID": "65534", "SUDO_GID": "65534", "SUDO_USER": "nobody", "PINGMOS_CONFIG_DIR": str(shared_dir)}
    r = _report(python, out, env, ["--model", "who", "--alerts", str(rules), "--count", "12"])
    assert r.returncode == 0, r.stderr
    assert "127.0.0.1" in r.stdout
    st = out.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)  # written after the drop, by the invoking user
    no_caps = "0" * 16
    assert seen.read_text() == f"65534 {no_caps} 65534 {no_caps}"  # the formula worker, and the report itself
    assert marker.read_text().split() == ["65534", "CapEff:", no_caps], r.stderr  # the alert command
    # Re-scoring the saved session (no sockets at all): the same, from the start.
    seen.unlink()
    session_env = {**os.environ, **env, "PYTHONPATH": _env_for(python, {})["PYTHONPATH"]}
    argv = [python, "-m", "pingmos", "report", "--session", str(out), "--model", "who"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=session_env, cwd="/")
    assert r.returncode == 0, r.stderr
    assert seen.read_text() == f"65534 {no_caps} 65534 {no_caps}"


@as_root
def test_a_user_who_could_not_run_pingmos_is_refused_in_one_line(shared_dir):
    nobody = Account("nobody", 65534, 65534, "/nonexistent")
    if privileges._can_reach(os.path.dirname(os.__file__), nobody):
        pytest.skip("this interpreter is within nobody's reach")
    out = shared_dir / "run.pmsession"
    r = _report(sys.executable, out, {"SUDO_UID": "65534", "SUDO_GID": "65534"})
    assert r.returncode == 77, r
    assert r.stderr.count("\n") == 1 and "cannot run as nobody" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_what_pingmos_writes_is_private(tmp_path):
    """Folders 0700, files 0600: the formula copy (and its folders) made by the command, a session it records."""
    env = {**os.environ, "PINGMOS_CONFIG_DIR": str(tmp_path / "config" / "pingmos")}
    r = subprocess.run([sys.executable, "-m", "pingmos", "models", "--copy", "pingplotter"], capture_output=True,
                       text=True, timeout=60, env=env, cwd=ROOT)  # fmt: skip
    assert r.returncode == 0, r.stderr
    copy = Path(r.stdout.strip())
    assert oct(copy.stat().st_mode & 0o777) == oct(0o600)
    for folder in (copy.parent, tmp_path / "config" / "pingmos", tmp_path / "config"):
        assert oct(folder.stat().st_mode & 0o777) == oct(0o700), folder


def test_the_private_umask_is_not_passed_on_to_alert_commands(tmp_path):
    from pingmos.alerts import run_command

    old = os.umask(0o022)
    try:
        privileges.use_private_umask()
        result = run_command(["/bin/sh", "-c", "umask"], {}, timeout_s=10.0)
    finally:
        os.umask(old)
        privileges._original_umask = None
    assert result.output.strip() == "0022"


@as_root
def test_sudo_pingmos_score_becomes_the_invoking_user_first(tmp_path):
    python = _reachable_python()
    if python is None:
        pytest.skip("no Python here that the user nobody may run")
    config = Path(tempfile.mkdtemp(prefix="pingmos-test-"))
    try:
        config.chmod(0o777)
        (config / "scoring").mkdir(mode=0o777)
        (config / "scoring").chmod(0o777)
        (config / "scoring" / "who.py").write_text('"""Who."""\nimport os\n\ndef score_hop(hop):\n'
                                                 "    return 50.0, 3.0, {'uid': os.getuid(), 'ppid_uid': "
                                                 "os.stat(f'/proc/{os.getppid()}').st_uid}\n")  # fmt: skip
        site = [p for p in sys.path if p.endswith("site-packages")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *site]), "PINGMOS_CONFIG_DIR": str(config),
               "SUDO_UID": "65534", "SUDO_GID": "65534"}  # fmt: skip
        r = subprocess.run([python, "-m", "pingmos", "score", "--model", "who", "--latency", "20", "--format", "json"],
                           capture_output=True, text=True, timeout=120, env=env, cwd="/")  # fmt: skip
    finally:
        shutil.rmtree(config, ignore_errors=True)
    assert r.returncode == 0, r.stderr
    assert '"uid": 65534' in r.stdout.replace(".0", "") and '"ppid_uid": 65534' in r.stdout.replace(".0", "")


# -- the window and the monitor: a helper forked as root keeps the raw sockets, everything else drops ----------

NOBODY_ENV = {"SUDO_UID": "65534", "SUDO_GID": "65534", "SUDO_USER": "nobody"}


def _env_for(python: str, extra: dict) -> dict:
    site = [p for p in sys.path if p.endswith("site-packages")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *site]), **extra}


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()[0] if value.split() else ""
    return fields


def _descendants(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _raw_socket_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/raw", "/proc/net/raw6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                inodes.add(line.split()[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                out.add(target[8:-1])
    return out


def _assert_dropped_keeping_raw_sockets_in_the_helper(pid: int) -> int:
    """Every process of the tree under ``pid`` is uid/gid 65534 with no capability and not dumpable (its /proc
    entries stay root's: the user can neither ptrace it nor take its sockets); one child holds raw sockets and
    ``pid`` none. Returns the helper's pid."""
    raw = _raw_socket_inodes()
    helpers = []
    for p in _descendants(pid):
        st = _status(p)
        assert (st["Uid"], st["Gid"], st["CapEff"], st["CapPrm"]) == ("65534", "65534", "0" * 16, "0" * 16), (p, st)
        if _socket_inodes(p) & raw:
            helpers.append(p)
    assert len(helpers) == 1 and helpers[0] != pid, helpers
    for p in (pid, helpers[0]):
        assert os.stat(f"/proc/{p}/fd").st_uid == 0, "a dropped process must stay non-dumpable"
    return helpers[0]


SHARED_HELPER_SCRIPT = r"""
import os, socket, threading
from pingmos.engine.mode import choose_mode
from pingmos.engine.shared_helper import start_and_drop
from pingmos.engine.tracer import Tracer, TraceSettings

account, helper = start_and_drop(probes_per_s=5000)  # the monitor passes its max_probes_per_s
status = dict(l.split(":", 1) for l in open("/proc/self/status"))
print("me", status["Uid"].split()[0], status["CapEff"].split()[0])
try:
    os.listdir(f"/proc/{helper.pid}/fd")
    print("helper fds readable")
except PermissionError:
    print("helper fds private")
results = []

def trace(proto, addr):
    out = []
    mode = choose_mode("auto", socket.AF_INET6 if ":" in addr else socket.AF_INET, proto)
    net = mode.open()
    settings = TraceSettings(address=addr, protocol=proto, interval_s=0.1, max_ttl=2, rounds=10,
                             port=None if proto == "icmp" else 33434)
    Tracer(settings, net, out.append).run()
    net.close()
    results.append((proto, mode.description, sum(s.reply is not None for s in out), len(out)))

jobs = [("icmp", "127.0.0.1"), ("icmp", "127.0.0.1"), ("udp", "127.0.0.1"), ("tcp", "127.0.0.1")]
threads = [threading.Thread(target=trace, args=job) for job in jobs]
[t.start() for t in threads]
[t.join() for t in threads]
for result in sorted(results):
    print(*result)

print("budget", helper.probes_per_s)
"""


@as_root
def test_a_helper_forked_before_the_drop_serves_concurrent_traces_of_the_unprivileged_process():
    python = _reachable_python()
    if python is None:
        pytest.skip("no Python here that the user nobody may run")
    r = subprocess.run([python, "-c", SHARED_HELPER_SCRIPT], capture_output=True, text=True, timeout=120,
                       env=_env_for(python, NOBODY_ENV), cwd="/")  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "me 65534 " + "0" * 16 and lines[1] == "helper fds private", r.stdout
    # Two ICMP traces to one address at once each get their own 10 answers; UDP and TCP too.
    assert lines[-1] == "budget 5000.0", r.stdout  # the helper keeps the budget it was given (not its own 1000/s)
    for line, proto in zip(lines[2:-1], ("icmp", "icmp", "tcp", "udp"), strict=True):
        assert line.startswith(proto + " raw sockets in a helper process") and line.endswith(" 10 10"), r.stdout


@as_root
def test_sudo_pingmos_window_drops_to_the_invoking_user_and_probes_through_its_helper(shared_dir):
    python = _reachable_python()
    if python is None:
        pytest.skip("no Python here that the user nobody may run")
    config = shared_dir / "config"
    xdg = shared_dir / "xdg"  # where Qt keeps the window's settings (QSettings, INI): a folder nobody may write
    xdg.mkdir(mode=0o777)
    xdg.chmod(0o777)
    env = _env_for(python, {**NOBODY_ENV, "QT_QPA_PLATFORM": "offscreen", "PINGMOS_CONFIG_DIR": str(config),
                            "XDG_CONFIG_HOME": str(xdg)})  # fmt: skip
    proc = subprocess.Popen([python, "-m", "pingmos", "127.0.0.1"], env=env, cwd="/", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        helper = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the trace runs: the helper has written its 'sent' and 'reply' lines
            time.sleep(0.5)
            assert proc.poll() is None, proc.communicate()
            children = _descendants(proc.pid)[1:]
            if children and all(_status(p)["Uid"] == "65534" for p in children):
                io = {}
                for p in children:
                    with contextlib.suppress(OSError):
                        io[p] = dict(line.split(": ") for line in Path(f"/proc/{p}/io").read_text().splitlines())
                if any(int(v["wchar"]) > 2000 for v in io.values()):
                    helper = _assert_dropped_keeping_raw_sockets_in_the_helper(proc.pid)
                    break
        assert helper is not None, "the window's trace never sent through the helper"
    finally:
        proc.send_signal(signal.SIGINT)  # closes the window as its close button would
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err  # 128 + SIGINT, as every command (the README's exit table)
    written = [*xdg.rglob("*"), *config.rglob("*")]
    assert any(p.name.endswith(".ini") for p in written), written  # the settings saved on closing
    assert all(p.stat().st_uid == 65534 for p in written), written  # the user's own files


@as_root
def test_pingmos_monitor_started_as_root_becomes_its_configured_user(shared_dir):
    python = _reachable_python()
    if python is None:
        pytest.skip("no Python here that the user nobody may run")
    data = shared_dir / "data"
    config_dir = shared_dir / "config"
    (config_dir / "scoring").mkdir(parents=True)
    for folder in (config_dir, config_dir / "scoring"):
        folder.chmod(0o777)
    (config_dir / "scoring" / "who.py").write_text(
        '"""Who scores: writes its uid beside the data."""\nimport os\n\ndef score_hop(hop):\n'
        f"    open({str(shared_dir / 'formula-uid')!r}, 'w').write(str(os.getuid()))\n    return 80.0, 4.0\n"
    )
    marker = shared_dir / "alert-uid"
    agent = shared_dir / "agent.toml"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    agent.write_text(
        f'[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{data}"\nuser = "nobody"\nrefresh_s = 0.5\n'
        f'model = "who"\n\n[[alert]]\nmetric = "latency_ms"\nabove = 0\nwindow_s = 5\nmin_samples = 1\n'
        f"command = \"/bin/sh -c 'id -u > {marker}'\"\n\n"
        '[[target]]\nhost = "127.0.0.1"\nprotocol = "tcp"\nport = 9\ninterval_s = 0.2\nmax_ttl = 2\n'
    )
    env = _env_for(python, {"PINGMOS_CONFIG_DIR": str(config_dir)})
    proc = subprocess.Popen([python, "-m", "pingmos", "monitor", str(agent), "--no-dns"], env=env, cwd="/",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (marker.exists() and (shared_dir / "formula-uid").exists()):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.5)
        _assert_dropped_keeping_raw_sockets_in_the_helper(proc.pid)
    finally:
        # As systemctl stop does (KillMode=control-group): SIGTERM to the agent and to its helper at once. The
        # helper must outlive the agent's shutdown (it ends when its pipe closes), or the traces it served end on
        # "the probe helper died" while the agent is still writing their last samples.
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err  # SIGTERM: the agent stopped in order
    assert "has exited" not in err and "probing process" not in err, err
    assert "running as nobody" in err, err
    assert marker.read_text().strip() == "65534", err  # the alert command
    assert (shared_dir / "formula-uid").read_text() == "65534"  # the formula worker
    sessions = list(data.rglob("*.pingmos"))
    assert sessions and all(p.stat().st_uid == 65534 for p in sessions), sessions


def test_a_live_report_as_root_for_someone_drops_before_looking_up_the_target(monkeypatch):
    """The order that matters (mtr's with mtr-packet): fork the socket helper and become the user first, then
    load the formula, resolve the name, probe. Plain root with nobody to become goes on as before."""
    from pingmos import cli
    from pingmos import engine as engine_api
    from pingmos.run import TraceRun

    calls = []

    def fake_start_and_drop(*_a, **_k):
        calls.append("drop")
        return None, None

    def fake_resolve(self):
        calls.append("resolve")
        raise SystemExit(0)  # far enough: what comes after is the ordinary report

    monkeypatch.setattr(engine_api, "start_and_drop", fake_start_and_drop, raising=False)
    monkeypatch.setattr(TraceRun, "resolve", fake_resolve)
    with pytest.raises(SystemExit):
        cli.main(["report", "127.0.0.1", "--count", "1", "--no-dns"])
    assert calls == ["drop", "resolve"]
