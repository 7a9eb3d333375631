"""Where the path ends, following the latest answers both ways, and which samples are hops (pure: no sockets).

The path ends at the destination (it answered: echo reply, TCP SYN-ACK/RST, port unreachable, or any unreachable
from the destination's own address) or at a router that refused to forward (a destination unreachable: net/host
unreachable, administratively prohibited, ...). Probes beyond the end are not sent and their samples are not hops.

The end moves **up** as soon as a router answers time-exceeded at or beyond it (the route got longer, or the
refusing router forwards again): the tracer then probes up to the maximum TTL again. It moves **down** only when
the claim proves consistent with the other TTLs: an answer that ends the path at TTL k in round r is a *claim*,
held back (with every later sample beyond k) until the probes of one round from r on at TTLs k+1 .. max(k+1, the
old end) have all settled: round r's, or a later round's when one of round r's is lost (a lost probe settles only
at its timeout, 3 s or more: 15 rounds at 0.2 s with the destination unseen). If any sample beyond k from round r
on, or a second answer to the claimed probe itself, is a router's time-exceeded, the claim contradicts the path
(a forged or misrouted "reached" at a low TTL, RFC 5927-style blind forgery): it is counted in ``suspicious`` and
the path is left as it was. Otherwise the path ends at k.

``Decision`` lists what the tracer must do: samples to emit (in order), claimed probes to forget or to re-arm in
the matcher (``matcher.Matcher.resolve``/``rearm``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pingmos.engine.events import Sample
from pingmos.engine.matcher import ends_path
from pingmos.engine.wire import ProbeKey, ReplyKind

_TIME_EXCEEDED = ReplyKind.TIME_EXCEEDED.value


class Decision:
    """What the tracer must do after one event (a plain class with slots: one is made per probe answered)."""

    __slots__ = ("emit", "resolve", "retire", "rearm")

    def __init__(self) -> None:
        self.emit: list[Sample] = []
        self.resolve: list[ProbeKey] = []  # forget the probe
        self.retire: list[ProbeKey] = []  # accepted: keep it for a second answer until its deadline
        self.rearm: list[ProbeKey] = []


# Nothing to do: what ``PathEnd.on_sent`` returns while no claim is pending (every probe but a few). Shared, so
# never to be changed.
NOTHING = Decision()


@dataclass
class _Claim:
    sample: Sample
    key: ProbeKey
    verify_to: int  # TTLs sample.ttl+1 .. verify_to of one round (the claim's or later) must settle
    settled: dict[int, set[int]] = field(default_factory=dict)  # round -> its TTLs k+1 .. verify_to settled
    held: list[tuple[Sample, ProbeKey]] = field(default_factory=list)
    contradicted: bool = False
    alternative: Sample | None = None


def _transit(sample: Sample) -> bool:
    return sample.reply == _TIME_EXCEEDED


class PathEnd:
    """The end of the path (``end_ttl``, None = not known: probe up to ``max_ttl``) and whether it is the
    destination (``end_reached``) or a router's unreachable; ``suspicious`` counts refused claims."""

    def __init__(self, max_ttl: int):
        self.max_ttl = max_ttl
        self.end_ttl: int | None = None
        self.end_reached = False
        self._end_round = -1
        self.suspicious = 0
        self._claim: _Claim | None = None
        self._sent_upto: dict[int, int] = {}  # round -> highest TTL sent in it (the last few rounds)
        self._sending_round = -1

    @property
    def pending(self) -> bool:
        return self._claim is not None

    def on_sent(self, round_no: int, ttl: int) -> Decision:
        """A probe of ``round_no`` at ``ttl`` went out; a new round may settle a pending claim."""
        if round_no != self._sending_round:
            self._sending_round = round_no
            for r in [r for r in self._sent_upto if r < round_no - 8]:
                del self._sent_upto[r]
        if ttl > self._sent_upto.get(round_no, 0):
            self._sent_upto[round_no] = ttl
        if self._claim is None:
            return NOTHING
        out = Decision()
        self._decide(out)
        return out

    def finish(self) -> Decision:
        """The trace is over (its rounds are done, or it was stopped): judge a pending claim on what came in, so
        that no sample stays held back."""
        self._sending_round = 1 << 62
        out = Decision()
        self._decide(out, final=True)
        return out

    def on_sample(self, sample: Sample, key: ProbeKey | None, second: bool = False) -> Decision:
        """Judge one matched or lost sample (``key``: its probe's key, None for a lost one). ``second``: the probe
        had an answer already (``matcher.Matcher.second_answer``)."""
        out = Decision()
        c = self._claim
        if c is None and not second and sample.reply == _TIME_EXCEEDED:
            # Most samples: a router's answer while no claim is pending (``_take`` and ``_decide``, in short).
            self._transit_evidence(sample)
            if self.end_ttl is None or sample.ttl <= self.end_ttl:
                out.emit.append(sample)
            return out
        if second and not (c is not None and key == c.key):
            # A second answer to a probe whose first answer ended the path and was accepted. Never a sample of its
            # own; a router's answer means the first was forged (or the path just grew): it counts as such.
            if _transit(sample):
                self.suspicious += 1
                self._transit_evidence(sample)
                self._decide(out)
            elif sample.ttl == self.end_ttl and sample.reached != self.end_reached:
                # Reached and refused at once: one of them was forged. Look beyond the end again: the next round's
                # claims are proved by the TTLs beyond.
                self.suspicious += 1
                self.end_ttl = None
                self.end_reached = False
            return out
        self._take(sample, key, out)
        self._decide(out)
        return out

    def _transit_evidence(self, s: Sample) -> None:
        """A router expired a probe at ``s.ttl``: the path is longer than any end below it."""
        c = self._claim
        if c is not None and s.round >= c.sample.round and s.ttl > c.sample.ttl:
            c.contradicted = True
        if self.end_ttl is not None and s.ttl >= self.end_ttl and s.round >= self._end_round:
            self.end_ttl = None
            self.end_reached = False

    def _take(self, s: Sample, key: ProbeKey | None, out: Decision) -> None:
        c = self._claim
        if c is not None:
            if key is not None and key == c.key:  # a second answer to the claimed probe
                if _transit(s) or (s.rtt_ms is not None and s.reached != c.sample.reached):
                    c.contradicted = True
                    c.alternative = c.alternative or s
                return
            if s.round >= c.sample.round and s.ttl >= c.sample.ttl:
                c.held.append((s, key))
                if self._contradicts(c, s):
                    c.contradicted = True
                elif c.sample.ttl < s.ttl <= c.verify_to:
                    c.settled.setdefault(s.round, set()).add(s.ttl)
                return
        if s.rtt_ms is not None and ends_path(s):
            self._take_end(s, key, out)
            return
        if _transit(s):
            # A router forwarded (or expired) a probe at or past the end: the path is longer now.
            self._transit_evidence(s)
        if self.end_ttl is None or s.ttl <= self.end_ttl:
            out.emit.append(s)

    def _take_end(self, s: Sample, key: ProbeKey | None, out: Decision) -> None:
        end = self.end_ttl
        c = self._claim
        if end is not None and c is None and (s.ttl > end or (s.ttl == end and s.reached == self.end_reached)):
            if s.ttl == end:  # consistent with the path as known
                if key is not None:
                    out.retire.append(key)
                out.emit.append(s)
            elif key is not None:
                out.resolve.append(key)
            return  # beyond the end: not a hop
        if c is not None:
            if s.round < c.sample.round:
                # A late answer of an older round: it settles nothing; a hop if within the known path.
                if key is not None:
                    out.resolve.append(key)
                if end is None or s.ttl <= end:
                    out.emit.append(s)
                return
            # A lower claim in the same or a later round replaces the pending one, which it then holds.
            old = c
            self._claim = self._new_claim(s, key, max(old.verify_to, s.ttl + 1))
            self._claim.held = [(old.sample, old.key), *old.held]  # all at TTLs above the new claim's
            for h, _k in self._claim.held:
                if self._contradicts(self._claim, h):
                    self._claim.contradicted = True
                elif h.round >= s.round and s.ttl < h.ttl <= self._claim.verify_to:
                    self._claim.settled.setdefault(h.round, set()).add(h.ttl)
            return
        self._claim = self._new_claim(s, key, max(s.ttl + 1, end or 0))

    @staticmethod
    def _contradicts(c: _Claim, s: Sample) -> bool:
        """Does ``s`` (a later sample, same or later round) contradict the claim that the path ends at its TTL?"""
        if s.ttl <= c.sample.ttl:
            return False
        # A router expiring a probe beyond k: the path is longer. And the destination answering at k answers
        # beyond k too, never a router refusing there.
        return _transit(s) or (c.sample.reached and s.rtt_ms is not None and not s.reached)

    def _new_claim(self, s: Sample, key: ProbeKey | None, verify_to: int) -> _Claim:
        return _Claim(s, key, min(verify_to, self.max_ttl))

    def _decide(self, out: Decision, final: bool = False) -> None:
        c = self._claim
        if c is None:
            return
        k, r = c.sample.ttl, c.sample.round
        if c.contradicted:
            self._claim = None
            self.suspicious += 1
            if c.key is not None:
                if c.alternative is not None:
                    out.resolve.append(c.key)
                    self._take(c.alternative, None, out)
                else:
                    out.rearm.append(c.key)
            self._replay(c.held, out)
            return
        if not final and not any(self._proves(c, proof) for proof in (r, *sorted(c.settled.keys() - {r}))):
            return
        # Consistent with every other TTL: the path ends at k.
        self._claim = None
        self.end_ttl, self.end_reached, self._end_round = k, c.sample.reached, r
        if c.key is not None:
            out.retire.append(c.key)
        out.emit.append(c.sample)
        self._replay(c.held, out)

    def _proves(self, c: _Claim, round_no: int) -> bool:
        """Have the probes of ``round_no`` (the claim's round or a later one holding a settled sample beyond it)
        at TTLs k+1 .. verify_to all settled?"""
        k, upto = c.sample.ttl, c.verify_to
        if round_no < self._sending_round:  # the round is sent: only what it sent can settle
            upto = min(upto, self._sent_upto.get(round_no, k))
        settled = c.settled.get(round_no, ())
        return all(t in settled for t in range(k + 1, upto + 1))

    def _replay(self, held: list[tuple[Sample, ProbeKey | None]], out: Decision) -> None:
        for s, key in held:
            self._take(s, key, out)
            self._decide(out, final=self._sending_round == 1 << 62)
