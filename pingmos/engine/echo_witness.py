"""Direct echo probes to one or a few addresses: the second witness for "is this router losing traffic?".

A router that drops the time-exceeded replies our trace asks of it (Linux rate-limits ICMP errors by default,
``icmp_ratemask``) usually still answers echo requests sent to its own address, which it does not rate-limit.
Echo to it without loss, while its TTL-expired replies go missing, means rate limiting, not loss on the path.

Same machinery as the trace: the prebuilt ICMP echo template (TTL 64, so the probe reaches the address itself),
the reply matcher (matching by identifier and sequence, never arrival order) and the Network interface, so it
runs on the FakeNetwork in tests and on raw sockets for real. Pure engine: returns round-trip times only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pingmos.engine.matcher import OWN_ECHOES, Matcher, Outstanding
from pingmos.engine.network import Network, source_address_for
from pingmos.engine.packets import IcmpEchoTemplate, parse_reply
from pingmos.engine.tracer import Clock, process_icmp_ident

ECHO_TTL = 64


def echo_probe(
    addresses: Sequence[str],
    network: Network,
    count: int = 20,
    interval_s: float = 0.05,
    timeout_s: float = 1.0,
    clock: Clock | None = None,
    source: str | None = None,
) -> dict[str, list[float | None]]:
    """Send ``count`` echo requests to each address (one round to all addresses every ``interval_s``) and wait up
    to ``timeout_s`` for each reply. Returns per address the round-trip times in ms in sending order, None for a
    probe that got no reply in time. Takes about count * interval_s + timeout_s. ValueError for count < 1.
    The caller owns ``network`` (opens and closes it). While it runs and for ``timeout_s`` after, its ICMP
    identifier is in ``matcher.OWN_ECHOES``: a trace's raw socket sees these replies too, and counts them as the
    witness's (``Matcher.own_echo_replies``), never as another program's (``unmatched``)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if interval_s <= 0 or timeout_s <= 0:
        raise ValueError("interval and timeout must be positive")
    clock = clock or Clock()
    ident = process_icmp_ident()
    templates = {a: IcmpEchoTemplate(source or source_address_for(a), a, ident) for a in addresses}
    matcher = Matcher("")
    results: dict[str, list[float | None]] = {a: [None] * count for a in addresses}
    where: dict[int, tuple[str, int]] = {}  # seq -> (address, index of the probe)
    seq = random.randrange(1, 0xFFFF - count * max(1, len(addresses)))
    start = clock.monotonic()
    sent_rounds = 0

    def handle(packets) -> None:
        for data, received_at in packets:
            reply = parse_reply(data)
            if reply is None:
                continue
            sample = matcher.match(reply, received_at)
            if sample is None:
                continue
            address, index = where[sample.seq]
            if reply.responder == address:  # an echo reply from the address itself, not an error on the way
                results[address][index] = sample.rtt_ms

    with OWN_ECHOES.using(ident, timeout_s):
        while True:
            now = clock.monotonic()
            next_send = start + sent_rounds * interval_s if sent_rounds < count else None
            wake = [t for t in (next_send, matcher.next_deadline()) if t is not None]
            if not wake:
                break
            handle(network.recv(max(0.0, min(wake) - now)))
            now = clock.monotonic()
            matcher.expire(now)
            if next_send is not None and now >= next_send:
                for address, template in templates.items():
                    seq += 1
                    sent_at = network.send(template.packet(ECHO_TTL, seq), address)
                    matcher.add(template.key(seq), Outstanding(sent_rounds, ECHO_TTL, seq, sent_at, now + timeout_s))
                    where[seq] = (address, sent_rounds)
                sent_rounds += 1
    return results
