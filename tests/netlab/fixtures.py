"""pytest fixture for the network lab. Register it in a conftest.py with
`from tests.netlab.fixtures import lab_factory  # noqa: F401`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from tests.netlab.lab import Lab, LinkSpec, RouterSpec, cleanup_stale_labs, lab_unavailable_reason

LabFactory = Callable[..., Lab]


@pytest.fixture
def lab_factory() -> Iterator[LabFactory]:
    """`lab_factory(routers, links, seed=0) -> Lab` (same arguments as Lab.build). Every lab built is torn
    down after the test, whether it passed or not. Skips the test when the machine cannot host a lab
    (not root, no /dev/net/tun, no `ip netns`)."""
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(reason)
    cleanup_stale_labs()  # labs left by killed runs; live labs of parallel runs are kept
    labs: list[Lab] = []

    def make(routers: Sequence[RouterSpec], links: Sequence[LinkSpec], seed: int = 0, **options) -> Lab:
        lab = Lab.build(routers, links, seed=seed, **options)  # options: ipv6, ecmp_router (Lab.build)
        labs.append(lab)
        return lab

    try:
        yield make
    finally:
        for lab in labs:
            lab.close()
