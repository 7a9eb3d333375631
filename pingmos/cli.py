"""The command line: ``pingmos report`` (headless), and the sub-commands of the other front ends."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import re
import sys
from collections.abc import Callable

# Only what every command needs at start-up: argparse and the limits its options check. Each command imports what
# it runs (the engine, the report's formats, the scoring registry) when it runs, so `pingmos score` pays for
# neither the probing engine nor the diagnosis (scripts/bench_cli.py measures it).
from pingmos.display_text import echoed
from pingmos.engine import MAX_FLOWS, MAX_INTERVAL_S, MIN_INTERVAL_S, MODES, PROTOCOLS
from pingmos.scoring import DEFAULT_MODEL

REPORT_FORMATS = ("table", "json", "csv")  # the keys of pingmos.report.formats.FORMATTERS (a test keeps them equal)

EXIT_TRACE_FAILED = 1  # the network failed mid-trace: the partial report is printed, the error on stderr
EXIT_SCORING_FAILED = 1  # the model failed to score a hop: the output is written, the model's error last on stderr
EXIT_USAGE = 2
EXIT_NO_PERMISSION = 77  # EX_NOPERM from sysexits.h
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage dump) and exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _OutputFailed(Exception):
    """The command's output could not be written (a full disk, an I/O error): one line on stderr, exit 1."""


class _HeldOutput:
    """Text for stdout, held until ``hold_chars`` of it, then written as it comes, ``hold_chars`` at a time: an
    output that small appears whole or not at all (bad input found while it is made leaves only its one line on
    stderr, as for any command), a larger one (the samples of a long session) streams in bounded memory; an error
    found after it began streaming leaves what was written. ``before`` runs right before the first write (the
    importer's notes: printed on success only while the output is held)."""

    HOLD_CHARS = 4 * 1024 * 1024

    def __init__(self, before: Callable[[], None], hold_chars: int | None = None) -> None:
        self._before: Callable[[], None] | None = before
        self._hold = hold_chars or self.HOLD_CHARS
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._hold:
            self.flush()

    def flush(self) -> None:
        """Write what is held (the notes first, once)."""
        if self._before is not None:
            before, self._before = self._before, None
            before()
        text, self._parts, self._size = "".join(self._parts), [], 0
        _emit(text)


def _emit(text: str) -> None:
    """Write ``text`` to stdout now; a write the system refuses is _OutputFailed rather than a traceback (or, left
    in the buffer, an "Exception ignored" at exit with the output silently lost)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise  # the reader went away (| head): nothing to tell anyone
    except OSError as exc:
        raise _OutputFailed(exc.strerror or str(exc)) from None


# The seconds between the rounds of an mtr --raw log (report --session, export): mtr -i takes 0.01 as root.
RAW_LOG_MIN_INTERVAL_S = 0.01
RAW_LOG_MAX_INTERVAL_S = 3600.0

# The largest latency, jitter or sample in ms pingmos scores (--latency, --jitter, --samples: calculator's
# MAX_SAMPLE_MS): 1000 s, far beyond any round trip, and small enough that no formula overflows.
MAX_MS = 1e6


def _ranged(kind, lo, hi, what):
    def parse(text: str):
        try:
            # ASCII only: int() and float() take any script's digits ('\u0661\u0662' is 12), a value no one typed
            # on purpose and that no other tool reads.
            if not text.isascii():
                raise ValueError(text)
            value = kind(text)
        except ValueError:
            number = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(
                f"{what} must be {number} in ASCII digits (0-9), not {echoed(text, 60)!r}"
                if not text.isascii()
                else f"{what} must be {number}, not {echoed(text, 60)!r}"
            ) from None
        if lo is not None and not lo <= value <= hi:  # None: any number; the caller checks the range later
            raise argparse.ArgumentTypeError(f"{what} must be within {lo} and {hi}, not {text}")
        return value

    return parse


def _given(what):
    """A file name or model name option: an empty value is refused (exit 2), never taken for "not given".

    ``--record ""`` (an unset shell variable) would otherwise trace without recording, ``--session ""`` with a
    TARGET would probe instead of re-scoring, and ``models --copy ""`` would list instead of copying."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"the value is empty; give {what}")
        return text

    return parse


def _witness_count(text: str):
    """``--witness``: "auto" (-1: as many echoes as the loss in question needs) or a count 0-1000."""
    return -1 if text == "auto" else _ranged(int, 0, 1000, "witness (a count or 'auto')")(text)


def _add_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="trace a host for N rounds and print one row per hop",
        description="Trace TARGET for N rounds and print per hop: loss, latency, jitter, R and MOS.",
    )
    p.add_argument(
        "target",
        nargs="?",
        help="host name, IPv4 or IPv6 address to trace; with --session, the destination address of an mtr --raw "
        "log (which does not record it)",
    )
    p.add_argument("--count", "-c", type=_ranged(int, 1, 1_000_000, "count"), default=10, help="rounds (10)")
    p.add_argument(
        "--interval",
        "-i",
        # Only a number here: its range depends on --session (one check, one message: _cmd_report): a live trace
        # takes MIN_INTERVAL_S to MAX_INTERVAL_S; an mtr --raw log given to --session was recorded at whatever
        # mtr -i was (0.01 as root), as export --interval takes.
        type=_ranged(float, None, None, "interval"),
        default=1.0,
        help="seconds between rounds, 0.1 to 60 (1.0); with --session of an mtr --raw log, the interval it was "
        "recorded at, 0.01 to 3600",
    )
    p.add_argument(
        "--window",
        type=_ranged(int, 1, 10_000_000, "window"),
        default=None,
        metavar="N",
        help="a sample count, not a GUI window: score the last N samples of each hop (default: every sample of the "
        "run)",
    )
    p.add_argument("--protocol", choices=PROTOCOLS, default="icmp", help="probe protocol (icmp)")
    p.add_argument(
        "--port",
        type=_ranged(int, 1, 65535, "port"),
        default=None,
        help="UDP/TCP destination port (UDP 33434, TCP 80), with --protocol udp or tcp only; the destination counts "
        "as reached on a TCP SYN-ACK or RST, or a UDP port unreachable",
    )
    family = p.add_mutually_exclusive_group()
    family.add_argument("-4", dest="ip_version", action="store_const", const=4, help="IPv4 only")
    family.add_argument("-6", dest="ip_version", action="store_const", const=6, help="IPv6 only")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="auto",
        help="how to send probes: raw sockets (root or cap_net_raw), unprivileged ICMP sockets, the pingmos-probe "
        "helper, or auto: the best available (auto)",
    )
    p.add_argument(
        "--flows",
        type=_ranged(int, 1, MAX_FLOWS, "flows"),
        default=1,
        help=f"1 keeps one fixed flow so load balancers send every probe one way (Paris traceroute); 2 to "
        f"{MAX_FLOWS} cycle through that many flows round by round to discover parallel paths (1)",
    )
    p.add_argument("--max-ttl", type=_ranged(int, 1, 64, "max TTL"), default=30, help="highest TTL (30)")
    p.add_argument(
        "--timeout",
        type=_ranged(float, 0.01, 300.0, "timeout"),
        default=None,
        help="seconds a probe may take before it counts as lost (default: 3 or the interval if larger)",
    )
    p.add_argument("--no-dns", action="store_true", help="show addresses only: no reverse DNS at all")
    p.add_argument("--format", choices=REPORT_FORMATS, default="table", help="output format (table)")
    _add_model_options(p)
    _add_evidence_options(p)
    p.set_defaults(handler=_cmd_report)


def _add_evidence_options(p) -> None:
    g = p.add_argument_group("sessions, diagnosis and alerts")
    g.add_argument(
        "--session",
        type=_given("a file name"),
        metavar="FILE",
        help="re-score a saved session, JSON report or samples export, an mtr --json report or --raw log, a Trippy "
        "JSON report or RIPE Atlas traceroute results instead of tracing: no probe is sent, "
        "--model/--set/--window/--from/--to/--alerts/--format apply (for an mtr --raw log, --interval places its "
        "rounds and TARGET names its destination); the options that set up probing (--count, --protocol, --port, "
        "-4/-6, --mode, --flows, --max-ttl, --timeout, --no-dns, --record, --witness) are refused",
    )
    g.add_argument(
        "--from",
        dest="time_from",
        metavar="TIME",
        help="with --session: start of the range to score "
        "(ISO date and time: local time unless it ends in Z or +HH:MM; seconds since the epoch; or +90 / +15m / "
        "+2h from the session's start)",
    )
    g.add_argument("--to", dest="time_to", metavar="TIME", help="with --session: end of the range (as --from)")
    g.add_argument("--probe", type=_ranged(int, 0, 2**31 - 1, "probe"), default=None, metavar="ID",
                   help="with --session of RIPE Atlas results: the probe (prb_id) whose runs to score; a file of "
                   "several probes without it is refused with their ids")  # fmt: skip
    g.add_argument(
        "--record",
        type=_given("a file name"),
        metavar="FILE",
        help="record the trace to a new session file (every raw sample)",
    )
    g.add_argument(
        "--witness",
        type=_witness_count,
        default=0,
        metavar="N",
        help="after the trace, send N echo probes to each router whose own loss may be ICMP rate limiting and "
        "combine the answers with the trace's per-round evidence; 'auto' sends as many as it takes to tell that "
        "router's loss from none, and says how many (0 = off, the default)",
    )
    g.add_argument(
        "--alerts",
        type=_given("a rules file or 'default'"),
        metavar="RULES",
        help="run the alert rules of this TOML/JSON file ('default' = MOS < 3.5 and loss > 1 %% for 5 minutes) "
        "while tracing, print each fire and clear on stderr as it happens and run the rule's command; with "
        "--session, over the saved samples (no command is run)",
    )


def _add_model_options(p, scope: str = "") -> None:
    """--model and --set; ``scope`` starts their help when they apply to part of the command ("hops: ")."""
    p.add_argument(
        "--model",
        type=_given("a model name"),
        default=DEFAULT_MODEL,
        help=f"{scope}scoring model; pingmos models lists them ({DEFAULT_MODEL})",
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{scope}a setting of the model, e.g. --set codec=g729a (repeatable, each key once; pingmos models "
        "lists them)",
    )


def _with_model(snapshot, model):
    """The snapshot with the model's effective settings: what its MOS assumed (shown in the header and JSON)."""
    return dataclasses.replace(snapshot, model_settings=tuple(sorted(model.settings.items())))


def _scoring_status(command: str, snapshot) -> int:
    """After the output: one stderr line naming the model and its error when it failed at a hop, and exit 1."""
    from pingmos.report.formats import scoring_failure

    failed = scoring_failure(snapshot)
    if failed is None:
        return 0
    print(f"pingmos {command}: error: {echoed(failed, 500)}", file=sys.stderr)  # a formula's error may be 1 MB
    return EXIT_SCORING_FAILED


def _load_model(args, command: str):
    """The model of --model/--set, or None after a one-line error on stderr (the caller exits 2)."""
    from pingmos.scoring import load_model, parse_assignments

    try:
        _check_each_setting_once(args.settings)
        return load_model(args.model, parse_assignments(args.settings))
    except ValueError as exc:
        print(f"pingmos {command}: error: {_one_line(exc)}", file=sys.stderr)
        return None


def _check_each_setting_once(assignments: list[str]) -> None:
    """ValueError naming the key given twice by --set (``--set codec=g711 --set codec=g729a``): one of the two
    would have been dropped without a word, and which one a user meant is theirs to say."""
    seen: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if sep and key in seen:
            raise ValueError(
                f"--set {key} is given twice ({seen[key]!r}, then {value.strip()!r}): give each setting once"
            )
        seen[key] = value.strip()


# Options of a live trace: they set up probing. --session re-scores samples already taken, so none of them could
# change a number; each is refused by name rather than silently dropped.
_PROBING_OPTIONS = ("count", "protocol", "port", "ip_version", "mode", "flows", "max_ttl", "timeout", "no_dns",
                    "record", "witness")  # fmt: skip


def _options_given(argv: list[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    """The options the command line ``argv`` gives, dest -> the option as a user writes it (``--count``, ``-4/-6``):
    a value equal to the default is still a choice the user made, and a default is none. argv is parsed again with
    every default suppressed, so abbreviations (``--coun``) and ``-c5`` count as argparse counts them. ``parser``
    (``build_parser``'s, done with) loses its defaults: a second one would cost as much again at every start."""
    commands = _commands(parser)
    for sub in commands.values():
        for action in sub._actions:
            action.default = argparse.SUPPRESS
    given = vars(parser.parse_args(argv))
    names: dict[str, list[str]] = {}
    for action in commands[given["command"]]._actions if given.get("command") in commands else ():
        if action.option_strings:
            names.setdefault(action.dest, []).append(max(action.option_strings, key=len))
    # Two options of one dest (-4, -6): the one typed, when it is there as typed.
    typed = {dest: [n for n in names[dest] if n in argv] for dest in names if len(names[dest]) > 1}
    return {dest: "/".join(typed.get(dest) or names[dest]) for dest in given if dest in names}


def _refuse_ignored(args) -> str | None:
    """One line naming an option that would have no effect in this combination, and why; None when each applies.
    The options whose effect depends on the file's kind (--interval, TARGET and --probe with --session) are checked
    once the file is open."""
    given: dict[str, str] = getattr(args, "given", {})
    if args.handler is _cmd_report:
        if args.session is not None:
            ignored = [given[d] for d in _PROBING_OPTIONS if d in given]
            if ignored:
                them = "it" if len(ignored) == 1 else "them"
                return (
                    f"{', '.join(ignored)}: --session re-scores a saved trace and sends no probe, so "
                    f"{'this option sets' if len(ignored) == 1 else 'these options set'} nothing; drop {them}"
                )
        elif "port" in given and args.protocol == "icmp":
            return "--port applies to --protocol udp or tcp; an ICMP echo has no port: drop --port or give --protocol"
    if args.handler is _cmd_export and args.what != "hops":
        ignored = [given[d] for d in ("window", "model", "settings") if d in given]
        if ignored:
            return (
                f"{', '.join(ignored)} score{'s' if len(ignored) == 1 else ''} the hop table: use "
                f"{'it' if len(ignored) == 1 else 'them'} with --what hops; --what {args.what} exports what was "
                "recorded, unscored"
            )
    if args.handler is _cmd_models and args.copy is not None and "format" in given:
        return "--format is the list's format; --copy prints the new file's path alone: drop --format"
    return None


def _refuse_interval(args, session) -> None:
    """SessionError when --interval was given for a file that is no mtr --raw log (the only kind that records no
    times): the file's own times place its rounds, and the option would have done nothing."""
    from pingmos.session import SessionError

    if "interval" in getattr(args, "given", {}) and session.info.source != "mtr --raw":
        raise SessionError(
            f"{args.session}: --interval places the rounds of an mtr --raw log (which records no times); it does "
            f"nothing for this {session.info.source} file: drop --interval"
        )


def _add_score(sub) -> None:
    p = sub.add_parser(
        "score",
        help="the calculator: R and MOS of given latency, jitter and loss, or of a list of samples",
        description="Score one hop by hand: from summary numbers (--latency --jitter --loss) or from samples "
        "(--samples 136,184,x,148, x = lost). Shows how a model arrives at its number with --verbose.",
    )
    _add_model_options(p)
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--latency", type=_ranged(float, 0.0, MAX_MS, "latency"), help="average round-trip time, ms")
    given.add_argument("--samples", help="round-trip times in ms, oldest first, x for a lost sample: 136,184,x,148")
    p.add_argument(
        "--jitter",
        type=_ranged(float, 0.0, MAX_MS, "jitter"),
        default=None,
        help="jitter, ms, as the model's jitter definition reads it: by default pingplotter's, the mean "
        "|difference| of consecutive RTTs; with --set jitter=rfc3550 RFC 3550's J, with jitter=stdev the RTTs' "
        "standard deviation (0)",
    )
    p.add_argument(
        "--jitter-stdev",
        type=_ranged(float, 0.0, MAX_MS, "jitter stdev"),
        default=None,
        metavar="MS",
        help="standard deviation of the per-packet jitter values in ms (with the pingplotter jitter definition: of "
        "the |differences| of consecutive RTTs), not of the RTT itself; it feeds the asterisk model's effective "
        "latency (jitter x 2 x stdev / 3), the other models ignore it (0)",
    )
    p.add_argument(
        "--loss",
        type=_ranged(float, 0.0, 100.0, "loss"),
        default=None,
        help="round-trip packet loss as ping or mtr shows it, %% (0); g107-jb splits it between the call's two "
        "directions, pingplotter and g107 take it as the call's loss",
    )
    p.add_argument("--verbose", "-v", action="store_true",
                   help="show the input numbers and every detail term (--format json always holds them)")  # fmt: skip
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (text)")
    p.set_defaults(handler=_cmd_score)


def _cmd_score(args) -> int:
    from pingmos.calculator import failure_line, parse_samples, score_json, score_text
    from pingmos.scoring import HopWindow, Score

    if args.samples is not None and (args.jitter, args.jitter_stdev, args.loss) != (None, None, None):
        print("pingmos score: error: --samples gives jitter and loss itself; drop --jitter/--loss", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.samples is not None:
            window = parse_samples(args.samples)
        else:
            window = HopWindow.from_summary(args.latency, args.jitter or 0.0, args.loss or 0.0, args.jitter_stdev)
    except ValueError as exc:
        print(f"pingmos score: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    model = _load_model(args, "score")
    if model is None:
        return EXIT_USAGE
    with model:
        result = model.score(window)
        if args.format == "json":  # the error is in the object too, for a program reading it
            _emit(score_json(model.name, model.settings, window, result))
        else:
            _emit(score_text(model.name, model.settings, window, result, args.verbose))
    failed = failure_line(result)
    if failed is not None:
        print(f"pingmos score: error: {_one_line(failed)}", file=sys.stderr)
    return 0 if isinstance(result, Score) else 1


def _add_models(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list the scoring models, their settings, and where each was loaded from",
        description="List the scoring models: built-in, in your scoring folder, and from installed packages.",
    )
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="the list's format (text); --copy prints a path and takes none")  # fmt: skip
    p.add_argument(
        "--copy",
        type=_given("a model name"),
        metavar="NAME",
        help="copy model NAME into your scoring folder to edit; print its path",
    )
    p.set_defaults(handler=_cmd_models)


def _cmd_models(args) -> int:
    import os

    from pingmos.calculator import models_json, models_text
    from pingmos.scoring import available_models, create_user_copy, user_scoring_dir

    if args.copy is not None:
        try:
            path = create_user_copy(args.copy)
        except ValueError as exc:
            print(f"pingmos models: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        except OSError as exc:  # a bare "[Errno 17] File exists: ..." named neither the folder's role nor a way out
            print(f"pingmos models: error: {_one_line(_copy_failure(exc, user_scoring_dir()))}", file=sys.stderr)
            return EXIT_USAGE
        _emit(f"{path}\n")
        return 0
    infos, folder = available_models(), str(user_scoring_dir())
    if os.path.lexists(folder) and not os.path.isdir(folder):  # no formula of the user's could be listed
        print(f"pingmos models: note: your scoring folder {folder} is a file, not a folder, so none of your formulas "
              "are listed; move or delete it", file=sys.stderr)  # fmt: skip
    _emit(models_json(infos, folder) if args.format == "json" else models_text(infos, folder))
    return 0


def _copy_failure(exc: OSError, folder) -> str:
    """Why ``models --copy`` could not write into the scoring folder ``folder``, and what to do (one line)."""
    from pathlib import Path

    where = Path(exc.filename) if exc.filename else folder
    # The folder, or one of its parents, is a file: mkdir says "File exists" or "Not a directory".
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        what = f"the scoring folder {folder}"
        if blocking != folder:
            what = f"{blocking} (above the scoring folder {folder})"
        return f"{what} is a file, not a folder: move or delete it, or set PINGMOS_CONFIG_DIR to another folder"
    reason = exc.strerror or str(exc)
    return (
        f"cannot write the copy to {where}: {reason}; check that you may write to {folder}, or set PINGMOS_CONFIG_DIR"
    )


def _resolve(target: str, ip_version: int | None) -> str:
    """-4 / -6 as asked; without either, the family policy every front end shares (pingmos.run.resolve)."""
    from pingmos.run import resolve

    return resolve(target, ip_version)


def _load_alert_rules(args, model):
    """The rules of --alerts (None without it), or False after a one-line error on stderr. A MOS rule must be
    able to clear with ``model`` (``pingmos.alerts.check_reach``, as in the window's dialog)."""
    from pingmos.alerts import DEFAULT_RULES, RulesError, check_rules_for_model, load_rules

    if args.alerts is None:
        return None
    try:
        if args.alerts == "default":
            rules = list(DEFAULT_RULES)
            check_rules_for_model(rules, model, "the default rules (--alerts default)")
        else:
            rules = load_rules(args.alerts)
            check_rules_for_model(rules, model, args.alerts)
    except RulesError as exc:
        print(f"pingmos report: error: {_one_line(exc)}", file=sys.stderr)
        return False
    return rules


def _print_alerts(events) -> None:
    import time

    from pingmos.report.formats import terminal_safe

    for e in events:
        try:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        except (OverflowError, OSError, ValueError):
            when = "?"
        # The message holds names and addresses from files and the network: no escape sequence reaches the terminal.
        print(f"pingmos: alert {when}: {terminal_safe(e.message)}", file=sys.stderr)


def _cmd_report_session(args, model, rules) -> int:
    import os

    from pingmos.alerts import evaluate_samples
    from pingmos.diagnosis import diagnose
    from pingmos.hop_report import RECORD_FINISHED
    from pingmos.report.formats import FORMATTERS
    from pingmos.run import default_timeout_s
    from pingmos.session import SessionError, open_session
    from pingmos.session.evidence import RunningDiagnosis, witnesses_from_events
    from pingmos.session.rescore import select_range

    try:
        # TARGET with --session: the destination address of an mtr --raw log (which does not record it).
        with open_session(args.session, interval_s=args.interval, target=args.target, probe=args.probe) as session:
            _refuse_interval(args, session)
            notes = _notes(session)
            if rules and session.summaries():  # no rule would see a sample: silence read as "nothing fired"
                raise SessionError(
                    f"{args.session}: the {session.info.source} file holds only its totals per hop, so alert rules "
                    "(which follow the samples over time) cannot run on it; drop --alerts"
                )
            selected = select_range(session, args.time_from, args.time_to)
            snapshot = session.snapshot(args.window, model, model.name, selected)
            where = f"{session.info.source} session {os.path.basename(args.session)}"
            snapshot = dataclasses.replace(snapshot, mode=where)
            witnesses = witnesses_from_events(session.events())
            if witnesses:  # the echo witness of the recorded run, weighed as it was (and stale as it is now)
                snapshot = dataclasses.replace(snapshot, diagnosis=diagnose(snapshot, witnesses=witnesses))
            if rules:
                # Each event with the diagnosis of the samples until then, over the report's window, as live.
                info = session.info
                # Samples fed as they settled live, windows of settled rounds: the events come as they came live.
                timeout_s = info.extra.get("timeout_s") if isinstance(info.extra, dict) else None
                if not isinstance(timeout_s, (int, float)) or isinstance(timeout_s, bool) or timeout_s <= 0:
                    timeout_s = default_timeout_s(info.interval_s)
                running = RunningDiagnosis(info.target, info.address, info.protocol, info.interval_s, model,
                                           model.name, args.window, record=RECORD_FINISHED,
                                           settle_s=float(timeout_s))  # fmt: skip
                events = evaluate_samples(
                    rules, info.target, model, session.samples(selected), diagnosis=running, settle_s=float(timeout_s)
                )
                _print_alerts(events)
    except (SessionError, ValueError) as exc:  # the file or the range asked for: bad input, as a bad option
        print(f"pingmos report: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    _print_notes("report", notes)
    _emit(FORMATTERS[args.format](_with_model(snapshot, model)))
    return _scoring_status("report", snapshot)


def _one_line(exc: Exception) -> str:
    """An error about a file as one terminal-safe line (the file's text may hold escape sequences), cut to 500
    characters with an ellipsis."""
    return echoed(str(exc), 500)


def _notes(session) -> list[str]:
    """What an importer noticed (a cut last line, probes in flight, skipped records)."""
    notes = session.info.extra.get("notes") if isinstance(session.info.extra, dict) else None
    return [str(n) for n in notes] if isinstance(notes, list) else []


def _print_notes(command: str, notes: list[str]) -> None:
    """The importer's notes, one terminal-safe line each, on stderr (only when the command succeeds)."""
    from pingmos.report.formats import terminal_safe

    for note in notes:
        print(f"pingmos {command}: note: {terminal_safe(note)[:300]}", file=sys.stderr)


def _close_all(networks) -> None:
    for network in networks:
        with contextlib.suppress(OSError):
            network.close()


def _cmd_report(args) -> int:
    from pingmos.engine import NoPermission
    from pingmos.report.formats import FORMATTERS
    from pingmos.report.interrupts import ReportInterrupts, hold_for_test
    from pingmos.report.runner import TraceFailed, network_error_text, run_report
    from pingmos.run import PERMISSION, RunError, TraceRun, default_window, wind_down_limit_s

    if args.target is None and args.session is None:
        # A usage error like argparse's own (TARGET is optional only because --session replaces it).
        print("pingmos report: error: give a TARGET to trace, or --session FILE to re-score a saved trace",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(EXIT_USAGE)
    lo, hi = (MIN_INTERVAL_S, MAX_INTERVAL_S) if args.session is None else (RAW_LOG_MIN_INTERVAL_S,
                                                                            RAW_LOG_MAX_INTERVAL_S)  # fmt: skip
    if not lo <= args.interval <= hi:  # (a NaN too) as argparse words it, with the range of this use
        what = "for a trace" if args.session is None else "for an mtr --raw log's rounds (--session)"
        print(f"pingmos report: error: argument --interval/-i: interval must be within {lo} and {hi} {what}, not "
              f"{args.interval:g}", file=sys.stderr)  # fmt: skip
        raise SystemExit(EXIT_USAGE)
    model = _load_model(args, "report")
    if model is None:
        return EXIT_USAGE
    rules = _load_alert_rules(args, model)
    if rules is False:
        return EXIT_USAGE
    if args.session is not None:
        return _cmd_report_session(args, model, rules)
    if args.time_from or args.time_to:
        print("pingmos report: error: --from/--to select part of a saved trace: use them with --session",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    if args.probe is not None:
        print("pingmos report: error: --probe picks a probe of RIPE Atlas results: use it with --session",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    if args.record is not None:
        refused = _record_problem(args.record)
        if refused is not None:  # before the name is looked up or a probe sent: nothing measured is lost
            print(f"pingmos report: error: {refused}", file=sys.stderr)
            return EXIT_USAGE
    run = TraceRun(
        args.target,
        protocol=args.protocol,
        interval_s=args.interval,
        max_ttl=args.max_ttl,
        timeout_s=args.timeout,
        rounds=args.count,
        port=args.port,
        flows=args.flows,
        ip_version=args.ip_version,
        mode=args.mode,
    )
    try:
        settings = run.resolve()
        address = settings.address
        run.check_route()  # no route (e.g. a host without IPv6) fails here, before anything is sent
    except RunError as exc:
        print(f"pingmos report: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"pingmos report: error: no route to {address} from this host ({exc.strerror})", file=sys.stderr)
        return EXIT_USAGE
    from pingmos.session.evidence import Evidence

    # Root on someone's behalf is that user already (``main``; the helper it forked keeps the raw sockets).
    sockets = []
    try:
        sockets.append(run.open())
        if args.witness:
            sockets.append(run.open_another())
    except RunError as exc:
        _close_all(sockets)
        if exc.stage == PERMISSION:
            print(f"pingmos: {exc}", file=sys.stderr)
            return EXIT_NO_PERMISSION
        # opening the probe sockets failed for a reason other than permissions
        print(f"pingmos report: error: cannot start probing: {network_error_text(exc.__cause__, address)}",
              file=sys.stderr)  # fmt: skip
        return EXIT_TRACE_FAILED
    mode_description = run.mode_description
    opened = iter(sockets[1:])  # the witness's
    try:
        evidence = Evidence(
            args.target,
            settings,
            args.record,
            rules,
            model,
            on_event=lambda e: _print_alerts([e]),
            on_note=lambda line: print(f"pingmos report: warning: {_one_line(Exception(line))}", file=sys.stderr),
            window=args.window if args.window is not None else default_window(args.count),
        )
    except ValueError as exc:
        _close_all(sockets)
        print(f"pingmos report: error: {_one_line(exc)}", file=sys.stderr)
        # A full disk (or an I/O error) is no bad input: a recording that cannot be written, as the README says.
        return EXIT_TRACE_FAILED if _is_write_failure(exc) else EXIT_USAGE
    failure = None  # one line for stderr when the network failed mid-trace; the partial report is still printed
    # Ctrl+C and SIGTERM (kill, timeout, systemctl stop) alike: while probing the first winds the run down (the
    # replies to the probes in flight are waited for and counted, as the agent's stop does) and the next ends it;
    # the recording keeps its last samples and the report of what was measured is printed; once measured, the first
    # one only says so.
    with ReportInterrupts() as ctrl_c:
        ctrl_c.probing(run.wind_down, wind_down_limit_s(settings.effective_timeout_s))
        try:
            try:
                snapshot, interrupted = run_report(
                    args.target,
                    settings,
                    args.window if args.window is not None else default_window(args.count),
                    model,
                    model.name,
                    use_dns=not args.no_dns,
                    observer=evidence.observe,
                    run=run,
                    on_measured=ctrl_c.measured,
                )
                snapshot = dataclasses.replace(snapshot, mode=mode_description)
                hold_for_test(ctrl_c)
                interrupted = interrupted or ctrl_c.wound_down
                if args.witness and not interrupted and not ctrl_c.count:
                    from pingmos.witness import diagnose_with_witness, planned_count

                    if args.witness < 0:
                        _, why = planned_count(snapshot)
                        print(f"pingmos: echo witness: {why}", file=sys.stderr)
                    try:
                        count = args.witness if args.witness > 0 else None
                        with ctrl_c.measuring():
                            diagnosis, witnesses = diagnose_with_witness(snapshot, lambda: next(opened), count=count)
                        snapshot = dataclasses.replace(snapshot, diagnosis=diagnosis)
                        evidence.record_witness(witnesses)
                    except OSError as exc:  # the report stands without the witness's evidence
                        failure = f"the echo witness stopped: {network_error_text(exc, address)}"
                    except KeyboardInterrupt:  # Ctrl+C or SIGTERM: as during the trace, the report stands without it
                        interrupted = True
            except NoPermission as exc:
                _close_all(list(opened))
                evidence.close(None)
                print(f"pingmos: {exc}", file=sys.stderr)
                return EXIT_NO_PERMISSION
            except TraceFailed as exc:
                snapshot, interrupted = dataclasses.replace(exc.snapshot, mode=mode_description), False
                rounds = f"{snapshot.rounds} round" + ("" if snapshot.rounds == 1 else "s")
                failure = (
                    f"the trace stopped after {exc.probes_sent} probes in {rounds}: {exc.reason}"
                    if exc.probes_sent
                    else f"cannot send probes: {exc.reason}"
                )
            except OSError as exc:  # opening the probe sockets failed for a reason other than permissions
                _close_all(list(opened))
                evidence.close(None)
                print(f"pingmos report: error: cannot start probing: {network_error_text(exc, address)}",
                      file=sys.stderr)  # fmt: skip
                return EXIT_TRACE_FAILED
            _close_all(list(opened))  # the witness's, when it did not run
            evidence.close(snapshot)  # alerts were printed as they happened
            if evidence.error and (failure is None or evidence.error not in failure):
                # A recording that could not be written is a failed run (exit 1), never a silent success.
                if failure is None:
                    failure = evidence.error
                else:
                    print(f"pingmos report: error: {evidence.error}", file=sys.stderr)
            if failure is not None and snapshot.probes_sent == 0:
                print(f"pingmos report: error: {failure}", file=sys.stderr)
                return EXIT_TRACE_FAILED
            _emit(FORMATTERS[args.format](_with_model(snapshot, model)))  # the report first, then any error last
            scored = _scoring_status("report", snapshot)
        except KeyboardInterrupt:
            # Ctrl+C before probing started, or a second one while the report was made: no report, but the
            # recording is written and closed at once (no last look at the rules, no waiting for their commands).
            ctrl_c.ignore()
            _close_all(list(opened))
            evidence.abandon()
            if evidence.recorder is not None and evidence.recorder.samples_written:
                print(f"pingmos report: the report was not printed; the {evidence.recorder.samples_written} samples "
                      f"measured are in {echoed(args.record, 120)}", file=sys.stderr)  # fmt: skip
            if ctrl_c.terminated:
                print("pingmos: terminated", file=sys.stderr)
                return EXIT_TERMINATED
            raise
    if failure is not None:
        print(f"pingmos report: error: {failure}", file=sys.stderr)
        return EXIT_TRACE_FAILED
    if ctrl_c.terminated:
        return EXIT_TERMINATED
    return EXIT_INTERRUPTED if interrupted or ctrl_c.count else scored


def _record_problem(path: str) -> str | None:
    """Why ``--record path`` cannot be created, checked before anything is probed (one line), or None: the file
    exists, the name is too long for the file system, or its folder is missing or no folder."""
    import os

    shown = echoed(path, 120)
    try:
        os.lstat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:  # ENAMETOOLONG, ENOTDIR, ELOOP, EACCES: the file could never be created
        return f"{shown}: cannot create the session file: {exc.strerror or exc}"
    else:
        return f"{shown}: the file exists already; choose another name"
    folder = os.path.dirname(path) or "."
    try:
        os.stat(folder)
    except OSError as exc:
        return f"{shown}: cannot create the session file: {exc.strerror or exc}"
    return None


# What a full disk or a failing device looks like when a file is created: a run-time failure (exit 1), not bad input.
_WRITE_ERRNOS = frozenset({"ENOSPC", "EDQUOT", "EIO", "EFBIG"})
_WRITE_SQLITE = frozenset({"SQLITE_FULL", "SQLITE_IOERR"})


def _is_write_failure(exc: BaseException) -> bool:
    """Whether ``exc`` or one of its causes is a write the disk refused (full, quota, I/O error)."""
    import errno

    seen = 0
    while exc is not None and seen < 10:
        code = errno.errorcode.get(exc.errno) if isinstance(exc, OSError) and exc.errno else None
        name = getattr(exc, "sqlite_errorname", None) or ""
        if code in _WRITE_ERRNOS or name in _WRITE_SQLITE or name.startswith("SQLITE_IOERR"):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a saved session's hop table, raw samples or event log as CSV or JSON",
        description="Export from a saved session (or an mtr --json report / --raw log): the hop table (the same "
        "fields as pingmos report), the raw samples of one hop or all (lost ones empty/null, never 0; report "
        "--session reopens them), or the event log (alerts fired and cleared).",
    )
    p.add_argument("session", type=_given("a file name"), metavar="FILE", help="a pingmos session, JSON report or "
                   "samples export, an mtr --json report or --raw log, a Trippy JSON report or RIPE Atlas traceroute "
                   "results")  # fmt: skip
    p.add_argument("--what", choices=("hops", "samples", "events"), default="hops", help="what to export (hops)")
    p.add_argument("--ttl", type=_ranged(int, 1, 255, "ttl"), default=None, help="samples of this hop only")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (csv)")
    p.add_argument("--window", type=_ranged(int, 1, 10_000_000, "window"), default=None, metavar="N",
                   help="hops only: a sample count, the last N samples of each hop (default: all)")  # fmt: skip
    p.add_argument("--from", dest="time_from", metavar="TIME", help="start of the range (as report --from)")
    p.add_argument("--to", dest="time_to", metavar="TIME", help="end of the range (as report --to)")
    p.add_argument("--interval", type=_ranged(float, RAW_LOG_MIN_INTERVAL_S, RAW_LOG_MAX_INTERVAL_S, "interval"),
                   default=1.0,
                   help="an mtr --raw log only (refused for other files): seconds between its rounds "
                   "(1.0)")  # fmt: skip
    p.add_argument("--probe", type=_ranged(int, 0, 2**31 - 1, "probe"), default=None, metavar="ID",
                   help="RIPE Atlas results only: the probe (prb_id) whose runs to export")  # fmt: skip
    _add_model_options(p, "hops only: ")
    p.set_defaults(handler=_cmd_export)


def _cmd_export(args) -> int:
    import math

    from pingmos.export import (
        events_to_csv,
        events_to_json,
        hop_table,
        sample_context,
        write_samples_csv,
        write_samples_json,
    )
    from pingmos.session import SessionError, open_session
    from pingmos.session.rescore import select_range

    if args.ttl is not None and args.what != "samples":
        print(f"pingmos export: error: --ttl picks the samples of one hop: use it with --what samples, not "
              f"--what {args.what}", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    model = _load_model(args, "export") if args.what == "hops" else None
    if args.what == "hops" and model is None:
        return EXIT_USAGE
    try:
        with open_session(args.session, interval_s=args.interval, probe=args.probe) as session:
            _refuse_interval(args, session)
            notes = _notes(session)
            selected = select_range(session, args.time_from, args.time_to)
            if args.what == "hops":
                snapshot = _with_model(session.snapshot(args.window, model, model.name, selected), model)
                text = hop_table(snapshot, args.format)
            elif args.what == "samples":
                if session.summaries():  # a header alone read as "no probe was answered"
                    raise SessionError(
                        f"{args.session}: the {session.info.source} file holds only its totals per hop, no samples "
                        "to export; --what hops exports its hop table"
                    )
                # Written as the samples are read (a day of 30 hops is 2.6 million of them), held at first: see
                # _HeldOutput.
                out = _HeldOutput(lambda: _print_notes("export", notes))
                write = write_samples_csv if args.format == "csv" else write_samples_json
                written = write(session.samples(selected), out, args.ttl, sample_context(session.info))
                if not written and args.ttl is not None:
                    # a header alone read as "nothing was measured at that hop"
                    raise SessionError(_no_such_hop(args.ttl, session.samples(selected), selected is not None))
                out.flush()
                return 0
            else:
                events = session.events()
                if selected is not None:  # --from/--to select events too (they were all written, whatever the range)
                    # An end not given is open: an alert is evaluated a probe timeout after its samples, so the
                    # last ones come after the last sample was sent.
                    lo = selected[0] if args.time_from is not None else -math.inf
                    hi = selected[1] if args.time_to is not None else math.inf
                    events = [e for e in events if lo <= e.at <= hi]
                text = (events_to_csv if args.format == "csv" else events_to_json)(events)
    except (SessionError, ValueError) as exc:  # the file or the range asked for: bad input, as a bad option
        print(f"pingmos export: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    _print_notes("export", notes)
    _emit(text)
    return _scoring_status("export", snapshot) if args.what == "hops" else 0


def _no_such_hop(ttl: int, samples, in_range: bool) -> str:
    ttls = sorted({s.ttl for s in samples})
    where = "in this range" if in_range else "in this session"
    held = f"it has samples at TTL {_spans(ttls)}" if ttls else "it holds no samples"
    return f"--ttl {ttl}: no probe was sent at TTL {ttl} {where}; {held}"


def _spans(numbers: list[int]) -> str:
    """Sorted [1, 2, 3, 5] -> '1-3, 5'."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _add_monitor(sub) -> None:
    p = sub.add_parser(
        "monitor",
        help="trace many targets around the clock and serve Prometheus metrics at /metrics",
        description="Trace every [[target]] of CONFIG.toml indefinitely: per hop loss, latency, jitter, R and MOS as "
        "Prometheus metrics, each target recorded to its own sessions, alert rules as in the report. SIGHUP reloads "
        "the configuration; targets whose settings did not change keep their samples. See the README's "
        "'Monitoring' section for the file's settings.",
    )
    p.add_argument("config", type=_given("a file name"), metavar="CONFIG.toml", help="the agent's configuration (TOML)")
    p.add_argument("--listen", metavar="ADDR:PORT", help="serve /metrics here (default: [agent] listen, else "
                   "127.0.0.1:9813)")  # fmt: skip
    p.add_argument("--no-dns", action="store_true", help="no reverse DNS: the hop info carries addresses only")
    # --window was its first spelling (kept working); --summary-window says it opens a window, unlike report's
    # --window N (a sample count).
    p.add_argument("--summary-window", "--window", dest="window", action="store_true",
                   help="a switch, no value: also open the summary window (a GUI table, one row per target; "
                   "double-click a row to open its trace); how many samples each hop is judged on is the file's "
                   "window = N, not this option")  # fmt: skip
    p.set_defaults(handler=_cmd_monitor)


def _cmd_monitor(args) -> int:
    from pingmos.monitor.serve import run_monitor

    missing = _missing_platform_plugin() if args.window else None
    if missing is not None:
        print(f"pingmos monitor: error: {missing}", file=sys.stderr)
        return EXIT_USAGE
    if args.window and _no_display():
        # Qt would abort (SIGABRT, exit 134, a page of plugin advice) once the agent was already probing.
        print("pingmos monitor: error: no display to open the summary window on; drop --summary-window (the "
              "metrics and recordings need none), or run under a desktop session", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    return run_monitor(args.config, args.listen, use_dns=not args.no_dns, window=args.window)


EXIT_CODES_HELP = """\
exit status:
  0    done
  1    a failure while running, not of the input: the network failed mid-trace (the partial report is printed,
       the error last on stderr), the probe sockets could not be opened, a recording or the output could not
       be written (a full disk); score, report, export: the model failed to score (a broken formula file: the
       output is written, one line last on stderr names the model and its error); monitor: the metrics
       port cannot be opened, or --summary-window has no PySide6
  2    bad input, one line on stderr: an unknown command or option, a value out of range, a malformed or
       unresolvable host name, a file that cannot be read or is not what the command reads (--session, export,
       --alerts, monitor's CONFIG), a --from/--to range that selects nothing; no display to open the window on
  77   no permission for raw sockets (the message says what to run)
  130  interrupted (the report of what was measured is still printed; before any, one line)
  143  terminated by SIGTERM (kill, timeout): as 130, the report of what was measured is still printed
"""


def _version() -> str:
    """The installed distribution's version (pyproject.toml's), or "unknown" when pingmos runs uninstalled."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pingmos")
    except PackageNotFoundError:
        return "unknown (not installed: run it through bash scripts/run)"


class _VersionAction(argparse.Action):
    """``--version``: looked up only when asked (importlib.metadata is not among what a command loads at start)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"pingmos {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pingmos",
        usage="pingmos [--no-dns] [TARGET]  (open the window, tracing TARGET when given; --no-dns: addresses only)\n"
        "       pingmos -- TARGET  (the window, for a TARGET named like a command)\n"
        "       pingmos {report,score,models,export,monitor} ...",
        description="Trace the route to a host, probe every hop, and estimate per hop the VoIP call quality.\n\n"
        "pingmos alone, or with one TARGET (a host name or IP address), opens the window; the commands below run\n"
        "in the terminal (pingmos COMMAND --help for each).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", "-V", action=_VersionAction, nargs=0,
                        help="print pingmos's version and exit (say it when you report a bug)")  # fmt: skip
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, prog="pingmos")
    _add_report(sub)
    _add_score(sub)
    _add_models(sub)
    _add_export(sub)
    _add_monitor(sub)
    return parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands' names and parsers."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _gui_target(argv: list[str], parser: argparse.ArgumentParser) -> tuple[bool, str | None]:
    """``pingmos`` alone opens the GUI, and so does ``pingmos TARGET`` (one word that is no sub-command) and
    ``pingmos -- TARGET`` (any word, a command's name too)."""
    if not argv:
        return True, None
    if len(argv) == 2 and argv[0] == "--":
        return True, argv[1]
    if len(argv) == 1 and not argv[0].startswith("-") and argv[0] not in _commands(parser):
        return True, argv[0]
    return False, None


def _refuse_gui_target(word: str, parser: argparse.ArgumentParser, escaped: bool) -> str | None:
    """Why the lone word ``word`` is not traced in the window (one line, without the "pingmos: " prefix), or None
    (``target_words.refuse_target_word``, escaped with ``pingmos -- WORD``)."""
    from pingmos.target_words import refuse_target_word

    return refuse_target_word(word, list(_commands(parser)), escaped, "pingmos")


def _no_display(environ=None) -> bool:
    """True when Qt could open no window here: on X11/Wayland systems, neither DISPLAY nor WAYLAND_DISPLAY and no
    QT_QPA_PLATFORM that needs neither (offscreen, minimal, vnc, eglfs, linuxfb, ...). Qt itself aborts (SIGABRT,
    exit 134) after printing a page of plugin advice, so this is checked before any QApplication."""
    import os

    if sys.platform in ("darwin", "win32", "cygwin"):
        return False
    environ = os.environ if environ is None else environ
    has = {"xcb": bool(environ.get("DISPLAY")), "wayland": bool(environ.get("WAYLAND_DISPLAY"))}
    platforms = [p.split(":")[0].strip() for p in environ.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    if not platforms:
        return not (has["xcb"] or has["wayland"])
    for name in platforms:  # Qt tries a list in order ("wayland;xcb")
        kind = "wayland" if name.startswith("wayland") else name
        if has.get(kind, True):
            return False
    return True


def _missing_platform_plugin(environ=None) -> str | None:
    """One line when QT_QPA_PLATFORM names no Qt platform plugin that PySide6 ships here (Qt itself aborts:
    SIGABRT, exit 134, after a page of advice), else None. Found from the files of PySide6's plugin folder, without
    importing Qt; when that folder is not where a pip install puts it, or a plugin path is set, nothing is refused."""
    import importlib.util
    import os

    environ = os.environ if environ is None else environ
    asked = [p.split(":")[0].strip() for p in environ.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    if not asked or environ.get("QT_QPA_PLATFORM_PLUGIN_PATH") or environ.get("QT_PLUGIN_PATH"):
        return None
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(list(spec.submodule_search_locations)[0], "Qt", "plugins", "platforms")
    try:
        files = os.listdir(folder)
    except OSError:
        return None
    # libqxcb.so, qwindows.dll, libqcocoa.dylib -> xcb, windows, cocoa
    names = {f.split(".")[0].removeprefix("lib").removeprefix("q") for f in files if not f.startswith(".")}
    if not names or any(a in names or (a.startswith("wayland") and "wayland" in names) for a in asked):
        return None
    shown = echoed(environ["QT_QPA_PLATFORM"], 60)
    return (
        f"QT_QPA_PLATFORM={shown} names no Qt platform plugin installed here (there are: "
        f"{', '.join(sorted(names))}); unset QT_QPA_PLATFORM or set it to one of them"
    )


# Value-taking options whose value may be negative-looking: argparse takes "-5" for an option where the parser
# has options like -4/-6 (report), so "-c -5" said "expected one argument" instead of the range the value misses.
_NEGATIVE = re.compile(r"-(?:\d|\.\d|inf|nan)", re.IGNORECASE)


def _attach_negative_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``argv`` with each negative-looking value joined to its option (``-c -5`` -> ``-c-5``, ``--count -5`` ->
    ``--count=-5``), so that it reaches the option's range check and its one-line message."""
    commands = _commands(parser)
    sub = next((commands[a] for a in argv if a in commands), None)
    if sub is None:
        return argv
    takes_value = {o for a in sub._actions if a.nargs is None and a.option_strings for o in a.option_strings}
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg in takes_value and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{arg}={argv[i + 1]}" if arg.startswith("--") else arg + argv[i + 1])
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _become_invoking_user(keep_raw_sockets: bool) -> int | None:
    """Root on someone's behalf (``privileges.invoking_account``): become them with no capability, first forking
    the helper that keeps the raw sockets when ``keep_raw_sockets`` (``engine.start_and_drop``), else at once
    (``privileges.drop_after_open``). Not root, or nobody to become: nothing changes. Returns None, or the exit
    status after one line saying why it cannot."""
    from pingmos.privileges import PrivilegeError, drop_after_open

    try:
        if keep_raw_sockets:
            from pingmos.engine import start_and_drop

            start_and_drop()
        else:
            drop_after_open()
    except PrivilegeError as exc:
        print(f"pingmos: error: {exc}", file=sys.stderr)
        return EXIT_NO_PERMISSION
    return None


def main(argv: list[str] | None = None) -> int:
    """The command line ``argv`` (default: sys.argv[1:]) run; the exit status (the README's "Exit status").

    Ctrl+C at any moment is exit 130 with one line on stderr (a live report's own handler still prints the report
    of what was measured): reading a large file, a formula the sandbox is waiting for, the start before probing."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C while saying so is no traceback either
        print("pingmos: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    if argv is None:  # the command itself (not a caller embedding it): what it writes is private
        from pingmos.privileges import use_private_umask

        use_private_umask()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv in (["help"], ["--no-dns", "help"]):  # a lone "help" asks for the help, never for a host of that name
        parser.print_help()
        return 0
    no_dns = argv[:1] == ["--no-dns"]  # pingmos --no-dns [TARGET]: the window without reverse DNS
    gui, target = _gui_target(argv[no_dns:], parser)
    if gui:
        if target is not None:
            refused = _refuse_gui_target(target, parser, escaped=argv[no_dns] == "--")
            if refused is not None:
                print(f"pingmos: {refused}", file=sys.stderr)
                return EXIT_USAGE
        missing = _missing_platform_plugin()
        if missing is not None:
            print(f"pingmos: error: {missing}", file=sys.stderr)
            return EXIT_USAGE
        if _no_display():
            print("pingmos: error: no display to open the window on; use `pingmos report HOST` for the terminal, "
                  "or run under a desktop session", file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        # Started as root: fork the helper that keeps the raw sockets, then become the invoking user with no
        # capability, before Qt, settings, formulas or alert commands (the window opens sockets per trace).
        refused = _become_invoking_user(keep_raw_sockets=True)
        if refused is not None:
            return refused
        from pingmos.gui.app import run

        return run(target, reverse_dns=not no_dns)
    args = parser.parse_args(_attach_negative_values(argv, parser))
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_USAGE
    args.given = _options_given(_attach_negative_values(argv, parser), parser)
    ignored = _refuse_ignored(args)
    if ignored is not None:
        print(f"pingmos {args.command}: error: {ignored}", file=sys.stderr)
        return EXIT_USAGE
    live_report = args.handler is _cmd_report and not getattr(args, "session", None)
    if live_report and args.target is not None:
        # Before anything else runs: a typo or a file name would otherwise be sent to the resolver.
        escaped = "--" in argv and args.target in argv[argv.index("--") + 1 :]
        from pingmos.target_words import refuse_target_word

        refused = refuse_target_word(args.target, list(_commands(parser)), escaped, "pingmos report")
        if refused is not None:
            print(f"pingmos report: {refused if refused.startswith('error: ') else 'error: ' + refused}",
                  file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
    if args.handler in (_cmd_score, _cmd_models, _cmd_export, _cmd_report):
        # Root on someone's behalf becomes them before anything runs: the name lookup (NSS modules), formula and
        # rules files, sessions, alert commands. A live report needs raw sockets later (its family is known only
        # once the name is looked up): as mtr with mtr-packet, a forked helper keeps them (``shared_helper``).
        refused = _become_invoking_user(keep_raw_sockets=live_report)
        if refused is not None:
            return refused
    try:
        return args.handler(args)
    except _OutputFailed as exc:
        print(f"pingmos {args.command}: error: cannot write the output: {exc}", file=sys.stderr)
        return EXIT_TRACE_FAILED
