"""Property tests of the importers against a model of mtr's output (hypothesis).

The model is a path of hops, each with an address and per round either a reply (RTT in microseconds) or a loss.
From it we write what mtr would: a ``--raw`` log (x/h/d/p records, replies in any order before the sequence
number comes round again, MPLS and unknown records sprinkled in, the destination probed beyond its TTL in round
0) and a ``--json`` report with any field selection (-o) in either number style (mtr <= 0.92 strings, 0.93+
numbers). The import must give back the model's own numbers."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pingmos.report.formats import to_csv, to_json, to_table
from pingmos.scoring import pingplotter
from pingmos.session.mtr_import import parse_mtr_json, parse_mtr_raw

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def paths(draw):
    """(addresses per hop, rounds x hops of RTT in us or None); the last hop is the destination."""
    hops = draw(st.integers(1, 6))
    rounds = draw(st.integers(1, 12))
    v6 = draw(st.booleans())
    addresses = [f"2001:db8::{i + 1:x}" if v6 else f"198.18.{i}.2" for i in range(hops)]
    rtt = st.one_of(st.none(), st.integers(1, 2_000_000))
    table = [[draw(rtt) for _ in range(hops)] for _ in range(rounds)]
    table[0][-1] = draw(st.integers(1, 2_000_000))  # the destination answers in round 0 (so it is found)
    return addresses, table


@st.composite
def raw_logs(draw):
    """A raw log written from a path model, and the model."""
    addresses, table = draw(paths())
    hops = len(addresses)
    seq_space = draw(st.integers(2 * hops + 2, 40))  # small: sequence numbers are reused within the log
    lines: list[str] = []
    pending: list[tuple[int, int, int, int, int]] = []  # (pos, usec, seq, k sent, round): replies not yet written
    written = [[None] * hops for _ in table]  # what the log ends up holding: the model's own measurement
    named: set[int] = set()
    k = 0

    def write(item):
        pos, usec, seq, _k, r = item
        if pos not in named or draw(st.booleans()):
            lines.append(f"h {pos} {addresses[min(pos, hops - 1)]}")
            named.add(pos)
        if draw(st.booleans()):
            lines.append(f"d {pos} hop{pos}.lab.test")
        if draw(st.integers(0, 5)) == 0:
            lines.append(f"m {pos} 24001 0 1 1")
        lines.append(f"p {pos} {usec} {seq}")
        if pos < hops:
            written[r][pos] = usec

    def flush(n):
        for _ in range(min(n, len(pending))):
            write(pending.pop(draw(st.integers(0, len(pending) - 1))))

    for r, row in enumerate(table):
        probes = list(enumerate(row))
        if r == 0:
            probes.append((hops, row[-1]))  # beyond the destination: the destination answers again
        for pos, usec in probes:
            # A reply is written before its sequence number comes round again (mtr's own guarantee).
            for item in [p for p in pending if p[3] <= k - seq_space]:
                pending.remove(item)
                write(item)
            seq = 33000 + k % seq_space
            lines.append(f"x {pos} {seq}")
            if draw(st.integers(0, 9)) == 0:
                lines.append("z 0 a record of a later mtr")
            if usec is not None:
                pending.append((pos, usec, seq, k, r))
                if r == 0 and pos >= hops - 1:
                    write(pending.pop())  # the destination's first answers: how the log shows its target
            k += 1
        flush(draw(st.integers(0, len(pending))))
    if not draw(st.booleans()):  # else mtr was killed before the last replies were written
        flush(len(pending))
    return "\n".join(lines) + "\n", addresses, written


@SETTINGS
@given(raw_logs())
def test_a_raw_log_imports_as_the_model_measured(case):
    text, addresses, table = case
    s = parse_mtr_raw(text)
    hops = len(addresses)
    assert s.info.address == addresses[-1]
    samples = list(s.samples())
    assert {x.ttl for x in samples} <= set(range(1, hops + 1))
    for pos in range(hops):
        expected = [row[pos] for row in table]
        # The last probe without a reply when the log ends is in flight: not counted at all.
        if expected and expected[-1] is None:
            expected = expected[:-1]
        got = [x for x in samples if x.ttl == pos + 1]
        assert [x.rtt_ms for x in got] == [None if u is None else u / 1000.0 for u in expected]
        assert [x.round for x in got] == list(range(len(expected)))
        assert all(x.reached == (pos == hops - 1 and x.rtt_ms is not None) for x in got)
        assert all(x.responder == (None if x.rtt_ms is None else addresses[pos]) for x in got)
    snap = s.snapshot(None, lambda w: None, "none")
    assert snap.destination_reached


FIELDS = {
    "L": "Loss%",
    "D": "Drop",
    "R": "Rcv",
    "S": "Snt",
    "N": "Last",
    "B": "Best",
    "A": "Avg",
    "W": "Wrst",
    "V": "StDev",
    "M": "Javg",
}


@st.composite
def json_reports(draw):
    """An mtr --json report of any field selection (-o), including those without counts or without loss."""
    addresses, table = draw(paths())
    fields = draw(st.sets(st.sampled_from("LDRSNBAWVM"), min_size=1))
    old_style = draw(st.booleans())  # mtr <= 0.92: count and tests as strings
    hubs = []
    model = []
    for pos, address in enumerate(addresses):
        rtts = [row[pos] / 1000.0 for row in table if row[pos] is not None]
        sent = len(table)
        received = len(rtts)
        diffs = [abs(b - a) for a, b in zip(rtts, rtts[1:], strict=False)]
        values = {
            "Loss%": 100.0 * (sent - received) / sent,
            "Drop": sent - received,
            "Rcv": received,
            "Snt": sent,
            "Last": rtts[-1] if rtts else 0.0,
            "Best": min(rtts) if rtts else 0.0,
            "Avg": sum(rtts) / received if rtts else 0.0,
            "Wrst": max(rtts) if rtts else 0.0,
            "StDev": 0.0,
            "Javg": sum(diffs) / received if rtts else 0.0,  # mtr: the first reply counts as a jitter of 0
        }
        # mtr shows ??? where no reply ever came
        hub = {"count": str(pos + 1) if old_style else pos + 1, "host": address if received else "???"}
        for f in sorted(fields):
            key = FIELDS[f]
            v = values[key]
            hub[key] = round(v, 2) if isinstance(v, float) else v
        hubs.append(hub)
        model.append((sent, received, values, diffs))
    head = {"src": "client", "dst": addresses[-1], "tos": 0, "tests": str(len(table)) if old_style else len(table)}
    doc = {"report": {"mtr": head, "hubs": hubs}}
    return json.dumps(doc), fields, model


def expected_hop(fields: set[str], sent: int, received: int, values: dict) -> tuple:
    """(sent, received, loss_pct) the importer may claim from these fields: each from what the file holds, else
    None. A hop that never answered is ??? in the file: nothing received (and so all lost) is what it says."""
    silent = received == 0
    got_sent = sent if "S" in fields or {"R", "D"} <= fields else None
    if "R" in fields or silent:
        got_received = received
    elif got_sent is not None and fields & {"D", "L"}:
        got_received = received  # Snt - Drop, or Snt and Loss% (one whole number fits at these counts)
    else:
        got_received = None
    if "L" in fields:
        loss = round(values["Loss%"], 2)
    elif got_sent and got_received is not None:
        loss = 100.0 * (sent - received) / sent
    elif silent:
        loss = 100.0
    else:
        loss = None
    return got_sent, got_received, loss


@SETTINGS
@given(json_reports())
def test_a_json_report_of_any_field_selection_imports_as_the_model_measured(case):
    text, fields, model = case
    s = parse_mtr_json(text)
    summaries = s.summaries()
    assert len(summaries) == len(model)
    for hop, (sent, received, values, diffs) in zip(summaries, model, strict=True):
        got_sent, got_received, loss = expected_hop(fields, sent, received, values)
        assert (hop.sent, hop.received) == (got_sent, got_received)  # unknown is None: never 0, never guessed
        assert hop.loss_pct == (None if loss is None else pytest.approx(loss))
        if received == 0 or "A" not in fields:
            assert hop.avg_ms is None
        else:
            assert math.isclose(hop.avg_ms, round(values["Avg"], 2))
        if "M" in fields and received >= 2 and got_received is not None:
            expected = round(values["Javg"], 2) * received / (received - 1)
            assert math.isclose(hop.jitter_ms, expected)
            # ... which is PingPlotter's mean |difference| up to mtr's two-decimal rounding
            assert abs(hop.jitter_ms - sum(diffs) / (received - 1)) <= 0.005 * received / (received - 1) + 1e-9
        else:
            assert hop.jitter_ms is None
    assert s.info.extra["destination_reached"] is True  # the destination answers (at least in round 0)
    if not fields & {"S", "R", "D"}:
        assert any("no probe counts" in n for n in s.info.extra["notes"])
    # Scored only from what is there: a MOS needs a known loss and a known average (or every probe lost at the
    # destination, the last row: a router that answered nothing has no responder samples, so no score).
    snap = s.snapshot(None, lambda w: pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct), "pp")
    for i, (hop, summary) in enumerate(zip(snap.hops, summaries, strict=True)):
        silent = summary.received == 0 or (summary.received is None and summary.loss_pct == 100.0)
        if silent and i < len(summaries) - 1:
            assert hop.mos is None and hop.r is None
            continue
        scoreable = summary.loss_pct is not None and (summary.avg_ms is not None or summary.received == 0)
        assert (hop.mos is not None) == scoreable
        assert (hop.loss_ci_pct is not None) == (bool(summary.sent) and summary.received is not None)
    known = [h.sent for h in summaries if h.sent is not None]
    assert snap.rounds == (max(known) if known else None)
    # Every output renders whatever is unknown, and shows the unknown as "-" / null, never 0.
    table = to_table(snap)
    doc = json.loads(to_json(snap))
    to_csv(snap)
    for hop_doc, summary in zip(doc["hops"], summaries, strict=True):
        assert hop_doc["sent"] == summary.sent and hop_doc["received"] == summary.received
    if not fields & {"S", "R", "D"}:
        assert "rounds unknown" in table.splitlines()[0] and doc["rounds"] is None
        assert doc["diagnosis"]["status"] == "undecided"


def pytest_approx(x):
    return pytest.approx(x)


def test_a_json_report_without_any_loss_field_opens_with_loss_unknown():
    text = (
        '{"report": {"mtr": {"dst": "198.18.0.2", "tests": 3}, "hubs": [{"count": 1, "host": "198.18.0.2", "Snt": 3, '
        '"Avg": 2.5}]}}'
    )
    s = parse_mtr_json(text)
    (hop,) = s.snapshot(None, lambda w: pingplotter.score(w.avg_ms, w.jitter_ms, w.loss_pct), "pp").hops
    assert (hop.sent, hop.received, hop.loss_pct, hop.avg_ms, hop.mos) == (3, None, None, 2.5, None)
    assert any("no loss field" in n for n in s.info.extra["notes"])
