"""Fixtures shared by every test layer: `lab_factory` builds the emulated network lab (tests/netlab/);
`shared_dir` is a folder every user can write."""

import gc
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from tests.netlab.fixtures import lab_factory  # noqa: F401


@pytest.fixture
def shared_dir():
    """A folder every user can write: what pingmos starts from a root test suite (a formula's worker, a rule's
    command, a report that dropped its privileges) runs as another user, and pytest's own temporary folders are
    private to root."""
    folder = Path(tempfile.mkdtemp(prefix="pingmos-test-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _process_state_restored():
    """What a program's main sets for its whole process (the window's and the agent's SIGINT/SIGTERM/SIGHUP
    handlers, the agent's collector thresholds, the window's automatic collection) is put back after each test that
    ran it in pytest's process: a handler left behind made the suite ignore SIGTERM (CI's timeout, ``kill``)."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    handlers = {number: signal.getsignal(number) for number in signals}
    thresholds, collecting = gc.get_threshold(), gc.isenabled()
    yield
    for number, handler in handlers.items():
        if signal.getsignal(number) is not handler and handler is not None:
            signal.signal(number, handler)
    if gc.get_threshold() != thresholds:
        gc.set_threshold(*thresholds)
    if collecting and not gc.isenabled():  # the window's GarbageCollector turns automatic collection off
        gc.enable()
