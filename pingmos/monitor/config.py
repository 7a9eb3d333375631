"""The monitoring agent's configuration: one TOML file, agent-wide settings and one ``[[target]]`` table per target.

```toml
[agent]
listen = "127.0.0.1:9813"        # where /metrics is served (loopback unless you mean otherwise)
data_dir = "/var/lib/pingmos"    # one folder per target, one session file per target and hour
retention_days = 7               # session files older than this are deleted
retention_mb = 1024              # and the oldest go first while all of them together are larger
max_probes_per_s = 3000          # budget: a config whose targets could send more is refused
user = "pingmos"                 # started as root: become this user once the raw sockets are open
vantage = "office-berlin"        # the `vantage` label on every series: where this agent probes from
window = 600                     # default samples per hop the gauges are computed over (pingmos.run.LIVE_WINDOW)
model = "g107-jb"                # default scoring model (pingmos models lists them; default: the product's)
mos_interval = "last"            # hops with the MOS's 95 % interval: last (that answered), all, none
engine_threads = 0               # threads sending and receiving the probes (0: one per 25 targets; read at start)

[[alert]]                        # rules for every target (the report's rules; see pingmos.alerts)
metric = "mos"
below = 3.5
for_s = 300

[[target]]
host = "voip.example.net"        # a name or address; "sip:host[:port]" adds SIP OPTIONS probes beside the trace
sip_interval_s = 60              # SIP OPTIONS this often (default: interval_s)
name = "provider"                # the `target` label (default: host)
protocol = "icmp"                # icmp, udp or tcp
port = 5060
interval_s = 1.0
window = 600
max_ttl = 30
timeout_s = 3.0
flows = 1
model = "g107"
model_settings = { codec = "g729a" }
labels = { site = "berlin", provider = "acme" }
[[target.alert]]
metric = "loss_pct"
above = 1.0
for_s = 300
```

Reading never runs anything from the file. Every problem raises ``ConfigError`` whose message is one line naming the
file, the line and the key (tomllib gives the line of a syntax error; for a bad value the line is found by looking
for the key in the text of its table).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import pwd
import re
import tempfile
import tomllib
from dataclasses import dataclass, field

from pingmos.alerts import AlertRule, RulesError, check_reach, mos_ceiling, rules_from_data
from pingmos.display_text import display_text
from pingmos.engine import (
    MAX_FLOWS,
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    MODES,
    PROTOCOLS,
    ResolveError,
    check_host_name,
    is_address_literal,
    resolve_target,
)
from pingmos.run import LIVE_WINDOW
from pingmos.scoring import DEFAULT_MODEL

DEFAULT_LISTEN = ("127.0.0.1", 9813)
# The live window's default (pingmos.run.LIVE_WINDOW: the least round figure over what the default 1 % loss
# threshold needs to call a clean path clean); with 60 no loss gauge's interval could ever clear 1 %.
DEFAULT_WINDOW = LIVE_WINDOW
DEFAULT_SIP_PORT = 5060
MOS_INTERVAL_HOPS = ("last", "all", "none")
# Prometheus label names: what a user may use for their own labels; ours may not be overridden.
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset(
    {
        "target",
        "hop",
        "address",
        "name",
        "position",
        "vantage",
        "model",
        "rule",
        "kind",
        "le",
        "status",
        "code",
        "path",
        "instance",
        "job",
    }
)


# A configuration of thousands of targets is a few MB; more is no configuration anyone wrote.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def folder_name(target: str) -> str:
    """A target's folder under the data directory: its name with anything but letters, digits, '.', '-' and '_'
    replaced, never empty, never '.' or '..'. Two targets whose folders coincide are refused (config_from_data)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", target).strip(".") or "target"
    return safe[:100]


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is one line: ``FILE:LINE: what is wrong`` (and what to do).

    One line made so here, whatever the message holds: the file's name (a newline or an escape sequence in it) and
    text from the file never reach the terminal as control characters."""

    def __init__(self, message: object) -> None:
        super().__init__(display_text(" ".join(str(message).split())))


@dataclass(frozen=True)
class SipProbe:
    """SIP OPTIONS probes (RFC 3261 section 11) over UDP to ``host:port``."""

    host: str
    port: int = DEFAULT_SIP_PORT
    interval_s: float | None = None  # None = the target's interval_s


@dataclass(frozen=True)
class TargetConfig:
    """One target. ``name`` is its ``target`` label and its folder name under the data directory; two targets
    with the same settings compare equal (a reload keeps such a target running)."""

    name: str
    host: str  # what is traced (the host of a sip: target)
    protocol: str = "icmp"
    port: int | None = None
    interval_s: float = 1.0
    window: int = DEFAULT_WINDOW
    max_ttl: int = 30
    timeout_s: float | None = None
    flows: int = 1
    model: str = DEFAULT_MODEL  # the product's one default (pingmos.scoring), as the report and the window
    model_settings: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    rules: tuple[AlertRule, ...] = ()
    sip: SipProbe | None = None

    @property
    def max_probes_per_s(self) -> float:
        """Probes per second at most: every TTL once per interval (less once the destination answers), plus SIP."""
        return self.max_ttl / self.interval_s + (1.0 / (self.sip.interval_s or self.interval_s) if self.sip else 0.0)


@dataclass(frozen=True)
class AgentConfig:
    path: str
    listen: tuple[str, int] = DEFAULT_LISTEN
    data_dir: str | None = None  # None = no recording
    retention_days: float = 7.0
    retention_mb: float = 1024.0
    session_hours: float = 1.0  # a target's session file is closed and a new one started this often
    max_probes_per_s: float = 3000.0
    vantage: str = ""
    refresh_s: float = 5.0  # how often the window gauges are recomputed (and the retention checked)
    probe_mode: str = "auto"  # auto = unprivileged sockets where they work, else raw, else the helper
    # Which hops get the MOS's 95 % interval (a bootstrap: ~200 model evaluations per hop and refresh of it):
    # "last" = the last hop that answered (the destination's call quality), "all", or "none".
    mos_interval: str = "last"
    # Threads that send and receive every target's probes (engine.TraceLoop): 0 = one per 25 targets. More cost CPU
    # per probe but get more of a busy machine's CPU (the kernel shares it out per thread). Read at start only.
    engine_threads: int = 0
    user: str | None = None  # started as root: the user the agent becomes once its raw sockets are open
    targets: tuple[TargetConfig, ...] = field(default_factory=tuple)


# -- finding the line of a key ---------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _headers(text: str) -> list[tuple[int, str, bool]]:
    """(line number, dotted table name, is an array table) of every table header, in order."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            name = ".".join(part.strip().strip('"') for part in m.group(2).split("."))
            out.append((n, name, m.group(1) == "[["))
    return out


def find_line(text: str, table: str | None, index: int | None, key: str | None, sub: str | None = None) -> int:
    """The line where ``key`` is set in the ``index``-th (1-based) ``[[table]]`` (or in ``[table]``; None = the
    top level), or in its sub-table ``sub`` (``[[target.alert]]``, ``[target.labels]``); else the table's header
    line; else 1. Good enough for a message: TOML allows dotted keys and inline tables we do not chase."""
    lines = text.splitlines()
    headers = _headers(text)
    start, end = 0, len(lines)
    if table is not None:
        matches = [(n, i) for i, (n, name, _arr) in enumerate(headers) if name == table]
        if index is not None:
            matches = matches[index - 1 : index]
        if not matches:
            return 1
        start, hi = matches[0]
        # The table runs until the next header that is not one of its own sub-tables.
        end = next((n - 1 for n, name, _ in headers[hi + 1 :] if not name.startswith(table + ".")), len(lines))
        if sub is not None:
            subs = [n for n, name, _ in headers[hi + 1 :] if name == f"{table}.{sub}" and start < n <= end]
            if subs:
                start = subs[0]
            elif key is None:
                key = sub  # an inline table: `labels = {...}`
    elif headers:
        end = headers[0][0] - 1
    if key is not None:
        pattern = re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*=")
        for n in range(start, end):
            if n < len(lines) and pattern.match(lines[n]):
                return n + 1
        # Inline tables and dotted keys: the key anywhere in the table's lines.
        loose = re.compile(rf"(^|[\s{{,.\"']){re.escape(key)}[\"']?\s*=")
        for n in range(start, end):
            if n < len(lines) and loose.search(lines[n]):
                return n + 1
    return max(start, 1)


# -- reading ------------------------------------------------------------------------------------------------------

_AGENT_KEYS = {
    "mos_interval",
    "engine_threads",
    "listen",
    "data_dir",
    "retention_days",
    "retention_mb",
    "session_hours",
    "max_probes_per_s",
    "vantage",
    "refresh_s",
    "probe_mode",
    "user",
    "window",
    "model",
    "model_settings",
    "interval_s",
    "protocol",
    "max_ttl",
}
_TARGET_KEYS = {
    "host",
    "name",
    "protocol",
    "port",
    "interval_s",
    "window",
    "max_ttl",
    "timeout_s",
    "flows",
    "model",
    "model_settings",
    "labels",
    "alert",
    "sip_interval_s",
}


class _Reader:
    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text

    def fail(self, message: str, table=None, index=None, key=None, sub=None):
        line = find_line(self.text, table, index, key, sub)
        raise ConfigError(f"{self.path}:{line}: {message}")

    def number(self, doc, key, lo, hi, where, default, table, index=None, whole=False):
        if key not in doc:
            return default
        v = doc[key]
        kinds = (int,) if whole else (int, float)
        if isinstance(v, bool) or not isinstance(v, kinds) or not math.isfinite(v) or not lo <= v <= hi:
            kind = "a whole number" if whole else "a number"
            self.fail(f"{where}{key} must be {kind} within {lo:g} and {hi:g}, not {v!r}", table, index, key)
        return v

    def string(self, doc, key, where, default, table, index=None):
        if key not in doc:
            return default
        v = doc[key]
        if not isinstance(v, str) or not v.strip():
            self.fail(f"{where}{key} must be a non-empty string, not {v!r}", table, index, key)
        return v.strip()


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[v6addr]:PORT`` for IPv6) -> (address, port). ValueError with a reason."""
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\s]+):(\d+)", text.strip())
    if not m:
        raise ValueError(f"listen must be ADDR:PORT (127.0.0.1:9813, [::1]:9813), not {text!r}")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if not 1 <= port <= 65535:
        raise ValueError(f"the listen port must be within 1 and 65535, not {port}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError(f"listen needs an IP address (127.0.0.1, ::1, 0.0.0.0), not {host!r}") from None
    return host, port


def parse_sip(host: str) -> SipProbe:
    """``sip:host[:port]`` -> SipProbe. ValueError with a reason."""
    rest = host[4:]
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?|([^:\s\[\]@;]+)(?::(\d+))?", rest)
    if not m:
        raise ValueError(f"a SIP target is sip:host or sip:host:port, not {host!r}")
    name = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4) or DEFAULT_SIP_PORT)
    if not 1 <= port <= 65535:
        raise ValueError(f"the SIP port must be within 1 and 65535, not {port}")
    return SipProbe(name, port)


def _settings(r: _Reader, doc, where, table, index) -> tuple[tuple[str, str], ...]:
    raw = doc.get("model_settings", {})
    if not isinstance(raw, dict) or not all(isinstance(v, str | int | float) for v in raw.values()):
        r.fail(f"{where}model_settings must be a table of names and values", table, index, "model_settings")
    return tuple(sorted((k, str(v)) for k, v in raw.items()))


def check_data_dir(config: AgentConfig, path: str) -> None:
    """Raise ConfigError (file, line, key, what to do) when ``config.data_dir`` cannot hold this process's session
    files: the folder is created when missing, and a file is written in it and removed. Why at the start (and at a
    reload): otherwise the agent ran on and only each target's first refresh logged "cannot record", every hour,
    while the user believed the sessions were kept. Call it as the user that will write the sessions (after a
    drop from root)."""
    if config.data_dir is None:
        return
    try:
        os.makedirs(config.data_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=config.data_dir, prefix=".pingmos-check-"):
            pass
    except OSError as exc:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        line = find_line(text, "agent", None, "data_dir")
        try:
            who = pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            who = f"uid {os.geteuid()}"
        raise ConfigError(
            f"{path}:{line}: [agent] data_dir {config.data_dir!r} cannot hold session files "
            f"({exc.strerror or exc}): create it writable by {who}, name another folder, or remove data_dir to "
            "run without recording"
        ) from None


def load_config(path: str) -> AgentConfig:
    """Read and check the agent's configuration. Raises ConfigError (one line: file, line, key, what to do)."""
    from pingmos.input_files import InputError, read_text

    try:
        # Bounded, regular files only: /dev/zero or a FIFO is refused at once, never read without end. UTF-8, a
        # byte-order mark dropped (tomllib refused it as "Invalid statement" at line 1).
        text = read_text(path, MAX_CONFIG_BYTES, "configuration")
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line N, column M)"; put the line first as every other message does.
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = m.group(1) if m else "1"
        what = re.sub(r" ?\(at line.*\)", "", msg)
        raise ConfigError(f"{path}:{line}: not valid TOML: {what}") from None
    return config_from_data(doc, path, text)


def config_from_data(doc: dict, path: str = "<config>", text: str = "") -> AgentConfig:
    """The AgentConfig of parsed TOML (``text``, the file's text, is only used to find lines for messages)."""
    from pingmos.scoring import load_model

    r = _Reader(path, text)
    unknown = sorted(set(doc) - {"agent", "target", "alert"})
    if unknown:
        r.fail(
            f"unknown setting {unknown[0]!r} (the file has [agent], [[alert]] and [[target]] tables)",
            None,
            None,
            unknown[0],
        )
    agent = doc.get("agent", {})
    if not isinstance(agent, dict):
        r.fail("agent must be a table: [agent]", None, None, "agent")
    unknown = sorted(set(agent) - _AGENT_KEYS)
    if unknown:
        r.fail(
            f"[agent]: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_AGENT_KEYS))})",
            "agent",
            None,
            unknown[0],
        )
    w = "[agent] "
    listen = DEFAULT_LISTEN
    if "listen" in agent:
        try:
            listen = parse_listen(str(agent["listen"]))
        except ValueError as exc:
            r.fail(f"{w}{exc}", "agent", None, "listen")
    data_dir = r.string(agent, "data_dir", w, None, "agent")
    cfg_args = dict(
        listen=listen,
        data_dir=data_dir,
        retention_days=float(r.number(agent, "retention_days", 0.01, 36500, w, 7.0, "agent")),
        retention_mb=float(r.number(agent, "retention_mb", 1, 1e9, w, 1024.0, "agent")),
        session_hours=float(r.number(agent, "session_hours", 0.01, 24 * 31, w, 1.0, "agent")),
        max_probes_per_s=float(r.number(agent, "max_probes_per_s", 1, 1e6, w, 3000.0, "agent")),
        refresh_s=float(r.number(agent, "refresh_s", 0.2, 600, w, 5.0, "agent")),
        engine_threads=int(r.number(agent, "engine_threads", 0, 1000, w, 0, "agent", whole=True)),
    )
    probe_mode = r.string(agent, "probe_mode", w, "auto", "agent")
    if probe_mode not in MODES:
        r.fail(f"{w}probe_mode must be one of {', '.join(MODES)}, not {probe_mode!r}", "agent", None, "probe_mode")
    cfg_args["probe_mode"] = probe_mode
    mos_interval = r.string(agent, "mos_interval", w, "last", "agent")
    if mos_interval not in MOS_INTERVAL_HOPS:
        r.fail(
            f"{w}mos_interval must be one of {', '.join(MOS_INTERVAL_HOPS)}, not {mos_interval!r}",
            "agent",
            None,
            "mos_interval",
        )
    cfg_args["mos_interval"] = mos_interval
    user = r.string(agent, "user", w, None, "agent")
    if user is not None:
        # Checked here, not when root drops to it: an unknown user is a bad file (exit 2, file and line), which
        # the drop's own refusal (exit 77, "no permission") named neither.
        try:
            pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        except (KeyError, ValueError, OverflowError):
            r.fail(
                f"{w}user {user!r} does not exist on this system: create it (useradd --system {user}) or name "
                "an existing user",
                "agent",
                None,
                "user",
            )
    cfg_args["user"] = user
    vantage = agent.get("vantage", "")
    if not isinstance(vantage, str):
        r.fail(f"{w}vantage must be a string (where this agent probes from)", "agent", None, "vantage")
    defaults = {
        "window": r.number(agent, "window", 1, 1_000_000, w, DEFAULT_WINDOW, "agent", whole=True),
        "model": r.string(agent, "model", w, DEFAULT_MODEL, "agent"),
        "model_settings": _settings(r, agent, w, "agent", None),
        "interval_s": float(r.number(agent, "interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S, w, 1.0, "agent")),
        "protocol": r.string(agent, "protocol", w, "icmp", "agent"),
        "max_ttl": r.number(agent, "max_ttl", 1, 64, w, 30, "agent", whole=True),
    }
    if defaults["protocol"] not in PROTOCOLS:
        r.fail(f"{w}protocol must be one of {', '.join(PROTOCOLS)}", "agent", None, "protocol")

    common_rules: list[AlertRule] = []
    if "alert" in doc:
        if not isinstance(doc["alert"], list):
            r.fail("alert must be an array of tables: [[alert]]", None, None, "alert")
        try:
            common_rules = rules_from_data({"rules": doc["alert"]}, "[[alert]]")
        except RulesError as exc:
            m = re.search(r"rule (\d+)", str(exc))
            r.fail(str(exc), "alert", int(m.group(1)) if m else None, None)

    raw_targets = doc.get("target", [])
    if isinstance(raw_targets, dict):  # [target] where [[target]] was meant: TOML's one table, not a list
        r.fail("[target] is one table; write [[target]] (two brackets), one such table per target", "target", None,
               "target")  # fmt: skip
    if not isinstance(raw_targets, list):
        r.fail('target must be an array of tables: [[target]] with host = "..."', None, None, "target")
    if not raw_targets:
        r.fail('no targets: add one [[target]] table with at least host = "..."', None, None, "target")
    targets = []
    models_checked: dict = {}  # (model, settings) -> its MOS on a clean path (None: not asked yet)
    for i, raw in enumerate(raw_targets, start=1):
        targets.append(_target(r, raw, i, defaults, common_rules, models_checked, load_model))
    names = [t.name for t in targets]
    for i, t in enumerate(targets, start=1):
        if t.name in names[: i - 1]:
            r.fail(
                f'target {i}: two targets are named {t.name!r}; give one of them another name = "..."',
                "target",
                i,
                "name" if "name" in raw_targets[i - 1] else "host",
            )
    if data_dir is not None:
        # Names that differ only in what a folder name cannot hold ("東京" and "大阪" are both "__", "a/b" and
        # "a_b" both "a_b") would record two targets into one folder: their sessions mixed, each opened as the other.
        folders: dict[str, str] = {}
        for i, t in enumerate(targets, start=1):
            other = folders.setdefault(folder_name(t.name), t.name)
            if other != t.name:
                r.fail(
                    f"target {i}: {other!r} and {t.name!r} would record to the same folder "
                    f'{folder_name(t.name)!r} under data_dir; give one of them a name = "..." that differs in '
                    "letters a-z, digits, '.', '-' or '_'",
                    "target",
                    i,
                    "name" if "name" in raw_targets[i - 1] else "host",
                )
    budget = cfg_args["max_probes_per_s"]
    needed = sum(t.max_probes_per_s for t in targets)
    if needed > budget:
        r.fail(
            f"[agent] the targets may send up to {needed:g} probes/s, more than max_probes_per_s = {budget:g}: "
            f"raise the budget, lengthen interval_s or lower max_ttl",
            "agent",
            None,
            "max_probes_per_s",
        )
    return AgentConfig(path=path, vantage=vantage, targets=tuple(targets), **cfg_args)


def _target_alert_line(r: _Reader, i: int, k: int | None) -> int:
    """The line of target ``i``'s ``k``-th [[target.alert]] (its first alert, or the target, when unknown)."""
    line = find_line(r.text, "target", i, None, "alert")
    if k is not None:  # the k-th [[target.alert]] header after this target's
        headers = [n for n, name, _ in _headers(r.text) if name == "target.alert" and n > line - 1]
        line = headers[k - 1] if k <= len(headers) else line
    return line


def _check_reach(r: _Reader, i, w, name, host, model, settings, common_rules, own, ceilings, load_model) -> None:
    """The target's MOS rules must be able to clear with its model (``pingmos.alerts.check_reach``, the rules
    dialog's check): ConfigError naming the file, the line, the rule and the clear_at to write."""
    tables = []
    for table, rules in (("[[alert]]", common_rules), ("[[target.alert]]", own)):
        mine = [(n, x) for n, x in enumerate(rules, start=1) if x.target is None or x.target in (name, host)]
        if any(x.metric == "mos" for _, x in mine):
            tables.append((table, mine))
    if not tables:
        return
    if ceilings.get((model, settings)) is None:
        loaded = load_model(model, dict(settings))
        try:
            ceilings[(model, settings)] = mos_ceiling(loaded)
        except ValueError:
            return  # a model that gives no MOS for a clean path: its own error shows when it scores
        finally:
            loaded.close()
    for table, mine in tables:
        try:
            check_reach([x for _, x in mine], ceilings[(model, settings)], model, f"{w}{table}",
                        numbers=[n for n, _ in mine])  # fmt: skip
        except RulesError as exc:
            k = int(re.search(r"rule (\d+)", str(exc)).group(1))
            line = find_line(r.text, "alert", k, None) if table == "[[alert]]" else _target_alert_line(r, i, k)
            raise ConfigError(f"{r.path}:{line}: {exc}") from None


def _target(r: _Reader, raw, i: int, defaults: dict, common_rules, models_checked: set, load_model) -> TargetConfig:
    t = "target"
    if not isinstance(raw, dict):
        r.fail(f"target {i} must be a table: [[target]]", t, i, None)
    unknown = sorted(set(raw) - _TARGET_KEYS)
    if unknown:
        r.fail(
            f"target {i}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_TARGET_KEYS))})", t, i, unknown[0]
        )
    if "host" not in raw:
        r.fail(f'target {i}: host is missing (host = "name or address", or "sip:host:port")', t, i, None)
    host = r.string(raw, "host", f"target {i}: ", None, t, i)
    sip = None
    if host.lower().startswith("sip:"):
        try:
            sip = parse_sip(host)
        except ValueError as exc:
            r.fail(f"target {i}: {exc}", t, i, "host")
        host = sip.host
    try:  # an address, or a name whose syntax is checked here, before any lookup (RFC 1123, <= 253 chars, no /)
        check_host_name(host)
        if is_address_literal(host) and "%" not in host:
            resolve_target(host, None)  # no lookup for a literal: a multicast, broadcast or unspecified one refused
    except ResolveError as exc:
        r.fail(f"target {i}: host must be a host name or an address: {exc}", t, i, "host")
    w = f"target {i} ({raw.get('name') or raw['host']}): "
    name = r.string(raw, "name", w, raw["host"].strip(), t, i)
    protocol = r.string(raw, "protocol", w, defaults["protocol"], t, i)
    if protocol not in PROTOCOLS:
        r.fail(f"{w}protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}", t, i, "protocol")
    port = r.number(raw, "port", 1, 65535, w, None, t, i, whole=True)
    if port is not None and protocol == "icmp":
        r.fail(f"{w}port applies to protocol udp or tcp only; drop it or set protocol", t, i, "port")
    interval_s = float(r.number(raw, "interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S, w, defaults["interval_s"], t, i))
    if "sip_interval_s" in raw:
        if sip is None:
            r.fail(f"{w}sip_interval_s applies to a sip: target only", t, i, "sip_interval_s")
        sip = dataclasses.replace(sip, interval_s=float(r.number(raw, "sip_interval_s", 0.1, 3600, w, None, t, i)))
    timeout_s = r.number(raw, "timeout_s", 0.01, 300, w, None, t, i)
    model = r.string(raw, "model", w, defaults["model"], t, i)
    settings = _settings(r, raw, w, t, i) if "model_settings" in raw else defaults["model_settings"]
    if (model, settings) not in models_checked:
        try:
            load_model(model, dict(settings)).close()
        except ValueError as exc:
            key = "model_settings" if "model_settings" in raw else "model"
            r.fail(f"{w}{exc}", t, i, key if key in raw else None)
        models_checked[(model, settings)] = None
    labels = raw.get("labels", {})
    if not isinstance(labels, dict):
        r.fail(f"{w}labels must be a table of names and strings", t, i, "labels")
    for k, v in labels.items():
        if not _LABEL_NAME.match(k) or k.startswith("__"):
            r.fail(f"{w}label name {k!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", t, i, k, "labels")
        if k in RESERVED_LABELS:
            r.fail(f"{w}label {k!r} is one of pingmos's own; choose another name", t, i, k, "labels")
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            r.fail(f"{w}label {k!r} must be a string", t, i, k, "labels")
    rules = list(common_rules)
    own: list[AlertRule] = []
    if "alert" in raw:
        try:
            own = rules_from_data({"rules": raw["alert"]}, f"target {i} [[target.alert]]")
        except RulesError as exc:
            m = re.search(r"rule (\d+)", str(exc))
            raise ConfigError(f"{r.path}:{_target_alert_line(r, i, int(m.group(1)) if m else None)}: {exc}") from None
        names = {x.name for x in rules}
        for rule in own:
            if rule.name in names:
                r.fail(
                    f"{w}alert {rule.name!r} has the name of an [[alert]] for every target; rename it",
                    t,
                    i,
                    "name",
                    "alert",
                )
        rules += own
    _check_reach(r, i, w, name, host, model, settings, common_rules, own, models_checked, load_model)
    return TargetConfig(
        name=name,
        host=host,
        protocol=protocol,
        port=port,
        interval_s=interval_s,
        window=r.number(raw, "window", 1, 1_000_000, w, defaults["window"], t, i, whole=True),
        max_ttl=r.number(raw, "max_ttl", 1, 64, w, defaults["max_ttl"], t, i, whole=True),
        timeout_s=None if timeout_s is None else float(timeout_s),
        flows=r.number(raw, "flows", 1, MAX_FLOWS, w, 1, t, i, whole=True),
        model=model,
        model_settings=settings,
        labels=tuple(sorted((k, str(v)) for k, v in labels.items())),
        rules=tuple(r for r in rules if r.target is None or r.target in (name, host)),
        sip=sip,
    )
