"""A packet forger for lab tests: `python -m tests.lab.forger KIND TTL` (inside the client namespace, as root).

It watches the probes leaving the client on link0 (AF_PACKET) and, for every probe with hop limit TTL, at once
hands the client a forged answer through a raw socket (delivered locally, so it beats the genuine answer), one of:
- ``echo-from-other``: an echo reply with the probe's identifier and sequence from an address never probed;
- ``port-unreach``: a port unreachable claiming the target's source address, quoting the probe exactly;
- ``syn-ack`` / ``rst``: a TCP SYN-ACK / RST-ACK from the target's address acknowledging the probe's SYN;
- ``quote-src`` / ``quote-dst``: a port unreachable from the target whose quoted header has another source or
  destination than the probe's.
Prints "READY" when listening and, at SIGTERM, how many packets it forged.
"""

from __future__ import annotations

import signal
import socket
import sys

from pingmos.engine.wire import PROTO_TCP, build_destination_reply, build_unreachable, ip_header_length

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
OTHER = "198.18.77.7"


def forge(kind: str, probe: bytes) -> bytes | None:
    if kind == "echo-from-other" and probe[9] == 1:
        return build_destination_reply(probe, OTHER)
    if kind == "port-unreach" and probe[9] == 17:
        return build_destination_reply(probe)
    if kind in ("syn-ack", "rst") and probe[9] == PROTO_TCP:
        reply = bytearray(build_destination_reply(probe))
        reply[ip_header_length(reply) + 13] = 0x12 if kind == "syn-ack" else 0x14
        return bytes(reply)  # the TCP checksum is left stale: nothing on the receiving side checks it
    if kind in ("quote-src", "quote-dst"):
        quoted = bytearray(probe)
        at = 12 if kind == "quote-src" else 16
        quoted[at : at + 4] = socket.inet_aton(OTHER)
        dst = socket.inet_ntoa(probe[16:20])
        return build_unreachable(bytes(quoted), dst, 3)
    return None


def main() -> int:
    kind, ttl = sys.argv[1], int(sys.argv[2])
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    sniff.bind(("link0", ETH_P_ALL))
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    forged = 0

    def stop(*_):
        print(f"forged {forged}", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("READY", flush=True)
    while True:
        packet, addr = sniff.recvfrom(65535)
        if addr[2] != PACKET_OUTGOING or len(packet) < 28 or packet[0] >> 4 != 4 or packet[8] != ttl:
            continue
        reply = forge(kind, packet)
        if reply is not None:
            # To the client itself: the kernel delivers it locally, to every raw socket that wants it.
            out.sendto(reply, (socket.inet_ntoa(packet[12:16]), 0))
            forged += 1


if __name__ == "__main__":
    sys.exit(main())
