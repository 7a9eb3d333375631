"""The raw-socket network takes each probe's send time from the kernel (SO_TIMESTAMPING), not from Python.

Loopback only; needs raw sockets (root), skipped otherwise."""

import os
import time

import pytest

from pingmos.engine.network import RawSocketNetwork
from pingmos.engine.packets import IcmpEchoTemplate

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")


def test_send_time_is_the_kernels_stamp_between_the_call_and_its_return():
    net = RawSocketNetwork()
    try:
        template = IcmpEchoTemplate("127.0.0.1", "127.0.0.1", 0x5A5A)
        for seq in range(20):
            before = time.time()
            sent_at = net.send(template.packet(64, seq), "127.0.0.1")
            after = time.time()
            # Same wall clock as the receive stamps, and strictly inside the sendto() call.
            assert before <= sent_at <= after
        assert net.kernel_send_stamps == 20
    finally:
        net.close()


def test_a_late_stamp_is_never_paired_with_the_wrong_packet():
    net = RawSocketNetwork()
    try:
        template = IcmpEchoTemplate("127.0.0.1", "127.0.0.1", 0x5A5B)
        # Leave two stamps unread on the error queue, as if they had come back after send() returned.
        net._tx.sendto(template.packet(64, 1), ("127.0.0.1", 0))
        net._tx.sendto(template.packet(64, 2), ("127.0.0.1", 0))
        net._tx_counter += 2
        before = time.time()
        sent_at = net.send(template.packet(64, 3), "127.0.0.1")
        assert sent_at >= before  # the two stale stamps were older than this send: drained, not used
        assert net.kernel_send_stamps == 1
    finally:
        net.close()
