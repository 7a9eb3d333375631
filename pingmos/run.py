"""What "trace this host" means, the same for every front end (``pingmos report``, the window, the agent): which
address family a name resolves to, the port and timeout a trace uses when none is given, how many samples a hop's
numbers are taken over by default, and ``TraceRun``, the one way a trace is set up and run (resolve the target,
check the settings, choose the probe mode and open the network, run the tracer, hand every sample to the
observers). No Qt here; nothing is sent before ``TraceRun.run``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from pingmos.engine import (
    DEFAULT_TIMEOUT_FLOOR_S,
    TCP_DEFAULT_PORT,
    UDP_BASE_PORT,
    Network,
    NoPermission,
    ProbeCounts,
    ResolveError,
    Sample,
    Tracer,
    TraceSettings,
    choose_mode,
    family_of,
    is_address_literal,
    resolve_target,
    source_address_for,
)

# Samples to include by default while a trace runs without end (the window, the agent): the last 600 of each hop
# (10 minutes at one round a second). Derived from the default loss threshold (1 %, diagnosis.Thresholds): a clean
# path is called clean only once the Wilson 95 % upper bound of its loss is at or below it, which takes 381 samples
# with none lost (diagnosis.wilson_bound_samples(0, 0.01)); at 600 one stray loss still gives 0.94 %, so the
# default window can reach "no path problem" as well as "problem" (PingPlotter's 100 never can: 0 of 100 lost is
# 0.0-3.7 %). A run of a set number of rounds (``pingmos report -c N``) is judged over all of them.
LIVE_WINDOW = 600


def default_window(rounds: int | None) -> int | None:
    """The default "samples to include": every sample (None) of a run with a round count, LIVE_WINDOW otherwise."""
    return None if rounds is not None else LIVE_WINDOW


def resolve(target: str, ip_version: int | None = None) -> str:
    """The address to trace: IPv4 or IPv6 as asked (-4 / -6); without either, IPv4 where the name has an IPv4
    address, else IPv6 (a host with both is traced over IPv4, as traceroute and mtr do). A literal address is
    taken as it is. ResolveError (its message says why) when the name has no such address."""
    if ip_version is not None:
        return resolve_target(target, ip_version)
    try:
        return resolve_target(target, 4)
    except ResolveError as first:
        try:
            return resolve_target(target, 6)
        except ResolveError as second:
            # An IPv6 literal: "is an IPv6 address, but IPv4 was asked for" hid why IPv6 refused it (ff02::1).
            raise (second if ":" in target and is_address_literal(target) else first) from None


def default_port(protocol: str) -> int:
    """The destination port a UDP or TCP trace probes when none is given: 33434 (UDP, traceroute's), 80 (TCP)."""
    return TCP_DEFAULT_PORT if protocol == "tcp" else UDP_BASE_PORT


def default_timeout_s(interval_s: float) -> float:
    """How long a probe may take before it counts as lost when no timeout is given: 3 s or the interval (s)."""
    return max(DEFAULT_TIMEOUT_FLOOR_S, interval_s)


# A trace told to stop winds down first (every front end: the agent's stop, the window's Stop, a report's first
# Ctrl+C or SIGTERM): it sends nothing more and waits for the replies to its probes in flight, at most the longest
# probe timeout plus WIND_DOWN_MARGIN_S (the last wake, the agent's probing process's last batch of samples), and
# never more than WIND_DOWN_MAX_S (a 60 s timeout would otherwise outlast systemd's TimeoutStopSec=30 of the
# agent's shipped unit, which then kills it before it has closed its session files; a user waits no longer either).
WIND_DOWN_MARGIN_S = 1.0
WIND_DOWN_MAX_S = 10.0


def wind_down_limit_s(*timeouts_s: float) -> float:
    """How long a stop waits for the replies to the probes in flight of traces with these probe timeouts (s)."""
    return min(WIND_DOWN_MAX_S, max(timeouts_s) + WIND_DOWN_MARGIN_S)


# Where a run failed (RunError.stage): each front end words its own advice for it (an option to use, a button).
RESOLVE = "resolve"  # the target has no address of the family asked for
SETTINGS = "settings"  # a setting out of range
PERMISSION = "permission"  # no probe mode this process may use (the message lists what the user can do)
OPEN = "open"  # the network could not be opened (sockets, the helper), or the tracer not set up on it
NETWORK = "network"  # sending or receiving failed while the trace ran (what was measured stays)


class RunError(Exception):
    """Why a run could not start, or stopped: ``stage`` (RESOLVE, SETTINGS, PERMISSION, OPEN or NETWORK),
    ``message`` (what happened, one line in the words of no particular front end; ``str()`` of the error) and
    ``advice`` (what to do, "" when the message says it). ``words``: both, for a status line. The OSError behind
    an OPEN or NETWORK failure is the ``__cause__``."""

    def __init__(self, stage: str, message: str, advice: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.advice = advice

    @property
    def words(self) -> str:
        return f"{self.message}. {self.advice}" if self.advice else self.message


class TraceRun:
    """One run of one trace, set up the same way for ``pingmos report``, the window and the agent.

    The steps, each blocking the calling thread (a GUI calls them from its engine thread) and each raising
    RunError in words:

    - ``resolve()``: the target's address by the family policy of ``resolve`` (``ip_version`` 4 or 6 as asked;
      DNS), then the trace's ``settings`` checked. Skipped for an ``address`` given (a replayed session).
    - ``open()``: the network: the probe mode ``mode`` allows (``choose_mode``; ``mode_description`` then says
      which), or ``network_factory()`` when one is given (tests, the agent, sockets opened before privileges
      were dropped). ``open_another()`` opens one more network of the same mode (the echo witness's).
    - ``run()``: the tracer until its ``rounds`` are done, ``stop()`` (from any thread: at once) or ``wind_down()``
      (from any thread: no more probes, the run ends once those in flight are settled); every sample goes to
      each observer in turn, in this thread (``add_observer``: a history, a recorder, alert rules; they must be
      quick and must not raise), its round number raised by ``first_round`` (a trace resumed after a stop keeps
      its rounds in order). With a ``driver`` (the agent's ``engine.TraceLoop.drive``) the tracer runs there
      instead, and the observers are called in the driver's thread; ``run`` still blocks until it is done.
    - ``close()``: closes the network (idempotent).

    ``probes_sent``, ``unmatched_replies`` and ``suspicious_replies`` count this run's tracer (0 before it runs).
    """

    def __init__(
        self,
        target: str,
        *,
        protocol: str = "icmp",
        interval_s: float = 1.0,
        max_ttl: int = 30,
        timeout_s: float | None = None,
        rounds: int | None = None,
        port: int | None = None,
        flows: int = 1,
        ip_version: int | None = None,
        mode: str = "auto",
        source: str | None = None,
        address: str | None = None,
        network_factory: Callable[[], Network] | None = None,
        clock=None,
        first_round: int = 0,
        driver: Callable[[Tracer], None] | None = None,
    ) -> None:
        self.target = target
        self.protocol = protocol
        self.interval_s = interval_s
        self.max_ttl = max_ttl
        self.timeout_s = timeout_s
        self.rounds = rounds
        self.port = port
        self.flows = flows
        self.ip_version = ip_version
        self.mode = mode
        self.source = source
        self.address = address
        self.first_round = first_round
        self.settings: TraceSettings | None = None
        self.mode_description = ""
        self.network: Network | None = None
        self.tracer: Tracer | None = None
        self._network_factory = network_factory
        self._clock = clock
        self._driver = driver
        self._probe_mode = None
        self._observers: list[Callable[[Sample], None]] = []
        self._stopped = threading.Event()
        self._winding_down = False

    @classmethod
    def of_settings(cls, target: str, settings: TraceSettings, **kw) -> TraceRun:
        """A run of ``settings`` as they are (the address resolved already); ``kw`` as for the constructor."""
        run = cls(
            target,
            protocol=settings.protocol,
            interval_s=settings.interval_s,
            max_ttl=settings.max_ttl,
            timeout_s=settings.timeout_s,
            rounds=settings.rounds,
            port=settings.port,
            flows=settings.flows,
            address=settings.address,
            **kw,
        )
        run.settings = settings
        return run

    def add_observer(self, observer: Callable[[Sample], None]) -> None:
        """Also hand every sample of ``run`` to ``observer`` (added before ``run``)."""
        self._observers.append(observer)

    def resolve(self) -> TraceSettings:
        """The target's address (``address``) and the trace's ``settings``; RunError RESOLVE or SETTINGS."""
        if self.address is None:
            try:
                self.address = resolve(self.target, self.ip_version)
            except ResolveError as exc:
                raise RunError(RESOLVE, str(exc), "Check the host name, or give an IP address.") from None
        settings = TraceSettings(
            address=self.address,
            protocol=self.protocol,
            interval_s=self.interval_s,
            max_ttl=self.max_ttl,
            timeout_s=self.timeout_s,
            rounds=self.rounds,
            port=self.port if self.protocol != "icmp" else None,
            flows=self.flows,
        )
        try:
            settings.validate()
        except ValueError as exc:
            raise RunError(SETTINGS, f"cannot trace with these settings: {exc}") from None
        self.settings = settings
        return settings

    def check_route(self) -> str:
        """The local address probes to ``address`` leave from (after ``resolve``); OSError when this host has no
        route there (a host without IPv6 asked for an IPv6 address): nothing is sent."""
        assert self.address is not None
        return source_address_for(self.address)

    def open(self) -> Network:
        """Open the network (after ``resolve``); RunError PERMISSION (NoPermission/NoProbeMode's words) or OPEN."""
        if self.settings is None:
            self.resolve()
        self.network = self._open()
        return self.network

    def open_another(self) -> Network:
        """One more network of the mode ``open`` chose (the echo witness's sockets)."""
        return self._open()

    def _open(self) -> Network:
        assert self.address is not None
        try:
            if self._network_factory is not None:
                return self._network_factory()
            if self._probe_mode is None:
                self._probe_mode = choose_mode(self.mode, family_of(self.address), self.protocol)
                self.mode_description = self._probe_mode.description
            return self._probe_mode.open()
        except NoPermission as exc:  # NoProbeMode too: its message lists what the user can do
            raise RunError(PERMISSION, str(exc)) from exc
        except OSError as exc:
            raise RunError(OPEN, f"cannot open the network sockets: {exc}") from exc

    def run(self) -> None:
        """Probe until the rounds are done or ``stop()``; RunError OPEN (the tracer could not be set up on the
        network) or NETWORK (a send or receive failed: the samples so far were handed out)."""
        if self.network is None:
            self.open()
        assert self.settings is not None and self.network is not None
        observers = list(self._observers)
        offset = self.first_round

        def fan_out(sample: Sample) -> None:
            if offset:
                sample = renumbered(sample, offset)
            for observer in observers:
                observer(sample)

        try:
            self.tracer = Tracer(self.settings, self.network, fan_out, clock=self._clock, source=self.source)
        except OSError as exc:
            raise RunError(OPEN, f"cannot reach {self.address}: {exc}") from exc
        if self._stopped.is_set() or self._winding_down:
            return  # wound down before the tracer was made (wind_down saw none): nothing was sent
        try:
            if self._driver is not None:
                self._driver(self.tracer)
            else:
                self.tracer.run()
        except OSError as exc:
            raise RunError(NETWORK, f"sending probes failed: {exc}") from exc

    def stop(self) -> None:
        """Ask ``run`` to end (any thread); returns at once."""
        self._stopped.set()
        tracer = self.tracer
        if tracer is not None:
            tracer.stop()

    def wind_down(self, limit_s: float | None = None) -> None:
        """Ask ``run`` to send no more probes and to end once those in flight are answered or timed out (at most
        the probe timeout; ``Tracer.wind_down``); any thread, returns at once. ``stop()`` still ends it at once.
        ``limit_s``: it ends by then at the latest (``wind_down_limit_s``; the probes still in flight are left out,
        never counted lost). Sets attributes only: safe from a signal handler."""
        self._winding_down = True
        tracer = self.tracer
        if tracer is not None:
            tracer.wind_down(limit_s)

    def close(self) -> None:
        network, self.network = self.network, None
        if network is not None:
            network.close()

    def counts(self) -> ProbeCounts:
        """This run's counters (``engine.ProbeCounts``: what each means); all 0 before it runs."""
        return self.tracer.counts() if self.tracer is not None else ProbeCounts()

    @property
    def probes_sent(self) -> int:
        return self.tracer.probes_sent if self.tracer is not None else 0

    @property
    def unmatched_replies(self) -> int:
        return self.tracer.matcher.unmatched if self.tracer is not None else 0

    @property
    def suspicious_replies(self) -> int:
        return self.tracer.suspicious_replies if self.tracer is not None else 0


def renumbered(sample: Sample, offset: int) -> Sample:
    """``sample`` with its round number raised by ``offset``."""
    return dataclasses.replace(sample, round=sample.round + offset)
