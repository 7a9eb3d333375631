"""Trippy's jitter figures against pingmos's jitter: none of them is pingmos's, so the import leaves jitter unknown.

``trippy_hop`` below is Trippy's per-hop arithmetic (trippy-core ``state.rs``, ``FlowState::update_from_probe``),
written out so that the fixture ``data/trippy_jitter.json`` is checked to be exactly what Trippy writes for two
stated RTT series (``report/types.rs``: decimals as strings with two places). It is first checked against Trippy's
own test vector (``tests/resources/state/full_mixed.toml``: RTTs 10 then 101 ms give jitter 91, javg 50.5, jmax 91,
jinta 99.40625)."""

import json
import math
from pathlib import Path

import pytest

from pingmos.scoring import jitter as jitter_definitions
from pingmos.session import open_session

DATA = Path(__file__).parent / "data"

# The fixture's RTT series (ms, None = no reply): hop 1 a router, hop 2 the destination (two probes lost).
HOP1 = [2.31, 2.40, 2.20, 2.71, 2.35, 2.45, 2.28, 2.52, 2.38, 2.31, 2.90, 2.33, 2.41, 2.36, 2.30, 2.62, 2.34, 2.39,
        2.44, 2.32]  # fmt: skip
HOP2 = [12.40, 12.61, None, 14.20, 12.36, 12.48, 13.90, 12.44, None, 12.52, 12.39, 15.10, 12.45, 12.41, 12.60,
        12.43, 12.47, 13.05, 12.42, 12.50]  # fmt: skip


def trippy_figures(rtts: list[float | None]) -> dict[str, float]:
    """Trippy's jitter, javg, jmax and jinta of a hop (unrounded). The previous RTT starts at 0, so the first
    reply's |D| is its whole RTT (counted in javg, jmax and jinta); jinta is RFC 1889 A.8's integer estimator
    (J scaled by 16, ``J += |D| - ((J + 8) >> 4)``) run on floating milliseconds with |D| floored at 0.5 ms."""
    recv = 0
    last = jitter = jmax = None
    javg = jinta = 0.0
    for r in rtts:
        if r is None:
            continue  # an Awaited probe changes no jitter figure
        recv += 1
        d = abs(r - (last if last is not None else 0.0))
        jitter = d if last is not None else None
        javg += (d - javg) / recv
        jinta += max(d, 0.5) - ((jinta + 8.0) / 16.0)
        jmax = d if jmax is None else max(jmax, d)
        last = r
    return {"jitter": jitter or 0.0, "javg": javg, "jmax": jmax or 0.0, "jinta": jinta}


def test_the_model_of_trippy_gives_trippys_own_test_vector():
    got = trippy_figures([10.0, 101.0])
    assert got == {"jitter": 91.0, "javg": 50.5, "jmax": 91.0, "jinta": 99.40625}


def test_the_fixture_is_what_trippy_writes_for_its_series():
    hops = json.loads((DATA / "trippy_jitter.json").read_text())["hops"]
    for hop, rtts in zip(hops, (HOP1, HOP2), strict=True):
        for key, value in trippy_figures(rtts).items():
            assert hop[key] == f"{value:.2f}", key
        received = [r for r in rtts if r is not None]
        assert (hop["sent"], hop["recv"]) == (len(rtts), len(received))
        assert hop["avg"] == f"{sum(received) / len(received):.2f}" and hop["last"] == f"{received[-1]:.2f}"


@pytest.mark.parametrize("rtts", [HOP1, HOP2])
def test_no_trippy_field_is_pingmos_jitter(rtts):
    """pingmos's jitter (the JITTER column, PingPlotter's mean |D| of consecutive replies) and its RFC 3550
    definition (scoring.jitter 'rfc3550': J += (|D| - J)/16 from J = 0, over the steps between replies), against
    every Trippy figure and every obvious rescaling of jinta (/16, RFC 3550's own report of the scaled J)."""
    received = [r for r in rtts if r is not None]
    ours = {
        "pingplotter": jitter_definitions.jitter_mean_abs_diff(received),
        "rfc3550": jitter_definitions.jitter_rfc3550(received),
    }
    theirs = trippy_figures(rtts)
    candidates = dict(theirs, jinta_over_16=theirs["jinta"] / 16.0)
    for name, mine in ours.items():
        for field, value in candidates.items():
            assert not math.isclose(mine, value, rel_tol=0.05, abs_tol=0.01), (name, field, mine, value)
    # javg would convert to PingPlotter's mean |D| with the first reply's RTT, which the report does not hold:
    n = len(received)
    assert math.isclose((n * theirs["javg"] - received[0]) / (n - 1), ours["pingplotter"])


def test_the_import_keeps_jitter_unknown_and_says_why():
    s = open_session(DATA / "trippy_jitter.json")
    snap = s.snapshot(None, lambda w: None, "none")
    assert [h.jitter_ms for h in snap.hops] == [None, None]
    assert [(h.sent, h.received, h.avg_ms) for h in snap.hops] == [(20, 20, 2.42), (20, 18, 12.82)]
    (note,) = [n for n in s.info.extra["notes"] if "jitter" in n]
    for field in ("jitter", "javg", "jmax", "jinta"):
        assert field in note
    assert "jitter unknown" in note
