"""Alerts on a real (emulated) path: loss switched on mid-trace fires the rule within the rule's window, once;
switched off again, the rule clears once. Run through `pingmos report --alerts RULES --record FILE`, which
evaluates the rules live and writes every fire and clear to the session's event log with its values."""

from __future__ import annotations

import json
import time

import pytest

from pingmos.session import SessionError, open_session
from tests.lab.run_report import finish, start_report
from tests.netlab import LinkSpec, RouterSpec

pytestmark = pytest.mark.lab

WINDOW_S = 1.0
TIMEOUT_S = 0.3
CLEAN = LinkSpec.symmetric(1.0)
LOSSY = LinkSpec.symmetric(1.0, loss_pct=30.0)  # ~51 % round-trip loss


def wait_for_samples(path, timeout_s=15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open_session(path) as s:
                if s.sample_count() > 10:
                    return
        except SessionError:
            pass  # not created yet
        time.sleep(0.1)
    raise AssertionError("the report recorded no samples")


def test_loss_switched_on_mid_trace_fires_within_the_window_and_clears(lab_factory, tmp_path):
    lab = lab_factory([RouterSpec()] * 2, [CLEAN] * 3)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [
        {"name": "loss", "metric": "loss_pct", "above": 5.0, "window_s": WINDOW_S, "min_samples": 5},
    ]}))  # fmt: skip
    session = tmp_path / "run.pingmos"
    proc = start_report(lab, lab.target_addr, "-c", "60", "-i", "0.1", "--timeout", str(TIMEOUT_S), "--no-dns",
                        "--alerts", str(rules), "--record", str(session), fmt="table")  # fmt: skip
    try:
        wait_for_samples(session)
        time.sleep(0.5)
        on_at = time.time()
        lab.set_link(2, LOSSY)  # the last link: hop 3 (the destination) loses
        time.sleep(1.5)
        off_at = time.time()
        lab.set_link(2, CLEAN)
    finally:
        rc, out, err = finish(proc)
    assert rc == 0, err
    with open_session(session) as s:
        events = [e for e in s.events() if e.kind.startswith("alert-")]
    assert [e.kind for e in events] == ["alert-fire", "alert-clear"], events
    fire, clear = events
    print(f"fired {fire.at - on_at:.2f} s after loss on ({fire.data['value']:.1f} %), "
          f"cleared {clear.at - off_at:.2f} s after loss off ({clear.data['value']:.1f} %)")  # fmt: skip
    # Fired within the rule's window of the switch (the live window ends one probe timeout before now).
    assert on_at < fire.at <= on_at + WINDOW_S, (fire.at - on_at, fire)
    assert fire.data["value"] > 5.0 and fire.data["ttl"] == 3 and fire.data["address"] == lab.target_addr
    assert off_at < clear.at <= off_at + WINDOW_S + TIMEOUT_S + 1.0, (clear.at - off_at, clear)
    assert clear.data["value"] <= 2.5
    # printed on stderr as they happened (the rule's own name, then what it does)
    assert "loss (loss above 5 % over 1 s) fired" in err and "loss (loss above 5 % over 1 s) cleared" in err
