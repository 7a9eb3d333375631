"""-4 / -6: which address of a name is traced (getaddrinfo is monkeypatched: no DNS query is ever sent)."""

import socket

import pytest

from pingmos.cli import _resolve
from pingmos.engine.resolve import ResolveError, resolve_target

NAMES = {
    "dual.lab.test": ["198.18.3.2", "2001:db8:3::2"],
    "v6only.lab.test": ["2001:db8:3::2"],
    "v4only.lab.test": ["198.18.3.2"],
    "mdns.lab.test": ["224.0.0.251"],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    def getaddrinfo(host, port, family=0, type=0, *rest):
        addrs = [a for a in NAMES.get(host, []) if family == 0 or (family == socket.AF_INET6) == (":" in a)]
        if not addrs:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, type, 0, "", (a, 0) if ":" not in a else (a, 0, 0, 0))
            for a in addrs
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_with_both_gives_ipv4_by_default_and_ipv6_with_dash_6():
    assert _resolve("dual.lab.test", None) == "198.18.3.2"
    assert _resolve("dual.lab.test", 4) == "198.18.3.2"
    assert _resolve("dual.lab.test", 6) == "2001:db8:3::2"


def test_a_name_with_one_family_is_traced_over_it_unless_the_other_is_demanded():
    assert _resolve("v6only.lab.test", None) == "2001:db8:3::2"
    with pytest.raises(ResolveError, match="no IPv4 address|not known"):
        _resolve("v6only.lab.test", 4)
    with pytest.raises(ResolveError):
        _resolve("v4only.lab.test", 6)
    with pytest.raises(ResolveError, match="not known"):
        _resolve("nothing.lab.test", None)  # the IPv4 error is the one reported


def test_literals_are_canonical_and_checked_against_the_family_without_dns():
    assert resolve_target("2001:DB8:0:0::2", None) == "2001:db8::2"
    assert resolve_target("198.18.0.1", None) == "198.18.0.1"
    with pytest.raises(ResolveError, match="is an IPv6 address, but IPv4 was asked for"):
        resolve_target("2001:db8::2", 4)


def test_the_window_resolves_a_name_as_the_report_does():
    from pingmos.engine.fake_network import FakeHop, FakeNetwork
    from pingmos.live_trace import LiveTrace

    trace = LiveTrace("dual.lab.test", rounds=1, network_factory=lambda: FakeNetwork([FakeHop("198.18.3.2", 1.0)]))
    trace.start()
    assert trace.join(10)
    assert trace.status().address == _resolve("dual.lab.test", None) == "198.18.3.2"


@pytest.mark.parametrize(
    ("text", "literal"),
    [("127.0.0.1", True), ("::1", True), ("fe80::1%eth0", True), ("198.18.0.1%eth0", False),
     ("fe80::1%bad zone", False), ("lab.test.999", False), ("127.0.0.1/8", False), ("target.lab.test", False)],
)  # fmt: skip
def test_an_address_literal_needs_no_lookup_and_passes_the_name_check(text, literal, monkeypatch):
    from pingmos.engine.resolve import check_host_name, is_address_literal

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail(f"looked up {a[:1]}"))
    assert is_address_literal(text) is literal
    if literal:
        check_host_name(text)  # an address is never refused as a malformed name


@pytest.mark.parametrize(
    "target, words",
    [
        ("224.0.0.1", "'224.0.0.1' is a multicast group address, not one host"),
        ("ff02::1", "'ff02::1' is a multicast group address, not one host"),
        ("0.0.0.0", "'0.0.0.0' is the unspecified address, not one host"),
        ("::", "'::' is the unspecified address"),
        ("255.255.255.255", "'255.255.255.255' is the broadcast address"),
        ("::ffff:127.0.0.1", "'::ffff:127.0.0.1' is an IPv4-mapped IPv6 address: trace its IPv4 address, 127.0.0.1"),
        ("mdns.lab.test", "'mdns.lab.test' (224.0.0.251) is a multicast group address"),
    ],
)
def test_an_address_of_no_one_host_is_refused_before_any_probe(target, words):
    # Before: the raw socket sent to it and the report showed 100 % loss, MOS 1.00 (as if a host had been measured);
    # an IPv4-mapped address went out over IPv6, where nothing answers for it.
    with pytest.raises(ResolveError) as exc:
        _resolve(target, None)
    assert words in str(exc.value)


NON_CANONICAL_IPV4 = [
    ("0x7f000001", "single-number and hex form, which pingmos does not read: give it as 127.0.0.1"),
    ("127.1", "2-part shorthand form, which pingmos does not read: give it as 127.0.0.1"),
    ("127.0.1", "3-part shorthand form, which pingmos does not read: give it as 127.0.0.1"),
    ("2130706433", "single-number form, which pingmos does not read: give it as 127.0.0.1"),
    ("0x7f.0.0.1", "hex form, which pingmos does not read: give it as 127.0.0.1"),
    ("0177.0.0.01", "octal (a leading 0) form, which pingmos does not read: give four decimal numbers without "
     "leading zeros (inet_aton reads this one as 127.0.0.1)"),
    ("127.0.0.1.", "trailing-dot form, which pingmos does not read: give it as 127.0.0.1"),
    ("127.0.0.256", "is neither an IP address nor a host name"),  # no address inet_aton reads: not one at all
    ("0x1ffffffff", "is neither an IP address nor a host name"),
]  # fmt: skip


@pytest.mark.parametrize("target, words", NON_CANONICAL_IPV4)
def test_a_non_canonical_ipv4_form_is_refused_the_same_everywhere_a_host_is_read(target, words, monkeypatch):
    """One rule for inet_aton's forms (hex, octal, shorthand): refused with the dotted-decimal address, never looked
    up. Before, 0x7f000001 went to getaddrinfo (and was traced) while 127.1 was refused as no host name at all."""
    import tomllib

    from pingmos.engine.fake_network import FakeHop, FakeNetwork
    from pingmos.live_trace import LiveTrace
    from pingmos.monitor.config import ConfigError, config_from_data
    from pingmos.run import RESOLVE

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail(f"looked up {a[:1]}"))
    with pytest.raises(ResolveError) as exc:  # the report's TARGET, the window's lone word
        _resolve(target, None)
    assert words in str(exc.value)
    with pytest.raises(ConfigError) as exc:  # the agent's [[target]] host
        config_from_data(tomllib.loads(f'[[target]]\nhost = "{target}"\n'))
    assert words in str(exc.value)
    # the window's target field: its trace stops at the resolve stage with the same words, nothing sent
    trace = LiveTrace(target, rounds=1, network_factory=lambda: FakeNetwork([FakeHop("127.0.0.1", 1.0)]))
    trace.start()
    assert trace.join(30)
    status = trace.status()
    assert status.error_stage == RESOLVE and words in status.error
