"""What "trace this host" means, the same for every front end (``pingmos report``, the window, the agent): which
address family a name resolves to, the port and timeout a trace uses when none is given, and how many samples a
hop's numbers are taken over by default. No Qt here, nothing sent.
"""

from __future__ import annotations

from pingmos.engine.packets import TCP_DEFAULT_PORT, UDP_BASE_PORT
from pingmos.engine.resolve import ResolveError, resolve_target
from pingmos.engine.tracer import DEFAULT_TIMEOUT_FLOOR_S

# Samples to include by default while a trace runs without end (the window, the agent): the last 100 of each hop,
# PingPlotter's default. A run of a set number of rounds (``pingmos report -c N``) is judged over all of them.
LIVE_WINDOW = 100


def default_window(rounds: int | None) -> int | None:
    """The default "samples to include": every sample (None) of a run with a round count, LIVE_WINDOW otherwise."""
    return None if rounds is not None else LIVE_WINDOW


def resolve(target: str, ip_version: int | None = None) -> str:
    """The address to trace: IPv4 or IPv6 as asked (-4 / -6); without either, IPv4 where the name has an IPv4
    address, else IPv6 (a host with both is traced over IPv4, as traceroute and mtr do). A literal address is
    taken as it is. ResolveError (its message says why) when the name has no such address."""
    if ip_version is not None:
        return resolve_target(target, ip_version)
    try:
        return resolve_target(target, 4)
    except ResolveError as first:
        try:
            return resolve_target(target, 6)
        except ResolveError:
            raise first from None


def default_port(protocol: str) -> int:
    """The destination port a UDP or TCP trace probes when none is given: 33434 (UDP, traceroute's), 80 (TCP)."""
    return TCP_DEFAULT_PORT if protocol == "tcp" else UDP_BASE_PORT


def default_timeout_s(interval_s: float) -> float:
    """How long a probe may take before it counts as lost when no timeout is given: 3 s or the interval (s)."""
    return max(DEFAULT_TIMEOUT_FLOOR_S, interval_s)
