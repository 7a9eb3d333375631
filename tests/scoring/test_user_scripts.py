"""The user's own formula: the editable copy, hot reload, and every way a script can fail without taking pingmos
down (syntax error, no function, exception, NaN, out of range, endless loop, exit), entry-point discovery, and
that neither listing models nor loading settings runs code."""

import importlib.metadata
import os
import threading
import time
from pathlib import Path

import pytest

from pingmos.scoring import (
    HopWindow,
    ModelError,
    Score,
    available_models,
    create_user_copy,
    find_model,
    load_model,
    user_scoring_dir,
)
from pingmos.scoring.catalog import registry
from pingmos.scoring.sandbox.parent import MAX_BACKOFF_S, MIN_BACKOFF_S, ScriptModel, worker_pid
from pingmos.scoring.score import ALL_LOST

SEED = HopWindow.from_rtts([136, 184, 115, 148, 125])
HEADER = '"""A test formula."""\nfrom pingmos.scoring.formula_api import r_to_mos, setting\n\n'


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PINGMOS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def write(name: str, body: str, header: str = HEADER) -> Path:
    folder = user_scoring_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(header + body)
    return path


GOOD = "def score_hop(hop):\n    r = 90.0 - hop.loss_pct\n    return r, r_to_mos(r), {'x': 1.0}\n"


@pytest.fixture
def models():
    made = []

    def make(name, settings=None, **kw):
        m = load_model(name, settings, **kw)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


def test_user_scoring_dir_honours_the_env_var(config_dir):
    assert user_scoring_dir() == config_dir / "scoring"


def test_edit_the_formula_copy_scores_like_the_default(models):
    path = create_user_copy("pingplotter")
    assert path == user_scoring_dir() / "my_pingplotter.py"
    text = path.read_text()
    assert "pingmos internal" not in text and "def score(" not in text and "def score_hop(hop)" in text
    info = find_model("my_pingplotter")
    assert (info.origin, info.path, info.error) == ("user", str(path), None)
    assert [s.name for s in info.settings] == ["jitter"]
    builtin = models("pingplotter").score(SEED)
    copy = models("my_pingplotter").score(SEED)
    assert isinstance(copy, Score) and (copy.r, copy.mos, copy.detail) == (builtin.r, builtin.mos, builtin.detail)
    # a second copy never overwrites the first
    assert create_user_copy("pingplotter") == user_scoring_dir() / "my_pingplotter_2.py"
    assert create_user_copy("g107-playout").name == "my_g107_playout.py"


def test_a_copy_made_before_the_formulas_moved_still_scores(models):
    """Copies of the built-ins used to import ``pingmos.scoring.script_api`` and ``pingmos.scoring.g107``."""
    old_header = (
        '"""An old copy of g107-playout."""\nfrom pingmos.scoring.g107 import e_model, one_way_ms\n'
        "from pingmos.scoring.script_api import setting\n\n"
    )
    new_text = create_user_copy("g107-playout").read_text()
    assert "pingmos.scoring.formulas.g107" in new_text and "pingmos.scoring.formula_api" in new_text
    body = new_text[new_text.index("\nSETTINGS") :]
    write("my_old_copy", body, header=old_header)
    old = models("my_old_copy").score(SEED)
    builtin = models("g107-playout").score(SEED)
    assert isinstance(old, Score) and (old.r, old.mos) == (builtin.r, builtin.mos)


def test_hot_reload_picks_up_a_change_at_the_next_call(models):
    path = create_user_copy("pingplotter")
    model = models("my_pingplotter")
    window = HopWindow.from_summary(20.0, 5.0, 2.0)
    assert model.score(window).r == pytest.approx(87.2)  # 93.2 - 40/40 - 2.5 * 2
    # same length, written at once: an mtime check could miss it, the text comparison does not
    path.write_text(path.read_text().replace("LOSS_PENALTY_PER_PCT = 2.5", "LOSS_PENALTY_PER_PCT = 3.5"))
    assert model.score(window).r == pytest.approx(85.2)


def test_syntax_error_reports_file_and_line_and_keeps_the_last_good_result(models):
    path = write("mine", GOOD)
    model = models("mine")
    good = model.score(SEED)
    assert good.r == 90.0
    path.write_text(HEADER + "def score_hop(hop)\n    return 1, 1\n")  # line 4: missing colon
    error = model.score(SEED)
    assert isinstance(error, ModelError)
    assert (error.file, error.line) == (str(path), 4) and "syntax error" in error.message
    assert error.fallback == good  # shown beside the error, never as the score
    path.write_text(HEADER + GOOD.replace("90.0", "80.0"))
    assert model.score(SEED).r == 80.0


def test_missing_function(models):
    path = write("nofunc", "def score(hop):\n    return 1, 1\n")
    result = models("nofunc").score(SEED)
    assert isinstance(result, ModelError) and result.file == str(path) and "score_hop" in result.message


def test_exception_reports_the_line_that_raised(models):
    path = write("boom", "def score_hop(hop):\n    x = 0\n    return hop.avg_ms / x, 1.0\n")
    result = models("boom").score(SEED)
    assert isinstance(result, ModelError)
    assert (result.file, result.line) == (str(path), 6) and "ZeroDivisionError" in result.message


@pytest.mark.parametrize(
    "body,words",
    [
        ("    return float('nan'), 2.0\n", "not a number"),
        ("    return 50.0, float('inf')\n", "not a number"),
        ("    return 200.0, 2.0\n", "R 200 is out of range"),
        ("    return 50.0, 4.9\n", "MOS 4.9 is out of range"),
        ("    return 50.0, 0.5\n", "MOS 0.5 is out of range"),
        ("    return None\n", "returned nothing"),
        ("    return 'good'\n", "must return"),
        ("    return 50.0, 2.0, {'a': float('nan')}\n", "detail 'a'"),
        ("    return 'fifty', 2.0\n", "must be numbers"),
        # text that float() reads as a number is still the wrong type (it scored R 90, MOS 4)
        ("    return '90', '4'\n", "R and MOS must be numbers, not '90' and '4'"),
        ("    return 90.0, b'4'\n", "must be numbers"),
        ("    return 50.0, 2.0, {'a': '3'}\n", "detail 'a' must be a number, not '3'"),
    ],
)
def test_bad_results_are_errors(models, body, words):
    write("bad", "def score_hop(hop):\n" + body)
    result = models("bad").score(SEED)
    assert isinstance(result, ModelError) and words in result.message, result


def test_endless_loop_is_stopped_after_its_cpu_time_and_retried_with_back_off(models):
    path = write("loop", "def score_hop(hop):\n    while True:\n        pass\n")
    model = models("loop", timeout_s=0.3, wall_limit_s=30.0)  # the CPU-time limit, however busy the machine
    model.score(HopWindow.from_rtts([None]))  # nothing to score: nothing runs
    results = model.score_many([SEED, SEED, HopWindow.from_rtts([None])])
    error = results[0]
    assert isinstance(error, ModelError) and "0.3 s (CPU time)" in error.message and "endless loop" in error.message
    assert error.file == str(path) and error.line in (5, 6)  # where the worker's timer found it
    assert results[1] == error and results[2] == ALL_LOST  # the next window is not run; all lost: the worst score
    # Back-off in time, not in calls: until the failure's cost (at least MIN_BACKOFF_S) has passed, every call
    # answers the error at once (one update of the window makes several calls; the monitor one per target); then it
    # runs again (the CPU spike may have passed), and after each further failure it waits twice as long.
    now = [time.monotonic()]
    model.clock = lambda: now[0]
    ran = []

    def step(advance_s: float) -> None:
        now[0] += advance_s
        t0 = time.monotonic()
        assert model.score(SEED).message == error.message
        ran.append(time.monotonic() - t0 > 0.25)

    waited = model._versions[next(iter(model._versions))].retry_at - now[0]
    assert (
        MIN_BACKOFF_S - 0.5 <= waited <= 30.0
    )  # what the failure cost (the deadline, a worker restart), less the time since
    for advance_s in (0.0, waited / 2, waited / 2 + 0.01):
        step(advance_s)
    assert ran == [False, False, True], ran
    second = model._versions[next(iter(model._versions))].retry_at - now[0]
    assert second >= 2 * MIN_BACKOFF_S  # twice the cost of the last failure
    for advance_s in (0.0, second - 0.1, 0.2):
        step(advance_s)
    assert ran[3:] == [False, False, True], ran
    path.write_text(HEADER + GOOD)  # fixed: scores again at once
    assert model.score(SEED).r == 90.0


def test_a_version_that_overran_once_scores_again_when_it_is_fast_again(models, shared_dir):
    flag = shared_dir / "slow"
    flag.mkdir()
    write("spiky", f"import os\n\ndef score_hop(hop):\n    while os.path.exists({str(flag)!r}):\n        pass\n"
          "    return 70.0, 3.6\n")  # fmt: skip
    model = models("spiky", timeout_s=0.3)
    assert isinstance(model.score(SEED), ModelError)
    flag.rmdir()  # the spike is over; the file did not change
    model.clock = lambda: time.monotonic() + MAX_BACKOFF_S  # once its back-off is over, it runs again
    assert model.score(SEED) == Score(70.0, 3.6, {})


def test_hang_in_c_code_and_at_top_level_are_stopped(models):
    write("sleepy", "import time\n\ndef score_hop(hop):\n    time.sleep(60)\n")
    t0 = time.monotonic()
    result = models("sleepy", timeout_s=0.3).score(SEED)
    assert isinstance(result, ModelError) and "longer than 1.3 s (wall clock" in result.message, result
    assert "waiting" in result.message and result.line == 7  # where it waited (the worker's stack dump)
    write("bigpow", "def score_hop(hop):\n    return 10 ** 10 ** 10, 3.0\n")
    result = models("bigpow", timeout_s=0.3, wall_limit_s=30.0).score(SEED)
    assert isinstance(result, ModelError) and "(CPU time)" in result.message, result
    write("toplevel", "while True:\n    pass\n\n" + GOOD)
    result = models("toplevel", timeout_s=0.3).score(SEED)
    assert isinstance(result, ModelError) and "loading" in result.message and result.line in (4, 5)
    # Three worker starts and three deadlines (about 3 s of them), not the 60 s sleep nor the endless loop. A worker
    # start is an interpreter start: seconds each on a 2-core machine running a load of 30, hence the margin.
    assert time.monotonic() - t0 < 30.0


def test_exit_and_crash_of_the_worker(models):
    write("exits", "import sys\n\ndef score_hop(hop):\n    sys.exit(3)\n")
    result = models("exits").score(SEED)
    assert isinstance(result, ModelError) and "sys.exit(3)" in result.message
    write("dies", "import os\n\ndef score_hop(hop):\n    os._exit(7)\n")
    result = models("dies").score(SEED)
    assert isinstance(result, ModelError) and "exit status 7" in result.message


def test_print_in_a_formula_does_not_break_the_protocol(models):
    write("chatty", "def score_hop(hop):\n    print('hello', hop.avg_ms)\n    return 60.0, 3.0\n")
    assert models("chatty").score(SEED) == Score(60.0, 3.0, {})
    write("asks", "def score_hop(hop):\n    return float(input('R? ')), 3.0\n")
    result = models("asks").score_many([SEED, SEED])
    assert all(isinstance(r, ModelError) and "EOFError" in r.message for r in result), result


def test_user_settings_declared_checked_and_used(models):
    body = (
        'SETTINGS = {"penalty": setting(2.0, min=0, max=10, help="per %"), '
        '"mode": setting("a", choices=["a", "b"])}\n\n'
        "def score_hop(hop):\n"
        "    r = 90.0 - hop.settings['penalty'] * hop.loss_pct - (5 if hop.settings['mode'] == 'b' else 0)\n"
        "    return r, r_to_mos(r)\n"
    )
    write("tunable", body)
    info = find_model("tunable")
    assert [(s.name, s.kind, s.default, s.min, s.max) for s in info.settings] == [
        ("penalty", "float", 2.0, 0, 10),
        ("mode", "choice", "a", None, None),
    ]
    window = HopWindow.from_summary(10.0, 0.0, 2.0)
    assert models("tunable").score(window).r == pytest.approx(86.0)
    assert models("tunable", {"penalty": "1", "mode": "b"}).score(window).r == pytest.approx(83.0)
    with pytest.raises(ValueError, match="within 0 and 10"):
        load_model("tunable", {"penalty": "11"})
    with pytest.raises(ValueError, match="no setting 'codec'"):
        load_model("tunable", {"codec": "g711"})


def test_settings_must_be_plain_data(models):
    write("clever", "SETTINGS = {'x': setting(__import__('os').getpid())}\n\n" + GOOD)
    info = find_model("clever")
    assert info.error is not None and "plain numbers" in info.error.message and info.error.line == 4
    result = models("clever").score(SEED)
    assert isinstance(result, ModelError) and "plain numbers" in result.message


def test_listing_models_and_loading_settings_never_run_code(models, shared_dir):
    marker = shared_dir / "ran"
    write("sneaky", f"open({str(marker)!r}, 'w').close()\n\n" + GOOD)
    names = [i.name for i in available_models()]
    assert "sneaky" in names
    model = models("sneaky", {})  # loading the model by name does not run it either
    assert not marker.exists()
    # a settings value that looks like code is a bad value, not code
    with pytest.raises(ValueError):
        load_model("g107", {"advantage": f"__import__('os').system('touch {marker}')"})
    assert not marker.exists()
    model.score(SEED)  # scoring runs it, in the worker
    assert marker.exists()


def test_a_user_file_cannot_take_a_builtin_name(models):
    write("pingplotter", GOOD)
    infos = [i for i in available_models() if i.name == "pingplotter"]
    assert [i.origin for i in infos] == ["built-in", "user"]
    assert "rename" in infos[1].error.message
    assert models("pingplotter").info.origin == "built-in"


def test_broken_model_loses_nothing_else(models):
    from pingmos.engine.events import Sample
    from pingmos.state import TraceState

    write("boom", "def score_hop(hop):\n    raise RuntimeError('no')\n")
    state = TraceState("t", "198.18.0.9", "icmp", 1.0)
    for r, rtt in enumerate([10.0, 12.0, None]):
        state.apply(Sample(r, 1, r, 1000.0 + r, rtt, "198.18.0.9" if rtt else None, rtt is not None))
    hop = state.snapshot(None, models("boom"), "boom").hops[0]
    assert (hop.sent, hop.received, hop.avg_ms, hop.mos) == (3, 2, 11.0, None)
    assert hop.score_error.endswith(":5: RuntimeError: no")


def test_close_ends_the_worker_and_scoring_again_restarts_it(models):
    write("mine", GOOD)
    model = models("mine")
    assert isinstance(model, ScriptModel)
    model.score(SEED)
    pid = worker_pid(model)
    assert pid is not None
    model.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert model.score(SEED).r == 90.0


def test_threads_may_share_a_model(models):
    write("mine", GOOD)
    model = models("mine")
    results = []
    threads = [threading.Thread(target=lambda: results.append(model.score_many([SEED] * 5))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(results) == 4 and all(r.r == 90.0 for batch in results for r in batch)


def test_entry_point_models_are_found_and_run(models, tmp_path, monkeypatch):
    pkg = tmp_path / "site"
    (pkg / "fakemos").mkdir(parents=True)
    (pkg / "fakemos" / "__init__.py").write_text("raise RuntimeError('importing the package runs code')\n")
    (pkg / "fakemos" / "formula.py").write_text(
        '"""Fake vendor MOS."""\nfrom pingmos.scoring.formula_api import setting\n\n'
        'SETTINGS = {"base": setting(70.0, min=0, max=100)}\n\n'
        "def score_hop(hop):\n    return hop.settings['base'], 3.5\n"
    )
    monkeypatch.syspath_prepend(str(pkg))
    fake = importlib.metadata.EntryPoint(name="vendor", value="fakemos.formula", group="pingmos.scoring")
    real = importlib.metadata.entry_points

    def entry_points(**kw):
        return [fake] if kw.get("group") == "pingmos.scoring" else real(**kw)

    monkeypatch.setattr(registry.importlib.metadata, "entry_points", entry_points)
    info = find_model("vendor")  # found without importing fakemos (its __init__ would raise)
    assert info.origin == "entry point" and info.path == str(pkg / "fakemos" / "formula.py")
    assert info.title == "Fake vendor MOS." and info.settings[0].default == 70.0
    assert models("vendor", {"base": "60"}).score(SEED) == Score(60.0, 3.5, {})


def test_check_sees_a_save_at_once_without_running_the_file(models):
    path = write("mine", GOOD)
    model = models("mine")
    assert model.check() is None and model.info.settings == ()
    path.write_text(HEADER + 'SETTINGS = {"k": setting(1.0)}\n\n' + GOOD)
    assert model.check() is None
    assert [s.name for s in model.info.settings] == ["k"] and model.settings == {"k": 1.0}
    path.write_text(HEADER + "def score_hop(hop:\n")
    error = model.check()
    assert isinstance(error, ModelError) and error.line == 4 and model.info.error == error
    assert worker_pid(model) is None  # nothing ran
    assert load_model("g107").check() is None


def test_a_formula_file_that_is_a_fifo_or_too_large_lists_with_its_error_and_never_hangs(models, monkeypatch):
    """A ``*.py`` in the scoring folder is a file the user named: it is read bounded, and a FIFO (opened without
    a writer) or an oversized file is that model's error, not a hang of ``pingmos models`` or the model list."""
    from pingmos.scoring import declared

    folder = user_scoring_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.py")
    write("big", GOOD + "# padding\n" * 20)
    monkeypatch.setattr(declared, "MAX_FORMULA_BYTES", len(HEADER + GOOD) + 10)
    infos = {i.name: i for i in available_models() if i.origin == "user"}
    assert "is a FIFO (named pipe), not a formula file; give a regular file" in infos["pipe"].error.message
    assert "bytes is more than a formula may hold" in infos["big"].error.message
    assert str(infos["pipe"].error).count(str(folder / "pipe.py")) == 1  # the file is named once
    loaded = models("pipe")  # loading and scoring it is that error too, at once
    result = loaded.score(SEED)
    assert isinstance(result, ModelError) and "is a FIFO" in result.message
