"""scripts/validate_mos --quick: the whole study on a few conditions, as the suite can afford (a few seconds)."""

import json

from pingmos.scoring import available_models
from pingmos.validation import plots
from pingmos.validation.__main__ import main


def test_quick_study_scores_every_model_and_is_deterministic(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))  # the built-ins only
    assert main(["--quick", "--jobs", "1", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    names = [m.name for m in available_models()]
    for name in names:
        for buffer in ("fixed", "adaptive"):
            assert f"{name:<14} {buffer:<9} training" in out and f"{name:<14} {buffer:<9} held-out" in out
    for buffer in ("fixed", "adaptive"):  # one call per condition: no halves to compare, and it says so
        assert f"truth reliability {buffer:<9} held-out  n/a" in out
    assert "over 10 probe views of each path (300 round trips each, 100 ms apart)" in out
    first = json.loads((tmp_path / "a" / "results_quick.json").read_text())
    assert (tmp_path / "a" / "scatter_quick.png").stat().st_size > 10_000
    assert (tmp_path / "a" / "per_factor_quick.png").stat().st_size > 10_000
    conditions = first["conditions"]
    assert len(conditions) == 6 and {c["set"] for c in conditions} == {"training", "held-out"}
    clean = conditions[0]  # the "clean, 10 ms" anchor: a clean G.711 call scores G.107's 4.41 by calibration
    assert clean["truth_mos"]["adaptive"] > 4.3 and clean["mouth_to_ear_ms"]["fixed"] == 90.0
    assert all(set(c["predicted_mos"]) == set(names) for c in conditions)
    assert all(len(c["probe_rtts_ms"]) == 300 for c in conditions)
    # every model scored every probe view of every path, the table's first
    for c in conditions:
        for name in names:
            for buffer, mos in c["probe_views_predicted_mos"][name].items():
                assert len(mos) == 10 and mos[0] == c["predicted_mos"][name][buffer]
    assert {(r["model"], r["buffer"], r["set"]) for r in first["probe_views"]} == {
        (m, b, s) for m in names for b in ("fixed", "adaptive") for s in ("training", "held-out")
    }
    # the same seed gives the same study. The figures are drawn from the results compared here and were checked
    # above: this run skips drawing them again (half of a quick run's CPU time).
    monkeypatch.setattr(plots, "scatter", lambda outcomes, path, caption="": path)
    monkeypatch.setattr(plots, "per_factor", lambda outcomes, path, caption="": path)
    assert main(["--quick", "--jobs", "1", "--out", str(tmp_path / "b")]) == 0
    assert json.loads((tmp_path / "b" / "results_quick.json").read_text()) == first


def test_bad_option(capsys):
    assert main(["--calls", "0"]) == 2
    assert capsys.readouterr().err.strip() == "validate_mos: --calls must be at least 1, not 0"
