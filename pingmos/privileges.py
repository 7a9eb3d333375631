"""Least privilege: who pingmos is once its sockets are open, and who runs the code it does not trust.

pingmos needs root (or ``cap_net_raw``) for one thing: opening raw sockets. Started as root it opens them and then
``drop_privileges`` makes the whole process the *invoking user*, with no capabilities left, before it runs anything
else (reads formulas, writes sessions, runs alert commands):

- ``PINGMOS_USER`` (a user name or number) when set: the configured user (a service account for the monitor);
- else ``SUDO_UID``/``SUDO_GID`` (``sudo pingmos ...``), else ``PKEXEC_UID`` (``pkexec pingmos ...``);
- else nobody asked on anyone's behalf (a root login, a root service, the test suite): pingmos itself stays root,
  as ``mtr`` does when root runs it, but the formula worker and alert commands still never run as root: they run
  as ``nobody`` (``untrusted_account``). Set ``PINGMOS_USER`` to drop the whole process there too.

Dropping is for good: real, effective and saved user and group ids all change, the supplementary groups become the
user's own, and the kernel clears every capability when a root process's ids all become non-zero; ``drop_privileges``
then checks that ``setuid(0)`` fails and that no capability is left, and raises ``PrivilegeError`` otherwise.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Mapping
from dataclasses import dataclass

USER_ENV = "PINGMOS_USER"
FALLBACK_USER = "nobody"


class PrivilegeError(RuntimeError):
    """Dropping root failed (an unknown configured user, a refused setuid); the message says what to fix."""


@dataclass(frozen=True)
class Account:
    """A user to run as: name, uid, primary gid, home folder."""

    name: str
    uid: int
    gid: int
    home: str

    @classmethod
    def from_pwd(cls, entry: pwd.struct_passwd) -> Account:
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


def _lookup(value: str, what: str) -> Account:
    try:
        entry = pwd.getpwuid(int(value)) if value.isdigit() else pwd.getpwnam(value)
    except (KeyError, ValueError, OverflowError):
        raise PrivilegeError(f"{what} names the user {value!r}, who does not exist on this system") from None
    return Account.from_pwd(entry)


def invoking_account(environ: Mapping[str, str] | None = None, configured: str | None = None) -> Account | None:
    """The user on whose behalf root runs pingmos (see the module docstring); None when nobody asked.
    ``configured``: a user named by a configuration file (the monitor's ``user``), which comes first.

    Raises PrivilegeError for a configured user or ``PINGMOS_USER`` that names no user (a typo must not silently
    leave root), or names root."""
    env = os.environ if environ is None else environ
    for value, what in ((configured, "the configuration's user"), (env.get(USER_ENV), USER_ENV)):
        value = (value or "").strip()
        if value:
            account = _lookup(value, what)
            if account.uid == 0:
                raise PrivilegeError(f"{what} names root; name the user pingmos should run as")
            return account
    for var in ("SUDO_UID", "PKEXEC_UID"):
        value = env.get(var, "").strip()
        if value.isdigit() and int(value) != 0:
            account = _lookup(value, var)
            gid = env.get("SUDO_GID", "") if var == "SUDO_UID" else ""
            if gid.isdigit():
                account = Account(account.name, account.uid, int(gid), account.home)
            return account
    return None


def untrusted_account(environ: Mapping[str, str] | None = None) -> Account | None:
    """Who runs a user's formula or an alert command started from this process: None when this process is not
    root (they run as this process's user), else the invoking user, else ``nobody``."""
    if os.geteuid() != 0:
        return None
    account = invoking_account(environ)
    if account is not None:
        return account
    try:
        return Account.from_pwd(pwd.getpwnam(FALLBACK_USER))
    except KeyError:
        raise PrivilegeError(f"there is no user {FALLBACK_USER!r} to run untrusted code as; set {USER_ENV}") from None


def child_options(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """``subprocess.Popen`` keyword arguments that start a child as ``untrusted_account`` (empty when this
    process is not root): user, group, no supplementary groups, and the account's HOME/USER/LOGNAME."""
    account = untrusted_account(environ)
    if account is None:
        return {}
    env = dict(os.environ if environ is None else environ)
    env.update(HOME=account.home, USER=account.name, LOGNAME=account.name)
    return {"user": account.uid, "group": account.gid, "extra_groups": [], "env": env}


def capabilities_left() -> int:
    """The effective and permitted capability sets of this process, OR-ed (0: none); 0 when unknown."""
    caps = 0
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(("CapEff:", "CapPrm:")):
                    caps |= int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return caps


def _can_reach(path: str, account: Account) -> bool:
    """Whether ``account`` may pass through every folder down to ``path`` (mode bits; no ACLs)."""
    groups = {account.gid, *(g.gr_gid for g in grp.getgrall() if account.name in g.gr_mem)}
    parts = os.path.realpath(path).split(os.sep)
    for i in range(1, len(parts) + 1):
        folder = os.sep + os.path.join(*parts[1:i]) if i > 1 else os.sep
        try:
            st = os.stat(folder)
        except OSError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            break
        bit = stat.S_IXUSR if st.st_uid == account.uid else stat.S_IXGRP if st.st_gid in groups else stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def drop_privileges(account: Account, check_only: bool = False) -> None:
    """Become ``account`` for good (see the module docstring). Call it once the sockets are open and before
    anything else runs; from then on no thread of this process has root or a capability. ``check_only``: only
    raise what would stop it up front (an unreachable Python), changing nothing.

    Raises PrivilegeError when the kernel refuses, something of root is left, or ``account`` could not even read
    the Python library this process runs from (an interpreter under /root): it would fail half-way instead."""
    library = os.path.dirname(os.__file__)
    if not _can_reach(library, account):
        raise PrivilegeError(
            f"cannot run as {account.name}: the Python library in {library} is out of their reach; run pingmos "
            f"from a Python they can read, or set {USER_ENV} to a user who can"
        )
    if check_only:
        return
    try:
        os.initgroups(account.name, account.gid)
    except OSError:
        os.setgroups([account.gid])
    try:
        os.setresgid(account.gid, account.gid, account.gid)
        os.setresuid(account.uid, account.uid, account.uid)
    except OSError as exc:
        raise PrivilegeError(f"cannot become user {account.name} (uid {account.uid}): {exc.strerror}") from None
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise PrivilegeError("dropping root failed: this process could become root again")
    if capabilities_left():
        raise PrivilegeError("dropping root failed: the process still holds capabilities")
    os.environ.update(HOME=account.home, USER=account.name, LOGNAME=account.name)


def drop_after_open(environ: Mapping[str, str] | None = None) -> Account | None:
    """When root on someone's behalf, become them (``drop_privileges``); returns the account, or None when
    there was nothing to drop (not root, or root with nobody invoking: see the module docstring)."""
    if os.geteuid() != 0:
        return None
    account = invoking_account(environ)
    if account is not None:
        drop_privileges(account)
    return account


PRIVATE_UMASK = 0o077
_original_umask: int | None = None


def use_private_umask() -> None:
    """From now on files this process creates are 0600 and folders 0700 (sessions, exports, formula copies,
    settings: they tell where and when someone's traffic went). Children that are not pingmos's own (alert
    commands) get the umask pingmos was started with (``original_umask``)."""
    global _original_umask
    old = os.umask(PRIVATE_UMASK)
    if _original_umask is None:
        _original_umask = old


def original_umask() -> int | None:
    """The umask pingmos was started with, when ``use_private_umask`` changed it; else None."""
    return _original_umask
