"""A tiny authoritative DNS responder for the lab (pure functions, no sockets).

The relay daemon owns the UDP socket (bound to 127.0.0.1:53 inside the client namespace) and calls
`answer()` for every datagram. Only what glibc's resolver needs is implemented: one question per query,
class IN, types A / AAAA / PTR. Anything outside the lab's zone gets NXDOMAIN, so a test can see that a
name was looked up without any query ever leaving the lab.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A = 1
TYPE_PTR = 12
TYPE_AAAA = 28
CLASS_IN = 1

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4

TYPE_NAMES = {TYPE_A: "A", TYPE_PTR: "PTR", TYPE_AAAA: "AAAA"}
TTL_S = 60


@dataclass(frozen=True)
class Question:
    name: str  # lower case, no trailing dot
    qtype: int
    qclass: int
    end: int  # offset just past the question in the query, for echoing it back


def reverse_name(addr: str) -> str:
    """'198.18.0.2' -> '2.0.18.198.in-addr.arpa' (the name a PTR query asks for)."""
    return ipaddress.ip_address(addr).reverse_pointer


def parse_question(msg: bytes) -> Question:
    """Parse the header and first question of a query; raises ValueError when malformed.

    Compression pointers are not followed: a resolver never compresses the question of a query.
    """
    if len(msg) < 12:
        raise ValueError("short header")
    (qdcount,) = struct.unpack_from("!H", msg, 4)
    if qdcount != 1:
        raise ValueError("expected exactly one question")
    labels = []
    pos = 12
    while True:
        if pos >= len(msg):
            raise ValueError("truncated name")
        length = msg[pos]
        pos += 1
        if length == 0:
            break
        if length > 63:
            raise ValueError("compressed or bad label in question")
        labels.append(msg[pos : pos + length].decode("ascii", "replace"))
        pos += length
    if pos + 4 > len(msg):
        raise ValueError("truncated question")
    qtype, qclass = struct.unpack_from("!HH", msg, pos)
    return Question(".".join(labels).lower(), qtype, qclass, pos + 4)


def encode_name(name: str) -> bytes:
    out = b"".join(bytes([len(label)]) + label.encode("ascii") for label in name.split(".") if label)
    return out + b"\x00"


def answer(query: bytes, ptr: dict[str, str], a: dict[str, str], zone: str) -> tuple[bytes | None, Question | None]:
    """Build the response to one query datagram.

    ptr maps reverse names ('2.0.18.198.in-addr.arpa') to host names, a maps host names to IPv4 addresses;
    all keys lower case without trailing dot. Returns (response or None if the datagram is not worth an
    answer, parsed question or None). Names in `zone` that exist get NOERROR (with an empty answer for
    AAAA: the lab is IPv4 only); everything else is NXDOMAIN.
    """
    if len(query) < 12:
        return None, None
    ident, flags = struct.unpack_from("!HH", query, 0)
    if flags & 0x8000:  # a response, not a query: never answer those (avoids loops)
        return None, None
    rd = flags & 0x0100
    opcode = (flags >> 11) & 0xF
    try:
        q = parse_question(query)
    except ValueError:
        return _header(ident, opcode, rd, RCODE_FORMERR, 0, 0), None
    if opcode != 0 or q.qclass != CLASS_IN:
        return _header(ident, opcode, rd, RCODE_NOTIMP, 1, 0) + query[12 : q.end], q

    rdatas: list[bytes] = []
    exists = False
    if q.name in ptr:
        exists = True
        if q.qtype == TYPE_PTR:
            rdatas.append(encode_name(ptr[q.name]))
    elif q.name in a:
        exists = True
        if q.qtype == TYPE_A:
            rdatas.append(ipaddress.IPv4Address(a[q.name]).packed)
    elif q.name == zone:
        exists = True  # the zone apex exists, it just has no A/PTR records
    rcode = RCODE_NOERROR if exists else RCODE_NXDOMAIN
    out = _header(ident, opcode, rd, rcode, 1, len(rdatas)) + query[12 : q.end]
    for rdata in rdatas:
        # 0xC00C: compression pointer to the question name at offset 12.
        out += struct.pack("!HHHIH", 0xC00C, q.qtype, CLASS_IN, TTL_S, len(rdata)) + rdata
    return out, q


def _header(ident: int, opcode: int, rd: int, rcode: int, qdcount: int, ancount: int) -> bytes:
    # QR=1, AA=1 (we are the authority for the lab), RA=1 so resolvers do not complain.
    flags = 0x8000 | (opcode << 11) | 0x0400 | rd | 0x0080 | rcode
    return struct.pack("!HHHHHH", ident, flags, qdcount, ancount, 0, 0)
