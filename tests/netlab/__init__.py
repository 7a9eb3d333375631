"""Emulated network lab for end-to-end tests: namespaces joined by a user-space delay/jitter/loss relay.

See lab.py for the topology and addressing, relay.py for the link emulator, capture.py for the kernel-stamped
capture that measures what the lab really did (`Lab.capture()`), bounds.py for binomial loss bounds and
fixtures.py for the `lab_factory` pytest fixture.
"""

from tests.netlab.lab import (
    Capture,
    CapturedProbe,
    Direction,
    Lab,
    LabError,
    LinkSpec,
    RouterSpec,
    cleanup_stale_labs,
    lab_unavailable_reason,
    uniform_chain,
)

__all__ = [
    "Capture",
    "CapturedProbe",
    "Direction",
    "Lab",
    "LabError",
    "LinkSpec",
    "RouterSpec",
    "cleanup_stale_labs",
    "lab_unavailable_reason",
    "uniform_chain",
]
