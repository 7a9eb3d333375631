"""scripts/validate_mos_pooled.py: agreement over conditions pooled from several studies' results.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "validate_mos_pooled.py"
scipy_stats = pytest.importorskip("scipy.stats")


def _doc(truths, predicted, sets, views=None):
    conditions = []
    for i, (t, p, s) in enumerate(zip(truths, predicted, sets, strict=True)):
        c = {
            "name": f"c{i}",
            "set": s,
            "truth_mos": {"fixed": t, "adaptive": t},
            "predicted_mos": {"m": {"fixed": p, "adaptive": p}},
        }
        if views is not None:
            c["probe_views_predicted_mos"] = {"m": {"fixed": views[i], "adaptive": views[i]}}
        conditions.append(c)
    return {"seed": 1, "conditions": conditions}


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_pooled_figures_are_those_of_the_concatenated_conditions(tmp_path):
    rng = np.random.default_rng(3)
    t1, t2 = rng.uniform(1, 4.5, 12), rng.uniform(1, 4.5, 9)
    p1, p2 = t1 + rng.normal(0, 0.4, 12), t2 + rng.normal(0, 0.4, 9)
    sets1 = ["training"] * 6 + ["held-out"] * 6
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_doc(t1.tolist(), p1.tolist(), sets1)))
    b.write_text(json.dumps(_doc(t2.tolist(), p2.tolist(), ["training"] * 9)))
    done = _run(f"{a}:held-out", str(b))
    assert done.returncode == 0, done.stderr
    truth = np.concatenate([t1[6:], t2])
    pred = np.concatenate([p1[6:], p2])
    rho = scipy_stats.spearmanr(pred, truth).statistic
    mae = np.abs(pred - truth).mean()
    line = next(x for x in done.stdout.splitlines() if x.startswith("m ") and "adaptive" in x)
    fields = line.split()
    assert fields[2] == "15"  # 6 held-out of a, all 9 of b
    assert float(fields[3]) == pytest.approx(rho, abs=5e-4)
    assert float(fields[6]) == pytest.approx(mae, abs=5e-4)  # model buffer n rho (ci) pearson MAE max
    assert "15 conditions pooled from 2 file(s)" in done.stdout


def test_views_are_summarised_when_every_condition_saved_them(tmp_path):
    truths = [1.0, 2.0, 3.0, 4.0, 4.4, 1.5]
    views = [[t, -t] for t in truths]  # view 0 ranks perfectly (rho 1), view 1 reversed (rho -1)
    f = tmp_path / "v.json"
    f.write_text(json.dumps(_doc(truths, truths, ["held-out"] * 6, views)))
    done = _run(str(f))
    assert done.returncode == 0, done.stderr
    assert "0.000 (-1.000-1.000) over 2" in done.stdout


def test_the_stored_replication_gives_the_figures_the_readme_quotes():
    done = _run(
        str(REPO_ROOT / "resources" / "validation" / "replication_seed11" / "results.json"), "--model", "g107-jb"
    )
    assert done.returncode == 0, done.stderr
    rows = {x.split()[1]: x for x in done.stdout.splitlines() if x.startswith("g107-jb")}
    assert rows["fixed"].split()[2:4] == ["90", "0.981"]
    assert rows["adaptive"].split()[2:4] == ["90", "0.952"]
    readme = (REPO_ROOT / "README.md").read_text()
    assert "0.952 (0.909-0.973)" in readme and "0.981 (0.959-0.989)" in readme


@pytest.mark.parametrize(
    ("arg", "said"),
    [
        ("missing.json", "cannot read missing.json"),
        ("bad.json", "cannot read"),
        ("good.json:held-out", "conditions chosen"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, arg, said):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "good.json").write_text(json.dumps(_doc([1.0, 2.0], [1.0, 2.0], ["training", "training"])))
    done = subprocess.run([sys.executable, str(SCRIPT), arg], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_rescore_predicts_again_with_the_model_of_now_and_the_readme_quotes_it():
    # seed 11's saved probe views scored by g107-jb as it is now (its per-buffer late-loss weights were fitted on
    # them, so these are development figures, quoted as such), against the saved predictions of the model before
    done = _run(
        str(REPO_ROOT / "resources" / "validation" / "replication_seed11" / "results.json"),
        "--model",
        "g107-jb",
        "--rescore",
    )
    assert done.returncode == 0, done.stderr
    assert "predictions made again" in done.stdout
    rows = {x.split()[1]: x for x in done.stdout.splitlines() if x.startswith("g107-jb")}
    assert rows["fixed"].split()[2:4] == ["90", "0.981"]
    assert rows["adaptive"].split()[2:5] == ["90", "0.967", "(0.935-0.980)"]
    assert "over 10" not in done.stdout  # the other views' round trips are not saved: no view figures
    readme = (REPO_ROOT / "README.md").read_text()
    assert "0.967 (0.935-0.980)" in readme


def test_rescore_without_saved_probe_views_is_one_line(tmp_path):
    f = tmp_path / "bare.json"
    f.write_text(json.dumps(_doc([1.0, 2.0, 3.0, 4.0, 4.4], [1.0, 2.0, 3.0, 4.0, 4.4], ["training"] * 5)))
    done = _run(str(f), "--rescore")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--rescore" in done.stderr and "Traceback" not in done.stderr
