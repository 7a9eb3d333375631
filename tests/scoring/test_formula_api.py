"""The public API a formula editor uses: editable_source, user_copy_of, copied_from, check_formula."""

import time
from pathlib import Path

import pytest

from pingmos.scoring import (
    HopWindow,
    ModelError,
    Score,
    UnknownModel,
    check_formula,
    copied_from,
    create_user_copy,
    editable_source,
    load_model,
    user_copy_of,
    user_scoring_dir,
)
from pingmos.scoring.catalog import registry
from pingmos.scoring.score import ALL_LOST

SEED = HopWindow.from_rtts([136, 184, 115, 148, 125])


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def test_editable_source_is_the_builtin_without_its_internal_tail():
    text = editable_source("g107-playout")
    assert text.splitlines()[0] == f"{registry.COPY_MARKER} g107-playout"
    assert "def score_hop(hop)" in text and registry.INTERNAL_MARKER not in text
    shipped = Path(registry.find_model("g107-playout").path).read_text()
    assert text.splitlines()[1:] == shipped.split("\n" + registry.INTERNAL_MARKER)[0].rstrip().splitlines()
    assert create_user_copy("g107-playout").read_text() == text
    with pytest.raises(UnknownModel):
        editable_source("nope")


def test_user_copy_of_finds_the_copy_of_a_name_with_a_dash_and_revert_text_follows_it():
    assert user_copy_of("g107-playout") is None
    first = create_user_copy("g107-playout")
    second = create_user_copy("g107-playout")
    assert (first.name, second.name) == ("my_g107_playout.py", "my_g107_playout_2.py")
    assert user_copy_of("g107-playout") == first  # the first copy, not a new one each time
    assert copied_from("my_g107_playout_2") == "g107-playout"
    # Revert of an edited copy: the text of the model it came from.
    first.write_text(first.read_text().replace("def score_hop", "# edited\ndef score_hop"))
    assert editable_source("my_g107_playout") == editable_source("g107-playout")
    # A user's own model is its own file; a formula written from scratch has nothing to revert to.
    own = user_scoring_dir() / "mine.py"
    own.write_text('"""Mine."""\ndef score_hop(hop):\n    return 80.0, 4.0\n')
    assert user_copy_of("mine") == own and copied_from("mine") is None
    with pytest.raises(ValueError, match="your own formula"):
        editable_source("mine")
    assert copied_from("pingplotter") is None


def test_a_copy_made_before_the_marker_line_is_found_by_its_file_name():
    folder = user_scoring_dir()
    folder.mkdir(parents=True)
    old = folder / "my_asterisk.py"
    old.write_text(editable_source("asterisk").split("\n", 1)[1])  # no marker line
    assert copied_from("my_asterisk") == "asterisk" and user_copy_of("asterisk") == old


def test_a_copy_of_a_users_model_keeps_its_edits():
    path = create_user_copy("pingplotter")
    path.write_text(path.read_text().replace("LOSS_PENALTY_PER_PCT = 2.5", "LOSS_PENALTY_PER_PCT = 3.0"))
    again = create_user_copy("my_pingplotter")
    assert again.name == "my_pingplotter_2.py" and "LOSS_PENALTY_PER_PCT = 3.0" in again.read_text()


def test_check_formula_scores_the_text_as_the_saved_model_would():
    text = editable_source("pingplotter")
    shown = user_scoring_dir() / "my_pingplotter.py"
    result = check_formula(text, shown, SEED)
    with load_model("pingplotter") as builtin:
        expected = builtin.score(SEED)
    assert isinstance(result, Score) and (result.r, result.mos) == (expected.r, expected.mos)
    assert not shown.exists()  # nothing written where the user's file goes
    # Settings the text declares apply; others (of the model being edited) are ignored; "" means the default.
    assert check_formula(text, shown, SEED, {"jitter": "stdev", "codec": "g729a"}).r != result.r
    assert check_formula(text, shown, SEED, {"jitter": ""}).r == result.r
    assert check_formula(text, shown, HopWindow.from_rtts([None, None])) == ALL_LOST
    assert check_formula(text, shown, HopWindow.from_rtts([])) is None


def test_check_formula_errors_name_the_users_file_and_line():
    text = editable_source("pingplotter")
    shown = "/home/me/.config/pingmos/scoring/my_pingplotter.py"
    broken = text.replace("    mos = r_to_mos(r)", "    mos = r_to_mos(r) / 0")
    line = broken.splitlines().index("    mos = r_to_mos(r) / 0") + 1
    error = check_formula(broken, shown, SEED)
    assert isinstance(error, ModelError)
    assert (error.file, error.line) == (shown, line) and "ZeroDivisionError" in error.message
    syntax = check_formula(text.replace("def score_hop(hop):", "def score_hop(hop)"), shown, SEED)
    assert isinstance(syntax, ModelError) and syntax.file == shown and "syntax error" in syntax.message
    bad = check_formula(text, shown, SEED, {"jitter": "sideways"})
    assert isinstance(bad, ModelError) and "sideways" in bad.message and "pingmos-check-" not in str(bad)
    raising = check_formula('"""T."""\ndef score_hop(hop):\n    raise ValueError(__file__)\n', shown, SEED)
    assert isinstance(raising, ModelError) and raising.message == f"ValueError: {shown}"


def test_check_formula_stops_an_endless_loop_at_the_deadline():
    started = time.monotonic()
    error = check_formula('"""Loop."""\ndef score_hop(hop):\n    while True:\n        pass\n', "x.py", SEED,
                          timeout_s=0.3)  # fmt: skip
    assert isinstance(error, ModelError) and "ran longer than 0.3 s" in error.message and error.line in (3, 4)
    assert time.monotonic() - started < 10.0


def test_a_broken_edit_keeps_the_last_working_score_beside_the_error_in_the_report():
    from pingmos.engine.events import Sample
    from pingmos.report.formats import to_json, to_table
    from pingmos.state import TraceState

    path = create_user_copy("pingplotter")
    state = TraceState("t", "198.18.0.9", "icmp", 1.0)
    for r, rtt in enumerate([136.0, 184.0, None, 115.0, 148.0]):
        state.apply(Sample(r, 1, r, 1700000000.0 + r, rtt, "198.18.0.9" if rtt else None, rtt is not None))
    with load_model("my_pingplotter") as model:
        good = state.snapshot(None, model, model.name).hops[0]
        assert good.mos is not None and good.score_fallback is None
        text = path.read_text()
        path.write_text(text.replace("def score_hop(hop):", "def score_hop(hop)"))  # a save half-way through an edit
        snap = state.snapshot(None, model, model.name)
    hop = snap.hops[0]
    line = text.splitlines().index("def score_hop(hop):") + 1
    assert hop.mos is None and hop.score_error == f"{path}:{line}: syntax error: expected ':'"
    assert (hop.score_fallback.r, hop.score_fallback.mos) == (good.r, good.mos)
    assert f"{good.mos:.2f}*" in to_table(snap)
    assert '"score_fallback": {' in to_json(snap)
