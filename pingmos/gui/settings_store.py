"""What the GUI remembers between runs, in QSettings: geometry, recent targets, interval, samples to include,
protocol, scoring model and its settings, quality thresholds, where alert e-mail goes. Bad or missing values
fall back to defaults."""

from __future__ import annotations

from dataclasses import asdict, fields

from PySide6.QtCore import QByteArray, QSettings

from pingmos.engine import MAX_INTERVAL_S, MIN_INTERVAL_S
from pingmos.gui.alert_mail import MailSettings, parse_recipients
from pingmos.gui.quality import Thresholds
from pingmos.run import LIVE_WINDOW
from pingmos.scoring import DEFAULT_MODEL  # noqa: F401 - the GUI's default is the scoring default

MAX_RECENT_TARGETS = 15
DEFAULT_WINDOW = LIVE_WINDOW  # the same default as every open-ended trace (pingmos.run)


def _float(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class SettingsStore:
    def __init__(self, qsettings: QSettings | None = None):
        if qsettings is None:
            # INI in the user's configuration folder (~/.config/pingmos/pingmos.ini on Linux); tests redirect it
            # with QSettings.setPath(IniFormat, UserScope, folder).
            qsettings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "pingmos", "pingmos")
        self.q = qsettings

    def sync(self) -> None:
        self.q.sync()

    # -- window ---------------------------------------------------------------------------------

    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, geometry: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)

    def splitter_state(self, name: str) -> QByteArray | None:
        value = self.q.value(f"window/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_splitter_state(self, name: str, state: QByteArray) -> None:
        self.q.setValue(f"window/{name}", state)

    def window_state(self) -> QByteArray | None:
        """QMainWindow.saveState's bytes: the event log docked or floated (and where), shown or hidden."""
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_state(self, state: QByteArray) -> None:
        self.q.setValue("window/state", state)

    # -- trace ----------------------------------------------------------------------------------

    def recent_targets(self) -> list[str]:
        value = self.q.value("trace/recent_targets", [])
        if isinstance(value, str):  # QSettings' INI format returns a one-element list as a plain string
            value = [value]
        return [str(v) for v in (value or []) if str(v).strip()][:MAX_RECENT_TARGETS]

    def add_recent_target(self, target: str) -> list[str]:
        targets = [target] + [t for t in self.recent_targets() if t != target]
        targets = targets[:MAX_RECENT_TARGETS]
        self.q.setValue("trace/recent_targets", targets)
        return targets

    def interval_s(self) -> float:
        value = _float(self.q.value("trace/interval_s"), 1.0)
        return value if MIN_INTERVAL_S <= value <= MAX_INTERVAL_S else 1.0

    def set_interval_s(self, value: float) -> None:
        self.q.setValue("trace/interval_s", float(value))

    def window(self) -> int | None:
        """Samples to include: a count, or None for all."""
        value = self.q.value("trace/window", DEFAULT_WINDOW)
        if str(value) == "all":
            return None
        try:
            n = int(value)
        except (TypeError, ValueError):
            return DEFAULT_WINDOW
        return n if n >= 1 else DEFAULT_WINDOW

    def set_window(self, value: int | None) -> None:
        self.q.setValue("trace/window", "all" if value is None else int(value))

    def protocol(self) -> str:
        value = str(self.q.value("trace/protocol", "icmp"))
        return value if value in ("icmp", "udp", "tcp") else "icmp"

    def set_protocol(self, value: str) -> None:
        self.q.setValue("trace/protocol", value)

    def port(self, protocol: str) -> int | None:
        """The UDP or TCP destination port last used with ``protocol`` (None = the engine's default)."""
        try:
            value = int(self.q.value(f"trace/{protocol}_port", 0))
        except (TypeError, ValueError):
            return None
        return value if 1 <= value <= 65535 else None

    def set_port(self, protocol: str, port: int | None) -> None:
        self.q.setValue(f"trace/{protocol}_port", port or 0)

    # -- scoring --------------------------------------------------------------------------------

    def model(self) -> str:
        return str(self.q.value("scoring/model", DEFAULT_MODEL))

    def set_model(self, name: str) -> None:
        self.q.setValue("scoring/model", name)

    def model_settings(self, name: str) -> dict[str, str]:
        """The saved settings of one model, as text (the model parses and checks them)."""
        self.q.beginGroup(f"scoring/settings/{name}")
        try:
            return {key: str(self.q.value(key)) for key in self.q.childKeys()}
        finally:
            self.q.endGroup()

    def set_model_setting(self, name: str, key: str, value: object) -> None:
        self.q.setValue(f"scoring/settings/{name}/{key}", str(value))

    def thresholds(self) -> Thresholds:
        default = Thresholds()
        values = {f.name: _float(self.q.value(f"quality/{f.name}"), getattr(default, f.name)) for f in fields(default)}
        t = Thresholds(**values)
        try:
            t.validate()
        except ValueError:
            return default
        return t

    def set_thresholds(self, t: Thresholds) -> None:
        t.validate()
        for key, value in asdict(t).items():
            self.q.setValue(f"quality/{key}", float(value))

    # -- alert notifications ----------------------------------------------------------------------

    def desktop_notifications(self) -> bool:
        """Whether an alert that fires or clears pops up a desktop (tray) notification (on unless turned off; the
        status bar, the event log and e-mail say it either way)."""
        return str(self.q.value("alerts/desktop_notifications", "true")).lower() not in ("false", "0")

    def set_desktop_notifications(self, on: bool) -> None:
        self.q.setValue("alerts/desktop_notifications", "true" if on else "false")

    # -- alert e-mail ---------------------------------------------------------------------------

    def mail(self) -> MailSettings:
        """Where alert e-mail goes (nothing set: no e-mail). The password is kept in this INI file as it is."""
        q = self.q
        try:
            port = int(q.value("alerts/mail/port", 25))
        except (TypeError, ValueError):
            port = 25
        return MailSettings(
            host=str(q.value("alerts/mail/host", "")),
            port=port,
            starttls=str(q.value("alerts/mail/starttls", "false")).lower() in ("true", "1"),
            user=str(q.value("alerts/mail/user", "")),
            password=str(q.value("alerts/mail/password", "")),
            sender=str(q.value("alerts/mail/sender", "")),
            recipients=parse_recipients(str(q.value("alerts/mail/recipients", ""))),
        )

    def set_mail(self, m: MailSettings) -> None:
        for key, value in (
            ("host", m.host),
            ("port", m.port),
            ("starttls", "true" if m.starttls else "false"),
            ("user", m.user),
            ("password", m.password),
            ("sender", m.sender),
            ("recipients", ", ".join(m.recipients)),
        ):
            self.q.setValue(f"alerts/mail/{key}", value)
