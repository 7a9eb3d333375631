"""How this process may send probes, best first: raw sockets, unprivileged ICMP sockets, or the privileged helper.

- ``raw``: raw sockets (root, or ``cap_net_raw`` on the Python interpreter). Every protocol, IPv4 and IPv6.
- ``unprivileged``: ICMP "ping" sockets, allowed to the groups in ``net.ipv4.ping_group_range``, and for UDP
  ordinary UDP sockets with ICMP errors from the error queue (any user). No TCP.
- ``helper``: the small ``pingmos-probe`` process (``probe_helper``) holds the raw sockets and this process stays
  an ordinary user process. It is started by a command the user configured (``PINGMOS_PROBE``, e.g. a Python that
  was given ``cap_net_raw``), by ``sudo -n`` where sudo needs no password, or by ``pkexec`` in a desktop session.

``choose_mode`` picks one and says which (``ProbeMode.description`` is what the report header and the status bar
show); when none can work it raises ``NoProbeMode`` whose message lists exactly what the user can do. The
capability checks open (and at once close) the socket in question, so they see root, file capabilities and the
sysctl alike; tests monkeypatch them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from pingmos.engine.limits import MODES
from pingmos.engine.network import Network, NoPermission, RawSocketNetwork

HELPER_ENV = "PINGMOS_PROBE"  # a command line (shell words) that starts the helper with raw-socket rights
HELPER_MODULE = "pingmos.engine.probe_helper"


class NoProbeMode(NoPermission):
    """No way to send these probes from this process; the message says what the user can do."""


@dataclass(frozen=True)
class ProbeMode:
    name: str  # "raw", "unprivileged" or "helper"
    description: str  # one line for the report header / status bar
    open: Callable[[], Network]  # opens the network (may still raise NoPermission, e.g. a refused pkexec)


def raw_sockets_allowed(family: socket.AddressFamily = socket.AF_INET) -> bool:
    try:
        socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
    except OSError:
        return False
    return True


def ping_sockets_allowed(family: socket.AddressFamily = socket.AF_INET) -> bool:
    proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    try:
        socket.socket(family, socket.SOCK_DGRAM, proto).close()
    except OSError:
        return False
    return True


def _passwordless_sudo() -> bool:
    if shutil.which("sudo") is None:
        return False
    try:
        r = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def helper_command() -> list[str] | None:
    """The command that starts the helper with raw-socket rights, or None when there is no way to."""
    configured = os.environ.get(HELPER_ENV, "").strip()
    if configured:
        return shlex.split(configured)
    # -I (isolated): the helper may run as root, so never import from the user's directory or PYTHONPATH.
    own = [sys.executable, "-I", "-m", HELPER_MODULE]
    if os.geteuid() == 0:
        return own
    if _passwordless_sudo():
        return ["sudo", "-n", *own]
    if shutil.which("pkexec") and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return ["pkexec", *own]  # asks for the password in a desktop dialog
    return None


def _what_to_do(protocol: str) -> str:
    steps = [
        "run pingmos as root (sudo)",
        f"give this Python raw-socket rights once: 'sudo setcap cap_net_raw+ep {os.path.realpath(sys.executable)}'",
        f"or point {HELPER_ENV} at a command that starts 'python -m {HELPER_MODULE}' with those rights",
    ]
    if protocol == "icmp":
        steps.append("or allow unprivileged ICMP sockets: 'sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"'")
    elif protocol == "tcp":
        steps.append("or probe with ICMP or UDP (--protocol icmp / udp), which can work without privileges")
    return "; ".join(steps)


def _raw(family: socket.AddressFamily, protocol: str) -> ProbeMode:
    return ProbeMode("raw", "raw sockets", lambda: RawSocketNetwork(family, protocol))


def _unprivileged(family: socket.AddressFamily, protocol: str) -> ProbeMode:
    if protocol == "udp":
        from pingmos.engine.udp_socket_network import UdpSocketNetwork

        return ProbeMode("unprivileged", "unprivileged UDP sockets", lambda: UdpSocketNetwork(family))
    from pingmos.engine.ping_socket_network import PingSocketNetwork

    return ProbeMode("unprivileged", "unprivileged ICMP sockets", lambda: PingSocketNetwork(family))


def _helper(argv: list[str], family: socket.AddressFamily, protocol: str) -> ProbeMode:
    from pingmos.engine.helper_network import HelperNetwork

    return ProbeMode("helper", f"helper process ({argv[0]})", lambda: HelperNetwork(argv))


_shared_helper = None  # shared_helper.SharedHelper forked before this process dropped root, when it did


def use_shared_helper(shared) -> None:
    """From now on raw sockets come from ``shared`` (a ``shared_helper.SharedHelper``; None: no longer)."""
    global _shared_helper
    _shared_helper = shared


def _shared(family: socket.AddressFamily, protocol: str) -> ProbeMode:
    shared = _shared_helper
    return ProbeMode("helper", "raw sockets in a helper process (opened as root)", shared.network)


def choose_mode(requested: str, family: socket.AddressFamily, protocol: str) -> ProbeMode:
    """The probe mode for ``requested`` ("auto" = the best available), or NoProbeMode saying what to do.

    After a drop from root (``shared_helper.start_and_drop``) "auto", "raw" and "helper" get the raw sockets
    opened before the drop, through the helper that holds them."""
    if requested not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {requested!r}")
    if requested in ("auto", "raw", "helper") and _shared_helper is not None and not _shared_helper.dead:
        return _shared(family, protocol)
    if requested in ("auto", "raw") and raw_sockets_allowed(family):
        return _raw(family, protocol)
    if requested == "raw":
        raise NoProbeMode(f"raw sockets are not allowed for this process. You can: {_what_to_do(protocol)}")
    if requested in ("auto", "unprivileged") and (
        protocol == "udp" or (protocol == "icmp" and ping_sockets_allowed(family))
    ):
        return _unprivileged(family, protocol)
    if requested == "unprivileged":
        if protocol == "tcp":
            raise NoProbeMode(
                "unprivileged mode sends ICMP and UDP only; TCP probes need raw sockets: use --protocol icmp or "
                "udp, or --mode raw / --mode helper"
            )
        from pingmos.engine.ping_socket_network import ping_socket_help

        raise NoProbeMode(ping_socket_help())
    argv = helper_command()
    if argv is not None:
        return _helper(argv, family, protocol)
    if requested == "helper":
        raise NoProbeMode(
            f"no way to start the probe helper with raw-socket rights: {HELPER_ENV} is not set, sudo needs a "
            f"password and there is no desktop session for pkexec. You can: {_what_to_do(protocol)}"
        )
    raise NoProbeMode(
        f"pingmos cannot send {protocol.upper()} probes from this process. You can: {_what_to_do(protocol)}"
    )
