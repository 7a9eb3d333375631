"""Name resolution: the target's address before a trace, and reverse DNS of responders in the background.

Reverse lookups run in a small thread pool and are cached; asking for a name never blocks (it returns what is
known now and starts a lookup), so DNS never delays probing.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
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


MAX_NAME_CHARS = 253  # RFC 1035 2.3.4: 255 octets on the wire are 253 characters of dotted text
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")  # RFC 1123 2.1: letters, digits, hyphen


def is_address_literal(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address literal (an IPv6 one may carry a ``%zone``, as fe80::1%eth0):
    it needs no lookup."""
    address, _, zone = text.partition("%")
    families = (socket.AF_INET6,) if zone else (socket.AF_INET, socket.AF_INET6)
    if zone and not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", zone):
        return False
    for family in families:
        with contextlib.suppress(OSError):
            socket.inet_pton(family, address)
            return True
    return False


def check_host_name(target: str) -> None:
    """ResolveError (one line saying what is wrong) unless ``target`` is an address literal
    (``is_address_literal``) or a host name the resolver may be asked about: RFC 1123 labels of 1-63 letters,
    digits and inner hyphens, at most 253 characters in all (one trailing dot allowed), a last label that is not
    all digits (``host.999`` is neither a name nor an address), labels not all numbers (``127.1``, ``0x7f000001``,
    ``0177.0.0.1``: IPv4 forms inet_aton reads, refused with the dotted-decimal address), no CIDR suffix, space or
    control character. A name in another script is checked in its IDNA (punycode) form, as the resolver is asked.
    Called before any lookup: a malformed name never reaches the resolver."""
    shown = repr(target[:60] + ("..." if len(target) > 60 else ""))  # repr: control characters stay escaped
    if not target:
        raise ResolveError("the host name is empty: give a host name or an IP address")
    if is_address_literal(target):
        return
    if "/" in target:
        raise ResolveError(f"{shown} is a network (address/prefix), not a host: give one address or host name")
    # URL habits: [::1] (brackets are for a URL, around an IPv6 address before a port) and host:port.
    if target.startswith("[") and target.endswith("]") and is_address_literal(target[1:-1]):
        raise ResolveError(f"{shown}: give the IPv6 address without brackets: {target[1:-1]}")
    host, colon, port = target.rpartition(":")
    if colon and port.isdigit() and port.isascii() and (host.startswith("[") or ":" not in host):
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if host and (is_address_literal(host) or ":" not in host):
            raise ResolveError(
                f"{shown} names a port: give the host alone ({host}) and the port as its own setting (--port {port})"
            )
    if any(ch.isspace() or not ch.isprintable() for ch in target):
        raise ResolveError(f"{shown} is not a host name: it holds a space or a control character")
    if len(target) > MAX_NAME_CHARS + target.endswith("."):
        raise ResolveError(f"a host name has at most {MAX_NAME_CHARS} characters; this one has {len(target)}")
    name = target[:-1] if target.endswith(".") else target
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise ResolveError(f"{shown} is not a host name (not valid IDNA)") from None
    labels = name.split(".")
    bad = next((label for label in labels if not _LABEL.fullmatch(label)), None)
    if bad is not None:
        what = "an empty label (two dots, or a dot first)" if bad == "" else f"the label {bad[:70]!r}"
        raise ResolveError(
            f"{shown} is not a host name: {what}; a label is 1-63 letters, digits and inner hyphens (RFC 1123)"
        )
    if all(_NUMBER.fullmatch(label) for label in labels):
        # Every label a number: an IPv4 address in a form inet_aton (and so getaddrinfo, ping, a browser) reads
        # but inet_pton does not. One rule for every place a host is read: refused with the dotted-decimal form,
        # never looked up and never guessed at (010.0.0.1 is 8.0.0.1 to inet_aton, 10.0.0.1 to a reader).
        canonical = _inet_aton(labels)
        if canonical is None:
            raise ResolveError(f"{shown} is neither an IP address nor a host name")
        form = _aton_form(labels, trailing_dot=target.endswith("."))
        if "octal" in form:  # the address meant is as likely the digits read in decimal: name both, pick neither
            raise ResolveError(
                f"{shown} is an IPv4 address in {form} form, which pingmos does not read: give four decimal "
                f"numbers without leading zeros (inet_aton reads this one as {canonical})"
            )
        raise ResolveError(
            f"{shown} is an IPv4 address in {form} form, which pingmos does not read: give it as {canonical}"
        )
    if labels[-1].isdigit():
        raise ResolveError(f"{shown} is neither an IP address nor a host name")


# A label inet_aton reads as a number: 0x hex, 0-led octal (digits 8 and 9 make it no number), or decimal.
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]*|[0-9]+")


def _aton_number(label: str) -> int | None:
    if label[:2] in ("0x", "0X"):
        return int(label[2:], 16) if len(label) > 2 else None
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8) if set(label) <= set("01234567") else None
    return int(label)


def _inet_aton(labels: list[str]) -> str | None:
    """The dotted-decimal address inet_aton(3) reads from these numeric labels (a, a.b, a.b.c or a.b.c.d, the last
    filling the remaining bytes), or None when it reads none (too many parts, a part out of range)."""
    numbers = [_aton_number(label) for label in labels]
    if not 1 <= len(numbers) <= 4 or None in numbers:
        return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = 0
    for n in head:
        value = value << 8 | n
    value = value << 8 * (5 - len(numbers)) | last
    return str(ipaddress.IPv4Address(value))


def _aton_form(labels: list[str], trailing_dot: bool = False) -> str:
    """How numeric labels depart from dotted decimal, in words: 'shorthand', 'hex', 'octal', or several."""
    kinds = []
    if len(labels) == 1:
        kinds.append("single-number")
    elif len(labels) < 4:
        kinds.append(f"{len(labels)}-part shorthand")
    if any(label[:2] in ("0x", "0X") for label in labels):
        kinds.append("hex")
    if any(len(label) > 1 and label.startswith("0") and label[1] not in "xX" for label in labels):
        kinds.append("octal (a leading 0)")
    if trailing_dot:
        kinds.append("trailing-dot")
    return " and ".join(kinds)


def resolve_target(target: str, ip_version: int | None = 4) -> str:
    """The address of ``target``: IPv4 (``ip_version`` 4, the default), IPv6 (6), or either (None: the first
    address the resolver gives, which follows the system's RFC 6724 preference). A literal address is returned
    in canonical form, without any DNS query; a malformed name (``check_host_name``) is refused before any."""
    literal = _literal(target, ip_version)
    if literal is not None:
        return _one_host(literal, target)
    check_host_name(target)
    family = {4: socket.AF_INET, 6: socket.AF_INET6, None: socket.AF_UNSPEC}[ip_version]
    try:
        infos = socket.getaddrinfo(target, None, family, socket.SOCK_RAW)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ResolveError(f"cannot resolve {target!r}: {reason}") from None
    infos = [i for i in infos if i[0] in (socket.AF_INET, socket.AF_INET6)]
    if not infos:
        raise ResolveError(f"cannot resolve {target!r}: no IPv{ip_version or '4/6'} address")
    return _one_host(infos[0][4][0].split("%")[0], target)


def _one_host(address: str, target: str) -> str:
    """``address`` when it is one host's; ResolveError otherwise. A multicast group, the broadcast or unspecified
    address answer as no host does (a raw socket sent to 224.0.0.1 and the report showed 100 % loss, MOS 1.00,
    as if measured), and an IPv4-mapped IPv6 address is traced over IPv6, where nothing answers for it."""
    ip = ipaddress.ip_address(address)
    if ip.is_multicast:
        kind = "a multicast group address"
    elif ip.is_unspecified:
        kind = "the unspecified address"
    elif ip == ipaddress.IPv4Address("255.255.255.255"):
        kind = "the broadcast address"
    elif isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        raise ResolveError(f"{target!r} is an IPv4-mapped IPv6 address: trace its IPv4 address, {ip.ipv4_mapped}")
    else:
        return address
    shown = repr(target) if target == address else f"{target!r} ({address})"
    raise ResolveError(f"{shown} is {kind}, not one host: give the address or name of the host to trace")


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
