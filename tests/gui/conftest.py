"""GUI test fixtures: QSettings in a temporary directory, and traces on the engine's simulated path."""

from __future__ import annotations

import gc
import os
import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from pingmos.engine.fake_network import FakeClock, FakeHop, FakeNetwork  # noqa: E402
from pingmos.gui.main_window import MainWindow  # noqa: E402
from pingmos.gui.settings_store import SettingsStore  # noqa: E402
from pingmos.live_trace import LiveTrace  # noqa: E402

SRC, DST = "198.18.0.1", "198.18.0.99"

# A path whose quality falls apart from hop 3 on: the link into hop 3 is down 40 % of the time (in bursts), so
# 40 % of the probes to hop 3 and beyond are lost, in the same rounds.
LOSSY_PATH = [
    FakeHop("198.18.0.2", 2.0, jitter_ms=1.0),
    FakeHop(None, 0.0),  # a router that never answers: a ??? row
    FakeHop("198.18.0.4", 30.0, jitter_ms=4.0, link_loss_pct=40.0),
    FakeHop("198.18.0.5", 32.0, jitter_ms=4.0),
    FakeHop(DST, 35.0, jitter_ms=4.0),
]

# A path with much jitter and no loss: jitter definitions then give clearly different MOS.
JITTERY_PATH = [
    FakeHop("198.18.0.2", 2.0, jitter_ms=1.0),
    FakeHop("198.18.0.3", 60.0, jitter_ms=80.0),
    FakeHop(DST, 80.0, jitter_ms=120.0),
]


# How long a GUI test waits for something that must happen (a trace ending, an update shown): generous, since
# a 2-core CI machine under load can take seconds for what takes milliseconds on a quiet one; waitUntil returns
# as soon as the condition holds, so this costs nothing when all is well.
WAIT_MS = 20000


class PacedFakeNetwork(FakeNetwork):
    """FakeNetwork whose virtual time also passes in real time, ``speedup`` times faster: an endless trace then
    behaves like a real one (a steady trickle of samples) instead of hogging the CPU."""

    def __init__(self, hops, clock, seed=1, speedup=50.0):
        super().__init__(hops, clock, seed)
        self.speedup = speedup

    def recv(self, timeout_s):
        time.sleep(min(timeout_s, 0.25) / self.speedup)
        return super().recv(timeout_s)


def fake_factory(path=LOSSY_PATH, rounds=60, seed=3, speedup=None):
    """A trace factory for MainWindow: the real Tracer on FakeNetwork in virtual time, ``rounds`` rounds (None =
    until stopped; give a ``speedup`` then, so that it runs paced)."""
    made: list[LiveTrace] = []

    def network(clock):
        if speedup is None:
            return FakeNetwork(path, clock, seed=seed)
        return PacedFakeNetwork(path, clock, seed=seed, speedup=speedup)

    def make(target: str, protocol: str, interval_s: float) -> LiveTrace:
        clock = FakeClock()
        trace = LiveTrace(
            target,
            protocol=protocol,
            interval_s=interval_s,
            network_factory=lambda: network(clock),
            mode_description="simulated network",
            tracer_clock=clock,
            source=SRC,
            rounds=rounds,
        )
        made.append(trace)
        return trace

    make.made = made
    return make


@pytest.fixture(autouse=True)
def stretched_passes(monkeypatch):
    """PINGMOS_TEST_STEP_GAP_MS=40 stretches the gap between an update's passes (1 ms in use): a test that waits
    for one pass's change and asserts a later pass's fails at once instead of once in a while on a loaded CI."""
    gap = os.environ.get("PINGMOS_TEST_STEP_GAP_MS")
    if gap:
        monkeypatch.setattr(MainWindow, "step_gap_ms", int(gap))


@pytest.fixture(autouse=True)
def collect_in_the_gui_thread():
    """Collect each test's garbage here, in the GUI thread, after its widgets closed. Left to the cyclic GC, a
    window's wrappers (held in cycles by its lambdas) may be freed by whichever thread allocates next, a
    refresher or alert worker, and a Qt object destroyed there can deadlock with the GUI thread (seen as a test
    hanging with both threads idle). So automatic collection is off during the test, as the application keeps it
    (pingmos/gui/app.py: a GUI-thread timer collects): a collection after the test only left the garbage of the
    test itself and of the next test's set-up to the other threads (CI hung once in a window's construction)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        if was_enabled:
            gc.enable()


@pytest.fixture(autouse=True)
def session_data_dir(tmp_path, monkeypatch):
    """Recorded sessions (on by default) go to the test's directory, never the user's data folder."""
    monkeypatch.setenv("PINGMOS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def settings_store(tmp_path):
    q = QSettings(str(tmp_path / "pingmos.ini"), QSettings.Format.IniFormat)
    store = SettingsStore(q)
    # The GUI tests work on PingPlotter's formula (its jitter setting, its editable copy, its numbers); a first
    # run's default model (scoring.DEFAULT_MODEL) is checked by test_a_first_run_uses_the_default_model.
    store.set_model("pingplotter")
    return store


@pytest.fixture
def make_window(qtbot, settings_store):
    """make_window(factory=None) -> MainWindow using the temporary settings and a fast refresh."""

    def make(factory=None, store=None):
        window = MainWindow(store or settings_store, trace_factory=factory or fake_factory(), refresh_ms=20)
        qtbot.addWidget(window)
        # The model list is read in a worker thread; tests start from a window that has it.
        qtbot.waitUntil(lambda: window.model_list_jobs.pending == 0, timeout=WAIT_MS)
        return window

    return make


def settle(qtbot, window, timeout_ms=None):
    """Wait until the trace has ended and the window shows an update computed after that, with no other update
    asked for or under way (the first update of a trace asks for another, with its hops' labels)."""
    timeout_ms = timeout_ms or WAIT_MS
    trace = window.trace
    assert trace is not None
    assert trace.join(timeout_ms / 1000.0)

    def shown():
        u = window.last_update
        return u is not None and not u.status.running and u.status.samples == trace.status().samples

    window.mark_dirty()
    qtbot.waitUntil(lambda: shown() and window.quiet, timeout=timeout_ms)
