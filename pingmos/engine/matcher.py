"""The reply matcher: pairs each reply with the probe it quotes, checks that the reply proves it, and declares probes
lost at their deadline.

Replies are matched by what they quote (ICMP identifier and sequence, UDP/TCP ports and sequence), never by arrival
order. A reply that matches no outstanding probe (another program's, a duplicate, one that came after its probe's
timeout, or one to a probe sent beyond the path's end, forgotten once the end is known) is counted in ``unmatched``
and otherwise ignored. The replies to this process's own echo witness (``echo_witness``: its echo requests to a router,
whose answers a raw ICMP socket of a trace running meanwhile sees too) are ours, not another program's: they are
counted apart in ``own_echo_replies`` (see ``OWN_ECHOES``) and never in ``unmatched``.

A reply that names one of our probes must also prove it (anyone can put our identifier and sequence in a packet):
- an echo reply, SYN-ACK or RST counts only from the address probed;
- an ICMP error counts only when the probe header it quotes has our source and the probe's destination.
A reply that fails its proof is counted in ``suspicious`` and leaves the probe outstanding, so the genuine answer
can still match it.

Whether an answer ends the path (the destination answered, or a router refused with destination unreachable) is
the tracer's question (``path_end``); with ``hold_end_claims`` the matcher keeps such a probe aside ("claimed")
until the tracer has judged the claim, and after that ("retired") until the probe's deadline, so that a second,
genuine answer to it can still be matched and weighed against the first (``second_answer`` is then True).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from pingmos.engine.events import Sample
from pingmos.engine.wire import TCP_ANSWERS, ProbeKey, Reply, ReplyKind, canonical_address, is_port_unreachable

_ECHO_REPLY = ReplyKind.ECHO_REPLY
_TIME_EXCEEDED = ReplyKind.TIME_EXCEEDED
_UNREACHABLE = ReplyKind.UNREACHABLE
_TE = _TIME_EXCEEDED.value
_UNREACHABLE_VALUE = _UNREACHABLE.value


class Outstanding(NamedTuple):
    """A probe awaiting its answer (a named tuple: one per probe sent, cheap to make)."""

    round: int
    ttl: int
    seq: int
    sent_at: float  # wall clock, seconds: pairs with the kernel's wall-clock receive stamp
    deadline: float  # monotonic clock, seconds


class OwnEchoes:
    """The ICMP identifiers of this process's echo witnesses (``echo_witness.echo_probe``) in use: while one runs
    and for its probe timeout after it (a late answer), a reply quoting one is ours, never "another program's".
    Thread-safe: the witness runs in a worker thread while the trace's thread matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[int, float] = {}  # ident -> monotonic s it stops being ours (inf while in use)

    def add(self, ident: int) -> None:
        with self._lock:
            self._until[ident] = float("inf")

    def release(self, ident: int, linger_s: float) -> None:
        """The witness using ``ident`` is done; its late replies are still ours for ``linger_s`` seconds."""
        with self._lock:
            self._until[ident] = time.monotonic() + linger_s

    @contextmanager
    def using(self, ident: int, linger_s: float) -> Iterator[None]:
        """``ident`` is ours while the block runs (``add``) and for ``linger_s`` after it (``release``)."""
        self.add(ident)
        try:
            yield
        finally:
            self.release(ident, linger_s)

    def __contains__(self, ident: object) -> bool:
        with self._lock:
            if not self._until:
                return False
            now = time.monotonic()
            for old in [i for i, t in self._until.items() if t <= now]:
                del self._until[old]
            return ident in self._until


OWN_ECHOES = OwnEchoes()


def ends_path(sample: Sample) -> bool:
    """True when ``sample`` says the path ends at its TTL: the destination answered, or a destination unreachable
    came back (from the destination or from a router refusing to forward)."""
    return sample.reached or sample.reply == _UNREACHABLE_VALUE


class Matcher:
    """Matches replies to outstanding probes to ``destination`` sent from ``source``.

    ``destination`` "" matches replies from any address (the echo witness probes several); ``source`` None skips
    the check of a quoted source (tests that build probes by hand).
    """

    def __init__(self, destination: str, source: str | None = None):
        self.destination = canonical_address(destination) if destination else ""
        self.source = canonical_address(source) if source else None
        self._ipv6 = ":" in destination
        self._outstanding: dict[ProbeKey, Outstanding] = {}
        # Deadlines grow with send time (the timeout is fixed), so a FIFO holds them in order.
        self._by_deadline: deque[ProbeKey] = deque()
        self._claimed: dict[ProbeKey, Outstanding] = {}
        self._retired: dict[ProbeKey, Outstanding] = {}
        self._retired_by_deadline: deque[ProbeKey] = deque()
        self.second_answer = False  # the last sample ``match`` returned answers an already answered probe
        self.hold_end_claims = False
        # Addresses that answered time-exceeded: routers of this path (bounded: a path has at most 255 hops, a
        # few per hop behind load balancers).
        self._routers: set[str] = set()
        self.unmatched = 0
        self.own_echo_replies = 0  # replies to this process's echo witness (OWN_ECHOES): ours, not unmatched
        self.suspicious = 0  # replies naming a probe of ours that failed their proof (forged or misdirected)

    def __len__(self) -> int:
        return len(self._outstanding)

    def is_outstanding(self, key: ProbeKey) -> bool:
        return key in self._outstanding or key in self._claimed or key in self._retired

    def add(self, key: ProbeKey, probe: Outstanding) -> None:
        if self.is_outstanding(key):
            raise ValueError(f"probe key {key} is still outstanding")
        self._outstanding[key] = probe
        self._by_deadline.append(key)

    def add_free(self, key: ProbeKey, probe: Outstanding) -> None:
        """``add`` for a key the caller has just seen is not outstanding (the tracer's ``_next_seq``)."""
        self._outstanding[key] = probe
        self._by_deadline.append(key)

    def _proves(self, reply: Reply) -> bool:
        """Does ``reply`` prove it answers a probe of ours to the destination (see the module doc)? Addresses
        compare as text: ``wire.parse_reply`` writes them canonically (inet_ntop), as ours are kept."""
        dest = self.destination
        if not dest:
            return True
        kind = reply.kind
        if kind is _ECHO_REPLY or kind in TCP_ANSWERS:
            return reply.responder == dest
        if reply.quoted_dst != dest:
            return False
        return self.source is None or reply.quoted_src == self.source

    def _reached(self, reply: Reply) -> bool:
        if reply.kind is ReplyKind.ECHO_REPLY or reply.kind in TCP_ANSWERS:
            return True
        if reply.kind is not ReplyKind.UNREACHABLE:
            return False
        # A port unreachable is sent by the host the datagram is addressed to, whichever of its addresses it
        # answers from (a multi-homed target, icmp_errors_use_inbound_ifaddr), but also by a router's firewall
        # rejecting what it would forward (iptables REJECT's default): from an address already seen answering
        # time-exceeded, it is that router's refusal. Any other unreachable ends the path at a router unless the
        # destination itself sent it.
        if (
            self.destination
            and is_port_unreachable(reply.kind, reply.icmp_code, self._ipv6)
            and reply.responder not in self._routers
        ):
            return True
        return reply.responder == self.destination

    def match(self, reply: Reply, received_at: float) -> Sample | None:
        """The sample for ``reply`` received at wall-clock ``received_at``; None if it is not ours (``unmatched``)
        or does not prove it (``suspicious``). A reply to a claimed probe (see ``hold_end_claims``) is returned
        too: the tracer compares it with the claim."""
        key = reply.key
        probe = self._outstanding.get(key)
        claimed = probe is None
        if claimed:
            probe = self._claimed.get(key) or self._retired.get(key)
            if probe is None:
                if key[0] == "icmp" and key[1] in OWN_ECHOES:
                    self.own_echo_replies += 1
                else:
                    self.unmatched += 1
                return None
        if not self._proves(reply):
            self.suspicious += 1
            return None
        # A clock step between send and receive could make this negative; 0 is the honest floor.
        rtt_ms = (received_at - probe.sent_at) * 1000.0
        if rtt_ms < 0.0:
            rtt_ms = 0.0
        kind = reply.kind
        responder = reply.responder
        if kind is _TIME_EXCEEDED:
            # The common answer (every hop but the last): a router's, never the end of the path.
            if len(self._routers) < 4096:
                self._routers.add(responder)
            sample = Sample(probe.round, probe.ttl, probe.seq, probe.sent_at, rtt_ms, responder, False, _TE, None)
        else:
            code = reply.icmp_code if kind is _UNREACHABLE else None
            reached = self._reached(reply)
            sample = Sample(
                probe.round, probe.ttl, probe.seq, probe.sent_at, rtt_ms, responder, reached, kind.value, code
            )
        if not claimed:
            del self._outstanding[key]
            if self.hold_end_claims and ends_path(sample):
                self._claimed[key] = probe
        self.second_answer = claimed
        return sample

    def resolve(self, key: ProbeKey) -> None:
        """The tracer has judged the claim on ``key``'s probe: forget it (further replies to it are unmatched)."""
        self._claimed.pop(key, None)

    def retire(self, key: ProbeKey) -> None:
        """The tracer has accepted the claim on ``key``'s probe: keep it until its deadline so that a second answer
        to it (the genuine one, when the first was forged) is still seen."""
        probe = self._claimed.pop(key, None)
        if probe is not None:
            self._retired[key] = probe
            self._retired_by_deadline.append(key)

    def rearm(self, key: ProbeKey, now_mono: float) -> Sample | None:
        """The claim on ``key``'s probe was refused: wait for a genuine answer until its deadline again; the lost
        sample when the deadline has already passed."""
        probe = self._claimed.pop(key, None)
        if probe is None:
            return None
        if probe.deadline <= now_mono:
            return Sample(probe.round, probe.ttl, probe.seq, probe.sent_at, None, None)
        self._outstanding[key] = probe
        self._by_deadline.append(key)  # slightly out of deadline order: it expires at most one timeout late
        return None

    def expire(self, now_mono: float) -> list[Sample]:
        """Samples for every probe whose deadline has passed without a reply: lost."""
        retired = self._retired_by_deadline
        while retired and (retired[0] not in self._retired or self._retired[retired[0]].deadline <= now_mono):
            self._retired.pop(retired.popleft(), None)
        lost = []
        queue = self._by_deadline
        while queue:
            key = queue[0]
            probe = self._outstanding.get(key)
            if probe is None:  # answered already
                queue.popleft()
                continue
            if probe.deadline > now_mono:
                break
            queue.popleft()
            del self._outstanding[key]
            lost.append(Sample(probe.round, probe.ttl, probe.seq, probe.sent_at, None, None))
        return lost

    def next_deadline(self) -> float | None:
        queue = self._by_deadline
        while queue and queue[0] not in self._outstanding:
            queue.popleft()
        return self._outstanding[queue[0]].deadline if queue else None

    def claim_deadline(self, now_mono: float) -> float | None:
        """The latest deadline of a claimed probe still ahead of ``now_mono`` (a second answer may come until
        then), None when there is none."""
        ahead = [p.deadline for p in self._claimed.values() if p.deadline > now_mono]
        return max(ahead) if ahead else None

    def drop_beyond(self, ttl: int) -> None:
        """Forget probes sent beyond the path's end: they are not hops and are not reported as lost."""
        for key in [k for k, p in self._outstanding.items() if p.ttl > ttl]:
            del self._outstanding[key]
