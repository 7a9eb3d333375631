"""A minimal SIP responder for tests: answers every OPTIONS over UDP with a final response (200 OK by default),
copying Via, From, To, Call-ID and CSeq as RFC 3261 8.2.6.2 asks; optionally a 100 Trying first, or silence
for every n-th request. Run as ``python -m tests.monitor.sip_responder HOST PORT [CODE]`` (prints READY)."""

from __future__ import annotations

import re
import socket
import sys
import threading

_HEADER = re.compile(rb"^(via|v|from|f|to|t|call-id|i|cseq)[ \t]*:.*$", re.IGNORECASE | re.MULTILINE)


def response(request: bytes, code: int, reason: str) -> bytes:
    headers = [m.group(0).rstrip(b"\r") for m in _HEADER.finditer(request)]
    return b"\r\n".join([f"SIP/2.0 {code} {reason}".encode(), *headers, b"Content-Length: 0", b"", b""])


class SipResponder:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, code: int = 200, trying: bool = False,
                 drop_every: int = 0):  # fmt: skip
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.address = self.sock.getsockname()
        self.code, self.trying, self.drop_every = code, trying, drop_every
        self.requests = 0
        self._thread = threading.Thread(target=self.serve, daemon=True)

    def start(self) -> SipResponder:
        self._thread.start()
        return self

    def serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            if not data.startswith(b"OPTIONS "):
                continue
            self.requests += 1
            if self.drop_every and self.requests % self.drop_every == 0:
                continue
            if self.trying:
                self.sock.sendto(response(data, 100, "Trying"), peer)
            self.sock.sendto(response(data, self.code, "OK" if self.code == 200 else "Busy Here"), peer)

    def close(self) -> None:
        self.sock.close()


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    code = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    server = SipResponder(host, port, code)
    print("READY", flush=True)
    server.serve()
