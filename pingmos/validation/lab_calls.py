"""The validation study on real kernels and sockets (``validate_mos --lab``, as root): calls through the network lab.

For each lab condition a lab is built (``tests/netlab``: client -> r1 -> target, network namespaces joined by the
user-space relay that delays, jitters and drops packets; this kernel has no netem): link 0 (client - r1) carries
the condition's impairment both ways, link 1 is clean. At the same time

- an RTP-like stream (``rtp``: 20 ms UDP packets of G.711 mu-law frames of the reference speech) goes from the
  client's namespace to a receiver in the target's namespace, which stamps every arrival (SO_TIMESTAMPNS);
- pingmos's real engine (``pingmos report TARGET --record FILE``, raw ICMP sockets) probes the same path, one
  round trip per ``probe_interval_s``.

The received stream is scored as the simulation scores a call leg (``study.Listener``: the fixed and the adaptive
buffer, G.711 Appendix I concealment, PESQ, G.107's Idd): after ``warmup_s`` of stream, reference after reference
is played out from the packets' real one-way delays and losses. The call is heard one way (client to target;
the conditions are symmetric). The probe view is the target hop's round trips from the recorded session, scored
by every model as in ``study.predict``. The relay's own counters say what the lab did to the stream
(``relay_fwd``: packets in and dropped on the way to the target), so the received stream can be checked against
the configured loss and delay.

Traffic goes only between the lab's namespaces (198.18.0.0/15); the lab tears itself down, also on errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pingmos.validation import g711, study

REPO_ROOT = Path(__file__).resolve().parents[2]
PORT = 5004  # RTP's customary port (RFC 3551), inside the lab only


@dataclass(frozen=True)
class LabCondition:
    """One lab path: link 0's impairment per direction (uniform jitter +- ``jitter_ms`` as the relay draws it;
    ``burst_ms`` > 0: loss in down periods of that mean length)."""

    name: str
    delay_ms: float
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    burst_ms: float = 0.0


CONDITIONS = (
    LabCondition("lab: 15 ms each way, 2 % random loss", 15.0, 0.0, 2.0),
    LabCondition("lab: 40 ms +- 15 ms each way, 1 % random loss", 40.0, 15.0, 1.0),
    LabCondition("lab: 80 ms +- 30 ms each way, 3 % loss in 60 ms bursts", 80.0, 30.0, 3.0, 60.0),
)


@dataclass
class LabOutcome:
    """One lab condition: the received stream, the relay's counters, the truth, the probe view, every model."""

    condition: LabCondition
    sent: int
    delays_ms: list[float | None]  # per packet sent, None = never came
    relay_fwd: dict[str, int]  # packets_in, dropped towards the target on the impaired link (stream and probes)
    truth_mos: dict[str, float]
    ta_ms: dict[str, float]
    played_pct: dict[str, float]
    rtts_ms: list[float | None]  # the target hop's round trips, pingmos's engine, per round
    calls: int
    predicted: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def received_loss_pct(self) -> float:
        return 100.0 * sum(d is None for d in self.delays_ms) / len(self.delays_ms)


def lab_reason() -> str | None:
    """Why the lab mode cannot run here (None if it can)."""
    if not (REPO_ROOT / "tests" / "netlab" / "lab.py").exists():
        return "the lab mode needs a pingmos checkout (tests/netlab builds the lab)"
    _netlab()
    from tests.netlab import lab_unavailable_reason

    return lab_unavailable_reason()


def _netlab():
    # The lab builder lives in the checkout's test tree (as scripts/lab.py uses it): put the checkout first.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def _target_rtts(session_path: Path, target_ttl: int) -> list[float | None]:
    from pingmos.session import open_session

    session = open_session(session_path)
    try:
        rounds = {s.round: s.rtt_ms for s in session.samples() if s.ttl == target_ttl}
    finally:
        session.close()
    return [rounds[r] for r in sorted(rounds)]


def run_condition(
    condition: LabCondition,
    refs: list[study.Reference],
    stream_s: float,
    warmup_s: float,
    probe_interval_s: float,
    seed: int,
    build=None,
) -> LabOutcome:
    """Build the lab (with ``build``, ``Lab.build``'s signature, e.g. the tests' ``lab_factory``; default
    ``Lab.build``), stream and probe at once, score (see the module docstring). The lab is closed before this
    returns."""
    _netlab()
    from tests.netlab import Lab, LinkSpec, RouterSpec

    slots = int(round(stream_s * study.SLOTS_PER_S))
    warmup = int(round(warmup_s * study.SLOTS_PER_S))
    payload = b"".join(g711.encode(r.frames).tobytes() for r in refs)  # the references' G.711 frames, cycled
    impaired = LinkSpec.symmetric(condition.delay_ms, condition.jitter_ms, condition.loss_pct, condition.burst_ms)
    lab = (build or Lab.build)([RouterSpec()], [impaired, LinkSpec()], seed=seed)
    started: list[subprocess.Popen] = []  # ended here whatever happens (an error, Ctrl-C), before the lab goes
    try:
        with tempfile.TemporaryDirectory(prefix="pingmos-labcalls-") as tmp:
            pay = Path(tmp) / "payload.ulaw"
            pay.write_bytes(payload)
            session = Path(tmp) / "probes.pingmos"
            py = sys.executable
            rx = lab.popen(
                [py, "-m", "pingmos.validation.rtp", "receive", "--bind", lab.target_addr, "--port", str(PORT)]
                + ["--count", str(slots), "--timeout", str(stream_s + 30.0)],
                ns=lab.target_ns,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            started.append(rx)
            if rx.stdout.readline().strip() != "READY":
                rx.kill()
                raise RuntimeError(f"the stream's receiver did not start: {rx.communicate()[1].strip()[-300:]}")
            rounds = max(1, int(stream_s / probe_interval_s))
            probe = lab.popen(
                [py, "-m", "pingmos", "report", lab.target_addr, "-c", str(rounds), "-i", f"{probe_interval_s:g}"]
                + ["--no-dns", "--max-ttl", "4", "--format", "json", "--record", str(session)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            started.append(probe)
            lab.reset_relay_stats()
            sent = lab.run(
                [py, "-m", "pingmos.validation.rtp", "send", "--to", lab.target_addr, "--port", str(PORT)]
                + ["--payload", str(pay), "--count", str(slots)],
                timeout=stream_s * 3 + 60,
            )
            if sent.returncode != 0:
                raise RuntimeError(f"the stream's sender failed: {sent.stderr.strip()[-300:]}")
            out, err = rx.communicate(timeout=stream_s + 60)
            if rx.returncode != 0:
                raise RuntimeError(f"the stream's receiver failed: {err.strip()[-300:]}")
            delays = json.loads(out.strip().splitlines()[-1])["delays_ms"]
            stats = lab.relay_stats()[0]["fwd"]
            _, perr = probe.communicate(timeout=stream_s * 2 + 120)
            if probe.returncode != 0:
                raise RuntimeError(f"pingmos report failed ({probe.returncode}): {perr.strip()[-300:]}")
            rtts = _target_rtts(session, len(lab.hop_addrs))
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        lab.close()
    one_way = np.array([np.nan if d is None else d for d in delays], dtype=np.float64)
    listener = study.Listener()
    start, calls = warmup, 0
    while True:
        ref = refs[calls % len(refs)]
        nf = len(ref.frames)
        if start + nf > slots:
            break
        listener.hear(ref, one_way[start - warmup : start + nf], warmup, study.talk_with_warmup(ref, warmup))
        start += nf
        calls += 1
    if calls == 0:
        raise ValueError(f"a {stream_s:g} s stream holds no call after {warmup_s:g} s of warm-up")
    truth_mos, ta_ms, played_pct = listener.truth()
    return LabOutcome(
        condition=condition,
        sent=slots,
        delays_ms=delays,
        relay_fwd={"packets_in": int(stats["packets_in"]), "dropped": int(stats["dropped"])},
        truth_mos=truth_mos,
        ta_ms=ta_ms,
        played_pct=played_pct,
        rtts_ms=rtts,
        calls=calls,
    )


def predict(outcomes: list[LabOutcome], names: list[str]) -> dict:
    """Every model's MOS for each outcome's probe view (``study.predict``'s way: g107-jb per buffer); returns
    what each model assumed (``study.predict``'s settings)."""
    blank = study.Direction()
    shadows = [
        study.Outcome(study.Condition(o.condition.name, blank, blank), "lab", {}, {}, {}, o.rtts_ms) for o in outcomes
    ]
    assumed = study.predict(shadows, names)
    for o, s in zip(outcomes, shadows, strict=True):
        o.predicted = s.predicted
    return assumed


def run(
    refs: list[study.Reference],
    conditions=CONDITIONS,
    stream_s: float = 90.0,
    warmup_s: float = study.WARMUP_S,
    probe_interval_s: float = 1.0,
    seed: int = 10,
    progress=None,
) -> tuple[list[LabOutcome], dict]:
    """Every lab condition in turn, then every model's prediction; (outcomes, what each model assumed)."""
    outcomes = []
    for i, c in enumerate(conditions):
        began = time.monotonic()
        outcomes.append(run_condition(c, refs, stream_s, warmup_s, probe_interval_s, seed + i))
        if progress is not None:
            progress(f"{c.name}: {time.monotonic() - began:.0f} s")
    return outcomes, predict(outcomes, study.model_names())


def format_table(outcomes: list[LabOutcome]) -> str:
    """Per condition: the received stream (loss, one-way delay), the truth per buffer, every model's MOS."""
    lines = []
    for o in outcomes:
        got = [d for d in o.delays_ms if d is not None]
        probe_loss = 100.0 * sum(v is None for v in o.rtts_ms) / max(1, len(o.rtts_ms))
        lines.append(
            f"{o.condition.name}: stream {o.sent} packets, lost {o.received_loss_pct:.1f} % (relay dropped "
            f"{o.relay_fwd['dropped']} of {o.relay_fwd['packets_in']}), one-way delay mean {np.mean(got):.1f} ms "
            f"min {np.min(got):.1f} max {np.max(got):.1f}; {o.calls} calls; {len(o.rtts_ms)} probes, "
            f"{probe_loss:.1f} % lost"
        )
        for buffer in study.BUFFERS:
            label = "fixed 60 ms" if buffer == "fixed" else "adaptive"
            cells = ", ".join(f"{m} {v[buffer]:.2f}" for m, v in o.predicted.items())
            lines.append(
                f"  {label:<11} call MOS {o.truth_mos[buffer]:.2f} (Ta {o.ta_ms[buffer]:.0f} ms, played "
                f"{o.played_pct[buffer]:.1f} %); predicted: {cells}"
            )
    return "\n".join(lines)


def to_json(outcomes: list[LabOutcome], assumed: dict) -> dict:
    """What the lab run measured, as plain data (results_lab.json); ``assumed``: every model's settings."""
    return {
        "fixed_depth_ms": study.FIXED_DEPTH_MS,
        "codec": "G.711 mu-law, 20 ms packets, G.711 Appendix I packet loss concealment",
        "adaptive_buffer": "Ramjee, Kurose, Towsley, Schulzrinne, IEEE INFOCOM 1994, Algorithm 1",
        "model_settings": assumed,
        "conditions": [
            {
                "name": o.condition.name,
                "link": {
                    "delay_ms": o.condition.delay_ms,
                    "jitter_ms": o.condition.jitter_ms,
                    "loss_pct": o.condition.loss_pct,
                    "burst_ms": o.condition.burst_ms,
                },
                "stream_packets": o.sent,
                "stream_loss_pct": o.received_loss_pct,
                "relay_fwd": o.relay_fwd,
                "calls": o.calls,
                "truth_mos": o.truth_mos,
                "mouth_to_ear_ms": o.ta_ms,
                "played_pct": o.played_pct,
                "probe_rtts_ms": [None if v is None else round(v, 3) for v in o.rtts_ms],
                "stream_delays_ms": [None if d is None else round(d, 3) for d in o.delays_ms],
                "predicted_mos": o.predicted,
            }
            for o in outcomes
        ],
    }
