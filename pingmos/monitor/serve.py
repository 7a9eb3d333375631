"""The ``pingmos monitor`` command: load the configuration, start the agent and the /metrics server, handle signals.

SIGHUP reloads the configuration (targets whose settings did not change keep their samples); SIGTERM and SIGINT
stop the agent, which writes its pending samples and closes every session file, then exits 143 / 130 as every
pingmos command does (the shipped systemd unit counts 143 as a clean stop: SuccessExitStatus=143).
"""

from __future__ import annotations

import gc
import gzip
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pingmos.monitor.config import ConfigError, check_data_dir, load_config, parse_listen

EXIT_USAGE = 2
EXIT_LISTEN = 1
EXIT_NO_PERMISSION = 77
# After a signal's orderly stop: 128 + the signal's number, as a shell reports a process the signal ended, and as
# every pingmos command exits (the README's exit table).
EXIT_INTERRUPTED = 130  # SIGINT
EXIT_TERMINATED = 143  # SIGTERM
EXIT_BY_SIGNAL = {signal.SIGINT: EXIT_INTERRUPTED, signal.SIGTERM: EXIT_TERMINATED}
# A failing /metrics (anything but a client that went away) is said in one line at most this often, with the count
# of those not said since: a broken render fails every scrape (every 15 s for Prometheus's default).
SCRAPE_ERROR_LINE_EVERY_S = 60.0
# The garbage collector's thresholds in the agent (Python's: 700, 10, 10): the agent makes objects for every probe
# (3,000 a second) that die young, and cycles are rare; a young collection every 10,000 allocations, not every 700.
# A full one still follows every 10 middle ones (about every 2 million allocations, a minute at 3,000 probes/s),
# so the few cycles there are do not pile up: memory stays bounded.
GC_THRESHOLDS = (10_000, 20, 10)


def run_monitor(config_path: str, listen: str | None = None, use_dns: bool = True, window: bool = False) -> int:
    """Run until SIGTERM/SIGINT (or, with ``window``, until the summary window closes). Exit status: 143 after
    SIGTERM, 130 after SIGINT (each once the pending samples are written and the session files closed), 0 when the
    summary window was closed, 2 for a bad configuration or --listen, 1 when the metrics port cannot be opened or
    there is no GUI, 77 without permission for the probe sockets."""
    from pingmos.monitor.agent import Agent, log_stderr
    from pingmos.monitor.metrics import AgentCollector

    try:
        config = load_config(config_path)
        if listen is not None:
            config = _with_listen(config, listen)
    except (ConfigError, ValueError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    # Least privilege: started as root, fork the helper that keeps the raw sockets, then become the configured
    # (or invoking) user with no capability, before any thread, session file, formula or alert command.
    from pingmos.engine import start_and_drop
    from pingmos.privileges import PrivilegeError

    try:
        account, _helper = start_and_drop(config.user, probes_per_s=config.max_probes_per_s)
    except PrivilegeError as exc:
        _error(str(exc))
        return EXIT_NO_PERMISSION
    try:
        check_data_dir(config, config_path)  # as the user that will write the sessions
    except ConfigError as exc:
        _error(str(exc))
        return EXIT_USAGE
    if account is not None:
        log_stderr(f"running as {account.name} (uid {account.uid})")
    elif os.geteuid() == 0:
        advice = 'set user = "NAME" in [agent] to run as that user once the raw sockets are open'
        log_stderr(f"running as root: {advice} (formulas and alert commands run as nobody meanwhile)")
    if window:
        import importlib.util

        if importlib.util.find_spec("PySide6") is None:
            _error("--window needs PySide6 (pip install 'pingmos[gui]'); run without it for metrics only")
            return 1
    agent = Agent(config, use_dns=use_dns, probe_process=True)
    collector = AgentCollector(agent.views, agent.health, config.vantage)
    host, port = config.listen
    scrape_errors = ScrapeErrors(agent.count_scrape_aborted, lambda: agent.count_error("scrape"), log_stderr)
    try:
        server = start_metrics_server(host, port, collector, scrape_errors)
    except OSError as exc:
        _error(
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
            " (another program uses the port? choose one with --listen ADDR:PORT)"
        )
        return EXIT_LISTEN
    log_stderr(f"metrics at http://{_url_host(host)}:{port}/metrics")

    def reread():
        cfg = load_config(config_path)
        check_data_dir(cfg, config_path)  # a reload to an unusable folder is refused, the running one stays
        return _with_listen(cfg, listen) if listen is not None else cfg

    signal.signal(signal.SIGHUP, lambda *_: agent.request_reload())
    signal.signal(signal.SIGTERM, lambda signum, _: agent.stop(signum))
    signal.signal(signal.SIGINT, lambda signum, _: agent.stop(signum))
    try:
        agent.start()
        # Everything allocated so far (modules, models, the targets' state) lives as long as the agent: frozen,
        # the collector no longer scans it, and collections are rarer. Measured at 100 x 31 hops: 100 pauses of
        # 10-360 ms a minute before (every thread stops meanwhile and rounds leave late), 13 after (with a full
        # collection every 100 middle ones; GC_THRESHOLDS now says 10).
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        if window:
            from pingmos.gui.summary import run_summary

            run_summary(agent, reread)
        else:
            agent.run(reread)
    finally:
        agent.close()
        server.shutdown()
        server.server_close()
    log_stderr("stopped; session files closed")
    return EXIT_BY_SIGNAL.get(agent.stopped_by, 0)  # 0: the summary window was closed


def _error(message: str) -> None:
    from pingmos.monitor.agent import log_stderr  # one whole line under the log's lock

    log_stderr(f"error: {message}")


def _with_listen(config, listen: str):
    import dataclasses

    return dataclasses.replace(config, listen=parse_listen(listen))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class ScrapeErrors:
    """What goes wrong answering /metrics, said the way an operator wants it. A client that closes the connection
    before the answer is written (a scraper's timeout, a curl interrupted) is normal: ``client_gone`` counts it
    (the agent's pingmos_agent_scrapes_aborted_total) and nothing is printed. Anything else is a failure of the
    agent: ``failed`` counts it (pingmos_agent_errors_total{kind="scrape"}) and ``log`` gets one line (never a
    traceback), at most one every ``every_s`` seconds with the number of failures not said since."""

    def __init__(
        self,
        client_gone: Callable[[], None],
        failed: Callable[[], None],
        log: Callable[[str], None],
        every_s: float = SCRAPE_ERROR_LINE_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_gone = client_gone
        self._failed = failed
        self._log = log
        self._every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._said_at: float | None = None
        self._unsaid = 0

    def client_went_away(self) -> None:
        self._client_gone()

    def failure(self, client: tuple, exc: BaseException) -> None:
        self._failed()
        now = self._clock()
        with self._lock:
            if self._said_at is not None and now - self._said_at < self._every_s:
                self._unsaid += 1
                return
            unsaid, self._unsaid, self._said_at = self._unsaid, 0, now
        more = f" ({unsaid} more since the last such line)" if unsaid else ""
        what = " ".join(str(exc).split())[:300]
        self._log(f"/metrics: the request from {client[0]} failed: {type(exc).__name__}: {what}{more}")


# A client that went away: the peer's reset (a close with SO_LINGER 0), a broken pipe, or its silence until the
# socket's timeout. All are OSErrors of the connection, none a failure of the agent.
_CLIENT_GONE = (ConnectionError, TimeoutError)


def start_metrics_server(host: str, port: int, collector, errors: ScrapeErrors | None = None) -> ThreadingHTTPServer:
    """Serve ``collector`` at http://host:port/metrics (Prometheus text format, gzip when asked) from a daemon
    thread; OSError when the address cannot be bound. Rendered by ``metrics.render_text`` (the bytes
    prometheus_client's generate_latest gives, in half the time: a big agent's scrape is 100,000 lines).
    ``errors``: where aborted and failed requests go (None: counted nowhere, failures said on stderr); a render
    that fails answers 500."""
    from pingmos.monitor.agent import log_stderr
    from pingmos.monitor.metrics import render_text

    if errors is None:
        errors = ScrapeErrors(lambda: None, lambda: None, log_stderr)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "only /metrics is served here")
                return
            try:
                body = render_text(collector)
            except Exception as exc:  # a bug of the agent: said once (ScrapeErrors), and Prometheus sees up == 0
                errors.failure(self.client_address, exc)
                self.send_error(500, "the metrics could not be rendered; the agent's log says why")
                return
            gz = "gzip" in self.headers.get("Accept-Encoding", "")
            if gz:
                body = gzip.compress(body, compresslevel=1)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")  # the format written
            self.send_header("Content-Length", str(len(body)))
            if gz:
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's name
            pass  # one line per scrape would fill the journal

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            # socketserver's own prints the whole traceback to stderr, for every scraper that timed out.
            exc = sys.exc_info()[1]
            if isinstance(exc, _CLIENT_GONE):
                errors.client_went_away()
            elif exc is not None:
                errors.failure(client_address, exc)

    server = Server((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="pingmos-metrics", daemon=True).start()
    return server
