"""Name resolution: the target's address before a trace, and reverse DNS of responders in the background.

Reverse lookups run in a small thread pool and are cached; asking for a name never blocks (it returns what is
known now and starts a lookup), so DNS never delays probing.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait


class ResolveError(Exception):
    """The target has no address of the wanted family; the message is meant for the user."""


def _literal(target: str, ip_version: int | None) -> str | None:
    """``target`` in canonical form if it is an address literal of an allowed version, else None."""
    for version, family in ((4, socket.AF_INET), (6, socket.AF_INET6)):
        try:
            packed = socket.inet_pton(family, target)
        except OSError:
            continue
        if ip_version not in (None, version):
            raise ResolveError(f"{target!r} is an IPv{version} address, but IPv{ip_version} was asked for")
        return socket.inet_ntop(family, packed)
    return None


def resolve_target(target: str, ip_version: int | None = 4) -> str:
    """The address of ``target``: IPv4 (``ip_version`` 4, the default), IPv6 (6), or either (None: the first
    address the resolver gives, which follows the system's RFC 6724 preference). A literal address is returned
    in canonical form, without any DNS query."""
    literal = _literal(target, ip_version)
    if literal is not None:
        return literal
    family = {4: socket.AF_INET, 6: socket.AF_INET6, None: socket.AF_UNSPEC}[ip_version]
    try:
        infos = socket.getaddrinfo(target, None, family, socket.SOCK_RAW)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ResolveError(f"cannot resolve {target!r}: {reason}") from None
    infos = [i for i in infos if i[0] in (socket.AF_INET, socket.AF_INET6)]
    if not infos:
        raise ResolveError(f"cannot resolve {target!r}: no IPv{ip_version or '4/6'} address")
    return infos[0][4][0].split("%")[0]


class ReverseDNS:
    """Background PTR lookups with a cache. ``name(addr)`` returns the name, or None while unknown/absent."""

    def __init__(self, workers: int = 4):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pingmos-rdns")
        self._lock = threading.Lock()
        self._names: dict[str, str | None] = {}
        self._pending: dict[str, Future] = {}

    def name(self, addr: str) -> str | None:
        with self._lock:
            if addr in self._names:
                return self._names[addr]
            if addr not in self._pending:
                self._pending[addr] = self._pool.submit(self._lookup, addr)
        return None

    def _lookup(self, addr: str) -> None:
        try:
            name = socket.gethostbyaddr(addr)[0]
        except (OSError, UnicodeError):
            name = None
        with self._lock:
            self._names[addr] = name
            self._pending.pop(addr, None)

    def wait(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the lookups under way (the report does, once probing is over)."""
        with self._lock:
            pending = list(self._pending.values())
        if pending:
            wait(pending, timeout=timeout_s)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
