"""The agent's TOML configuration: what it accepts, and one line naming file, line and key for what it refuses."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from pingmos.monitor.config import ConfigError, find_line, load_config, parse_listen, parse_sip

GOOD = """\
[agent]
listen = "127.0.0.1:9999"
data_dir = "/tmp/x"
vantage = "office"
window = 30

[[alert]]
metric = "mos"
below = 3.5
for_s = 300

[[target]]
host = "198.18.0.9"

[[target]]
host = "sip:198.18.1.2:5080"
sip_interval_s = 60
name = "pbx"
protocol = "udp"
port = 33434
interval_s = 2
model = "g107"
model_settings = { codec = "g729a" }
labels = { site = "berlin" }
[[target.alert]]
metric = "loss_pct"
above = 1.0
for_s = 300
"""


def write(tmp_path, text):
    p = tmp_path / "agent.toml"
    p.write_text(text)
    return str(p)


def test_a_full_configuration_is_read(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.listen == ("127.0.0.1", 9999) and cfg.vantage == "office" and cfg.data_dir == "/tmp/x"
    plain, pbx = cfg.targets
    assert plain.name == "198.18.0.9" and plain.window == 30 and plain.protocol == "icmp" and plain.sip is None
    assert [r.name for r in plain.rules] == ["MOS below 3.5"]
    assert pbx.name == "pbx" and pbx.host == "198.18.1.2" and pbx.sip.port == 5080 and pbx.port == 33434
    assert pbx.sip.interval_s == 60.0 and plain.sip is None
    assert pbx.interval_s == 2.0 and pbx.model == "g107" and pbx.model_settings == (("codec", "g729a"),)
    assert pbx.labels == (("site", "berlin"),)
    assert [r.metric for r in pbx.rules] == ["mos", "loss_pct"]
    # Equal settings compare equal: what a reload uses to keep a target running.
    assert load_config(write(tmp_path, GOOD)).targets == cfg.targets


def test_the_default_model_is_the_products_one(tmp_path):
    # One default for the report, the window and the agent: the one the validation study chose (README).
    from pingmos.scoring import DEFAULT_MODEL

    cfg = load_config(write(tmp_path, GOOD))
    assert DEFAULT_MODEL == "g107-jb"
    assert cfg.targets[0].model == DEFAULT_MODEL and cfg.targets[1].model == "g107"
    other = load_config(write(tmp_path, "[agent]\nmodel = 'pingplotter'\n[[target]]\nhost = 'a'\n"))
    assert other.targets[0].model == "pingplotter"


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("[agent]\nlisten = \n", 2, "not valid TOML"),
        ("[agent]\nvantage = 'x'\nlisten = 'nope'\n[[target]]\nhost='a'\n", 3, "listen must be ADDR:PORT"),
        ("[[target]]\nhost = 'a'\n\n[[target]]\nhost = 'b'\ninterval_s = 0\n", 6, "interval_s must be"),
        ("[[target]]\nhost = 'a'\n[[target]]\nhost = 'b'\ncolour = 'red'\n", 5, "unknown setting 'colour'"),
        ("[[target]]\nhost = 'a'\nprotocol = 'sctp'\n", 3, "protocol must be one of"),
        ("[[target]]\nhost = 'a'\nport = 80\n", 3, "port applies to protocol udp or tcp"),
        ("[[target]]\nhost = 'a'\nmodel = 'nosuch'\n", 3, "nosuch"),
        ("[[target]]\nhost = 'a'\n[target.labels]\nsite = 'x'\ntarget = 'y'\n", 5, "pingmos's own"),
        ("[[target]]\nhost = 'a'\nlabels = { 'bad-name' = 'x' }\n", 3, "not a Prometheus label name"),
        ("[[target]]\nname = 'a'\n", 1, "host is missing"),
        ("[[target]]\nhost = 'a'\n[[target]]\nhost = '224.0.0.1'\n", 4, "is a multicast group address, not one"),
        ("[[target]]\nhost = 'sip:[ff02::1]:5060'\n", 2, "'ff02::1' is a multicast group address"),
        ("[[target]]\nhost = 'a'\n[[target]]\nhost = 'a'\n", 4, "two targets are named 'a'"),
        ("[[target]]\nhost = 'a'\n[[target.alert]]\nmetric = 'mos'\nabove = 3\n", 3, "mos alerts when it is below"),
        ("[[alert]]\nmetric = 'mos'\nbelow = 3\n[[alert]]\nmetric = 'volume'\n[[target]]\nhost='a'\n", 4, "metric"),
        ("[agent]\nmax_probes_per_s = 50\n[[target]]\nhost = 'a'\n[[target]]\nhost = 'b'\n", 2, "60 probes/s"),
        ("[agent]\n", 1, "no targets"),
        # one table where an array of tables was meant: it said "no targets: add one [[target]] table"
        ("[agent]\nwindow = 30\n\n[target]\nhost = 'a'\n", 4, "[target] is one table; write [[target]] (two"),
        ("target = 5\n", 1, "target must be an array of tables: [[target]]"),
        ("[[target]]\nhost = 'sip:a:99999'\n", 2, "SIP port"),
        ("[[target]]\nhost = 'a'\nsip_interval_s = 60\n", 3, "sip: target only"),
        # it exited 77 ("no permission") naming neither file nor line
        ("[agent]\nwindow = 30\nuser = 'nosuchuser-pingmos'\n[[target]]\nhost = 'a'\n", 3, "does not exist on this"),
    ],
)
def test_a_bad_configuration_names_file_line_and_key(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message and "\n" not in message


def test_the_command_says_it_in_one_line_and_exits_2(tmp_path):
    path = write(tmp_path, "[[target]]\nhost = 'a'\n\n[[target]]\nhost = 'b'\nwindow = -1\n")
    r = subprocess.run([sys.executable, "-m", "pingmos", "monitor", path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert (
        r.stderr.strip() == f"pingmos monitor: error: {path}:6: target 2 (b): window must be a whole number "
        "within 1 and 1e+06, not -1"
    )
    missing = subprocess.run(
        [sys.executable, "-m", "pingmos", "monitor", str(tmp_path / "none.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "cannot open the configuration" in missing.stderr


def test_listen_and_sip_addresses():
    assert parse_listen("0.0.0.0:9813") == ("0.0.0.0", 9813)
    assert parse_listen("[::1]:9813") == ("::1", 9813)
    for bad in ("9813", "host.example:9813", "127.0.0.1:0", "[::1]"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    assert parse_sip("sip:pbx.lab.test") == parse_sip("sip:pbx.lab.test:5060")
    assert parse_sip("sip:[2001:db8::1]:5070").host == "2001:db8::1"


def test_find_line_looks_in_the_right_table():
    text = "[agent]\nwindow = 1\n[[target]]\nhost = 'a'\nwindow = 2\n[[target]]\nhost = 'b'\n[target.labels]\nx = 1\n"
    assert find_line(text, "agent", None, "window") == 2
    assert find_line(text, "target", 1, "window") == 5
    assert find_line(text, "target", 2, "window") == 6  # not there: the table's header
    assert find_line(text, "target", 2, "x", "labels") == 9


def test_a_mos_alert_must_be_able_to_clear_with_the_targets_model(tmp_path):
    # The rules dialog's check (pingmos.alerts.check_reach), per target with the model that scores it.
    common = "[[alert]]\nmetric = 'loss_pct'\nabove = 1\n[[alert]]\nname = 'voice'\nmetric = 'mos'\nbelow = 4.2\n"
    path = write(tmp_path, common + "[[target]]\nhost = 'a'\nmodel = 'pingplotter'\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value) == (
        f"{path}:4: target 1 (a): [[alert]]: rule 2 (voice): it would never clear at the default MOS 4.4 (threshold "
        "+ 0.2): pingplotter gives at most 4.40 on a clean path (10 ms, no loss); add clear_at = 4.3 (between 4.2 "
        "and 4.40)"
    )
    own = "[[target]]\nhost = 'b'\n[[target.alert]]\nmetric = 'loss_pct'\nabove = 1\n[[target.alert]]\n"
    path = write(tmp_path, own + "metric = 'mos'\nbelow = 4\nclear_at = 4.45\n")
    with pytest.raises(
        ConfigError, match=r":6: target 1 \(b\): \[\[target.alert\]\]: rule 2 .*never clear at MOS 4.45"
    ):
        load_config(path)
    # A rule for another target is judged with that target's model only; a reachable level loads.
    other = "[[alert]]\nmetric = 'mos'\nbelow = 4.2\nclear_at = 4.3\ntarget = 'c'\n"
    cfg = load_config(write(tmp_path, other + "[[target]]\nhost = 'c'\nmodel = 'g107'\n[[target]]\nhost = 'd'\n"))
    assert [len(t.rules) for t in cfg.targets] == [1, 0]


@pytest.mark.parametrize(
    "kind, words",
    [("device", "is a device, not a configuration file; give a regular file"),
     ("fifo", "is a FIFO (named pipe), not a configuration file; give a regular file"),
     ("dir", "is a directory, not a configuration file"),
     ("missing", "cannot open the configuration")],
)  # fmt: skip
def test_a_config_that_is_no_regular_file_is_refused_at_once_without_reading(tmp_path, kind, words):
    """/dev/zero was read without end (OOM) and a FIFO waited forever for a writer: both are refused at once."""
    import os

    path = {"device": "/dev/zero", "dir": str(tmp_path), "missing": str(tmp_path / "none.toml")}.get(kind)
    if kind == "fifo":
        path = str(tmp_path / "agent.toml")
        os.mkfifo(path)  # no writer: opening it blocking would wait forever
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert words in str(err.value)


def test_a_config_larger_than_any_agent_needs_is_refused(tmp_path, monkeypatch):
    from pingmos.monitor import config

    monkeypatch.setattr(config, "MAX_CONFIG_BYTES", 100)
    with pytest.raises(ConfigError, match=r"agent\.toml: \d+ bytes is more than a configuration may hold \(100"):
        load_config(write(tmp_path, GOOD))


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_monitor_command_refuses_a_device_or_fifo_config_in_one_line_rc_2(tmp_path, kind):
    import os

    path = "/dev/zero"
    if kind == "fifo":
        path = str(tmp_path / "agent.toml")
        os.mkfifo(path)
    # the timeout only bounds a regression (it read /dev/zero until OOM, waited on a FIFO forever)
    done = subprocess.run([sys.executable, "-m", "pingmos", "monitor", path], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"pingmos monitor: error: {path}: is a ")
    assert "not a configuration file; give a regular file" in done.stderr


@pytest.mark.parametrize(
    "host, words",
    [("", "host must be a non-empty string"), ("a b", "a space or a control character"),
     ("198.18.0.0/15", "is a network (address/prefix)"), ("x" * 300, "at most 253 characters"),
     ("bad_label.test", "a label is 1-63 letters"), ("sip:bad_label.test", "a label is 1-63 letters"),
     ("lab.test.999", "neither an IP address nor a host name")],
)  # fmt: skip
def test_a_malformed_target_host_is_refused_when_read_before_any_lookup(tmp_path, monkeypatch, host, words):
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail(f"looked up {a[:1]}"))
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f"[[target]]\nhost = {host!r}\n".replace("'", '"')))
    assert "target 1: host must be a " in str(err.value) and words in str(err.value)


def test_well_formed_hosts_are_read_without_a_lookup(tmp_path, monkeypatch):
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail(f"looked up {a[:1]}"))
    hosts = ["voip.example.net", "198.18.0.9", "2001:db8::9", "fe80::1%eth0", "sip:pbx.lab.test:5080", "sip:[::1]"]
    text = "".join(f'[[target]]\nhost = "{h}"\nname = "t{n}"\n' for n, h in enumerate(hosts))
    assert len(load_config(write(tmp_path, text)).targets) == 6


@pytest.mark.parametrize(
    "first, second, folder",
    [("東京", "大阪", "__"), ("a/b", "a_b", "a_b"), ("pbx.example.", "pbx.example", "pbx.example")],
)
def test_two_targets_recording_to_one_folder_are_refused(tmp_path, first, second, folder):
    # Before: both targets recorded into DATA_DIR/<folder>/, their sessions mixed (each opened as the other).
    text = f'[agent]\ndata_dir = "{tmp_path}"\n\n[[target]]\nhost = "127.0.0.1"\nname = "{first}"\n\n'
    text += f'[[target]]\nhost = "::1"\nname = "{second}"\n'
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text))
    assert str(exc.value).endswith(
        f":10: target 2: {first!r} and {second!r} would record to the same folder {folder!r} under data_dir; give "
        "one of them a name = \"...\" that differs in letters a-z, digits, '.', '-' or '_'"
    )
    # without recording there is no folder to share
    names = [t.name for t in load_config(write(tmp_path, text.replace(f'data_dir = "{tmp_path}"', ""))).targets]
    assert names == [first, second]


def test_an_unusable_data_dir_is_refused_at_the_start_in_one_line_rc_2(tmp_path):
    # The agent ran on without recording (one "cannot record" per target, and only at its first refresh).
    from pingmos.monitor.config import check_data_dir

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = "[[target]]\nhost = '127.0.0.1'\n"
    path = write(tmp_path, f"[agent]\nwindow = 30\ndata_dir = '{blocker / 'sessions'}'\n{target}")
    with pytest.raises(ConfigError) as exc:
        check_data_dir(load_config(path), path)
    assert str(exc.value).startswith(f"{path}:3: [agent] data_dir ") and "remove data_dir" in str(exc.value)
    good = write(tmp_path, f"[agent]\ndata_dir = '{tmp_path / 'new' / 'dir'}'\n{target}")
    check_data_dir(load_config(good), good)  # created, and nothing left in it
    assert list((tmp_path / "new" / "dir").iterdir()) == []
    # The command: exit 2 before any probe or port (the breaker's /proc/nope).
    with socket.socket() as s:  # a free loopback port, never opened: the check comes first
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bad = write(tmp_path, f"[agent]\nlisten = '127.0.0.1:{port}'\ndata_dir = '/proc/nope'\n{target}")
    r = subprocess.run([sys.executable, "-m", "pingmos", "monitor", bad, "--no-dns"], capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert r.returncode == 2, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"pingmos monitor: error: {bad}:3: [agent] data_dir '/proc/nope' cannot hold"), last
    assert "metrics at" not in r.stderr and "monitoring" not in r.stderr
