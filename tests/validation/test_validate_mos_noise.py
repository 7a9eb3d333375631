"""scripts/validate_mos_noise.py: g107-jb's probe-view noise split by its inputs, on the study's saved results."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "resources" / "validation" / "results.json"


@pytest.fixture(scope="module")
def noise():
    spec = importlib.util.spec_from_file_location("validate_mos_noise", ROOT / "scripts" / "validate_mos_noise.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def doc():
    return json.loads(RESULTS.read_text())


def test_the_study_mix_is_the_studys_table_and_the_whole_path_mix_does_not_move(noise, doc):
    drawn = noise.paths(doc, 2)
    assert all(len(each) == 2 and len(whole) == 15_000 for each, whole, _ in drawn)
    rows = noise.decompose(doc, drawn)
    assert len(rows) == 2 * 2 * len(noise.MIXES)
    table = {(r["buffer"], r["set"]): r["spearman"] for r in doc["table"] if r["model"] == "g107-jb"}
    for r in rows:
        if r.label.startswith("every input"):  # the first view is the study's: its Spearman is the table's
            assert r.rhos[0] == pytest.approx(table[(r.buffer, r.split)], abs=1e-12)
            assert r.sd > 0.01
        elif r.label.startswith("none"):  # every input from the whole path: the views agree exactly
            assert r.sd == 0.0 and r.rhos[0] == r.rhos[1]
    assert "round-trip loss" in noise.input_spread(doc, drawn)
    # the study's spacing through the denser views' path: the first view is the study's again
    study_spacing = noise.denser(doc, drawn, 50, 2)
    for r in study_spacing:
        assert r.rhos[0] == pytest.approx(table[(r.buffer, r.split)], abs=1e-12)
    twice = noise.denser(doc, drawn, 25, 2)  # 600 round trips a view: every MOS moves less from view to view
    for r, once in zip(twice, study_spacing, strict=True):
        assert r.sd < once.sd


def test_a_study_that_does_not_redraw_is_refused(noise, doc, tmp_path, capsys):
    other = dict(doc, seed=doc["seed"] + 1)
    with pytest.raises(ValueError, match="does not redraw"):
        noise.paths(other, 2)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(other))
    assert noise.main(["--results", str(path), "--views", "2"]) == 2
    assert "does not redraw as the study drew it" in capsys.readouterr().err
    assert noise.main(["--views", "11"]) == 2
    assert noise.main(["--results", str(tmp_path / "missing.json")]) == 2
    assert noise.main(["--views", "2", "--near-min", "1.5"]) == 2
    assert noise.main(["--views", "2", "--denser", "50"]) == 2
