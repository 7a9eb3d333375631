"""Root for the sockets only: a probe helper forked while pingmos is still root, shared by all of its traces.

The window and ``pingmos monitor`` open a trace's sockets when the trace starts, long after start-up, and start
and stop traces as the user asks; a process that stayed root for that would run everything else as root too. So,
started as root on someone's behalf (``privileges.invoking_account``), they call ``start_and_drop`` first thing:

1. it forks a child while the process is still root and small (before Qt, threads or any user code);
2. the child opens the raw sockets (``probe_helper.Helper``), imports what builds packets, becomes the invoking
   user with no capability (``privileges.drop_privileges``) and from then on serves the helper's line protocol on
   a pair of pipes, exactly as ``python -m pingmos.engine.probe_helper`` does over stdin/stdout: it sends only
   the probes it is asked for, built by itself from validated fields, and passes back only the replies to them;
3. the parent becomes the same user with no capability, and every trace it starts later talks to the child
   through a ``SharedHelperNetwork`` (``mode.choose_mode`` hands them out).

Neither process is root afterwards, and neither can be taken over by the user: a process whose ids changed from
root's is not dumpable (the kernel refuses ptrace and /proc/PID/fd to the user), and neither ``exec``s anything
that would reset that (the formula worker and alert commands are new programs without these sockets: subprocess
closes every inherited descriptor). The child exits when its request pipe ends (the parent closed it or died) and
through ``PR_SET_PDEATHSIG``; SIGINT from the terminal is the parent's to handle.

Several traces share the child: a request's token is ``client * 1_000_000 + n``, so one reader thread hands each
answer to the network that asked; each network probes with an ICMP identifier of its own so two traces to one
address do not take each other's replies. The helper's budget is shared: ``probe_helper.MAX_PROBES_PER_S``, or
the monitor's ``max_probes_per_s`` (its configuration is refused when its targets could send more).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

from pingmos.engine import probe_helper
from pingmos.engine.helper_network import SEND_TIMEOUT_S, HelperError
from pingmos.engine.network import NoPermission
from pingmos.engine.packets import load_template_builder
from pingmos.engine.wire import probe_fields
from pingmos.privileges import Account, drop_privileges, invoking_account

START_TIMEOUT_S = 10.0
TOKENS_PER_CLIENT = 1_000_000  # a client's tokens wrap after this many probes (an hour at 300 probes/s)
MAX_CLIENTS = 9999  # tokens stay within the protocol's 10 digits
_FIELD_ORDER = {
    "icmp": ("proto", "dst", "ttl", "seq", "ident", "flow"),
    "udp": ("proto", "dst", "ttl", "seq", "sport", "dport"),
    "tcp": ("proto", "dst", "ttl", "seq", "sport", "dport"),
}


def _child(account: Account, requests_fd: int, answers_fd: int, parent: int, probes_per_s: float | None) -> int:
    """The forked helper: open the sockets as root, drop to ``account``, serve. Returns the exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the window/agent, which then closes our pipe
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the agent's reload signal goes to its process group too
    keep = {requests_fd, answers_fd, 2}
    for name in os.listdir("/proc/self/fd"):  # nothing of the parent's (its files, its display connection)
        if name.isdigit() and int(name) not in keep:
            with contextlib.suppress(OSError):
                os.close(int(name))
    out = os.fdopen(answers_fd, "w", encoding="ascii", errors="replace")
    helper = probe_helper.Helper(out)
    if probes_per_s:  # the whole process's budget (the monitor's max_probes_per_s), not one trace's
        helper.bucket = probe_helper.TokenBucket(probes_per_s, probes_per_s, time.monotonic())
    try:
        helper.open()
    except NoPermission as exc:
        helper.say(f"fatal {exc}")
        return probe_helper.EXIT_NO_PERMISSION
    except OSError as exc:
        helper.say(f"fatal cannot open sockets: {exc}")
        return 1
    load_template_builder()
    try:
        drop_privileges(account)
    except Exception as exc:  # never serve as root
        helper.say(f"fatal {exc}")
        return probe_helper.EXIT_NO_PERMISSION
    probe_helper._die_with_parent(parent)  # after the drop: changing ids clears the parent-death signal
    helper.say(f"ready version={probe_helper.VERSION} probes_per_s={helper.bucket.rate:g}")
    return probe_helper.serve(helper, requests_fd)


class SharedHelper:
    """The parent's end of the forked helper: start it with ``fork``, then hand out ``network()``s."""

    def __init__(self, pid: int, requests_fd: int, answers_fd: int) -> None:
        self.pid = pid
        self._requests = requests_fd
        self._answers = answers_fd
        self._buf = b""
        self._lock = threading.Lock()  # guards the client table and writes to the request pipe
        self._clients: dict[int, SharedHelperNetwork] = {}
        self._next_client = 0
        self._reader: threading.Thread | None = None
        self.dead: str | None = None  # why the helper is gone, once it is
        self.probes_per_s: float | None = None  # the send budget the helper says it keeps

    @classmethod
    def fork(cls, account: Account, probes_per_s: float | None = None) -> SharedHelper:
        """Fork the helper (this process must be root and should have no other thread yet). ``probes_per_s``:
        its send budget for all traces together (None: ``probe_helper.MAX_PROBES_PER_S``). Raises NoPermission
        when the child cannot open raw sockets or become ``account``, with its reason."""
        load_template_builder()  # import scapy once, before the fork, so both sides have it
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child never returns into the caller's code
            status = 1
            try:
                os.close(req_w)
                os.close(ans_r)
                status = _child(account, req_r, ans_w, parent, probes_per_s)
            except BaseException:  # noqa: BLE001 - whatever happens, the child must not run on
                status = 1
            finally:
                os._exit(status)
        os.close(req_r)
        os.close(ans_w)
        shared = cls(pid, req_w, ans_r)
        first = shared._read_line(START_TIMEOUT_S)
        if first is None or not first.startswith("ready "):
            shared.close()
            what = first[6:] if first and first.startswith("fatal ") else (first or "no answer")
            raise NoPermission(f"the probe helper did not start: {what}")
        fields = dict(part.split("=", 1) for part in first.split()[1:] if "=" in part)
        shared.probes_per_s = float(fields.get("probes_per_s", probe_helper.MAX_PROBES_PER_S))
        return shared

    def _read_line(self, timeout_s: float | None) -> str | None:
        import select

        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if not select.select([self._answers], [], [], left)[0]:
                return None
            try:
                chunk = os.read(self._answers, 65536)
            except OSError:
                return None
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("ascii", "replace")

    def _read_answers(self) -> None:
        while True:
            line = self._read_line(None)
            if line is None:
                break
            token, _, rest = line.partition(" ")
            if not token.isdigit():
                continue
            with self._lock:
                client = self._clients.get(int(token) // TOKENS_PER_CLIENT)
            if client is not None:
                client._answer(token, rest)
        with contextlib.suppress(OSError):
            os.close(self._answers)
        self._gone("the probe helper has exited")

    def _gone(self, why: str) -> None:
        with self._lock:
            self.dead = self.dead or why
            clients = list(self._clients.values())
        for client in clients:
            client._wake()

    def network(self) -> SharedHelperNetwork:
        """A new network (one trace's) over this helper; NoPermission when the helper is gone."""
        with self._lock:
            if self.dead:
                raise NoPermission(f"the probe helper is not running ({self.dead})")
            if len(self._clients) >= MAX_CLIENTS:
                raise NoPermission(f"more than {MAX_CLIENTS} traces at once through the probe helper")
            while True:
                self._next_client = self._next_client % MAX_CLIENTS + 1
                if self._next_client not in self._clients:
                    break
            client = SharedHelperNetwork(self, self._next_client)
            self._clients[client.client_id] = client
            if self._reader is None:
                self._reader = threading.Thread(target=self._read_answers, name="probe-helper", daemon=True)
                self._reader.start()
        return client

    def _write(self, line: str) -> None:
        data = line.encode("ascii") + b"\n"  # < PIPE_BUF: one write, never interleaved with another client's
        with self._lock:
            if self.dead:
                raise HelperError(self.dead)
            try:
                os.write(self._requests, data)
            except OSError as exc:
                self.dead = "the probe helper has exited"
                raise HelperError(self.dead) from exc

    def _forget(self, client_id: int) -> None:
        with self._lock:
            self._clients.pop(client_id, None)

    def close(self) -> None:
        """End the helper (closing its request pipe ends it), waiting for it up to 2 s, then killing it."""
        with self._lock:
            self.dead = self.dead or "the probe helper was closed"
            with contextlib.suppress(OSError):
                os.close(self._requests)
        deadline = time.monotonic() + 2.0
        try:
            while not os.waitpid(self.pid, os.WNOHANG)[0]:
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.01)
        except (ChildProcessError, ProcessLookupError):
            pass  # already reaped
        if self._reader is None:
            with contextlib.suppress(OSError):
                os.close(self._answers)


class SharedHelperNetwork:
    """One trace's ``Network`` over a ``SharedHelper`` (same answers as ``helper_network.HelperNetwork``)."""

    def __init__(self, shared: SharedHelper, client_id: int) -> None:
        self._shared = shared
        self.client_id = client_id
        # An identifier of its own: two traces to one address through one helper must not share probe keys.
        self.icmp_ident = (os.getpid() * 2654435761 + client_id * 40503) & 0xFFFF or 1
        self._cond = threading.Condition()
        self._replies: list[tuple[bytes, float]] = []
        self._waiting: str | None = None
        self._answer_of_waiting: str | None = None
        self._n = 0
        self._closed = False

    def _answer(self, token: str, rest: str) -> None:
        kind, _, detail = rest.partition(" ")
        with self._cond:
            if kind == "reply":
                fields = dict(part.split("=", 1) for part in detail.split(" ") if "=" in part)
                with contextlib.suppress(KeyError, ValueError):  # a garbled line counts as no reply
                    self._replies.append((bytes.fromhex(fields["packet"]), float(fields["at"])))
            elif token == self._waiting:
                self._answer_of_waiting = rest
            else:
                return  # the answer to a request whose wait timed out
            self._cond.notify_all()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def send(self, packet: bytes, dst: str) -> float:
        fields = probe_fields(packet)
        if self._closed:
            raise HelperError("this network is closed")
        self._n = (self._n + 1) % TOKENS_PER_CLIENT
        token = str(self.client_id * TOKENS_PER_CLIENT + self._n)
        request = " ".join([token, "probe", *(f"{k}={fields[k]}" for k in _FIELD_ORDER[fields["proto"]])])
        with self._cond:
            self._waiting, self._answer_of_waiting = token, None
        self._shared._write(request)
        deadline = time.monotonic() + SEND_TIMEOUT_S
        with self._cond:
            while self._answer_of_waiting is None and not self._shared.dead:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            answer, self._waiting = self._answer_of_waiting, None
        if answer is None:
            raise HelperError(self._shared.dead or "the probe helper did not answer")
        kind, _, detail = answer.partition(" ")
        if kind == "sent":
            return float(detail.split("=", 1)[1])
        raise HelperError(f"the probe helper refused a probe: {kind} {detail}")

    def recv(self, timeout_s: float) -> list[tuple[bytes, float]]:
        with self._cond:
            if not self._replies and not self._shared.dead:
                self._cond.wait(max(0.0, timeout_s))
            out, self._replies = self._replies, []
        return out

    def close(self) -> None:
        self._closed = True
        self._shared._forget(self.client_id)


def start_and_drop(
    configured_user: str | None = None, environ=None, probes_per_s: float | None = None
) -> tuple[Account | None, SharedHelper | None]:
    """When root on someone's behalf (``privileges.invoking_account``; ``configured_user`` first, e.g. the
    monitor's ``user`` setting): fork the shared helper (``probes_per_s``: its budget for all traces together,
    None: the helper's own), then become that user with no capability. Returns
    (the account dropped to or None, the helper or None when raw sockets could not be opened: the process then
    probes the unprivileged ways). Not root, or root with nobody to become: (None, None), nothing changes.

    Raises ``privileges.PrivilegeError`` when the user is unknown or the drop fails (the caller must stop)."""
    from pingmos.engine import mode

    if os.geteuid() != 0:
        return None, None
    account = invoking_account(environ, configured_user)
    if account is None:
        return None, None
    drop_privileges(account, check_only=True)  # refuse before forking when the user could not run pingmos
    try:
        shared: SharedHelper | None = SharedHelper.fork(account, probes_per_s)
    except NoPermission:
        shared = None
    try:
        drop_privileges(account)
    except BaseException:
        if shared is not None:
            shared.close()
        raise
    if shared is not None:
        mode.use_shared_helper(shared)
    return account, shared
