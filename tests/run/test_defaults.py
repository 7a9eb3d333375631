"""The run layer's defaults: the same for the report, the window and the agent."""

from pingmos.engine.tracer import TraceSettings
from pingmos.run import LIVE_WINDOW, default_port, default_timeout_s, default_window


def test_a_counted_run_is_judged_over_all_its_rounds_an_open_ended_one_over_the_last_600():
    assert default_window(10) is None and default_window(None) == LIVE_WINDOW == 600


def test_the_default_live_window_can_call_a_clean_path_clean_at_the_default_loss_threshold():
    from pingmos.diagnosis import DEFAULT_THRESHOLDS, wilson_bound_samples
    from pingmos.monitor.config import DEFAULT_WINDOW as AGENT_WINDOW
    from pingmos.stats import wilson_interval_pct

    need = wilson_bound_samples(0.0, DEFAULT_THRESHOLDS.loss_pct_above / 100.0)
    assert need == 381 and need <= LIVE_WINDOW and AGENT_WINDOW == LIVE_WINDOW
    # one stray loss in the window still clears the threshold
    assert wilson_interval_pct(1, LIVE_WINDOW)[1] <= DEFAULT_THRESHOLDS.loss_pct_above


def test_default_port_and_timeout_are_the_engines():
    for protocol in ("udp", "tcp"):
        assert default_port(protocol) == TraceSettings("198.18.0.1", protocol=protocol).effective_port
    for interval_s in (0.1, 1.0, 5.0):
        assert default_timeout_s(interval_s) == TraceSettings("198.18.0.1", interval_s=interval_s).effective_timeout_s
