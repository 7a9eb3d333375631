"""``pingmos monitor`` as its operator sees it: what the /metrics server prints when scrapers go away or a scrape
fails, terminal-safe log lines whatever the configuration's names hold, and the exit status after a signal.
Everything here runs on loopback: the agents trace 127.0.0.1 with --no-dns and listen on 127.0.0.1."""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from pingmos.monitor.serve import ScrapeErrors, start_metrics_server

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never through a proxy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout_s: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class HeldCollector:
    """A collector whose render waits until the test lets it go: the answer is written only after the client
    left, as when a big agent's scrape outlasts Prometheus's timeout."""

    def __init__(self, body: bytes = b"x 1\n" * 50_000) -> None:
        self.body = body
        self.entered = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def render(self) -> bytes:
        with self._lock:
            self.entered += 1
        self.release.wait(30)
        return self.body


class FailingCollector:
    def render(self) -> bytes:
        raise RuntimeError("the window\nbroke \x1b[31mred")


class Counts:
    def __init__(self) -> None:
        self.gone = 0
        self.failed = 0
        self.lines: list[str] = []
        self._lock = threading.Lock()  # the server's threads count at once

    def errors(self, **kw) -> ScrapeErrors:
        def gone() -> None:
            with self._lock:
                self.gone += 1

        def failed() -> None:
            with self._lock:
                self.failed += 1

        return ScrapeErrors(gone, failed, self.lines.append, **kw)


def abort_mid_response(port: int) -> socket.socket:
    """Connect, ask for /metrics and return the socket, to be closed with SO_LINGER 0 (a reset, not a FIN): what
    a scraper whose timeout ran out does."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return s


def test_scrapers_that_go_away_mid_response_are_counted_and_print_nothing(capfd):
    # Before: socketserver's handle_error printed a whole traceback to stderr for each (3 clients, 3 tracebacks).
    collector, counts = HeldCollector(), Counts()
    port = free_port()
    server = start_metrics_server("127.0.0.1", port, collector, counts.errors())
    try:
        clients = [abort_mid_response(port) for _ in range(3)]
        wait_until(lambda: collector.entered == 3, what="the three requests to be rendering")
        for c in clients:
            c.close()  # the reset reaches the server before it writes a byte of the answer
        collector.release.set()
        wait_until(lambda: counts.gone == 3, what=f"3 aborted scrapes counted (got {counts.gone})")
        # The server goes on serving the next scraper.
        with OPENER.open(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            assert r.read() == collector.body
    finally:
        server.shutdown()
        server.server_close()
    err = capfd.readouterr().err
    assert err == "", err
    assert counts.failed == 0 and counts.lines == []


def test_a_failing_scrape_answers_500_and_says_one_line_per_minute_never_a_traceback(capfd):
    now = [1000.0]
    counts = Counts()
    port = free_port()
    server = start_metrics_server("127.0.0.1", port, FailingCollector(), counts.errors(clock=lambda: now[0]))
    try:
        for t in (1000.0, 1010.0, 1059.0, 1061.0):
            now[0] = t
            with pytest.raises(urllib.error.HTTPError) as err:
                OPENER.open(f"http://127.0.0.1:{port}/metrics", timeout=30)
            assert err.value.code == 500
    finally:
        server.shutdown()
        server.server_close()
    assert capfd.readouterr().err == ""  # the lines went to the log given, nothing else to stderr
    assert counts.failed == 4 and counts.gone == 0
    # One line at the first failure, none within the next 60 s, then one saying how many were not said.
    assert len(counts.lines) == 2, counts.lines
    first, second = counts.lines
    assert first == "/metrics: the request from 127.0.0.1 failed: RuntimeError: the window broke \x1b[31mred"
    assert second.endswith("(2 more since the last such line)")


def test_the_agent_log_and_its_errors_are_terminal_safe(capfd):
    from pingmos.monitor.agent import log_stderr

    log_stderr('ziel "1"\n\u202e evil fired \x1b]0;title\x07 for \u2066x\u2069')
    err = capfd.readouterr().err
    assert err == 'pingmos monitor: ziel "1"?? evil fired ?]0;title? for ?x?\n'


def test_an_aborted_scrape_is_a_counter_of_the_agent_and_a_failed_one_an_error_kind():
    from prometheus_client import CollectorRegistry, generate_latest

    from pingmos.monitor.metrics import AgentCollector, AgentHealth

    health = AgentHealth(1.0, {"scrape": 2}, 0, None, scrapes_aborted=3)
    collector = AgentCollector(lambda: [], lambda: health, "lab")
    text = collector.render().decode()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(lambda: [], lambda: health, "lab"))
    assert text.encode() == generate_latest(registry)
    assert "# TYPE pingmos_agent_scrapes_aborted_total counter" in text
    assert 'pingmos_agent_scrapes_aborted_total{vantage="lab"} 3.0' in text.splitlines()
    assert 'pingmos_agent_errors_total{kind="scrape",vantage="lab"} 2.0' in text.splitlines()


# -- the command, end to end ------------------------------------------------------------------------------------

WEIRD = """
[agent]
listen = "127.0.0.1:{port}"
data_dir = "{data}"
vantage = "b\\u00fcro \\"x\\"\\nzwei"
interval_s = 0.2
max_ttl = 2

[[alert]]
name = "r\\u00fcle \\"q\\" \\\\ back\\nslash \\u001b[2J"
metric = "latency_ms"
above = 0.0001
window_s = 5
min_samples = 3

[[target]]
host = "127.0.0.1"
name = "ziel \\"1\\"\\n\\u202e evil"
labels = {{ site = "a\\"b\\\\c\\nd" }}
"""


def start_agent(tmp_path, config: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    path = tmp_path / "agent.toml"
    path.write_text(config.format(port=port, data=tmp_path / "data"), encoding="utf-8")
    # Its own session: the signal goes to the agent alone, as kill PID does (its probing process ends with it).
    proc = subprocess.Popen([sys.executable, "-m", "pingmos", "monitor", str(path), "--no-dns"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    return proc, port


def scrape(proc: subprocess.Popen, port: int) -> str:
    assert proc.poll() is None, proc.communicate()[1].decode(errors="replace")
    try:
        return OPENER.open(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    except OSError:
        return ""


def stop(proc: subprocess.Popen, signum: int) -> str:
    try:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return err.decode("utf-8")


def firing(text: str) -> bool:
    return any(line.startswith("pingmos_alert_firing{") and line.endswith(" 1.0") for line in text.splitlines())


def test_names_with_newlines_and_bidi_overrides_are_printed_safely_and_served_exactly(tmp_path):
    proc, port = start_agent(tmp_path, WEIRD)
    text = ""
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not firing(text):
            time.sleep(0.3)
            text = scrape(proc, port)
    finally:
        err = stop(proc, signal.SIGTERM)
    assert firing(text), (text[-1500:], err)
    # /metrics keeps every name exact (the format escapes backslash, quote and newline; promtool checks the text
    # in test_agent): the label values are the configuration's.
    assert 'target="ziel \\"1\\"\\n\u202e evil"' in text
    assert 'site="a\\"b\\\\c\\nd"' in text and 'vantage="büro \\"x\\"\\nzwei"' in text
    assert 'rule="rüle \\"q\\" \\\\ back\\nslash \x1b[2J"' in text
    # The log: every line is one of the agent's, nothing reordered or moving the cursor.
    lines = err.splitlines()
    assert lines and all(line.startswith("pingmos monitor: ") for line in lines), err
    assert not any(c in err for c in "\u202e\x1b\r"), err
    assert 'pingmos monitor: ziel "1"?? evil: probing via' in err, err
    fired = [line for line in lines if " fired for " in line]
    # (a name of one's own is followed by what the rule does)
    assert fired and fired[0].startswith(
        'pingmos monitor: rüle "q" \\ back?slash ?[2J (latency above 0.0001 ms over 5 s) fired for ziel "1"?? evil: '
    )


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_agent_in_order_and_exits_as_every_command(tmp_path, signum, status):
    # Before: 0 after either signal, while the README's exit table (and `report`) say 143 / 130.
    from pingmos.session import open_session

    proc, port = start_agent(
        tmp_path,
        '[agent]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{data}"\ninterval_s = 0.2\nmax_ttl = 2\n'
        '[[target]]\nhost = "127.0.0.1"\nname = "lo"\n',
    )
    received = 0.0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and received < 5:
            time.sleep(0.3)
            for line in scrape(proc, port).splitlines():
                if line.startswith("pingmos_hop_probes_received_total{") and 'hop="1"' in line:
                    received = float(line.rsplit(" ", 1)[1])
    finally:
        err = stop(proc, signum)
    assert received >= 5, err
    assert proc.returncode == status, err
    assert err.splitlines()[-1] == "pingmos monitor: stopped; session files closed", err
    assert "Traceback" not in err, err
    # The orderly stop wrote the pending samples: the session holds at least what /metrics had counted.
    (path,) = (tmp_path / "data").rglob("*.pingmos")
    with open_session(path) as session:
        answered = sum(1 for s in session.samples() if s.ttl == 1 and s.rtt_ms is not None)
    assert answered >= received


def test_log_lines_from_several_threads_are_written_whole(monkeypatch):
    # CI: "...recording to DIRpingmos monitor: ziel ... probing via raw sockets" then an empty line: print() wrote a
    # line and its newline apart, and a trace thread's line came between them.
    import threading

    from pingmos.monitor.agent import log_stderr

    class Recorder:
        def __init__(self):
            self.chunks = []

        def write(self, text):
            self.chunks.append(text)
            return len(text)

        def flush(self):
            pass

    out = Recorder()
    monkeypatch.setattr("sys.stderr", out)
    threads = [threading.Thread(target=lambda i=i: [log_stderr(f"t{i} line {k}") for k in range(50)]) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out.chunks) == 400
    assert all(c.startswith("pingmos monitor: t") and c.endswith("\n") and c.count("\n") == 1 for c in out.chunks)
