"""Least privilege: who pingmos becomes after opening its sockets, and who runs what it does not trust."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pingmos import privileges
from pingmos.privileges import Account, PrivilegeError, invoking_account

ROOT = Path(__file__).resolve().parents[1]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_the_invoking_user_comes_from_the_configured_user_then_sudo_then_pkexec():
    assert invoking_account({}) is None
    assert invoking_account({"SUDO_UID": "65534", "SUDO_GID": "65534"}).name == "nobody"
    assert invoking_account({"PKEXEC_UID": "65534"}).uid == 65534
    assert invoking_account({"SUDO_UID": "0"}) is None  # root asked for root: nobody to give back to
    assert invoking_account({"PINGMOS_USER": "nobody", "SUDO_UID": "0"}).uid == 65534
    with pytest.raises(PrivilegeError, match="does not exist"):
        invoking_account({"PINGMOS_USER": "no-such-user-here"})
    with pytest.raises(PrivilegeError, match="names root"):
        invoking_account({"PINGMOS_USER": "root"})


@as_root
def test_as_root_with_nobody_invoking_untrusted_code_runs_as_nobody():
    assert privileges.untrusted_account({}).name == "nobody"
    assert privileges.untrusted_account({"SUDO_UID": "65534"}).uid == 65534
    options = privileges.child_options({})
    assert options["user"] == 65534 and options["extra_groups"] == [] and options["env"]["HOME"] == "/nonexistent"


def test_reachability_is_judged_folder_by_folder(tmp_path):
    nobody = Account("nobody", 65534, 65534, "/nonexistent")
    closed = tmp_path / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0o700)
    assert privileges._can_reach("/usr", nobody)
    assert privileges._can_reach(str(closed / "inner"), nobody) == (os.stat(closed).st_uid == 65534)


def _reachable_python() -> str | None:
    """A Python 3.11 that the user nobody can run, for running pingmos as root-then-nobody (this checkout's own
    interpreter may live under /root)."""
    nobody = Account("nobody", 65534, 65534, "/nonexistent")
    if privileges._can_reach(os.path.dirname(os.__file__), nobody):
        return sys.executable
    system = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    return system


@pytest.fixture
def shared_dir():
    folder = Path(tempfile.mkdtemp(prefix="pingmos-test-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _report(python: str, out: Path, extra_env: dict) -> subprocess.CompletedProcess:
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *site]), **extra_env}
    args = ["report", "127.0.0.1", "--count", "2", "--interval", "0.1", "--no-dns", "--record", str(out)]
    return subprocess.run([python, "-m", "pingmos", *args], capture_output=True, text=True, timeout=120, env=env,
                          cwd=out.parent)  # fmt: skip


@as_root
def test_sudo_pingmos_report_opens_its_sockets_then_becomes_the_invoking_user(shared_dir):
    python = _reachable_python()
    if python is None:
        pytest.skip("no Python here that the user nobody may run")
    out = shared_dir / "run.pmsession"
    r = _report(python, out, {"SUDO_UID": "65534", "SUDO_GID": "65534", "SUDO_USER": "nobody"})
    assert r.returncode == 0, r.stderr
    assert "127.0.0.1" in r.stdout
    st = out.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)  # written after the drop, by the invoking user


@as_root
def test_a_user_who_could_not_run_pingmos_is_refused_in_one_line(shared_dir):
    nobody = Account("nobody", 65534, 65534, "/nonexistent")
    if privileges._can_reach(os.path.dirname(os.__file__), nobody):
        pytest.skip("this interpreter is within nobody's reach")
    out = shared_dir / "run.pmsession"
    r = _report(sys.executable, out, {"SUDO_UID": "65534", "SUDO_GID": "65534"})
    assert r.returncode == 77, r
    assert r.stderr.count("\n") == 1 and "cannot run as nobody" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_what_pingmos_writes_is_private(tmp_path):
    """Folders 0700, files 0600: the formula copy (and its folders) made by the command, a session it records."""
    env = {**os.environ, "PINGMOS_CONFIG_DIR": str(tmp_path / "config" / "pingmos")}
    r = subprocess.run([sys.executable, "-m", "pingmos", "models", "--copy", "pingplotter"], capture_output=True,
                       text=True, timeout=60, env=env, cwd=ROOT)  # fmt: skip
    assert r.returncode == 0, r.stderr
    copy = Path(r.stdout.strip())
    assert oct(copy.stat().st_mode & 0o777) == oct(0o600)
    for folder in (copy.parent, tmp_path / "config" / "pingmos", tmp_path / "config"):
        assert oct(folder.stat().st_mode & 0o777) == oct(0o700), folder


def test_the_private_umask_is_not_passed_on_to_alert_commands(tmp_path):
    from pingmos.alerts import run_command

    old = os.umask(0o022)
    try:
        privileges.use_private_umask()
        result = run_command(["/bin/sh", "-c", "umask"], {}, timeout_s=10.0)
    finally:
        os.umask(old)
        privileges._original_umask = None
    assert result.output.strip() == "0022"


@as_root
def test_sudo_pingmos_score_becomes_the_invoking_user_first(tmp_path):
    python = _reachable_python()
    if python is None:
        pytest.skip("no Python here that the user nobody may run")
    config = Path(tempfile.mkdtemp(prefix="pingmos-test-"))
    try:
        config.chmod(0o777)
        (config / "scoring").mkdir(mode=0o777)
        (config / "scoring").chmod(0o777)
        (config / "scoring" / "who.py").write_text('"""Who."""\nimport os\n\ndef score_hop(hop):\n'
                                                 "    return 50.0, 3.0, {'uid': os.getuid(), 'ppid_uid': "
                                                 "os.stat(f'/proc/{os.getppid()}').st_uid}\n")  # fmt: skip
        site = [p for p in sys.path if p.endswith("site-packages")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *site]), "PINGMOS_CONFIG_DIR": str(config),
               "SUDO_UID": "65534", "SUDO_GID": "65534"}  # fmt: skip
        r = subprocess.run([python, "-m", "pingmos", "score", "--model", "who", "--latency", "20", "--format", "json"],
                           capture_output=True, text=True, timeout=120, env=env, cwd="/")  # fmt: skip
    finally:
        shutil.rmtree(config, ignore_errors=True)
    assert r.returncode == 0, r.stderr
    assert '"uid": 65534' in r.stdout.replace(".0", "") and '"ppid_uid": 65534' in r.stdout.replace(".0", "")
