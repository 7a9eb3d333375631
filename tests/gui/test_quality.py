"""Quality bands and the hop where MOS falls apart (pure functions)."""

import pytest

from pingmos.gui.quality import ACCEPTABLE, BAD, GOOD, POOR, Thresholds, first_bad_hop, loss_band, mos_band
from pingmos.hop_report import HopReport


def hop(ttl, mos, address="198.18.0.9"):
    return HopReport(
        ttl=ttl, address=address, name=None, responders={}, sent=10, received=10, loss_pct=0.0, loss_ci_pct=None,
        last_ms=1.0, avg_ms=1.0, min_ms=1.0, max_ms=1.0, stdev_ms=None, jitter_ms=None, r=None, mos=mos,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("mos", "band"),
    [(4.4, GOOD), (4.0, GOOD), (3.99, ACCEPTABLE), (3.6, ACCEPTABLE), (3.59, POOR), (3.1, POOR), (3.09, BAD),
     (1.0, BAD), (None, None)],
)  # fmt: skip
def test_mos_bands_follow_the_seed_thresholds(mos, band):
    assert mos_band(mos, Thresholds()) == band


def test_bands_move_with_the_thresholds():
    t = Thresholds(mos_good=4.2, mos_acceptable=3.9, mos_poor=3.5)
    assert mos_band(4.1, t) == ACCEPTABLE
    assert mos_band(3.4, t) == BAD


def test_loss_bands():
    t = Thresholds(loss_warn_pct=1.0, loss_bad_pct=5.0)
    assert [loss_band(x, t) for x in (0.0, 1.0, 1.1, 5.0, 5.1, None)] == [GOOD, GOOD, POOR, POOR, BAD, None]


def test_thresholds_must_rise():
    with pytest.raises(ValueError):
        Thresholds(mos_good=3.0, mos_acceptable=3.6, mos_poor=3.1).validate()
    with pytest.raises(ValueError):
        Thresholds(loss_warn_pct=5.0, loss_bad_pct=1.0).validate()


def test_first_bad_hop_is_where_mos_falls_and_stays_down():
    t = Thresholds()
    assert first_bad_hop([hop(1, 4.4), hop(2, 4.3), hop(3, 2.0), hop(4, 1.5), hop(5, 1.2)], t) == 3


def test_a_dip_that_recovers_is_not_marked_and_silent_hops_do_not_break_a_run():
    t = Thresholds()
    assert first_bad_hop([hop(1, 4.4), hop(2, 2.0), hop(3, 4.3), hop(4, 4.2)], t) is None
    assert first_bad_hop([hop(1, 4.4), hop(2, 2.0), hop(3, 4.3), hop(4, 2.5), hop(5, None, None), hop(6, 2.0)], t) == 4
    assert first_bad_hop([hop(1, 4.4), hop(2, 3.5)], t) is None  # poor, not below poor
    assert first_bad_hop([], t) is None
    assert first_bad_hop([hop(1, 3.0)], t) == 1
