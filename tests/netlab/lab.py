"""Build and tear down an emulated network: client -> r1 -> ... -> rN -> target, one namespace each.

Every link is a pair of TUN devices joined by the user-space relay (tests/netlab/relay.py), which applies
per-direction delay, jitter and loss. The kernel does the real work: routers forward (ip_forward=1) and
send real ICMP time-exceeded messages, the target answers echo requests and sends port unreachables.

Addressing (RFC 2544 benchmarking range, never routed anywhere else): link i (0 = client-r1, N = rN-target)
is 198.18.i.0/24, its client-side end is 198.18.i.1 and its target-side end 198.18.i.2, configured as
point-to-point /32s. The device at both ends of link i is called `link{i}`. Routers route exactly the
lab's /24s (left or right); the client has a default route into the chain (so every probe it sends stays
in the lab) and the target routes 198.18.0.0/15 back. No namespace has any other interface, so nothing
can leave the machine.

A router answers with the address facing the client (icmp_errors_use_inbound_ifaddr=1), so hop k answers
from 198.18.(k-1).2 and the target from 198.18.N.2; see `Lab.hop_addrs`. Reverse DNS for every lab address
is served inside the client namespace (see relay.py and dns.py) and /etc/netns/<client>/resolv.conf points
there, so `ip netns exec <client> getent hosts 198.18.0.2` answers `r1.lab.test` without ever asking the
machine's resolver.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_ROOT = Path("/run/pmlab")  # one directory per lab: config, control socket, relay log, owner pid
NETNS_ETC = Path("/etc/netns")
ZONE = "lab.test"
READY_TIMEOUT_S = 15.0
MAX_ROUTERS = 250  # one /24 per link inside 198.18.0.0/16


class LabError(RuntimeError):
    """The lab could not be built or controlled (the message says which step failed and why)."""


@dataclass(frozen=True)
class Direction:
    """Impairment of one direction of a link. delay_ms is the mean one-way delay added by the relay;
    each packet gets delay_ms + uniform(-jitter_ms, +jitter_ms), never below 0 (so jitter > delay skews the
    mean upwards). loss_pct is the drop probability in percent (0..100): independent per packet, or with
    burst_ms > 0 the share of time the direction is down, in down periods of mean burst_ms (exponential; a
    two-state Gilbert-Elliott channel in time), dropping every packet then, as congestion loss comes in bursts."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    burst_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.delay_ms < 0 or self.jitter_ms < 0:
            raise ValueError(f"delay and jitter must be >= 0, got {self}")
        if not 0 <= self.loss_pct <= 100:
            raise ValueError(f"loss_pct must be within 0..100, got {self.loss_pct}")
        if self.burst_ms < 0:
            raise ValueError(f"burst_ms must be >= 0, got {self.burst_ms}")

    def to_json(self) -> dict:
        out = {"delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms, "loss_pct": self.loss_pct}
        if self.burst_ms:
            out["burst_ms"] = self.burst_ms
        return out


@dataclass(frozen=True)
class LinkSpec:
    """One link: fwd is the client -> target direction, rev the way back."""

    fwd: Direction = field(default_factory=Direction)
    rev: Direction = field(default_factory=Direction)

    @classmethod
    def symmetric(
        cls, delay_ms: float = 0.0, jitter_ms: float = 0.0, loss_pct: float = 0.0, burst_ms: float = 0.0
    ) -> LinkSpec:
        """The same impairment both ways (so the round trip over this link adds 2 * delay_ms)."""
        d = Direction(delay_ms, jitter_ms, loss_pct, burst_ms)
        return cls(d, d)


@dataclass(frozen=True)
class RouterSpec:
    """icmp_ratelimit_ms: None = never rate-limit ICMP errors (net.ipv4.icmp_ratelimit=0); a number sets
    net.ipv4.icmp_ratelimit to it (the kernel's per-destination token bucket: about one time-exceeded per
    that many ms after a burst of ~6). silent: drop every ICMP message the router itself sends (nftables
    output hook), so it never answers a traceroute probe or a ping; forwarded traffic is not affected."""

    icmp_ratelimit_ms: int | None = None
    silent: bool = False


def uniform_chain(
    n_routers: int, link: LinkSpec, router: RouterSpec | None = None
) -> tuple[list[RouterSpec], list[LinkSpec]]:
    """Routers and links for a chain of n_routers identical routers and n_routers + 1 identical links."""
    return [router or RouterSpec()] * n_routers, [link] * (n_routers + 1)


def lab_unavailable_reason() -> str | None:
    """Why a lab cannot be built on this machine (None if it can): root, /dev/net/tun and `ip netns`."""
    if os.geteuid() != 0:
        return "the network lab needs root (network namespaces, TUN devices)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (no TUN support)"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    try:
        r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`ip netns list` failed: {exc}"
    if r.returncode != 0:
        return f"`ip netns` is unavailable: {r.stderr.strip()}"
    return None


def _python_env(env: dict | None = None) -> dict:
    """Environment for subprocesses: the repository root on PYTHONPATH so `-m tests.netlab...` and
    `-m pingmos` work from any working directory."""
    env = dict(os.environ if env is None else env)
    parts = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def _sh(argv: Sequence[str], *, input: str | None = None, what: str) -> None:
    r = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise LabError(f"{what} failed: `{' '.join(argv)}`: {(r.stderr or r.stdout).strip()}")


class Lab:
    """A running lab. Build with `Lab.build(...)` (or the `lab_factory` fixture); always `close()` it,
    or use it as a context manager.

    The relay is started with PR_SET_PDEATHSIG, which fires when the *thread* that started it exits:
    build the lab from a thread that outlives it (normally the main thread).
    """

    def __init__(
        self,
        routers: Sequence[RouterSpec],
        links: Sequence[LinkSpec],
        seed: int = 0,
        ipv6: bool = False,
        ecmp_router: int | None = None,
    ) -> None:
        if len(links) != len(routers) + 1:
            raise ValueError(f"{len(routers)} routers need {len(routers) + 1} links, got {len(links)}")
        if len(routers) > MAX_ROUTERS:
            raise ValueError(f"at most {MAX_ROUTERS} routers")
        self.routers: list[RouterSpec] = list(routers)
        self.links: list[LinkSpec] = list(links)  # kept current by set_link()
        self.seed = seed
        n = len(routers)
        # Unique per lab, short enough for the 15-character interface-name-like limits of some tools.
        self.prefix = "pm" + secrets.token_hex(4)
        self.client_ns = f"{self.prefix}-c"
        self.router_ns = [f"{self.prefix}-r{k}" for k in range(1, n + 1)]
        self.target_ns = f"{self.prefix}-t"
        self.namespaces = [self.client_ns, *self.router_ns, self.target_ns]
        self.client_addr = "198.18.0.1"
        self.target_addr = f"198.18.{n}.2"
        # Who answers at TTL 1..N+1: each router's client-facing address, then the target.
        self.hop_addrs = [f"198.18.{k - 1}.2" for k in range(1, n + 1)] + [self.target_addr]
        self.hop_names = [f"r{k}.{ZONE}" for k in range(1, n + 1)] + [f"target.{ZONE}"]
        self.names: dict[str, str] = {self.client_addr: f"client.{ZONE}"}
        for k in range(1, n + 1):
            self.names[f"198.18.{k - 1}.2"] = f"r{k}.{ZONE}"
            self.names[f"198.18.{k}.1"] = f"r{k}.{ZONE}"  # far side: same name, as PTR for every address
        self.names[self.target_addr] = f"target.{ZONE}"
        self._init_reach(ipv6, ecmp_router)
        self.state_dir = STATE_ROOT / self.prefix
        self.etc_dir = NETNS_ETC / self.client_ns
        self.control_socket = self.state_dir / "control.sock"
        self.relay_log = self.state_dir / "relay.log"
        self.relay: subprocess.Popen | None = None
        self._created_ns: list[str] = []
        self._closed = False

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        routers: Sequence[RouterSpec],
        links: Sequence[LinkSpec],
        seed: int = 0,
        ipv6: bool = False,
        ecmp_router: int | None = None,
    ) -> Lab:
        """Create namespaces, devices, addresses, routes, DNS and the relay. links[0] is client-r1,
        links[-1] is rN-target. On any failure everything already created is removed and LabError raised.
        ipv6 / ecmp_router: see `_init_reach` (both off by default)."""
        lab = cls(routers, links, seed, ipv6=ipv6, ecmp_router=ecmp_router)
        atexit.register(lab.close)
        try:
            lab._build()
        except BaseException:
            lab.close()
            raise
        return lab

    def _build(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=False)
        self._write_owner_file()
        for ns in self.namespaces:
            _sh(["ip", "netns", "add", ns], what="creating namespace")
            self._created_ns.append(ns)
        for ns in self.namespaces:
            _sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", *self._sysctls(ns)], what=f"sysctl in {ns}")
            # lo must be up before the relay binds the DNS socket to 127.0.0.1 in the client namespace.
            _sh(["ip", "-n", ns, "link", "set", "lo", "up"], what=f"lo up in {ns}")
        for ns, spec in zip(self.router_ns, self.routers, strict=True):
            if spec.silent:
                self._make_silent(ns)
        self.etc_dir.mkdir(parents=True, exist_ok=True)
        # No search domains, one quick attempt: a lookup of a non-lab name fails fast with NXDOMAIN.
        (self.etc_dir / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        self._start_relay()
        for i, ns in enumerate(self.namespaces):
            _sh(["ip", "-n", ns, "-batch", "-"], input=self._ip_batch(i), what=f"addresses/routes in {ns}")

    def _write_owner_file(self) -> None:
        info = {
            "owner_pid": os.getpid(),
            "relay_pid": None,
            "namespaces": self.namespaces,
            "paths": [str(self.etc_dir), str(self.state_dir)],
        }
        if self.relay is not None:
            info["relay_pid"] = self.relay.pid
        (self.state_dir / "lab.json").write_text(json.dumps(info))

    def _sysctls(self, ns: str) -> list[str]:
        # New namespaces start from kernel defaults. IPv6 is disabled so router solicitations and MLD
        # reports never cross the relay and pollute its counters.
        s = [
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
            # Per-namespace on this kernel (checked on 6.18): the global ICMP budget (default 1000/s,
            # burst 50) would otherwise cap replies of a busy hop and look like loss.
            "net.ipv4.icmp_msgs_per_sec=100000",
            "net.ipv4.icmp_msgs_burst=100000",
        ]
        if ns in self.router_ns:
            spec = self.routers[self.router_ns.index(ns)]
            s += [
                "net.ipv4.ip_forward=1",
                f"net.ipv4.icmp_ratelimit={spec.icmp_ratelimit_ms or 0}",
                "net.ipv4.icmp_errors_use_inbound_ifaddr=1",
            ]
        else:
            # The kernel default (1000 ms per destination) would throttle the target's port unreachables.
            s += ["net.ipv4.ip_forward=0", "net.ipv4.icmp_ratelimit=0"]
        if ns == self.client_ns:
            # Lets unprivileged ICMP datagram sockets (SOCK_DGRAM, IPPROTO_ICMP) work in the client.
            s.append("net.ipv4.ping_group_range=0 2147483647")
        return s + self._reach_sysctls(ns)

    def _make_silent(self, ns: str) -> None:
        ruleset = (
            "table ip pmlab_silent {\n"
            "  chain output {\n"
            "    type filter hook output priority 0; policy accept;\n"
            "    ip protocol icmp drop\n"
            "  }\n"
            "}\n"
        )
        if shutil.which("nft") is None:
            raise LabError("a silent router needs nftables (`nft`), which is not installed")
        _sh(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=ruleset, what=f"nftables in {ns}")

    def _ip_batch(self, node: int) -> str:
        """`ip -batch` commands for node 0 (client) .. N+1 (target)."""
        n = len(self.routers)
        cmds = []
        if node > 0:  # link node-1 on its target-side end
            i = node - 1
            cmds += [f"link set link{i} up", f"addr add 198.18.{i}.2 peer 198.18.{i}.1 dev link{i}"]
        if node <= n:  # link node on its client-side end
            cmds += [f"link set link{node} up", f"addr add 198.18.{node}.1 peer 198.18.{node}.2 dev link{node}"]
        if node == 0:
            cmds.append("route add default dev link0")
        elif node == n + 1:
            cmds.append(f"route add 198.18.0.0/15 dev link{n}")
        else:
            # Directly attached ends are covered by the peer routes; every other link's /24 goes left or right.
            cmds += [f"route add 198.18.{j}.0/24 dev link{node - 1}" for j in range(0, node - 1)]
            cmds += [f"route add 198.18.{j}.0/24 dev link{node}" for j in range(node + 1, n + 1)]
        cmds += self._reach_ip_cmds(node)
        return "\n".join(cmds) + "\n"

    # -- IPv6 chain and ECMP router (both off by default) -----------------------------------------------

    def _init_reach(self, ipv6: bool, ecmp_router: int | None) -> None:
        """ipv6: also give every link IPv6 addresses from the documentation prefix: link i is 2001:db8:i::/64,
        client-side end 2001:db8:i::1, target-side end 2001:db8:i::2 (so hop k answers from 2001:db8:(k-1)::2,
        the target is 2001:db8:N::2; see `hop_addrs6`). No reverse DNS for them.

        ecmp_router=k (1 <= k < N): router k gets a second, parallel link `link{k}b` to node k+1 (same
        impairment as link k, addresses 198.19.k.1 / 198.19.k.2) and a multipath route with both as equal-cost
        next hops for everything beyond, hashed on the 5-tuple (fib_multipath_hash_policy=1). Node k+1 answers
        from the address of the link a probe came in on, so hop k+1 has two responders, `ecmp_addrs`, and the
        one a probe meets depends on its flow (UDP/TCP ports)."""
        n = len(self.routers)
        self.ipv6 = ipv6

        def v6(link: int, end: int) -> str:  # canonical text, as every tool prints it (2001:db8::1)
            return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, f"2001:db8:{link:x}::{end}"))

        self.client_addr6 = v6(0, 1) if ipv6 else None
        self.target_addr6 = v6(n, 2) if ipv6 else None
        self.hop_addrs6 = [v6(k - 1, 2) for k in range(1, n + 2)] if ipv6 else []
        if ecmp_router is not None and not 1 <= ecmp_router < n:
            raise ValueError(f"ecmp_router must be within 1 and {n - 1} (a router before the last), not {ecmp_router}")
        self.ecmp_router = ecmp_router
        k = ecmp_router
        self.ecmp_addrs = (f"198.18.{k}.2", f"198.19.{k}.2") if k is not None else ()

    def _reach_sysctls(self, ns: str) -> list[str]:
        s = []
        if self.ipv6:
            s += [
                "net.ipv6.conf.all.disable_ipv6=0",
                "net.ipv6.conf.default.disable_ipv6=0",
                # Usable at once (no duplicate address detection) and quiet: no link-local addresses, so no
                # router solicitations or MLD reports cross the relay.
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.default.addr_gen_mode=1",
                "net.ipv6.conf.default.router_solicitations=0",
                "net.ipv6.conf.default.accept_ra=0",
                # The default (1000 ms per destination) would throttle time-exceededs and unreachables.
                "net.ipv6.icmp.ratelimit=0",
                f"net.ipv6.conf.all.forwarding={1 if ns in self.router_ns else 0}",
            ]
        if self.ecmp_router is not None and ns == self.router_ns[self.ecmp_router - 1]:
            s.append("net.ipv4.fib_multipath_hash_policy=1")
        return s

    def _reach_ip_cmds(self, node: int) -> list[str]:
        n = len(self.routers)
        cmds = []
        if self.ipv6:
            if node > 0:
                i = node - 1
                cmds.append(f"addr add 2001:db8:{i:x}::2 peer 2001:db8:{i:x}::1 dev link{i}")
            if node <= n:
                cmds.append(f"addr add 2001:db8:{node:x}::1 peer 2001:db8:{node:x}::2 dev link{node}")
            if node == 0:
                cmds.append("route add ::/0 dev link0")
            elif node == n + 1:
                cmds.append(f"route add 2001:db8::/32 dev link{n}")
            else:
                cmds += [f"route add 2001:db8:{j:x}::/64 dev link{node - 1}" for j in range(0, node - 1)]
                cmds += [f"route add 2001:db8:{j:x}::/64 dev link{node}" for j in range(node + 1, n + 1)]
        k = self.ecmp_router
        if k is not None and node in (k, k + 1):
            near, far = ("1", "2") if node == k else ("2", "1")
            cmds += [f"link set link{k}b up", f"addr add 198.19.{k}.{near} peer 198.19.{k}.{far} dev link{k}b"]
            if node == k:
                for j in range(k + 1, n + 1):
                    cmds += [
                        f"route del 198.18.{j}.0/24",
                        f"route add 198.18.{j}.0/24 nexthop via 198.18.{k}.2 dev link{k} "
                        f"nexthop via 198.19.{k}.2 dev link{k}b",
                    ]
        return cmds

    def _extra_relay_links(self) -> list[dict]:
        k = self.ecmp_router
        if k is None:
            return []
        spec = self.links[k]
        nodes = self.namespaces
        return [
            {
                "left": {"ns": nodes[k], "dev": f"link{k}b"},
                "right": {"ns": nodes[k + 1], "dev": f"link{k}b"},
                "fwd": spec.fwd.to_json(),
                "rev": spec.rev.to_json(),
            }
        ]

    def _start_relay(self) -> None:
        nodes = self.namespaces
        config = {
            "seed": self.seed,
            "parent_pid": os.getpid(),
            "control_socket": str(self.control_socket),
            "links": [
                {
                    "left": {"ns": nodes[i], "dev": f"link{i}"},
                    "right": {"ns": nodes[i + 1], "dev": f"link{i}"},
                    "fwd": spec.fwd.to_json(),
                    "rev": spec.rev.to_json(),
                }
                for i, spec in enumerate(self.links)
            ]
            + self._extra_relay_links(),
            "dns": {
                "ns": self.client_ns,
                "host": "127.0.0.1",
                "port": 53,
                "zone": ZONE,
                "ptr": self.names,
                "a": {name: addr for addr, name in reversed(list(self.names.items()))},
            },
            "cleanup": {"namespaces": self.namespaces, "paths": [str(self.etc_dir), str(self.state_dir)]},
        }
        cfg = self.state_dir / "relay.json"
        cfg.write_text(json.dumps(config, indent=1))
        with open(self.relay_log, "wb") as log:
            self.relay = subprocess.Popen(
                [sys.executable, "-m", "tests.netlab.relay", str(cfg)],
                cwd=REPO_ROOT,
                env=_python_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self._write_owner_file()
        deadline = time.monotonic() + READY_TIMEOUT_S
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.relay.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(self.relay.stdout.fileno(), 64)
            if not chunk:
                break
            line += chunk
        self.relay.stdout.close()
        if line.strip() != b"READY":
            self.relay.poll()
            log_text = self.relay_log.read_text(errors="replace").strip()[-2000:]
            raise LabError(f"relay did not start (exit code {self.relay.returncode}): {log_text or line!r}")

    # -- running things in the lab -----------------------------------------------------------------

    def exec_argv(self, argv: Sequence[str], ns: str | None = None) -> list[str]:
        """argv prefixed with `ip netns exec <ns>` (default: the client namespace)."""
        return ["ip", "netns", "exec", ns or self.client_ns, *argv]

    def run(self, argv: Sequence[str], ns: str | None = None, **kw) -> subprocess.CompletedProcess:
        """subprocess.run(argv) inside the client namespace (or `ns`). Defaults: capture_output=True,
        text=True, timeout=60; the repository root is put on PYTHONPATH."""
        if "stdout" not in kw and "stderr" not in kw:
            kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        kw["env"] = _python_env(kw.get("env"))
        return subprocess.run(self.exec_argv(argv, ns), **kw)

    def popen(self, argv: Sequence[str], ns: str | None = None, **kw) -> subprocess.Popen:
        """subprocess.Popen(argv) inside the client namespace (or `ns`); the caller waits for it."""
        kw["env"] = _python_env(kw.get("env"))
        return subprocess.Popen(self.exec_argv(argv, ns), **kw)

    def probe(
        self,
        ttls: Sequence[int],
        count: int = 10,
        interval_ms: float = 10.0,
        timeout_ms: float = 1000.0,
        target: str | None = None,
    ) -> dict[int, dict]:
        """ICMP echo probes from the client (tests/netlab/probe.py): count rounds, one probe per TTL per
        round, interval_ms apart. Returns {ttl: {"sent": n, "replies": [{"seq", "from", "type", "rtt_ms"}]}}."""
        argv = [sys.executable, "-m", "tests.netlab.probe", target or self.target_addr]
        argv += ["--ttls", ",".join(map(str, ttls)), "--count", str(count)]
        argv += ["--interval-ms", str(interval_ms), "--timeout-ms", str(timeout_ms)]
        r = self.run(argv)
        if r.returncode != 0:
            raise LabError(f"probe failed: {r.stderr.strip()}")
        return {int(k): v for k, v in json.loads(r.stdout)["ttls"].items()}

    def capture(self, dev: str = "link0", ns: str | None = None) -> Capture:
        """Start capturing on `dev` in `ns` (default: the client's link into the lab); see capture.py.
        Use as a context manager, or call stop(); the records are then in `.packets`."""
        return Capture(self, dev, ns)

    # -- configuration and counters ----------------------------------------------------------------

    def path_rtt_ms(self, ttl: int) -> float:
        """Configured mean round trip (ms) to the hop answering at `ttl`: the sum of fwd + rev delays of
        links 0..ttl-1. TTLs beyond the target count as the target. Excludes jitter skew and relay overhead."""
        if ttl < 1:
            raise ValueError("ttl must be >= 1")
        hops = min(ttl, len(self.links))
        return sum(link.fwd.delay_ms + link.rev.delay_ms for link in self.links[:hops])

    def set_link(self, i: int, spec: LinkSpec) -> None:
        """Change link i (0 = client-r1) at runtime; packets already in flight keep their delivery time."""
        if not 0 <= i < len(self.links):
            raise IndexError(f"link {i} does not exist (0..{len(self.links) - 1})")
        self._control({"cmd": "set_link", "link": i, "fwd": spec.fwd.to_json(), "rev": spec.rev.to_json()})
        self.links[i] = spec

    def relay_stats(self) -> list[dict]:
        """Per link: {"link": i, "fwd": {...}, "rev": {...}}, each direction with packets_in, dropped,
        delivered, overflow, write_errors, queued, lateness_mean_ms, lateness_max_ms, late_over_1ms and the
        current delay_ms / jitter_ms / loss_pct. Lateness = write time - due time, in ms (>= 0)."""
        return self._control({"cmd": "stats"})["links"]

    def reset_relay_stats(self) -> None:
        self._control({"cmd": "reset_stats"})

    def dns_queries(self, clear: bool = False) -> list[dict]:
        """Every query the lab DNS server received so far: [{"name", "type" ("PTR", "A", "AAAA", ...),
        "t" (wall clock, s)}], names lower case without the trailing dot."""
        return self._control({"cmd": "dns_queries", "clear": clear})["queries"]

    def _control(self, request: dict) -> dict:
        if self._closed:
            raise LabError("the lab is closed")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5.0)
            try:
                s.connect(str(self.control_socket))
                s.sendall(json.dumps(request).encode() + b"\n")
                data = b""
                while not data.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError as exc:
                raise LabError(f"relay control socket: {exc} (relay exit code {self._relay_rc()})") from exc
        reply = json.loads(data)
        if not reply.get("ok"):
            raise LabError(f"relay refused {request.get('cmd')}: {reply.get('error')}")
        return reply

    def _relay_rc(self) -> int | None:
        return self.relay.poll() if self.relay else None

    # -- teardown ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Tear everything down: relay, namespaces, /etc/netns/<client>, state directory. Idempotent and
        best effort: every step is tried; what could not be removed is reported as a RuntimeWarning."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        problems = []
        if self.relay is not None and self.relay.poll() is None:
            self.relay.terminate()
            try:
                self.relay.wait(5)
            except subprocess.TimeoutExpired:
                self.relay.kill()
                self.relay.wait(5)
        for ns in self._created_ns:
            r = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True)
            if r.returncode != 0 and os.path.exists(f"/run/netns/{ns}"):
                problems.append(f"namespace {ns}: {r.stderr.strip()}")
        for path in (self.etc_dir, self.state_dir):
            shutil.rmtree(path, ignore_errors=True)
            if path.exists():
                problems.append(f"could not remove {path}")
        if problems:
            warnings.warn(f"lab {self.prefix} teardown incomplete: {'; '.join(problems)}", RuntimeWarning, 2)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        """Human-readable summary: namespaces, addresses, names, links."""
        lines = [f"lab {self.prefix}: client {self.client_ns}, target {self.target_ns}"]
        lines.append(f"  client  {self.client_ns:<14} {self.client_addr:<15} {self.names[self.client_addr]}")
        for k, ns in enumerate(self.router_ns, start=1):
            spec = self.routers[k - 1]
            flags = (" silent" if spec.silent else "") + (
                f" icmp_ratelimit={spec.icmp_ratelimit_ms}ms" if spec.icmp_ratelimit_ms else ""
            )
            addr = self.hop_addrs[k - 1]
            lines.append(f"  hop {k:<3} {ns:<14} {addr:<15} {self.names[addr]}{flags}")
        lines.append(f"  hop {len(self.hop_addrs):<3} {self.target_ns:<14} {self.target_addr:<15} target.{ZONE}")
        for i, link in enumerate(self.links):
            lines.append(f"  link{i}: fwd {link.fwd}  rev {link.rev}")
        return "\n".join(lines)


@dataclass(frozen=True)
class CapturedProbe:
    """One probe seen on the wire: sent at tx_ns, answered at rx_ns (None: no reply was captured) by
    `responder` with ICMP `reply_type`. Times are kernel wall-clock stamps in ns."""

    key: tuple
    ttl: int
    tx_ns: int
    rx_ns: int | None
    responder: str | None
    reply_type: int | None

    @property
    def rtt_ms(self) -> float | None:
        return None if self.rx_ns is None else (self.rx_ns - self.tx_ns) / 1e6


class Capture:
    """A running `python -m tests.netlab.capture` in a lab namespace (see capture.py)."""

    def __init__(self, lab: Lab, dev: str, ns: str | None) -> None:
        self.packets: list[dict] = []
        self.dropped = 0
        self._proc = lab.popen(
            [sys.executable, "-m", "tests.netlab.capture", dev],
            ns=ns,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        line = self._proc.stdout.readline()
        if line.strip() != b"READY":
            self._proc.kill()
            _, err = self._proc.communicate(timeout=10)
            raise LabError(f"capture did not start: {(line + err).decode(errors='replace').strip()}")

    def stop(self) -> Capture:
        """Stop capturing and collect the records (idempotent)."""
        if self._proc.returncode is None:
            self._proc.terminate()
            out, err = self._proc.communicate(timeout=30)
            if self._proc.returncode != 0:
                raise LabError(f"capture failed ({self._proc.returncode}): {err.decode(errors='replace')}")
            doc = json.loads(out)
            self.packets, self.dropped = doc["packets"], doc["dropped"]
        return self

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def probes(self) -> list[CapturedProbe]:
        """Every probe the captured side sent (ICMP echo request or UDP), in sending order, each paired with
        the first reply quoting it (echo reply, time-exceeded or unreachable). A key that is reused (a
        16-bit sequence wrapping) pairs a reply with the latest request of that key sent before it."""
        sent: list[dict] = []
        latest: dict[tuple, int] = {}  # key -> index into sent
        replies: dict[int, dict] = {}
        for rec in sorted(self.packets, key=lambda r: r["t_ns"]):
            key = tuple(rec["key"]) if rec["key"] else None
            if key is None:
                continue
            is_request = rec["out"] and (rec["proto"] == 17 or rec.get("type") == 8)
            if is_request:
                latest[key] = len(sent)
                sent.append(rec)
            elif not rec["out"] and key in latest and latest[key] not in replies:
                replies[latest[key]] = rec
        out = []
        for i, req in enumerate(sent):
            rep = replies.get(i)
            out.append(
                CapturedProbe(
                    key=tuple(req["key"]),
                    ttl=req["ttl"],
                    tx_ns=req["t_ns"],
                    rx_ns=rep["t_ns"] if rep else None,
                    responder=rep["src"] if rep else None,
                    reply_type=rep.get("type") if rep else None,
                )
            )
        return out


def cleanup_stale_labs() -> list[str]:
    """Remove labs whose owner and relay processes are both gone (e.g. a test run killed with SIGKILL).
    Returns the prefixes removed. Labs of live processes (parallel runs) are left alone."""
    removed = []
    if not STATE_ROOT.is_dir():
        return removed
    for state in STATE_ROOT.iterdir():
        try:
            info = json.loads((state / "lab.json").read_text())
        except (OSError, ValueError):
            continue
        if any(_alive(pid) for pid in (info.get("owner_pid"), info.get("relay_pid")) if pid):
            continue
        for ns in info.get("namespaces", []):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for path in info.get("paths", []):
            shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):
            shutil.rmtree(state)
        removed.append(state.name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
