"""A router that never answers shows as ??? with 100 % loss, and the hops after it are still right."""

from __future__ import annotations

import pytest

from tests.lab.run_report import finish, hops_by_ttl, parse_report, start_report
from tests.netlab import LinkSpec, RouterSpec

pytestmark = pytest.mark.lab

ROUNDS = 10
SILENT_HOP = 3


def test_silent_router_is_unknown_and_later_hops_are_right(lab_factory):
    routers = [RouterSpec(silent=(k == SILENT_HOP)) for k in range(1, 6)]
    lab = lab_factory(routers, [LinkSpec.symmetric(1.0)] * 6)
    options = ("-c", str(ROUNDS), "-i", "0.1", "--timeout", "0.3")
    # Table and JSON from two runs at once: each only counts its own replies (tested in test_concurrent_runs).
    table_run = start_report(lab, lab.target_addr, *options, fmt="table")
    json_run = start_report(lab, lab.target_addr, *options, "--no-dns", fmt="json")
    table_rc, table, table_err = finish(table_run)
    doc = parse_report(finish(json_run))
    hops = hops_by_ttl(doc)

    assert doc["destination_reached"] is True
    assert sorted(hops) == list(range(1, 7))
    silent = hops[SILENT_HOP]
    assert silent["address"] is None and silent["name"] is None and silent["responders"] == {}
    assert (silent["sent"], silent["received"], silent["loss_pct"]) == (ROUNDS, 0, 100.0)
    assert silent["avg_ms"] is None and silent["jitter_ms"] is None
    # Sent, none answered, not the destination: no responder samples, so no score (null, never R 0 / MOS 1).
    assert (silent["r"], silent["mos"], silent["mos_ci"]) == (None, None, None)
    for ttl in (1, 2, 4, 5, 6):
        hop = hops[ttl]
        assert hop["address"] == lab.hop_addrs[ttl - 1], hop
        assert (hop["sent"], hop["received"], hop["loss_pct"]) == (ROUNDS, ROUNDS, 0.0)
        assert hop["avg_ms"] >= lab.path_rtt_ms(ttl)

    assert table_rc == 0, table_err
    rows = {int(cells[0]): cells for cells in map(str.split, table.splitlines()[2:]) if cells and cells[0].isdigit()}
    assert sorted(rows) == list(range(1, 7))
    row = rows[SILENT_HOP]
    assert row[1] == "???" and row[2:5] == [str(ROUNDS), "0", "100.0"], row
    for ttl in (4, 5, 6):
        assert rows[ttl][1] == lab.hop_addrs[ttl - 1] and rows[ttl][2] == lab.hop_names[ttl - 1]
