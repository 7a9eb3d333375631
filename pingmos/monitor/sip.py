"""SIP OPTIONS probes (RFC 3261 section 11, "Querying for Capabilities") over UDP: the "is the SIP server there and
how fast does it answer" check VoIP operators run beside their network probes (seed 001: "synthetic SIP OPTIONS
probes every 60 seconds").

Every interval one OPTIONS request goes out with its own Call-ID and Via branch; the first final response (2xx-6xx)
carrying that Call-ID ends it: its status code and the time from send to receive are the result. Provisional 1xx
responses are ignored (RFC 3261 17.1.2: OPTIONS is a non-INVITE transaction). No final response within the timeout
is a lost request. No retransmission (Timer E): a probe measures the network and the server, not SIP's recovery.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import secrets
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from pingmos.monitor.metrics import RTT_BUCKETS_S, SipView
from pingmos.session.model import SessionEvent

_STATUS = re.compile(rb"^SIP/2\.0 (\d{3})[ \t]")
_CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class SipResult:
    """One OPTIONS request: wall-clock send time (s), response time (ms; None = no final response), status code."""

    sent_at: float
    rtt_ms: float | None
    code: int | None


def options_request(target_host: str, port: int, local: tuple[str, int], call_id: str, branch: str, cseq: int) -> bytes:
    """The bytes of one OPTIONS request (RFC 3261 8.1.1: To, From with tag, CSeq, Call-ID, Max-Forwards, Via)."""
    host = f"[{target_host}]" if ":" in target_host else target_host
    lhost = f"[{local[0]}]" if ":" in local[0] else local[0]
    return (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {lhost}:{local[1]};branch={branch};rport\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:pingmos@{lhost}>;tag={secrets.token_hex(4)}\r\n"
        f"To: <sip:{host}:{port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} OPTIONS\r\n"
        f"Accept: application/sdp\r\n"
        f"User-Agent: pingmos\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def parse_response(data: bytes) -> tuple[int, str] | None:
    """(status code, Call-ID) of a SIP response, None for anything else (a request, garbage)."""
    m = _STATUS.match(data)
    c = _CALL_ID.search(data)
    if not m or not c:
        return None
    return int(m.group(1)), c.group(1).decode("ascii", "replace")


class SipProber:
    """OPTIONS every ``interval_s`` to ``host:port`` in a thread of its own, until ``stop``. ``view()`` gives the
    counters and the window figures (the last ``window`` requests whose fate is known); ``on_result`` gets a
    ``SessionEvent`` ("sip-options") per request for the session's event log."""

    def __init__(
        self,
        host: str,
        port: int,
        interval_s: float,
        window: int,
        timeout_s: float,
        thread_context: Callable[[], AbstractContextManager] = nullcontext,
        on_result: Callable[[SessionEvent], None] | None = None,
    ):
        self.host, self.port = host, port
        self.interval_s, self.timeout_s = interval_s, timeout_s
        self._thread_context = thread_context
        self._on_result = on_result
        self._lock = threading.Lock()
        self._window: deque[SipResult] = deque(maxlen=window)
        self.sent = 0
        self.answered = 0
        self.codes: dict[int, int] = {}
        self._buckets = [0] * (len(RTT_BUCKETS_S) + 1)
        self._rtt_sum_s = 0.0
        self.last_code: int | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pingmos-sip", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def results(self) -> list[SipResult]:
        with self._lock:
            return list(self._window)

    def view(self) -> SipView:
        with self._lock:
            window = list(self._window)
            got = [r.rtt_ms for r in window if r.rtt_ms is not None]
            return SipView(
                sent=self.sent,
                answered=self.answered,
                codes=dict(self.codes),
                buckets=list(self._buckets),
                rtt_sum_s=self._rtt_sum_s,
                window_loss_ratio=(1.0 - len(got) / len(window)) if window else None,
                window_rtt_s=(sum(got) / len(got) / 1000.0) if got else None,
                last_code=self.last_code,
            )

    def _settle(self, result: SipResult) -> None:
        with self._lock:
            self._window.append(result)
            self.sent += 1
            if result.code is not None:
                self.answered += 1
                self.codes[result.code] = self.codes.get(result.code, 0) + 1
                self.last_code = result.code
                rtt_s = result.rtt_ms / 1000.0
                self._rtt_sum_s += rtt_s
                self._buckets[bisect.bisect_left(RTT_BUCKETS_S, rtt_s)] += 1
        if self._on_result is not None:
            data = {"host": self.host, "port": self.port, "rtt_ms": result.rtt_ms, "code": result.code}
            self._on_result(SessionEvent(result.sent_at, "sip-options", data))

    def _run(self) -> None:
        with self._thread_context():
            while not self._stop.is_set():
                try:
                    self._probe_loop()
                except OSError as exc:
                    self.error = f"SIP OPTIONS to {self.host}:{self.port}: {exc.strerror or exc}"
                    self._stop.wait(self.interval_s)

    def _probe_loop(self) -> None:
        info = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(info[0], socket.SOCK_DGRAM) as sock:
            sock.connect(info[4])  # a connected socket sees only this server's datagrams, and ICMP errors
            local = sock.getsockname()[:2]
            outstanding: dict[str, tuple[float, float]] = {}  # Call-ID -> (monotonic send time, wall send time)
            cseq = 0
            next_send = time.monotonic()
            while not self._stop.is_set():
                now = time.monotonic()
                for call_id, (t_mono, t_wall) in list(outstanding.items()):
                    if now - t_mono >= self.timeout_s:
                        del outstanding[call_id]
                        self._settle(SipResult(t_wall, None, None))
                if now >= next_send:
                    cseq += 1
                    call_id = f"{secrets.token_hex(8)}@pingmos"
                    packet = options_request(
                        self.host, self.port, local, call_id, f"z9hG4bK{secrets.token_hex(6)}", cseq
                    )
                    outstanding[call_id] = (time.monotonic(), time.time())
                    with contextlib.suppress(ConnectionRefusedError):  # an ICMP port unreachable of a former probe
                        sock.send(packet)
                    next_send += self.interval_s
                    if next_send < now:  # a stall: start again from now rather than send a backlog
                        next_send = now + self.interval_s
                wait = min(
                    [next_send - time.monotonic(), 0.25]
                    + [t + self.timeout_s - time.monotonic() for t, _ in outstanding.values()]
                )
                ready, _, _ = select.select([sock], [], [], max(0.0, wait))
                if not ready:
                    continue
                try:
                    data = sock.recv(65535)
                except ConnectionRefusedError:
                    continue  # nothing listens there: the requests time out and count as lost
                got = time.monotonic()
                parsed = parse_response(data)
                if parsed is None:
                    continue
                code, call_id = parsed
                if code < 200 or call_id not in outstanding:
                    continue  # provisional, or a late answer to a request already counted as lost
                t_mono, t_wall = outstanding.pop(call_id)
                self._settle(SipResult(t_wall, (got - t_mono) * 1000.0, code))
