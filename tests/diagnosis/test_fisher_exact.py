"""diagnosis.fewer_lost_p is Fisher's exact test, one-sided ("a loses less than b"): written in pingmos (scipy is not
a runtime dependency), checked here against scipy.stats.fisher_exact on the counts a verdict meets."""

import itertools

import pytest

from pingmos.diagnosis import fewer_lost_p

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("sent_a, sent_b", [(10, 10), (30, 100), (100, 30), (300, 300), (600, 17)])
def test_fewer_lost_p_is_scipys_one_sided_fisher_test(sent_a, sent_b):
    for lost_a, lost_b in itertools.product(
        sorted({0, 1, 2, sent_a // 20, sent_a // 3, sent_a}), sorted({0, 1, 3, sent_b // 10, sent_b // 2, sent_b})
    ):
        table = [[lost_a, sent_a - lost_a], [lost_b, sent_b - lost_b]]
        expected = stats.fisher_exact(table, alternative="less").pvalue
        assert fewer_lost_p(lost_a, sent_a, lost_b, sent_b) == pytest.approx(expected, rel=1e-9, abs=1e-12), table


def test_nothing_sent_is_no_evidence():
    assert fewer_lost_p(0, 0, 5, 10) == 1.0 and fewer_lost_p(1, 10, 0, 0) == 1.0
