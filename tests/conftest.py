"""Fixtures shared by every test layer: `lab_factory` builds the emulated network lab (tests/netlab/);
`shared_dir` is a folder every user can write."""

import shutil
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
