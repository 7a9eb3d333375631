"""`pingmos` with no sub-command (or with one target word) opens the main window."""

import gc
import os
import signal
import time

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from pingmos import cli
from pingmos.gui import app as gui_app
from pingmos.gui.main_window import MainWindow


@pytest.mark.parametrize(
    ("argv", "target"), [([], None), (["198.18.0.9"], "198.18.0.9"), (["host.lab.test"], "host.lab.test")]
)
def test_no_sub_command_opens_the_gui(monkeypatch, argv, target):
    opened = []
    monkeypatch.setattr(gui_app, "run", lambda t=None, reverse_dns=True: opened.append((t, reverse_dns)) or 0)
    assert cli.main(argv) == 0
    assert cli.main(["--no-dns", *argv]) == 0  # the window without reverse DNS (report and monitor have it)
    assert opened == [(target, True), (target, False)]


def test_no_dns_is_said_in_the_title_and_the_status_line_and_its_traces_look_nothing_up(qtbot, settings_store):
    from pingmos.gui.main_window import default_trace_factory
    from pingmos.live_trace import LiveTrace
    from tests.gui.conftest import WAIT_MS, fake_factory, settle

    made = []
    monkey_factory = fake_factory(rounds=3)
    window = MainWindow(settings_store, trace_factory=lambda *a: made.append(monkey_factory(*a)) or made[-1],
                        refresh_ms=20, reverse_dns=False)  # fmt: skip
    qtbot.addWidget(window)
    assert "no DNS" in window.windowTitle()
    window.target_combo.setCurrentText("198.18.0.99")
    window.start()
    assert window.windowTitle() == "pingmos - 198.18.0.99 (no DNS)"
    settle(qtbot, window)
    qtbot.waitUntil(lambda: "no DNS" in window.status_label.text(), timeout=WAIT_MS)
    # The factory `pingmos --no-dns` gives the window: LiveTrace with names=None (nothing is resolved until start)
    trace = default_trace_factory("127.0.0.1", "icmp", 1.0, reverse_dns=False)
    assert isinstance(trace, LiveTrace) and trace._names is None
    with_names = default_trace_factory("127.0.0.1", "icmp", 1.0)  # (never started: no probe, no lookup)
    assert with_names._names is not None
    with_names.close()


def test_sub_commands_and_options_do_not_open_it(monkeypatch, capsys):
    monkeypatch.setattr(gui_app, "run", lambda t=None, **_: pytest.fail("the GUI opened"))
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    with pytest.raises(SystemExit):
        cli.main(["report"])  # a sub-command without its target: a usage error, not a window
    capsys.readouterr()


def test_run_opens_the_main_window_and_starts_the_target(qapp, monkeypatch, tmp_path):
    # The default QSettings would write to the user's real configuration: point it at a temporary directory.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    started = []
    monkeypatch.setattr(MainWindow, "start", lambda self: started.append(self.target_combo.currentText()))
    windows = []

    automatic_gc = []

    def exec_once():
        automatic_gc.append(gc.isenabled())
        windows.extend(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        for w in windows:
            w.close()
        return 0

    monkeypatch.setattr(qapp, "exec", exec_once)
    gc.enable()  # as a fresh process has it (the GUI tests' fixture turns it off)
    assert gui_app.run("127.0.0.1") == 0
    assert started == ["127.0.0.1"] and len(windows) == 1
    # While the window runs, the cyclic collector runs in the GUI thread only (a GUI-thread timer; app.py says why)
    assert automatic_gc == [False]
    assert [p.name for p in tmp_path.rglob("*.ini")] == ["pingmos.ini"]  # the settings went to the temporary folder


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_closes_the_window_as_its_close_button_would(qapp, monkeypatch, tmp_path, signum):
    # SIGTERM (a logout, `kill`, `timeout`) killed the window outright: no settings saved, a trace's recording
    # closed without its last samples. Both signals now close it as the close button does.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    windows = []

    def exec_signalled():
        windows.extend(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        os.kill(os.getpid(), signum)  # the handler runs in this thread before kill's caller goes on
        for _ in range(50):
            if not any(w.isVisible() for w in windows):
                break
            qapp.processEvents()
            time.sleep(0.01)
        return 0

    monkeypatch.setattr(qapp, "exec", exec_signalled)
    try:
        # 128 + the signal's number, as for every command (README's exit table): 130 on SIGINT, 143 on SIGTERM
        assert gui_app.run() == 128 + signum
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
    assert len(windows) == 1 and not windows[0].isVisible()
    assert [p.name for p in tmp_path.rglob("*.ini")] == ["pingmos.ini"]  # closeEvent saved the settings
