"""The probe engine: sends probes, matches replies, emits one Sample per probe. Knows nothing of Qt or MOS.

The small API every module outside the engine uses (``from pingmos.engine import Sample, TraceSettings``); its
submodules are the engine's own business (an import-linter contract in pyproject.toml keeps it so). Each name is
imported from its submodule when first asked for, so ``from pingmos.engine import Sample`` does not load the
tracer, the sockets or scapy.

- One probe's outcome: ``Sample``, ``REPLY_KINDS``; a trace's counters beside them: ``ProbeCounts`` (events).
- What to trace: ``TraceSettings``, ``TCP_DEFAULT_PORT``, ``UDP_BASE_PORT``, and the limits a front end checks
  options against without loading the engine: ``PROTOCOLS``, ``MODES``, ``MIN_INTERVAL_S``, ``MAX_INTERVAL_S``,
  ``MAX_FLOWS``, ``DEFAULT_TIMEOUT_FLOOR_S`` (limits); running it: ``Tracer`` (tracer, packets).
- Names: ``resolve_target``, ``check_host_name``, ``is_address_literal``, ``ResolveError``, ``ReverseDNS`` (resolve).
- How probes are sent: ``Network``, ``RawSocketNetwork``, ``NoPermission``, ``source_address_for``, ``family_of``
  (network, wire); ``choose_mode``, ``ProbeMode``, ``NoProbeMode`` (mode); ``start_and_drop`` (the
  helper a privileged window or agent keeps, shared_helper).
- The echo witness's probe: ``echo_probe`` (echo_witness).
- Many traces driven by one thread (the monitoring agent): ``TraceLoop`` (loop).
"""

from __future__ import annotations

import importlib

_API = {
    "pingmos.engine.events": ("REPLY_KINDS", "ProbeCounts", "Sample"),
    "pingmos.engine.limits": (
        "DEFAULT_TIMEOUT_FLOOR_S",
        "MAX_FLOWS",
        "MAX_INTERVAL_S",
        "MIN_INTERVAL_S",
        "MODES",
        "PROTOCOLS",
    ),
    "pingmos.engine.tracer": ("TraceSettings", "Tracer"),
    "pingmos.engine.packets": ("TCP_DEFAULT_PORT", "UDP_BASE_PORT"),
    "pingmos.engine.wire": ("family_of",),
    "pingmos.engine.resolve": ("ResolveError", "ReverseDNS", "check_host_name", "is_address_literal", "resolve_target"),
    "pingmos.engine.network": ("Network", "NoPermission", "RawSocketNetwork", "source_address_for"),
    "pingmos.engine.mode": ("NoProbeMode", "ProbeMode", "choose_mode"),
    "pingmos.engine.shared_helper": ("start_and_drop",),
    "pingmos.engine.echo_witness": ("echo_probe",),
    "pingmos.engine.loop": ("TraceLoop",),
}
_WHERE = {name: module for module, names in _API.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pingmos.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
