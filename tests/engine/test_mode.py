"""Probe-mode selection with the capabilities monkeypatched: no sockets are opened."""

import socket

import pytest

from pingmos.engine import mode as mode_mod
from pingmos.engine.mode import NoProbeMode, choose_mode
from pingmos.engine.network import NoPermission

V4, V6 = socket.AF_INET, socket.AF_INET6


@pytest.fixture
def caps(monkeypatch):
    """Set what this process may do: caps(raw=..., ping=..., helper=[argv] or None)."""

    def set_caps(raw=False, ping=False, helper=None):
        monkeypatch.setattr(mode_mod, "raw_sockets_allowed", lambda family=V4: raw)
        monkeypatch.setattr(mode_mod, "ping_sockets_allowed", lambda family=V4: ping)
        monkeypatch.setattr(mode_mod, "helper_command", lambda: helper)

    return set_caps


@pytest.mark.parametrize(
    ("raw", "ping", "helper", "protocol", "expected"),
    [
        (True, True, ["h"], "icmp", "raw"),
        (False, True, ["h"], "icmp", "unprivileged"),
        (False, False, ["h"], "udp", "unprivileged"),  # ordinary UDP sockets: no sysctl needed
        (False, True, ["h"], "tcp", "helper"),  # nothing unprivileged sends TCP
        (False, False, ["h"], "icmp", "helper"),
        (True, False, None, "tcp", "raw"),
    ],
)
def test_auto_picks_the_best_available(caps, raw, ping, helper, protocol, expected):
    caps(raw=raw, ping=ping, helper=helper)
    chosen = choose_mode("auto", V4, protocol)
    assert chosen.name == expected
    assert chosen.description  # something to show in the header / status bar


def test_none_available_says_exactly_what_to_do(caps):
    caps()
    with pytest.raises(NoProbeMode) as err:
        choose_mode("auto", V4, "icmp")
    text = str(err.value)
    assert "setcap cap_net_raw+ep" in text
    assert "ping_group_range" in text
    assert mode_mod.HELPER_ENV in text
    assert isinstance(err.value, NoPermission)  # the CLI's exit-77 path catches it


def test_none_available_for_tcp_suggests_icmp_not_the_sysctl(caps):
    caps()
    text = str(pytest.raises(NoProbeMode, choose_mode, "auto", V4, "tcp").value)
    assert "--protocol icmp / udp" in text and "ping_group_range" not in text


def test_explicit_modes_are_honoured_or_refused_with_the_reason(caps):
    caps(raw=False, ping=True, helper=["h"])
    assert choose_mode("unprivileged", V6, "icmp").name == "unprivileged"
    assert choose_mode("helper", V4, "icmp").name == "helper"
    with pytest.raises(NoProbeMode, match="raw sockets are not allowed"):
        choose_mode("raw", V4, "icmp")
    with pytest.raises(NoProbeMode, match="ICMP and UDP only"):
        choose_mode("unprivileged", V4, "tcp")
    assert choose_mode("unprivileged", V4, "udp").description == "unprivileged UDP sockets"
    caps(raw=True, ping=False, helper=None)
    with pytest.raises(NoProbeMode, match="ping_group_range"):
        choose_mode("unprivileged", V4, "icmp")
    with pytest.raises(NoProbeMode, match="helper"):
        choose_mode("helper", V4, "icmp")
    with pytest.raises(ValueError):
        choose_mode("magic", V4, "icmp")


def test_helper_command_prefers_the_configured_one(monkeypatch):
    monkeypatch.setenv(mode_mod.HELPER_ENV, "/opt/probe --flag 'a b'")
    assert mode_mod.helper_command() == ["/opt/probe", "--flag", "a b"]


def test_helper_command_as_a_user_without_sudo_or_desktop(monkeypatch):
    monkeypatch.delenv(mode_mod.HELPER_ENV, raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(mode_mod.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(mode_mod, "_passwordless_sudo", lambda: False)
    assert mode_mod.helper_command() is None
    monkeypatch.setattr(mode_mod, "_passwordless_sudo", lambda: True)
    assert mode_mod.helper_command()[:2] == ["sudo", "-n"]
    monkeypatch.setattr(mode_mod, "_passwordless_sudo", lambda: False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(mode_mod.shutil, "which", lambda name: "/usr/bin/" + name)
    assert mode_mod.helper_command()[0] == "pkexec"


def test_the_real_checks_agree_with_what_the_sockets_say():
    # As root (CI) raw sockets open; as a user they do not unless granted. Either way the check must not lie.
    try:
        socket.socket(V4, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
        expected = True
    except OSError:
        expected = False
    assert mode_mod.raw_sockets_allowed(V4) is expected


def test_the_helper_runs_isolated_from_the_users_directory_and_pythonpath(monkeypatch):
    # It may run as root: `python -I` never imports from the working directory, PYTHONPATH or user site.
    monkeypatch.delenv(mode_mod.HELPER_ENV, raising=False)
    monkeypatch.setattr(mode_mod.os, "geteuid", lambda: 0)
    assert mode_mod.helper_command() == [mode_mod.sys.executable, "-I", "-m", "pingmos.engine.probe_helper"]


def test_after_dropping_root_auto_raw_and_helper_use_the_helper_forked_before(caps, monkeypatch):
    """``shared_helper.start_and_drop`` leaves a helper holding raw sockets; the process itself has none."""
    caps(raw=False, ping=True, helper=None)

    class Forked:
        dead = None

        def network(self):
            return "a network over the forked helper"

    monkeypatch.setattr(mode_mod, "_shared_helper", Forked())
    for requested in ("auto", "raw", "helper"):
        chosen = choose_mode(requested, V4, "tcp")
        assert chosen.name == "helper" and chosen.open() == "a network over the forked helper"
    assert choose_mode("unprivileged", V4, "icmp").name == "unprivileged"
    Forked.dead = "the probe helper has exited"  # gone: back to what this process may do itself
    assert choose_mode("auto", V4, "icmp").name == "unprivileged"
