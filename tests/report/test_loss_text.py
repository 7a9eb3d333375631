"""One text for loss and its interval (``display_text.loss_text`` / ``loss_ci_text``): the table, the verdict, the
window and the alerts show the same figures, and none shows a non-zero loss as 0.0 nor an interval whose upper end
is above 0 as "0-0"."""

from __future__ import annotations

import pytest

from pingmos.alerts import FIRE, AlertEvent
from pingmos.cli import main
from pingmos.display_text import loss_ci_text, loss_text
from pingmos.stats import wilson_interval_pct
from tests.session.test_mtr_cases import one_hop_log  # the loss-display case's gen.py


@pytest.mark.parametrize(
    "lost,sent,loss,ci",
    [
        (0, 1000, "0.0", "0.0-0.4"),  # README: never "0-0" when the upper end is 0.4
        (2, 2000, "0.1", "0.0-0.4"),
        (1, 3000, "0.03", "0.0-0.2"),
        (0, 100_000, "0.0", "0.000-0.004"),
        (1, 1_000_000, "0.0001", "0.000-0.001"),
        (2999, 3000, "99.97", "99.8-100.0"),
        (3000, 3000, "100.0", "99.9-100.0"),
        (5, 5, "100.0", "56.6-100.0"),
        (0, 30, "0.0", "0.0-11.4"),
    ],
)
def test_loss_and_its_interval_never_hide_what_was_measured(lost, sent, loss, ci):
    assert loss_text(100.0 * lost / sent, lost, sent) == loss
    assert loss_ci_text(wilson_interval_pct(lost, sent), lost, sent) == ci


def test_unknown_values_are_a_dash():
    assert loss_text(None) == "-" and loss_text(float("nan")) == "-"
    assert loss_ci_text(None) == "-" and loss_ci_text((0.0, float("inf"))) == "-"


@pytest.mark.parametrize("n,lost,loss,ci", [(1000, set(), "0.0", "0.0-0.4"), (3000, {1500}, "0.03", "0.0-0.2")])
def test_the_table_and_its_verdict_say_the_same_loss(tmp_path, capsys, n, lost, loss, ci):
    p = tmp_path / "log.mtr-raw.txt"
    p.write_text(one_hop_log(n, lost))
    assert main(["report", "--session", str(p), "198.18.0.2"]) == 0  # the log's destination: no lookup
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[4:6] == [loss, ci]
    verdict = lines[-1]
    assert f"loss {loss} % (95 % CI {ci})" in verdict, verdict


def test_an_alert_shows_loss_as_the_table_does():
    event = AlertEvent("loss", FIRE, 0.0, "198.18.0.9", 3, None, "loss_pct", 100.0 / 3000, 1.0, 60.0, 3000)
    assert "loss 0.03 %" in event.message
