"""The probe helper: its request validation (pure), and the process itself: malformed requests are refused,
real probes answered, and it ends with its input or its parent."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pingmos.engine.mode import raw_sockets_allowed
from pingmos.engine.packets import ReplyKind, parse_reply
from pingmos.engine.probe_helper import Invalid, TokenBucket, parse_request

GOOD_ICMP = "7 probe proto=icmp dst=127.0.0.1 ttl=5 seq=100 ident=4242 flow=0"


def test_valid_requests_are_parsed_into_typed_fields():
    assert parse_request(GOOD_ICMP) == (
        "7",
        {"proto": "icmp", "dst": "127.0.0.1", "ttl": 5, "seq": 100, "ident": 4242, "flow": 0},
    )
    token, f = parse_request("123 probe proto=tcp dst=2001:db8:0::2 ttl=255 seq=65535 sport=40000 dport=80")
    assert token == "123" and f["dst"] == "2001:db8::2" and f["dport"] == 80 and f["ttl"] == 255
    assert parse_request("1 probe dport=9 sport=1024 seq=0 ttl=1 dst=::1 proto=udp")[1]["proto"] == "udp"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "7",
        "hello",
        "x probe proto=icmp dst=127.0.0.1 ttl=5 seq=1 ident=1 flow=0",  # token not a number
        "12345678901 probe proto=icmp dst=127.0.0.1 ttl=5 seq=1 ident=1 flow=0",  # token too long
        "7 open /etc/shadow",  # only probes are accepted
        "7 exec sh -c id",
        "7 probe proto=raw dst=127.0.0.1 ttl=5 seq=1 ident=1 flow=0",
        "7 probe proto=icmp dst=127.0.0.1 ttl=5 seq=1 ident=1",  # missing field
        "7 probe proto=icmp dst=127.0.0.1 ttl=5 seq=1 ident=1 flow=0 payload=41414141",  # extra field
        "7 probe proto=icmp dst=127.0.0.1 ttl=5 ttl=6 seq=1 ident=1 flow=0",  # repeated field
        "7 probe proto=icmp dst=127.0.0.1 ttl=0 seq=1 ident=1 flow=0",
        "7 probe proto=icmp dst=127.0.0.1 ttl=256 seq=1 ident=1 flow=0",
        "7 probe proto=icmp dst=127.0.0.1 ttl=-1 seq=1 ident=1 flow=0",
        "7 probe proto=icmp dst=127.0.0.1 ttl=5 seq=65536 ident=1 flow=0",
        "7 probe proto=icmp dst=127.0.0.1 ttl=٣ seq=1 ident=1 flow=0",  # a non-ASCII digit
        "7 probe proto=udp dst=127.0.0.1 ttl=5 seq=1 sport=0 dport=80",
        "7 probe proto=udp dst=127.0.0.1 ttl=5 seq=1 sport=53 dport=53",  # a system service's source port
        "7 probe proto=icmp dst=example.org ttl=5 seq=1 ident=1 flow=0",  # names are not resolved here
        "7 probe proto=icmp dst=224.0.0.1 ttl=5 seq=1 ident=1 flow=0",  # multicast
        "7 probe proto=icmp dst=255.255.255.255 ttl=5 seq=1 ident=1 flow=0",  # broadcast
        "7 probe proto=icmp dst=0.0.0.0 ttl=5 seq=1 ident=1 flow=0",
        "7 probe proto=icmp dst=ff02::1 ttl=5 seq=1 ident=1 flow=0",
        "7 probe proto=icmp  dst=127.0.0.1 ttl=5 seq=1 ident=1 flow=0",  # an empty field
        "7 probe proto=icmp dst=127.0.0.1 ttl=5 seq=1 ident=1 flow=0 " + "x" * 600,
    ],
)
def test_malformed_requests_are_refused(line):
    with pytest.raises(Invalid):
        parse_request(line)


def test_token_bucket_limits_the_probe_rate():
    bucket = TokenBucket(10.0, 5.0, now=0.0)
    assert sum(bucket.take(0.0) for _ in range(20)) == 5
    assert sum(bucket.take(1.0) for _ in range(20)) == 5  # refilled to the burst, not beyond
    assert not bucket.take(1.0) and bucket.take(1.1)


needs_raw = pytest.mark.skipif(not raw_sockets_allowed(), reason="the helper needs raw sockets (root/cap_net_raw)")
HELPER = [sys.executable, "-m", "pingmos.engine.probe_helper"]


def _start(**kw):
    proc = subprocess.Popen(HELPER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, **kw)
    assert proc.stdout.readline().strip() == "ready version=1"
    return proc


def _ask(proc, line, want):
    """Send one line; return the answers (skipping replies unless wanted) until one of kind ``want``."""
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    seen = []
    while True:
        answer = proc.stdout.readline().strip()
        assert answer, f"helper ended; saw {seen}"
        seen.append(answer)
        if answer.split(" ")[1] == want:
            return answer, seen


def _gone(pid, within_s=10.0):
    """True once ``pid`` has ended: no such process, or a zombie (it has exited; reaping it is its new parent's
    business, and PID 1 in a container may take its time). Generous bound: CI shares two loaded cores."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


@needs_raw
def test_the_helper_refuses_bad_lines_and_keeps_serving():
    proc = _start()
    try:
        answer, _ = _ask(proc, "7 exec /bin/sh", "invalid")
        assert answer.startswith("7 invalid unknown request 'exec'")
        answer, _ = _ask(proc, "garbage", "invalid")
        assert answer.startswith("0 invalid")
        answer, _ = _ask(proc, "8 probe proto=icmp dst=127.0.0.1 ttl=5 seq=1 ident=1 flow=0 x=1", "invalid")
        assert answer.startswith("8 invalid")
        # Still alive and serving: a real probe to loopback is sent and its echo reply passed on.
        sent, seen = _ask(proc, "9 probe proto=icmp dst=127.0.0.1 ttl=5 seq=77 ident=4242 flow=0", "sent")
        assert float(sent.split("at=")[1]) == pytest.approx(time.time(), abs=5)
        _, more = _ask(proc, "10 probe proto=tcp dst=127.0.0.1 ttl=5 seq=78 sport=40999 dport=9", "sent")
        lines = [line for line in seen + more if line.split(" ")[1] == "reply"]
        while len(lines) < 2:
            lines.append(proc.stdout.readline().strip())
        replies = {}
        for line in lines:
            token, kind, rest = line.split(" ", 2)
            assert kind == "reply"
            replies[token] = parse_reply(bytes.fromhex(rest.split("packet=")[1]))
        assert replies["9"].kind is ReplyKind.ECHO_REPLY and replies["9"].key == ("icmp", 4242, 77)
        assert replies["10"].kind is ReplyKind.TCP_RST and replies["10"].key == ("tcp", 40999, 9, 78)  # RST
    finally:
        proc.stdin.close()
        assert proc.wait(5) == 0  # end of input ends it


@needs_raw
def test_the_helper_ends_when_its_parent_dies_even_with_input_open():
    read_end, write_end = os.pipe()  # we keep the write end open: no end of input for the helper
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"p = subprocess.Popen({HELPER!r}, stdin={read_end}, stdout=subprocess.PIPE)\n"
            "print(p.pid, p.stdout.readline().decode().strip(), flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=(read_end,),
    )
    try:
        pid, ready = parent.stdout.readline().split(" ", 1)
        assert ready.strip() == "ready version=1"
        pid = int(pid)
        assert not _gone(pid, 0.3)  # it waits while the parent lives
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        assert _gone(pid), "the helper outlived its parent"
    finally:
        os.close(read_end)
        os.close(write_end)
        if parent.poll() is None:
            parent.kill()


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/bin/setpriv"), reason="needs root and setpriv")
def test_without_rights_the_helper_says_so_and_exits_77():
    r = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", *HELPER],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    if "Permission denied" in r.stderr and "fatal" not in r.stdout:
        pytest.skip(f"the checkout is not readable by nobody: {r.stderr.strip()[-200:]}")
    assert r.returncode == 77
    assert r.stdout.startswith("fatal ") and "cap_net_raw" in r.stdout


def _uids(pid: int) -> list[int]:
    with open(f"/proc/{pid}/status") as f:
        line = next(line for line in f if line.startswith("Uid:"))
    return [int(x) for x in line.split()[1:]]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the helper drops root only when it has it")
def test_started_through_sudo_the_helper_drops_root_once_its_sockets_are_open():
    # sudo sets SUDO_UID/SUDO_GID to the invoking user; the helper gives root back to that user and keeps working
    # with the raw sockets it already holds.
    env = {**os.environ, "SUDO_UID": "65534", "SUDO_GID": "65534"}
    proc = _start(env=env, cwd="/")
    try:
        assert _uids(proc.pid) == [65534] * 4
        _ask(proc, "1 probe proto=icmp dst=127.0.0.1 ttl=3 seq=5 ident=777 flow=0", "sent")
        line = proc.stdout.readline().strip()
        assert line.startswith("1 reply ")
        assert parse_reply(bytes.fromhex(line.split("packet=")[1])).key == ("icmp", 777, 5)
    finally:
        proc.stdin.close()
        assert proc.wait(5) == 0


def _helper_from(package_parent: str) -> subprocess.CompletedProcess:
    """Start the helper as pingmos's front end does (isolated Python), importing pingmos from ``package_parent``."""
    boot = f"import sys; sys.path.insert(0, {package_parent!r}); from pingmos.engine.probe_helper import main; "
    boot += "sys.exit(main())"
    return subprocess.run([sys.executable, "-I", "-c", boot], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.skipif(os.geteuid() != 0, reason="the check applies to a helper with root's rights")
@pytest.mark.parametrize("where", ["package file owned by a user", "import path writable by all"])
def test_a_helper_that_a_user_could_change_refuses_to_run_as_root(tmp_path, where):
    import shutil

    from pingmos.engine import probe_helper

    copy = tmp_path / "checkout"
    shutil.copytree(Path(probe_helper.__file__).parents[2] / "pingmos", copy / "pingmos",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    if where.startswith("package"):
        os.chown(copy / "pingmos" / "engine" / "network.py", 65534, 65534)  # e.g. the user's own checkout
    else:
        copy.chmod(0o777)
    r = _helper_from(str(copy))
    assert r.returncode == 78, r
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fatal refusing to run with root's rights: "), r.stdout
    assert ("network.py" in lines[0]) if where.startswith("package") else (str(copy) in lines[0])
    assert "ready" not in r.stdout and "Traceback" not in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="the check applies to a helper with root's rights")
def test_the_installed_helper_is_safe_here():
    from pingmos.engine.probe_helper import unsafe_install

    assert unsafe_install() is None  # root-owned checkout and interpreter: the other helper tests run it as root


@pytest.mark.skipif(os.geteuid() != 0, reason="the folders are made root-owned")
def test_a_sticky_folder_such_as_tmp_is_safe_above_a_checkout_but_not_as_an_import_path(tmp_path):
    from pingmos.engine import probe_helper
    from pingmos.engine.probe_helper import unsafe_install

    sticky = tmp_path / "shared"
    sticky.mkdir()
    sticky.chmod(0o1777)  # like /tmp: anyone may add entries, only an entry's owner may rename or remove it
    checkout = sticky / "checkout"
    checkout.mkdir(mode=0o755)
    shutil.copytree(Path(probe_helper.__file__).parents[1], checkout / "pingmos",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    package = str(checkout / "pingmos")
    # The fresh clone CI makes may sit under /tmp: that is no way in for another user.
    assert unsafe_install(sys.executable, package, [str(checkout)]) is None
    # The sticky folder itself on the import path: anyone could drop a module into it.
    why = unsafe_install(sys.executable, package, [str(checkout), str(sticky)])
    assert why is not None and why.startswith(f"{sticky} (")
