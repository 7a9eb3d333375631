"""Packet capture on one lab device with kernel timestamps: the lab's independent measuring stick.

`python -m tests.netlab.capture DEV` (run inside a namespace, as root) opens an AF_PACKET socket on DEV,
prints "READY", records every IPv4 ICMP/UDP packet crossing DEV in either direction until SIGTERM/SIGINT,
then prints one JSON document: {"packets": [...], "dropped": n}.

Timestamps (SO_TIMESTAMPNS, wall clock ns) are the kernel's: for a packet we send, the moment the stack
hands it to the device (dev_queue_xmit_nit); for one we receive, the moment the device hands it to the
stack, which is the same stamp a raw socket's reader gets. The round trip between them is therefore what
the network (the relay, the routers) really took, whatever this process or the one being measured was
doing at the time. See `Capture.probes()` in lab.py for how requests and replies are paired.

Each packet record: {"t_ns", "out" (bool: sent from this namespace), "src", "dst", "ttl", "proto",
"key" (list or null)}. "key" names the probe a packet is or quotes, in the engine's terms: ["icmp", id,
seq] for an echo request/reply or an ICMP error quoting one, ["udp", sport, dport, ip_id] for a UDP probe
or an ICMP error quoting one. For ICMP, "type" is added.
"""

from __future__ import annotations

import json
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SOL_PACKET = 263
PACKET_STATISTICS = 6
_TIMESPEC = struct.Struct("@qq")


def probe_key(inner: bytes) -> list | None:
    """The probe key of an IPv4 packet (header included): an outgoing probe, or the packet an error quotes."""
    if len(inner) < 20:
        return None
    ihl = (inner[0] & 0x0F) * 4
    if len(inner) < ihl + 8:
        return None
    proto = inner[9]
    if proto == 1:
        itype, _code, _sum, ident, seq = struct.unpack_from("!BBHHH", inner, ihl)
        return ["icmp", ident, seq] if itype in (0, 8) else None
    if proto == 17:
        (ip_id,) = struct.unpack_from("!H", inner, 4)
        sport, dport = struct.unpack_from("!HH", inner, ihl)
        return ["udp", sport, dport, ip_id]
    return None


def describe(packet: bytes, t_ns: int, outgoing: bool) -> dict | None:
    """The record of one captured IPv4 packet, None for anything that is neither ICMP nor UDP."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] not in (1, 17):
        return None
    ihl = (packet[0] & 0x0F) * 4
    rec = {
        "t_ns": t_ns,
        "out": outgoing,
        "src": socket.inet_ntoa(packet[12:16]),
        "dst": socket.inet_ntoa(packet[16:20]),
        "ttl": packet[8],
        "proto": packet[9],
        "key": None,
    }
    if packet[9] == 1 and len(packet) >= ihl + 8:
        itype = packet[ihl]
        rec["type"] = itype
        if itype in (0, 8):
            rec["key"] = probe_key(packet)
        elif itype in (3, 11):
            rec["key"] = probe_key(packet[ihl + 8 :])
    elif packet[9] == 17:
        rec["key"] = probe_key(packet)
    return rec


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.netlab.capture DEV", file=sys.stderr)
        return 2
    dev = argv[1]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((dev, ETH_P_ALL))
    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sock.settimeout(0.1)  # wake now and then to notice a stop request
    print("READY", flush=True)
    records = []
    cmsg_size = socket.CMSG_SPACE(_TIMESPEC.size)
    while True:
        if stop and sock.gettimeout() != 0.0:
            sock.setblocking(False)  # stop requested: drain what the kernel already holds, then finish
        try:
            data, ancdata, _flags, addr = sock.recvmsg(65535, cmsg_size)
        except BlockingIOError:
            break
        except TimeoutError:
            continue
        t_ns = None
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = _TIMESPEC.unpack_from(value)
                t_ns = sec * 1_000_000_000 + nsec
        if t_ns is None or addr[1] != ETH_P_IP:
            continue
        rec = describe(data, t_ns, addr[2] == PACKET_OUTGOING)
        if rec is not None:
            records.append(rec)
    # tp_packets, tp_drops: packets the socket buffer could not hold would make the capture incomplete.
    _packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    json.dump({"packets": records, "dropped": drops}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
