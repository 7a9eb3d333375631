"""pingmos monitor on the lab, scraped by a real Prometheus: the agent and Prometheus both run in the lab's client
namespace (Prometheus in the root namespace could not reach the namespace's loopback), the test asks Prometheus's
HTTP API for a hop's MOS and loss and checks them against the lab's configured delays and loss. A minimal SIP
responder in the target namespace answers the agent's OPTIONS probes. SIGHUP adds a target while the unchanged
one keeps counting; SIGTERM closes the session files."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from pingmos.session import open_session
from tests.netlab import LinkSpec, RouterSpec
from tests.netlab.relay import in_netns

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "resources" / "prometheus" / "pingmos.rules.yml"
DASHBOARD = REPO / "resources" / "grafana" / "pingmos.json"
AGENT = "127.0.0.1:9813"
PROM = "127.0.0.1:9090"
CLEAN = LinkSpec.symmetric(2.0)
LOSSY = LinkSpec.symmetric(3.0, loss_pct=10.0)  # ~19 % round-trip loss at the destination


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy from the environment


def get(ns: str, url: str, timeout_s: float = 5.0, wait_s: float = 30.0) -> bytes:
    """GET from inside the namespace; waits up to ``wait_s`` for the server to come up."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            # The socket is created inside the namespace and stays there.
            with in_netns(ns), _OPENER.open(url, timeout=timeout_s) as r:
                return r.read()
        except urllib.error.URLError as exc:
            # Refused: not listening yet. 503: Prometheus listens but is not ready (TSDB still opening), which on a
            # loaded machine lasts a few seconds.
            starting = isinstance(exc.reason, ConnectionRefusedError) or (
                isinstance(exc, urllib.error.HTTPError) and exc.code == 503
            )
            if not starting or time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def query(ns: str, expr: str) -> list[dict]:
    url = f"http://{PROM}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    doc = json.loads(get(ns, url))
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


def value(ns: str, expr: str, timeout_s: float = 30.0) -> float:
    """The single value of ``expr``, waiting until Prometheus has one."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = query(ns, expr)
        if len(result) == 1 and result[0]["value"][1] not in ("NaN",):
            return float(result[0]["value"][1])
        assert time.monotonic() < deadline, f"{expr}: {result}"
        time.sleep(0.5)


def config(lab, data_dir, extra: str = "") -> str:
    return f"""
[agent]
data_dir = "{data_dir}"
vantage = "lab"
refresh_s = 0.5
window = 50
interval_s = 0.2

[[target]]
host = "{lab.target_addr}"
name = "dest"
timeout_s = 0.5
labels = {{ site = "lab" }}

[[target]]
host = "sip:{lab.target_addr}:5060"
name = "pbx"
timeout_s = 0.5
{extra}"""


def test_prometheus_scrapes_the_agent_and_answers_for_a_hop(lab_factory, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.skip("prometheus is not installed (Debian package prometheus; scripts/setup_env installs it as root)")
    lab = lab_factory([RouterSpec()] * 3, [CLEAN, CLEAN, CLEAN, LOSSY])
    ns = lab.client_ns
    sip = lab.popen([sys.executable, "-m", "tests.monitor.sip_responder", lab.target_addr, "5060"], ns=lab.target_ns,
                    cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert sip.stdout.readline().strip() == "READY"
    cfg = tmp_path / "agent.toml"
    cfg.write_text(config(lab, tmp_path / "data"))
    agent = lab.popen([sys.executable, "-m", "pingmos", "monitor", str(cfg), "--listen", AGENT], cwd=REPO,
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    prom_cfg = tmp_path / "prometheus.yml"
    prom_cfg.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{RULES}']\n"
        f"scrape_configs:\n  - job_name: pingmos\n    static_configs: [{{targets: ['{AGENT}']}}]\n"
    )
    prom = lab.popen([prometheus, f"--config.file={prom_cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                      f"--web.listen-address={PROM}", "--log.level=warn"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        # Hop 1: 4 ms round trip, no loss. The destination (hop 4): 2 x (2 + 2 + 2 + 3) = 18 ms, ~19 % loss.
        wait_s = 45.0
        value(ns, 'pingmos_hop_mos{target="dest", hop="1", model="g107-jb"}', wait_s)
        # Wait for a full window at the destination (50 probes at 0.2 s), then read the figures of both hops: read
        # at its first appearance, hop 1's MOS came from a handful of samples, where one probe the loaded machine's
        # relay lost or held late moved it to 4.10 (a CI-like run beside a second test suite).
        value(ns, 'pingmos_hop_window_probes{target="dest", hop="4"} >= 50', wait_s)
        mos1 = value(ns, 'pingmos_hop_mos{target="dest", hop="1", model="g107-jb"}')
        assert value(ns, 'pingmos_hop_info{target="dest", hop="1", address="198.18.0.2", position="first"}') == 1
        lat1 = value(ns, 'pingmos_hop_latency_seconds{target="dest", hop="1"}')
        loss1 = value(ns, 'pingmos_hop_loss_ratio{target="dest", hop="1"}')
        dest = f'target="dest", hop="4", position="last", address="{lab.target_addr}"'
        assert value(ns, f"pingmos_hop_info{{{dest}}}") == 1
        loss4 = value(ns, 'pingmos_hop_loss_ratio{target="dest", hop="4"}')
        mos4 = value(ns, 'pingmos_hop_mos{target="dest", hop="4"}')
        # A call to the target is the destination's figures (pingmos_target_mos, what the page rule reads).
        # (One query: both from the same scrape.)
        end, hop4 = 'pingmos_target_mos{target="dest"}', 'pingmos_hop_mos{target="dest", hop="4"}'
        same = f"abs({end} - on (target, vantage, model) {hop4})"
        assert value(ns, same) < 1e-9
        lat4 = value(ns, 'pingmos_hop_latency_seconds{target="dest", hop="4"}')
        p50 = value(ns, 'histogram_quantile(0.5, rate(pingmos_hop_rtt_seconds_bucket{target="dest", hop="4"}[20s]))')
        print(f"hop 1: MOS {mos1:.2f}, loss {loss1:.1%}, {lat1 * 1000:.1f} ms; hop 4: MOS {mos4:.2f}, "
              f"loss {loss4:.1%}, {lat4 * 1000:.1f} ms, histogram median {p50 * 1000:.1f} ms")  # fmt: skip
        # Lower bounds are the configured path (nothing arrives early); upper bounds leave 10-15 ms for a loaded
        # 2-core machine's late wake-ups in the relay and the agent: this test checks that the figures reach
        # Prometheus as the path's, the engine's precision is tests/lab/test_accuracy.py's (measured on the wire).
        # Hop 1's link loses nothing; a probe lost by the loaded machine's relay is allowed, once in the window.
        assert loss1 <= 0.04 and mos1 > (4.3 if loss1 == 0 else 4.0) and 0.003 < lat1 < 0.015
        assert 0.05 < loss4 < 0.4 and mos4 < mos1 - 0.3
        assert 0.017 < lat4 < 0.035 and 0.01 < p50 < 0.05
        assert value(ns, 'pingmos_target_destination_reached{target="dest", site="lab", vantage="lab"}') == 1
        assert value(ns, 'pingmos_target_hops{target="dest"}') == 4
        # SIP OPTIONS beside the trace: answered 200 by the responder across the lossy link.
        assert value(ns, 'pingmos_sip_last_response_code{target="pbx"}') == 200
        sip_time = value(ns, 'pingmos_sip_response_time_seconds{target="pbx"}')
        assert 0.017 < sip_time < 0.06
        assert value(ns, 'pingmos_sip_responses_total{target="pbx", code="200"}') > 0
        assert value(ns, 'pingmos_sip_options_sent_total{target="pbx"}') > 0
        # The shipped alert rules load and evaluate cleanly against the real series.
        groups = json.loads(get(ns, f"http://{PROM}/api/v1/rules"))["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        assert len(rules) == 5 and all(r["health"] == "ok" for r in rules), rules
        # Every dashboard query runs (variables set to this lab's values).
        doc = json.loads(DASHBOARD.read_text())
        exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
        for expr in exprs:
            expr = expr.replace("$__rate_interval", "20s").replace("$vantage", "lab").replace("$target", "dest|pbx")
            query(ns, expr)  # asserts success
        assert query(ns, 'max by (hop) (pingmos_hop_mos{target=~"dest"})')

        # SIGHUP: a new target starts, the unchanged ones keep counting from where they were.
        before = value(ns, 'pingmos_hop_probes_sent_total{target="dest", hop="1"}')
        cfg.write_text(config(lab, tmp_path / "data", '\n[[target]]\nhost = "198.18.0.2"\nname = "r1"\n'))
        agent.send_signal(signal.SIGHUP)
        value(ns, 'pingmos_hop_probes_sent_total{target="r1", hop="1"} > 0', wait_s)
        after = value(ns, 'pingmos_hop_probes_sent_total{target="dest", hop="1"}')
        assert after > before
        assert value(ns, 'resets(pingmos_hop_probes_sent_total{target="dest", hop="1"}[1m])') == 0
    finally:
        prom.terminate()
        agent.send_signal(signal.SIGTERM)
        sip.terminate()
        _, err = agent.communicate(timeout=30)
        prom.wait(timeout=30)
        sip.wait(timeout=10)
    assert agent.returncode == 143, err  # SIGTERM: stopped in order
    assert "configuration reloaded: 2 target(s) kept, 1 started" in err
    with open_session(next((tmp_path / "data" / "dest").glob("*.pingmos"))) as s:
        assert s.sample_count() > 100 and s.info.target == "dest"
    with open_session(next((tmp_path / "data" / "pbx").glob("*.pingmos"))) as s:
        codes = [e.data["code"] for e in s.events() if e.kind == "sip-options"]
        assert codes and set(codes) <= {200, None} and 200 in codes
    assert re.search(r"metrics at http://127\.0\.0\.1:9813/metrics", err)
