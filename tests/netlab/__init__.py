"""Emulated network lab for end-to-end tests: namespaces joined by a user-space delay/jitter/loss relay.

See lab.py for the topology and addressing, relay.py for the link emulator and fixtures.py for the
`lab_factory` pytest fixture.
"""

from tests.netlab.lab import (
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
    "Direction",
    "Lab",
    "LabError",
    "LinkSpec",
    "RouterSpec",
    "cleanup_stale_labs",
    "lab_unavailable_reason",
    "uniform_chain",
]
