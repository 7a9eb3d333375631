"""A network error in the middle of a trace (the helper died, the route went away, ENOBUFS, a firewall's EPERM)
ends `pingmos report` with the partial report, one error line on stderr and exit status 1: never a traceback.
The trace runs on the simulated path (FakeNetwork) in virtual time; nothing is sent."""

import errno
import json

import pytest

from pingmos import cli
from pingmos.engine import network
from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork
from pingmos.engine.helper_network import HelperError
from pingmos.engine.mode import ProbeMode
from pingmos.engine.tracer import Tracer, TraceSettings
from pingmos.report import runner
from pingmos.scoring import load_model

DST = "198.18.0.9"
PATH = [FakeHop("198.18.0.2", 2.0), FakeHop("198.18.0.5", 5.0), FakeHop(DST, 9.0)]


class FailingNetwork(FakeNetwork):
    """The simulated path, until ``send`` raises ``error`` at probe number ``fail_at`` (0-based)."""

    def __init__(self, clock: FakeClock, fail_at: int, error: OSError) -> None:
        super().__init__(PATH, clock)
        self.fail_at = fail_at
        self.error = error

    def send(self, packet: bytes, dst: str) -> float:
        if len(self.sent) >= self.fail_at:
            raise self.error
        return super().send(packet, dst)


@pytest.fixture
def fake_trace(monkeypatch):
    """``cli.main`` tracing the simulated path: returns a function setting how the network fails."""
    clock = FakeClock()
    made = []
    monkeypatch.setattr("pingmos.run.Tracer", lambda s, n, cb, **kw: Tracer(s, n, cb, clock, "198.18.0.1"))
    monkeypatch.setattr("pingmos.run.source_address_for", lambda address: "198.18.0.1")

    def fail(fail_at: int, error: OSError):
        def open_network():
            net = FailingNetwork(clock, fail_at, error)
            made.append(net)
            return net

        monkeypatch.setattr("pingmos.run.choose_mode", lambda *a: ProbeMode("raw", "a simulated path", open_network))
        return made

    return fail


ERRORS = [
    (HelperError("the probe helper has exited"), "the probe helper has exited"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), f"no route to {DST} any more (Network is unreachable)"),
    (OSError(errno.ENOBUFS, "No buffer space available"), "send buffers ran full (No buffer space available)"),
    (PermissionError(errno.EPERM, "Operation not permitted"), "a firewall rule on this host may drop"),
    (OSError(errno.EIO, "Input/output error"), "sending or receiving a probe failed (Input/output error)"),
]


@pytest.mark.parametrize("error,words", ERRORS, ids=[e.strerror or str(e) for e, _ in ERRORS])
def test_a_send_error_mid_trace_prints_the_partial_report_and_one_error_line(fake_trace, capsys, error, words):
    # Rounds 0-3 sent (3 hops each, and in round 0 one probe beyond the destination that proves it), then the
    # second probe of round 4 fails.
    made = fake_trace(3 * 4 + 1 + 1, error)
    code = cli.main(["report", DST, "-c", "10", "-i", "1", "--no-dns", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_TRACE_FAILED == 1
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("pingmos report: error: the trace stopped after 14 probes in 5 rounds: ")
    assert words in err
    doc = json.loads(out)  # the partial report, as valid JSON
    assert doc["rounds"] == 5 and doc["destination_reached"] and doc["mode"] == "a simulated path"
    assert [h["sent"] for h in doc["hops"]] == [5, 4, 4] and doc["hops"][2]["received"] == 4
    assert made[0].closed


def test_the_partial_table_comes_before_the_error(fake_trace, capsys):
    fake_trace(8, OSError(errno.ENOBUFS, "No buffer space available"))  # 4 + 3, then round 2's second
    assert cli.main(["report", DST, "-c", "5", "-i", "0.5", "--no-dns"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"pingmos report: {DST} ({DST}), icmp, 3 rounds every 0.5 s") and "\ndiagnosis (" in out
    assert "after 8 probes in 3 rounds" in err and "try a longer --interval" in err


def test_a_failure_at_the_first_probe_is_only_the_error(fake_trace, capsys):
    fake_trace(0, PermissionError(errno.EPERM, "Operation not permitted"))
    assert cli.main(["report", DST, "-c", "3", "--no-dns"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "pingmos report: error: cannot send probes: the kernel refused to send a probe (Operation not permitted): "
        "a firewall rule on this host may drop pingmos's packets\n"
    )


def test_a_network_that_cannot_open_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(network, "source_address_for", lambda address: "198.18.0.1")

    def cannot_open():
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr("pingmos.run.choose_mode", lambda *a: ProbeMode("raw", "raw sockets", cannot_open))
    assert cli.main(["report", DST, "-c", "3", "--no-dns"]) == 1
    out, err = capsys.readouterr()
    assert (
        out == ""
        and err
        == "pingmos report: error: cannot start probing: sending or receiving a probe failed (Too many open files)\n"
    )


def test_run_report_raises_trace_failed_with_what_was_measured(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("pingmos.run.Tracer", lambda s, n, cb, **kw: Tracer(s, n, cb, clock, "198.18.0.1"))
    # 3 rounds of 3 hops, and round 0's probe beyond the destination that proves it.
    net = FailingNetwork(clock, 10, HelperError("the probe helper did not answer"))
    seen = []
    with load_model("pingplotter") as model, pytest.raises(runner.TraceFailed) as failed:
        runner.run_report("t", TraceSettings(DST, rounds=10), None, model, model.name, use_dns=False,
                          network_factory=lambda: net, observer=seen.append)  # fmt: skip
    snap = failed.value.snapshot
    assert failed.value.reason == "the probe helper did not answer" and failed.value.probes_sent == 10
    assert snap.rounds == 3 and snap.probes_sent == 10 and len(seen) == 9
    assert all(h.mos is not None for h in snap.hops) and net.closed
    assert isinstance(failed.value.__cause__, HelperError)
