"""``pingmos-probe``: the privileged probe helper. It holds the raw sockets so the GUI/report need not.

It is started by the front end (through ``sudo``/``pkexec``, or as a Python given ``cap_net_raw``), opens its raw
sockets, drops root (to the invoking user) if it has it, and then only sends the probes it is asked for and
reports the replies to them. No file access, no command execution, no arbitrary packets: it builds every packet
itself from validated fields, with the same templates as the tracer (``packets``).

Line protocol (ASCII, one message per line, fields separated by single spaces, at most 512 bytes a line)

Helper -> client, first line: ``ready version=1`` once the sockets are open, or ``fatal <message>`` (then it
exits with status 77 when it lacks the rights, 1 otherwise).

Client -> helper, a probe request::

    <token> probe proto=icmp dst=<address> ttl=<1-255> seq=<0-65535> ident=<0-65535> flow=<0-65535>
    <token> probe proto=udp|tcp dst=<address> ttl=<1-255> seq=<0-65535> sport=<1-65535> dport=<1-65535>

``token`` is 1-10 decimal digits chosen by the client; ``dst`` an IPv4 or IPv6 unicast literal (no names, no
multicast/broadcast/unspecified); ``sport`` at least 1024 (never a system service's port). Every field is
required, none may repeat, nothing else is accepted. The payload is always pingmos's own fixed bytes.

Helper -> client answers, with the request's token::

    <token> sent at=<wall-clock seconds>            the probe left (kernel send time as close as we can)
    <token> invalid <reason>                         the request was refused; nothing was sent
    <token> error <reason>                           the send failed (e.g. network unreachable)
    <token> reply at=<wall-clock seconds> packet=<hex>

A ``reply`` is the received IP packet (as ``packets.parse_reply`` reads it) that answers the probe with that token,
stamped with the kernel's receive time; replies to anything else the host receives are never passed on. A probe
that has no answer within 310 s is forgotten. An unparseable line gets ``0 invalid <reason>``.

Lifetime: the helper exits when its stdin ends (the client closed the pipe or died) and, through
``PR_SET_PDEATHSIG``, when its parent process dies. It sends at most ``MAX_PROBES_PER_S`` probes a second.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import select
import signal
import socket
import stat
import sys
import time

from pingmos.engine.network import NoPermission, RawSocketNetwork, source_address_for
from pingmos.engine.packets import IcmpEchoTemplate, TcpSynTemplate, UdpTemplate, load_template_builder, parse_reply

VERSION = 1
MAX_LINE = 512
MAX_PROBES_PER_S = 1000.0  # a token bucket: the tracer's worst case is 300/s (30 TTLs every 0.1 s)
MAX_OUTSTANDING = 65536
MAX_DESTINATIONS = 4096
PROBE_MEMORY_S = 310.0  # longer than the longest probe timeout the tracer allows (300 s)
PR_SET_PDEATHSIG = 1
EXIT_NO_PERMISSION = 77
EXIT_UNSAFE_INSTALL = 78  # EX_CONFIG: the helper is installed where someone other than root can change it

_FIELDS = {
    "icmp": ("proto", "dst", "ttl", "seq", "ident", "flow"),
    "udp": ("proto", "dst", "ttl", "seq", "sport", "dport"),
    "tcp": ("proto", "dst", "ttl", "seq", "sport", "dport"),
}
_RANGES = {
    "ttl": (1, 255),
    "seq": (0, 0xFFFF),
    "ident": (0, 0xFFFF),
    "flow": (0, 0xFFFF),
    # Never a privileged source port: a request cannot make the helper speak as a system service (DNS, NTP ...).
    "sport": (1024, 0xFFFF),
    "dport": (1, 0xFFFF),
}


class Invalid(ValueError):
    """A request that is refused; the message is the reason sent back."""


def _number(name: str, text: str) -> int:
    if not text.isdigit() or not text.isascii() or len(text) > 5:
        raise Invalid(f"{name} must be a decimal number")
    value = int(text)
    lo, hi = _RANGES[name]
    if not lo <= value <= hi:
        raise Invalid(f"{name} must be within {lo} and {hi}")
    return value


def _address(text: str) -> str:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise Invalid("dst must be an IPv4 or IPv6 address literal") from None
    if addr.is_multicast or addr.is_unspecified or str(addr) == "255.255.255.255":
        raise Invalid("dst must be a unicast address")
    return str(addr)


def parse_request(line: str) -> tuple[str, dict]:
    """(token, fields) of a probe request; Invalid with the reason otherwise. Pure: tested without sockets."""
    if len(line) > MAX_LINE:
        raise Invalid("line too long")
    parts = line.split(" ")
    if len(parts) < 3 or not parts[0].isdigit() or not parts[0].isascii() or len(parts[0]) > 10:
        raise Invalid("expected '<token> probe key=value ...'")
    token, verb, args = parts[0], parts[1], parts[2:]
    if verb != "probe":
        raise Invalid(f"unknown request {verb[:20]!r}: only 'probe' is accepted")
    raw: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key or not value:
            raise Invalid(f"malformed field {arg[:30]!r}")
        if key in raw:
            raise Invalid(f"field {key[:20]} given twice")
        raw[key] = value
    proto = raw.get("proto")
    if proto not in _FIELDS:
        raise Invalid("proto must be icmp, udp or tcp")
    expected = set(_FIELDS[proto])
    if set(raw) != expected:
        missing, extra = sorted(expected - set(raw)), sorted(set(raw) - expected)
        raise Invalid(f"fields for {proto}: missing {missing}, unexpected {[e[:20] for e in extra]}")
    fields: dict = {"proto": proto, "dst": _address(raw["dst"])}
    for name in _FIELDS[proto][2:]:
        fields[name] = _number(name, raw[name])
    return token, fields


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float, now: float):
        self.rate, self.burst, self.tokens, self.t = rate_per_s, burst, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def _drop_root() -> None:
    """Once the sockets are open, root is no longer needed: become the user who asked for us."""
    if os.geteuid() != 0:
        return
    uid = os.environ.get("SUDO_UID") or os.environ.get("PKEXEC_UID")
    if not uid or not uid.isdigit() or int(uid) == 0:
        return  # really started by root: nothing to give back
    gid = os.environ.get("SUDO_GID")
    os.setgroups([])
    os.setgid(int(gid) if gid and gid.isdigit() else 65534)
    os.setuid(int(uid))


def _writable_by_others(st: os.stat_result, ancestor: bool = False) -> bool:
    """Whether someone other than root can change this file or folder (or what is in it). ``ancestor``: the folder
    only leads to what is checked (its own entries are not imported): a root-owned sticky folder such as /tmp is
    then safe, since only an entry's owner may rename or remove it there, and the entry below is checked itself."""
    if st.st_uid != 0:
        return True  # its owner can, whatever the mode says
    if ancestor and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
        return False
    if st.st_mode & stat.S_IWOTH:
        return True
    return bool(st.st_mode & stat.S_IWGRP) and st.st_gid != 0


def _with_parents(path: str) -> list[str]:
    out = []
    for p in {os.path.abspath(path), os.path.realpath(path)}:
        while True:
            out.append(p)
            parent = os.path.dirname(p)
            if parent == p:
                break
            p = parent
    return out


def unsafe_install(
    executable: str | None = None, package: str | None = None, path: list[str] | None = None
) -> str | None:
    """Why this helper must not run with root's rights, or None when its install is safe.

    The helper runs as root (sudo, pkexec) or with ``cap_net_raw``; whoever can change its interpreter, its
    package (``pingmos``) or any folder on its import path could make it run their code with those rights. So
    every one of them, and every folder above them, must be writable by root alone: owned by root and not
    writable by group (other than root's) or others. Returns the first offender in words."""
    executable = executable or sys.executable
    package = package or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.path if path is None else path
    checks: list[tuple[str, str]] = [(p, "the Python interpreter") for p in _with_parents(executable)]
    leaves = {os.path.abspath(executable), os.path.realpath(executable)}
    for root, _dirs, files in os.walk(package):
        checks.append((root, "pingmos's package"))
        checks += [(os.path.join(root, f), "pingmos's package") for f in files]
        leaves.add(root)
    checks += [(p, "pingmos's package") for p in _with_parents(package)]
    for entry in path:
        if entry and os.path.exists(entry):
            checks += [(p, "the import path") for p in _with_parents(entry)]
            leaves |= {os.path.abspath(entry), os.path.realpath(entry)}
    seen = set()
    for p, what in checks:
        if p in seen:
            continue
        seen.add(p)
        try:
            st = os.stat(p)
        except OSError:
            continue
        if _writable_by_others(st, ancestor=p not in leaves):
            return f"{p} ({what}) can be changed by a user other than root"
    return None


def privileged() -> bool:
    """Whether this process has root's rights or any capability (e.g. ``cap_net_raw`` on its interpreter)."""
    if os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status", "rb") as f:
            return any(line.startswith(b"CapEff:") and int(line.split()[1], 16) != 0 for line in f)
    except (OSError, ValueError):
        return False


def _die_with_parent(parent: int) -> None:
    # Set after any credential change: changing the effective uid clears the parent-death signal.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the prctl took effect
        sys.exit(0)


class Helper:
    def __init__(self, out) -> None:
        self.out = out
        self.networks: dict[socket.AddressFamily, RawSocketNetwork] = {}
        self.sources: dict[str, str] = {}
        self.outstanding: dict[tuple, tuple[str, float]] = {}  # probe key -> (token, monotonic time to forget it)
        self.bucket = TokenBucket(MAX_PROBES_PER_S, MAX_PROBES_PER_S, time.monotonic())

    def open(self) -> None:
        """Raw sockets for IPv4 (required) and IPv6 (when the host has it), every protocol."""
        self.networks[socket.AF_INET] = RawSocketNetwork(socket.AF_INET, "tcp")
        with contextlib.suppress(OSError):  # no IPv6 on this host: IPv6 probes get an error answer
            self.networks[socket.AF_INET6] = RawSocketNetwork(socket.AF_INET6, "tcp")

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def handle_line(self, line: str) -> None:
        line = line.rstrip("\n")
        try:
            token, fields = parse_request(line)
        except Invalid as exc:
            token = line.split(" ", 1)[0]
            token = token if token.isdigit() and token.isascii() and len(token) <= 10 else "0"
            self.say(f"{token} invalid {exc}")
            return
        self.probe(token, fields)

    def probe(self, token: str, f: dict) -> None:
        dst = f["dst"]
        family = socket.AF_INET6 if ":" in dst else socket.AF_INET
        net = self.networks.get(family)
        if net is None:
            self.say(f"{token} error no IPv{6 if family == socket.AF_INET6 else 4} sockets in the helper")
            return
        now = time.monotonic()
        if len(self.outstanding) >= MAX_OUTSTANDING:
            self._forget(now)
            if len(self.outstanding) >= MAX_OUTSTANDING:
                self.say(f"{token} invalid too many probes outstanding")
                return
        if not self.bucket.take(now):
            self.say(f"{token} invalid rate limit of {MAX_PROBES_PER_S:g} probes/s exceeded")
            return
        try:
            if len(self.sources) > MAX_DESTINATIONS:
                self.sources.clear()  # a cache, not a record: keeps a client from growing it without bound
            src = self.sources.get(dst) or self.sources.setdefault(dst, source_address_for(dst))
            if f["proto"] == "icmp":
                template = IcmpEchoTemplate(src, dst, f["ident"], flow=f["flow"])
            elif f["proto"] == "udp":
                template = UdpTemplate(src, dst, f["sport"], f["dport"])
            else:
                template = TcpSynTemplate(src, dst, f["sport"], f["dport"])
            packet = template.packet(f["ttl"], f["seq"])
            self.outstanding[template.key(f["seq"])] = (token, now + PROBE_MEMORY_S)
            sent_at = net.send(packet, dst)
        except OSError as exc:
            self.say(f"{token} error {exc.strerror or exc}")
            return
        self.say(f"{token} sent at={sent_at:.9f}")

    def _forget(self, now: float) -> None:
        for key in [k for k, (_t, until) in self.outstanding.items() if until <= now]:
            del self.outstanding[key]

    def pump(self, timeout_s: float) -> None:
        """Pass on replies to our probes that arrived within ``timeout_s``."""
        for net in self.networks.values():
            for data, received_at in net.recv(timeout_s):
                reply = parse_reply(data)
                entry = self.outstanding.pop(reply.key, None) if reply is not None else None
                if entry is not None:
                    self.say(f"{entry[0]} reply at={received_at:.9f} packet={data.hex()}")
            timeout_s = 0.0

    def fds(self) -> list:
        return [s for net in self.networks.values() for s in net._rx]


def main() -> int:
    parent = os.getppid()
    out = sys.stdout
    if privileged():
        unsafe = unsafe_install()
        if unsafe is not None:  # whoever can change it could run code with our rights: do nothing at all
            out.write(f"fatal refusing to run with root's rights: {unsafe}; install pingmos where only root can "
                      "write (see the README, 'Running with privileges')\n")  # fmt: skip
            out.flush()
            return EXIT_UNSAFE_INSTALL
    helper = Helper(out)
    try:
        helper.open()
    except NoPermission as exc:
        helper.say(f"fatal {exc}")
        return EXIT_NO_PERMISSION
    except OSError as exc:
        helper.say(f"fatal cannot open sockets: {exc}")
        return 1
    load_template_builder()  # scapy is imported lazily; after dropping root its files may be out of reach
    _drop_root()
    _die_with_parent(parent)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    helper.say(f"ready version={VERSION}")
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    return serve(helper, stdin.fileno())


def serve(helper: Helper, requests_fd: int) -> int:
    """Answer the requests read from ``requests_fd`` until it ends (the client closed it or died); returns 0."""
    poller = select.poll()
    poller.register(requests_fd, select.POLLIN)
    for fd in helper.fds():
        poller.register(fd, select.POLLIN)
    pending = b""
    while True:
        events = poller.poll(1000)
        helper.pump(0.0)
        if not any(fd == requests_fd for fd, _ in events):
            helper._forget(time.monotonic())
            continue
        chunk = os.read(requests_fd, 65536)
        if not chunk:
            return 0  # stdin closed: the client is gone
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            helper.handle_line(line.decode("ascii", "replace"))
            helper.pump(0.0)
        if len(pending) > MAX_LINE:
            pending = b""
            helper.say("0 invalid line too long")


if __name__ == "__main__":
    sys.exit(main())
