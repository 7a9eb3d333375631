"""pingmos monitor's own alert rules on the lab when the target is down (the breaker's findings 3 and 4): the last
link loses everything from before the agent starts, so the destination never answers; the MOS rule fires for both
targets (stderr, /metrics, the command). A reload that changes one target's max_ttl and removes the other keeps the
first episode (no second fire) and ends the removed one with a clear saying so; the link back, the episode clears."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.test_monitor_prometheus import get
from tests.netlab import LinkSpec, RouterSpec

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
AGENT = "127.0.0.1:9813"  # in the lab's client namespace
CLEAN = LinkSpec.symmetric(1.0)
DOWN = LinkSpec.symmetric(1.0, loss_pct=100.0)
RULE = "MOS below 3.5"


def config(lab, data_dir: Path, out: Path, dest_max_ttl: int = 8, udp: bool = True) -> str:
    text = f"""
[agent]
data_dir = "{data_dir}"
vantage = "lab"
refresh_s = 0.5
window = 50
interval_s = 0.2

[[alert]]
name = "{RULE}"
metric = "mos"
below = 3.5
window_s = 3
for_s = 2
min_samples = 5
command = ["/bin/sh", "-c", 'env | grep ^PINGMOS_ALERT_ > "$0/$PINGMOS_ALERT_STATE-$PINGMOS_ALERT_TARGET"', "{out}"]

[[target]]
host = "{lab.target_addr}"
name = "dest"
timeout_s = 0.5
max_ttl = {dest_max_ttl}
"""
    if udp:
        text += f'\n[[target]]\nhost = "{lab.target_addr}"\nname = "dest-udp"\nprotocol = "udp"\ntimeout_s = 0.5\n'
        text += "max_ttl = 8\n"
    return text


def firing(ns: str, target: str) -> float | None:
    text = get(ns, f"http://{AGENT}/metrics").decode()
    for line in text.splitlines():
        if line.startswith("pingmos_alert_firing{") and f'target="{target}"' in line and f'rule="{RULE}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_file(path: Path, timeout_s: float = 60.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while not path.exists() or not path.read_text().endswith("\n"):
        assert time.monotonic() < deadline, f"no {path.name} from the rule's command"
        time.sleep(0.2)
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_a_target_down_from_the_start_pages_and_a_reload_keeps_or_ends_its_episode(lab_factory, tmp_path, shared_dir):
    lab = lab_factory([RouterSpec()] * 4, [CLEAN] * 4 + [DOWN])  # link 4: into hop 5, the target
    ns = lab.client_ns
    cfg = tmp_path / "agent.toml"
    cfg.write_text(config(lab, tmp_path / "data", shared_dir))
    agent = lab.popen([sys.executable, "-m", "pingmos", "monitor", str(cfg), "--listen", AGENT, "--no-dns"],
                      cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        fired = wait_file(shared_dir / "fire-dest")
        wait_file(shared_dir / "fire-dest-udp")
        assert fired["PINGMOS_ALERT_VALUE"] == "1.000" and fired["PINGMOS_ALERT_TTL"] == "8"
        assert fired["PINGMOS_ALERT_PATH_END"] == "the destination has not answered"
        assert firing(ns, "dest") == 1 and firing(ns, "dest-udp") == 1
        # dest's max_ttl changes (it restarts), dest-udp is removed.
        cfg.write_text(config(lab, tmp_path / "data", shared_dir, dest_max_ttl=7, udp=False))
        agent.send_signal(signal.SIGHUP)
        ended = wait_file(shared_dir / "clear-dest-udp")
        assert ended["PINGMOS_ALERT_MESSAGE"] == f"{RULE} cleared for dest-udp: ended: removed by reload"
        (shared_dir / "fire-dest").unlink()
        for _ in range(10):  # 5 s of the outage on the restarted target: still in its episode, no second fire
            assert firing(ns, "dest") == 1 and firing(ns, "dest-udp") is None
            time.sleep(0.5)
        assert not (shared_dir / "fire-dest").exists() and not (shared_dir / "clear-dest").exists()
        lab.set_link(4, CLEAN)
        cleared = wait_file(shared_dir / "clear-dest")
        assert cleared["PINGMOS_ALERT_REASON"] == "" and float(cleared["PINGMOS_ALERT_VALUE"]) >= 3.7
        assert cleared["PINGMOS_ALERT_TTL"] == "5" and cleared["PINGMOS_ALERT_PATH_END"] == ""
    finally:
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=60)
    assert agent.returncode == 143, err
    lines = [line for line in err.splitlines() if f"{RULE} " in line]
    fires = [line for line in lines if " fired for dest:" in line]
    assert len(fires) == 1 and "MOS 1.00 at hop 8, the end of the path (the destination has not answered)" in fires[0]
    assert len([line for line in lines if " cleared for dest:" in line]) == 1, err
    assert len([line for line in lines if "cleared for dest-udp: ended: removed by reload" in line]) == 1, err
