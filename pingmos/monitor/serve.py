"""The ``pingmos monitor`` command: load the configuration, start the agent and the /metrics server, handle signals.

SIGHUP reloads the configuration (targets whose settings did not change keep their samples); SIGTERM and SIGINT
stop the agent, which closes every session file before it exits.
"""

from __future__ import annotations

import gc
import gzip
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pingmos.monitor.config import ConfigError, load_config, parse_listen

EXIT_USAGE = 2
EXIT_LISTEN = 1
EXIT_NO_PERMISSION = 77
# The garbage collector's thresholds in the agent (Python's: 700, 10, 10): the agent makes objects for every probe
# (3,000 a second) that die young, and cycles are rare; a young collection every 10,000 allocations, not every 700.
# A full one still follows every 10 middle ones (about every 2 million allocations, a minute at 3,000 probes/s),
# so the few cycles there are do not pile up: memory stays bounded.
GC_THRESHOLDS = (10_000, 20, 10)


def run_monitor(config_path: str, listen: str | None = None, use_dns: bool = True, window: bool = False) -> int:
    """Run until SIGTERM/SIGINT (or, with ``window``, until the summary window closes). Exit status: 0 after a
    signal, 2 for a bad configuration or --listen, 1 when the metrics port cannot be opened or there is no GUI."""
    from pingmos.monitor.agent import Agent
    from pingmos.monitor.metrics import AgentCollector

    try:
        config = load_config(config_path)
        if listen is not None:
            config = _with_listen(config, listen)
    except (ConfigError, ValueError) as exc:
        print(f"pingmos monitor: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Least privilege: started as root, fork the helper that keeps the raw sockets, then become the configured
    # (or invoking) user with no capability, before any thread, session file, formula or alert command.
    from pingmos.engine import start_and_drop
    from pingmos.privileges import PrivilegeError

    try:
        account, _helper = start_and_drop(config.user, probes_per_s=config.max_probes_per_s)
    except PrivilegeError as exc:
        print(f"pingmos monitor: error: {exc}", file=sys.stderr)
        return EXIT_NO_PERMISSION
    if account is not None:
        print(f"pingmos monitor: running as {account.name} (uid {account.uid})", file=sys.stderr, flush=True)
    elif os.geteuid() == 0:
        advice = 'set user = "NAME" in [agent] to run as that user once the raw sockets are open'
        print(f"pingmos monitor: running as root: {advice} (formulas and alert commands run as nobody meanwhile)",
              file=sys.stderr, flush=True)  # fmt: skip
    if window:
        import importlib.util

        if importlib.util.find_spec("PySide6") is None:
            print("pingmos monitor: error: --window needs PySide6 (pip install 'pingmos[gui]'); run without it for "
                  "metrics only", file=sys.stderr)  # fmt: skip
            return 1
    agent = Agent(config, use_dns=use_dns, probe_process=True)
    collector = AgentCollector(agent.views, agent.health, config.vantage)
    host, port = config.listen
    try:
        server = start_metrics_server(host, port, collector)
    except OSError as exc:
        print(
            f"pingmos monitor: error: cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
            " (another program uses the port? choose one with --listen ADDR:PORT)",
            file=sys.stderr,
        )
        return EXIT_LISTEN
    print(f"pingmos monitor: metrics at http://{_url_host(host)}:{port}/metrics", file=sys.stderr, flush=True)

    def reread():
        cfg = load_config(config_path)
        return _with_listen(cfg, listen) if listen is not None else cfg

    signal.signal(signal.SIGHUP, lambda *_: agent.request_reload())
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
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
    print("pingmos monitor: stopped; session files closed", file=sys.stderr)
    return 0


def _with_listen(config, listen: str):
    import dataclasses

    return dataclasses.replace(config, listen=parse_listen(listen))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def start_metrics_server(host: str, port: int, collector) -> ThreadingHTTPServer:
    """Serve ``collector`` at http://host:port/metrics (Prometheus text format, gzip when asked) from a daemon
    thread; OSError when the address cannot be bound. Rendered by ``metrics.render_text`` (the bytes
    prometheus_client's generate_latest gives, in half the time: a big agent's scrape is 100,000 lines)."""
    from pingmos.monitor.metrics import render_text

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "only /metrics is served here")
                return
            body = render_text(collector)
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

    server = Server((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="pingmos-metrics", daemon=True).start()
    return server
