"""`pingmos report` counts replies that did not prove themselves, and a forgery does not shorten its table."""

import json

from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.engine.wire import build_destination_reply, probe_fields, probe_ttl
from pingmos.report import runner
from pingmos.report.formats import to_json
from pingmos.scoring import load_model

DST = "198.18.0.9"
PATH = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.5", 5.0), FakeHop(DST, 9.0)]


class ForgingNetwork(FakeNetwork):
    """Answers every TTL-1 probe first with a port unreachable that claims to come from the destination."""

    def send(self, packet, dst):
        at = super().send(packet, dst)
        if probe_ttl(packet) == 1 and probe_fields(packet)["proto"] == "udp":
            self.inject(build_destination_reply(packet), 0.0005)
        return at


def test_the_report_counts_forged_replies_and_keeps_every_hop(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("pingmos.run.Tracer", lambda s, n, cb, **kw: Tracer(s, n, cb, clock, "198.18.0.1"))
    with load_model("pingplotter") as model:
        snap, interrupted = runner.run_report(
            "t", TraceSettings(DST, "udp", rounds=6), None, model, model.name, use_dns=False,
            network_factory=lambda: ForgingNetwork(PATH, clock),
        )  # fmt: skip
    doc = json.loads(to_json(snap))
    assert not interrupted and doc["suspicious_replies"] == 6
    assert [h["address"] for h in doc["hops"]] == ["198.18.0.2", "198.18.0.5", DST]
    assert [h["received"] for h in doc["hops"]] == [6, 6, 6] and doc["destination_reached"]
