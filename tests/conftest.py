"""Fixtures shared by every test layer: `lab_factory` builds the emulated network lab (tests/netlab/)."""

from tests.netlab.fixtures import lab_factory  # noqa: F401
