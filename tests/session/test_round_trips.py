"""export -> import -> export keeps what the export carries (breaker C, imports-fidelity item 3).

pingmos's hops JSON (``export --format json``, the same document as ``report --format json``) exported again
changed ``probes_sent`` (90 -> 12: probes beyond the last hop listed; 1801 -> 1800), ``per_round`` true -> false,
every ``mos_ci`` to null, R in the third decimal (92.887 -> 92.886, from rounded totals) and g107-jb's R by several
points (56.909 -> 52.689: it reads the samples' loss bursts). Each export format pingmos reads back is exported
again here and must give the same document; with another model the figures a summary cannot give are said to be
recomputed, never silently changed.
"""

import json
from pathlib import Path

import pytest

from pingmos.cli import main

DATA = Path(__file__).parent / "data"
DIAGNOSIS = Path(__file__).parent.parent / "diagnosis" / "data"
SESSIONS = [
    DIAGNOSIS / "live_independent_losses.pmsession",  # 200 rounds, 5 hops, a problem found round by round
    DIAGNOSIS / "admin_prohibited_hop4.pmsession",  # the path ends at hop 4 with an ICMP unreachable
    DATA / "breakC" / "lab_3rounds_unreached.pingmos",  # the lab, 3 rounds at 0.2 s, the destination silent
]


def export(capsys, *argv) -> tuple[str, str]:
    assert main(["export", *map(str, argv)]) == 0
    return capsys.readouterr()


@pytest.mark.parametrize("model", [[], ["--model", "pingplotter"], ["--set", "codec=g729a"]], ids=str)
@pytest.mark.parametrize("source", SESSIONS, ids=lambda p: p.name)
def test_a_hops_json_exported_again_is_the_same_document(source, model, tmp_path, capsys):
    first = tmp_path / "hops.json"
    first.write_text(export(capsys, source, "--format", "json", *model)[0])
    again, err = export(capsys, first, "--format", "json", *model)
    assert json.loads(again) == json.loads(first.read_text())
    assert "R, MOS, their intervals and the diagnosis are the report's own" in err


def test_the_breakers_lab_export_comes_back_unchanged(tmp_path, capsys):
    # A300.exp.hops.json: g107-jb, 300 rounds at 0.1 s, 6 hops, 1801 probes sent (30 TTLs in round 0).
    source = DATA / "breakC" / "lab_g107jb_300rounds.hops.json"
    before = json.loads(source.read_text())
    after = json.loads(export(capsys, source, "--format", "json")[0])
    # Hop 2 never answered (300 sent, 0 received): the file's R 0 / MOS 1 for it was no measurement and is not
    # given back (hop_report.no_responder_samples); every other figure is the file's own.
    assert (before["hops"][1]["received"], before["hops"][1]["r"], before["hops"][1]["mos"]) == (0, 0.0, 1.0)
    before["hops"][1].update(r=None, mos=None)
    assert after == before
    assert after["probes_sent"] == 1801 and after["diagnosis"]["per_round"] is True
    assert [h["r"] for h in after["hops"]][-2:] == [56.909, 56.832]
    assert after["hops"][0]["mos_ci"] == [4.329, 4.403]


def test_another_model_recomputes_from_the_totals_and_says_so(tmp_path, capsys):
    source = DATA / "breakC" / "lab_g107jb_300rounds.hops.json"
    out, err = export(capsys, source, "--format", "json", "--model", "pingplotter")
    doc = json.loads(out)
    assert doc["model"] == "pingplotter" and doc["probes_sent"] == 1801  # a count is a count, whatever the model
    assert all(h["mos_ci"] is None for h in doc["hops"]) and doc["diagnosis"]["per_round"] is False
    assert "judged from loss counts" in doc["diagnosis"]["verdict"]
    assert "another model or setting scores the totals, with no MOS interval and loss judged from counts" in err
    # other settings of the same model are another model too
    out, _ = export(capsys, source, "--format", "json", "--set", "codec=g729a")
    assert json.loads(out)["hops"][0]["r"] != 92.887


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("source", SESSIONS, ids=lambda p: p.name)
def test_a_samples_export_gives_the_sessions_hops_back(source, fmt, tmp_path, capsys):
    hops = json.loads(export(capsys, source, "--format", "json")[0])
    samples = tmp_path / f"samples.{fmt}"
    samples.write_text(export(capsys, source, "--what", "samples", "--format", fmt)[0])
    again, err = export(capsys, samples, "--format", "json")
    again = json.loads(again)
    # The run's target and protocol are columns of the export: a destination that never answered is still named
    # (they were unknown: "target unknown", "the destination (address unknown) did not answer").
    assert again["target"] == hops["target"] and again["protocol"] == hops["protocol"]
    assert "target is unknown" not in err and "does not record the protocol" not in err
    for hop in hops["hops"]:
        hop["name"] = None  # reverse DNS is not exported
    assert again == hops


def test_samples_of_two_runs_joined_are_refused_in_one_line(tmp_path, capsys):
    source = DATA / "breakC" / "lab_3rounds_unreached.pingmos"
    lines = export(capsys, source, "--what", "samples", "--format", "csv")[0].splitlines()
    lines[3] = lines[3].replace(",198.18.5.2,198.18.5.2,icmp", ",198.18.5.2,198.18.5.2,udp")
    joined = tmp_path / "joined.csv"
    joined.write_text("\n".join(lines) + "\n")
    assert main(["report", "--session", str(joined)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "line 4: protocol 'udp' differs from line 2's 'icmp': rows of two runs joined" in err


def test_an_export_without_the_run_columns_still_opens(tmp_path, capsys):
    # Written before the target, address and protocol columns: the target from the samples, as before.
    source = DIAGNOSIS / "live_independent_losses.pmsession"
    lines = export(capsys, source, "--what", "samples", "--format", "csv")[0].splitlines()
    old = tmp_path / "old.csv"
    old.write_text("\n".join(",".join(line.split(",")[:11]) for line in lines) + "\n")
    doc = json.loads(export(capsys, old, "--format", "json")[0])
    assert doc["address"] == json.loads(export(capsys, source, "--format", "json")[0])["address"]
