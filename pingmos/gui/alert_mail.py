"""E-mail for alerts: when a rule fires or clears, a message to the addresses the user gave, through the SMTP
server they gave (their mail relay; with STARTTLS and a login when it asks for them). No Qt here; ``send`` blocks
on the network, so the window calls it from a worker thread.

The message holds each event's sentence (rule, value, target, hop) and the time, so it can be read on a phone
without pingmos. Rule and target names come from a rules file or the monitor's configuration, which accept any
character: a CR or LF in a header made ``email`` refuse the whole message (the alert's mail was lost), and in the
body it would forge a line, so every control character is sent as '?' (``display_text``).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from pingmos.alerts import FIRE, LABELS, AlertEvent
from pingmos.display_text import display_text

TIMEOUT_S = 15.0
# A subject says what the window's event log says of the alert, short: the rule's display name, the target, the
# value and the hop ("pingmos: loss above 1 % for 5 minutes fired for pbx: loss 40.0 % at hop 6"). A mail list
# shows about the first 80-130 characters of a subject, so a long rule name or target is elided in its middle (the
# value and the hop stay whole) and the whole is cut at SUBJECT_CHARS; the body has every text whole. A named
# rule's display name, "my name (loss above 10 % over 28 s for 3 s)", is about 40 characters.
SUBJECT_CHARS = 130
NAME_CHARS = 44  # the rule's display name, at most
TARGET_CHARS = 36  # the target, at most


@dataclass(frozen=True)
class MailSettings:
    """Where alert e-mail goes. ``recipients`` empty = no e-mail. ``port`` 25 or 587 (STARTTLS) usually."""

    host: str = ""
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    recipients: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.host and self.recipients)

    def problem(self) -> str | None:
        """What is missing or wrong, in a sentence (None: it can be tried)."""
        if not self.recipients:
            return None
        if not self.host:
            return "give the SMTP server that sends the alert e-mail"
        if not 1 <= self.port <= 65535:
            return f"the SMTP port must be within 1 and 65535, not {self.port}"
        for address in (*self.recipients, self.sender or "pingmos@localhost"):
            if "@" not in address or " " in address.strip() or display_text(address) != address:
                return f"{address!r} is not an e-mail address"
        if self.password and not self.user:
            return "a password needs a user name"
        return None


def parse_recipients(text: str) -> tuple[str, ...]:
    """'a@x, b@y; c@z' -> ('a@x', 'b@y', 'c@z')."""
    return tuple(p.strip() for p in text.replace(";", ",").split(",") if p.strip())


def _elided(text: str, limit: int) -> str:
    """``text`` made safe to show, its middle replaced by an ellipsis when longer than ``limit`` characters."""
    text = display_text(text)
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "\u2026" + text[len(text) - (limit - 1 - head) :]


def subject_of(events: Sequence[AlertEvent]) -> str:
    """The subject line for ``events`` (at least one): the first event as the window's event log shows it, in
    short: "pingmos: NAME fired for TARGET: loss 40.0 % at hop 6" (the rule's display name, ``AlertRule.title``;
    an episode a reload ended: "...: ended: removed by reload"), "(+N more)" for the others. At most
    SUBJECT_CHARS characters, control characters as '?'."""
    first = events[0]
    what = "fired" if first.kind == FIRE else "cleared"
    name, target = _elided(first.title or first.rule, NAME_CHARS), _elided(first.target_text, TARGET_CHARS)
    if first.reason is not None:
        tail = f"ended: {first.reason}"
    else:
        tail = f"{LABELS[first.metric]} {first.value_text} at hop {first.ttl}"
    more = f" (+{len(events) - 1} more)" if len(events) > 1 else ""
    text = display_text(f"pingmos: {name} {what} for {target}: {tail}")
    room = SUBJECT_CHARS - len(more)
    if len(text) > room:
        text = text[: room - 1] + "\u2026"
    return text + more


def compose(settings: MailSettings, events: Sequence[AlertEvent]) -> EmailMessage:
    """One message for the events of one evaluation (usually one event)."""
    fired = [e for e in events if e.kind == FIRE]
    subject = subject_of(events)
    lines = []
    for e in events:
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(e.at))
        lines.append(display_text(f"{when}: {e.message}"))
    lines.append("")
    lines.append(f"{len(fired)} fired, {len(events) - len(fired)} cleared. Sent by pingmos on {socket.gethostname()}.")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender or f"pingmos@{socket.gethostname()}"
    message["To"] = ", ".join(settings.recipients)
    message.set_content("\n".join(lines))
    return message


def send(settings: MailSettings, message: EmailMessage, timeout_s: float = TIMEOUT_S) -> None:
    """Hand ``message`` to the SMTP server (blocks up to ``timeout_s`` per step). OSError / smtplib.SMTPException
    with the server's answer when it cannot."""
    with smtplib.SMTP(settings.host, settings.port, timeout=timeout_s) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
        smtp.send_message(message)


def send_events(settings: MailSettings, events: Sequence[AlertEvent]) -> str:
    """Compose and send; returns the sentence for the event log ('e-mailed a@x: ...')."""
    message = compose(settings, events)
    send(settings, message)
    return f"e-mailed {', '.join(settings.recipients)}: {message['Subject']}"
