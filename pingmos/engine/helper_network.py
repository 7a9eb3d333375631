"""The client side of the probe helper (``probe_helper``): a ``Network`` whose sockets live in another process.

The GUI or the report stays an ordinary user process; the helper, started with raw-socket rights, sends each
probe this side describes (``packets.probe_fields``: the helper rebuilds the packet itself, it never sends bytes
it is handed) and passes back the replies to those probes only. See ``probe_helper`` for the line protocol.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time

from pingmos.engine.network import NoPermission
from pingmos.engine.wire import probe_fields

START_TIMEOUT_S = 60.0  # pkexec or sudo may be waiting for the user to type a password
SEND_TIMEOUT_S = 5.0
_FIELD_ORDER = {
    "icmp": ("proto", "dst", "ttl", "seq", "ident", "flow"),
    "udp": ("proto", "dst", "ttl", "seq", "sport", "dport"),
    "tcp": ("proto", "dst", "ttl", "seq", "sport", "dport"),
}


class HelperError(OSError):
    """The helper refused a probe or is gone; the message says why."""


class HelperNetwork:
    icmp_ident = None  # the helper sends with the identifier we choose

    def __init__(self, argv: list[str], start_timeout_s: float = START_TIMEOUT_S) -> None:
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            raise NoPermission(f"cannot start the probe helper {argv[0]!r}: {exc.strerror or exc}") from exc
        self._out = self._proc.stdout.fileno()
        self._buf = b""
        self._replies: list[tuple[bytes, float]] = []
        self._token = 0
        first = self._read_line(start_timeout_s)
        if first is None or not first.startswith("ready "):
            self.close()
            what = first[6:] if first and first.startswith("fatal ") else (first or "no answer")
            raise NoPermission(f"the probe helper did not start: {what}")
        self.version = first.split("version=", 1)[-1]

    def _read_line(self, timeout_s: float) -> str | None:
        """The next line from the helper within ``timeout_s``, None on timeout or when it is gone."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._out], [], [], left)[0]:
                return None
            chunk = os.read(self._out, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("ascii", "replace")

    def _take(self, line: str) -> tuple[str, str, str]:
        """Split an answer; replies are queued for ``recv`` on the way."""
        token, _, rest = line.partition(" ")
        kind, _, detail = rest.partition(" ")
        if kind == "reply":
            fields = dict(part.split("=", 1) for part in detail.split(" ") if "=" in part)
            # A garbled line counts as no reply rather than crashing the trace.
            with contextlib.suppress(KeyError, ValueError):
                self._replies.append((bytes.fromhex(fields["packet"]), float(fields["at"])))
        return token, kind, detail

    def send(self, packet: bytes, dst: str) -> float:
        fields = probe_fields(packet)
        self._token += 1
        token = str(self._token)
        request = " ".join([token, "probe", *(f"{k}={fields[k]}" for k in _FIELD_ORDER[fields["proto"]])])
        try:
            self._proc.stdin.write(request.encode() + b"\n")
        except (BrokenPipeError, ValueError) as exc:
            raise HelperError("the probe helper has exited") from exc
        deadline = time.monotonic() + SEND_TIMEOUT_S
        while True:
            line = self._read_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                raise HelperError("the probe helper did not answer")
            answer_token, kind, detail = self._take(line)
            if answer_token != token or kind == "reply":
                continue
            if kind == "sent":
                return float(detail.split("=", 1)[1])
            raise HelperError(f"the probe helper refused a probe: {kind} {detail}")

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        if not self._replies:
            line = self._read_line(max(0.0, timeout_s))
            if line is not None:
                self._take(line)
        # Then whatever else is already here, without waiting.
        while True:
            line = self._read_line(0.0) if b"\n" in self._buf or self._readable() else None
            if line is None:
                break
            self._take(line)
        out, self._replies = self._replies, []
        return out

    def _readable(self) -> bool:
        return bool(select.select([self._out], [], [], 0)[0])

    def close(self) -> None:
        proc = self._proc
        if proc.stdin and not proc.stdin.closed:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # the helper exits on end of input
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            # A helper started through sudo/pkexec runs as root: we may not be allowed to signal it. It still
            # ends by itself (end of input, parent death); do not hang or fail the caller over it.
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(2.0)
        if proc.stdout:
            proc.stdout.close()
