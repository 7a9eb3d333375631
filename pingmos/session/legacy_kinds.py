"""Reply kinds for sessions recorded before pingmos kept them: inferred where the samples leave no doubt.

Files written before the ``reply``/``icmp_code`` columns existed say only who answered at which TTL. One
pattern there has a single explanation: a router that is not the target answering every TTL from its own hop up
to the last one probed. A router sends TTL-exceeded only for the probes whose TTL runs out at it; when it also
answers every larger TTL, those probes went no further, and what it sent back was a destination-unreachable
(traceroute's ``!X``/``!H``; mtr issue #434; case ``icmp-unreachable-not-terminal``). So its answers at the
first TTL of that run are TTL-exceeded and at every TTL after it destination-unreachable, code unknown. Then the
path ends where a live trace would have ended it. Anything less clear-cut (a run shorter than three TTLs, a TTL
of the run also answered by another address, the target's own address) stays unknown, as before.
"""

from __future__ import annotations

from collections.abc import Iterable

# A run of one address at this many consecutive TTLs, the last probed included, reads as a refusal: its own
# TTL-exceeded plus at least two TTLs it would have had to forward. Two would also fit a router answering once
# for a hop that was silent at the time.
MIN_RUN_TTLS = 3


def infer_reply_kinds(answers: Iterable[tuple[int, str, bool]], target_address: str) -> dict[tuple[int, str], str]:
    """Reply kinds a legacy session's answered samples can be given with certainty.

    ``answers``: one ``(ttl, responder address, reached)`` per distinct combination of the file's answered
    samples. Returns ``{(ttl, responder): kind}`` with kind ``"time_exceeded"`` or ``"dest_unreachable"``
    (``events.REPLY_KINDS``), empty when the samples do not show a refusing router.
    """
    by_ttl: dict[int, set[str]] = {}
    for ttl, responder, reached in answers:
        if reached:
            by_ttl.setdefault(ttl, set()).add(target_address)  # the target answered here: no refusal at this TTL
        by_ttl.setdefault(ttl, set()).add(responder)
    if not by_ttl:
        return {}
    last = max(by_ttl)
    if len(by_ttl[last]) != 1:
        return {}
    (router,) = by_ttl[last]
    if router == target_address:
        return {}
    first = last
    while by_ttl.get(first - 1) == {router}:
        first -= 1
    if last - first + 1 < MIN_RUN_TTLS:
        return {}
    kinds = {(first, router): "time_exceeded"}
    kinds.update({(ttl, router): "dest_unreachable" for ttl in range(first + 1, last + 1)})
    return kinds
