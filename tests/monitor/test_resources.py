"""The shipped Prometheus and Grafana files: promtool checks the rules and the example configuration and runs the
rules' own unit tests; the dashboard names only series the agent serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pingmos.monitor.metrics import AgentCollector, AgentHealth

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
PROMETHEUS = RESOURCES / "prometheus"
DASHBOARD = RESOURCES / "grafana" / "pingmos.json"


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; scripts/setup_env installs it as root)")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, cwd=PROMETHEUS)


def served_names() -> set[str]:
    """Every series name the agent's /metrics can hold (histograms with their _bucket/_sum/_count)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AgentCollector(lambda: [], lambda: AgentHealth(0.0, {}, 0, 1), "v"))
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", generate_latest(registry).decode(), re.MULTILINE):
        names |= {name} if kind != "histogram" else {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    exprs += [a["expr"] for a in doc["annotations"]["list"]]
    exprs += [v["definition"] for v in doc["templating"]["list"] if "definition" in v]
    return exprs


def test_alert_rules_pass_promtool_and_their_unit_tests():
    r = promtool("check", "rules", "pingmos.rules.yml")
    assert r.returncode == 0 and "SUCCESS: 5 rules found" in r.stdout, r.stdout + r.stderr
    t = promtool("test", "rules", "pingmos.rules.test.yml")
    assert t.returncode == 0 and "SUCCESS" in t.stdout, t.stdout + t.stderr


def test_the_example_scrape_configuration_is_valid():
    r = promtool("check", "config", "prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_dashboard_uses_only_series_the_agent_serves():
    served = served_names()
    doc = json.loads(DASHBOARD.read_text())
    assert doc["uid"] and len(doc["panels"]) >= 8
    titles = " ".join(p["title"] for p in doc["panels"]).lower()
    for wanted in ("mos at the destination", "mos per hop", "loss per hop", "latency per hop", "route changes",
                   "alerts"):  # fmt: skip
        assert wanted in titles
    assert any(p["type"] == "heatmap" for p in doc["panels"])
    used = {n for e in dashboard_exprs() for n in re.findall(r"\bpingmos_[a-z_]+\b", e)}
    assert used and used <= served, used - served
    rules = (PROMETHEUS / "pingmos.rules.yml").read_text()
    used_by_rules = set(re.findall(r"\bpingmos_[a-z_]+\b", rules))
    assert used_by_rules <= served, used_by_rules - served


def test_the_service_files_fit_the_command():
    from pingmos.cli import build_parser
    from pingmos.monitor.config import load_config

    unit = (RESOURCES / "systemd" / "pingmos-monitor.service").read_text()
    exec_start = re.search(r"^ExecStart=\S+/pingmos (.+)$", unit, re.MULTILINE).group(1).split()
    assert build_parser().parse_args(exec_start).command == "monitor"
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit and "User=pingmos" in unit
    assert re.search(r"^CapabilityBoundingSet=$", unit, re.MULTILINE)  # no capability unless TCP is wanted
    # systemctl stop = SIGTERM, after which the agent exits 143: the unit must count that a clean stop.
    from pingmos.monitor.serve import EXIT_TERMINATED

    success = re.search(r"^SuccessExitStatus=(.+)$", unit, re.MULTILINE)
    assert success and str(EXIT_TERMINATED) in success.group(1).split()
    cfg = load_config(str(RESOURCES / "systemd" / "agent.toml"))
    assert cfg.data_dir == "/var/lib/pingmos" and cfg.targets[0].sip is not None
    sysctl = (RESOURCES / "systemd" / "99-pingmos-ping.conf").read_text()
    assert re.search(r"^net\.ipv4\.ping_group_range = \d+ \d+$", sysctl, re.MULTILINE)


def test_systemd_accepts_the_unit(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (RESOURCES / "systemd" / "pingmos-monitor.service").read_text()
    # The unit names /opt/pingmos/bin/pingmos, absent here; verify checks that the command exists.
    (tmp_path / "pingmos-monitor.service").write_text(unit.replace("/opt/pingmos/bin/pingmos", "/bin/true"))
    r = subprocess.run([tool, "verify", str(tmp_path / "pingmos-monitor.service")], capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
