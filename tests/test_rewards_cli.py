"""`tucano-audit rewards score|probe|versions`, and the probe bench catching planted bugs."""

from __future__ import annotations

import io
import json
import sys

import pytest

from audit_app.cli import main
from rewards import schema
from rewards.extraction import make_extraction_reward
from rewards.probes import CASES, CHECKS, format_report, run_probes
from rewards.push import make_push_reward
from rewards.registry import get_reward


def _run(monkeypatch, capsys, argv, stdin=b""):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_score_prints_breakdown_json(monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, ["rewards", "score", "--task", "extraction", "--meta", '{"rating": 5}'],
                        json.dumps(schema.example_json()).encode())
    assert code == 0
    data = json.loads(out)
    assert data["task"] == "extraction" and data["reward"] == "extraction"
    # A "negativo" answer for a 5-star review: the contradiction caps the total at 0.30.
    assert data["total"] == pytest.approx(0.3)
    assert data["components"]["cap"] < 0
    assert any("5-star review labelled negativo" in n for n in data["notes"])
    assert data["version"] == get_reward("extraction").version


def test_score_runs_sql_on_the_home_database_unless_meta_names_one(monkeypatch, capsys, home, tmp_path):
    from rewards.probe_db import build_probe_db

    build_probe_db(home / "commerce.db")  # 23 delivered orders
    build_probe_db(home / "commerce-b.db", variant=1)  # its second copy: 28
    query = "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered'"
    sql = f"```sql\n{query}\n```\n".encode()
    argv = ["rewards", "score", "--task", "sql_qa", "--meta",
            json.dumps({"reference_answer": "[[23]]", "reference_sql": query})]
    code, out, _ = _run(monkeypatch, capsys, argv, sql)
    data = json.loads(out)
    assert code == 0 and data["components"]["sql_correct"] == pytest.approx(0.45)
    assert not any("no second database" in n for n in data["notes"])  # the home's second database was found
    other = json.dumps({"reference_answer": "[[23]]", "db_path": str(tmp_path / "nada.db")})
    code, out, _ = _run(monkeypatch, capsys, argv[:-1] + [other], sql)
    assert any("database not found" in n for n in json.loads(out)["notes"])


def test_score_reads_invalid_utf8_and_named_rewards(monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, ["rewards", "score", "--reward", "sql_qa_heuristic"],
                        b"SELECT count(*) FROM orders \xff\xfe")
    assert code == 0 and json.loads(out)["reward"] == "sql_qa_heuristic"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["rewards", "score", "--task", "push", "--meta", "{nope"], "--meta is not valid JSON"),
        (["rewards", "score", "--task", "push", "--meta", "[1]"], "--meta must be a JSON object"),
        (["rewards", "score", "--reward", "nope"], "unknown reward 'nope'; valid rewards:"),
        (["rewards", "score", "--task", "extraction", "--meta", '{"rating": 0}'], "rating must be an integer"),
    ],
)
def test_score_bad_input_is_one_line_exit_2(monkeypatch, capsys, argv, message):
    code, out, err = _run(monkeypatch, capsys, argv, b"x")
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


def test_probe_command_passes_and_versions_lists_rewards(monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, ["rewards", "probe"])
    assert code == 0
    assert f"{len(CHECKS)}/{len(CHECKS)} checks passed" in out and "FAIL" not in out
    code, out, _ = _run(monkeypatch, capsys, ["rewards", "probe", "--task", "push", "--json"])
    data = json.loads(out)
    assert code == 0 and data["passed"] and all(name.startswith("push") for name in data["cases"])
    code, out, _ = _run(monkeypatch, capsys, ["rewards", "versions"])
    assert code == 0 and get_reward("sql_qa_heuristic").version in out


def test_probe_table_covers_what_the_issue_lists():
    names = {c.name for c in CASES}
    assert {"ext_perfect", "ext_string_echo", "ext_prose", "ext_fenced", "ext_decimal_comma", "push_120_chars",
            "push_121_chars", "push_formal_email", "sql_wrong_answer", "sql_does_not_parse"} <= names
    assert len(next(c for c in CASES if c.name == "push_120_chars").completion) == 120
    assert len(next(c for c in CASES if c.name == "push_121_chars").completion) == 121


@pytest.mark.parametrize(
    "overrides, routing_ok, failing",
    [
        ({"push": make_push_reward(length_penalty=False)}, True, "push_120_chars > push_121_chars"),
        ({"extraction": make_extraction_reward(normalise_decimals=False)}, True, "ext_decimal_comma == ext_perfect (±1e-06)"),
        ({"extraction": make_extraction_reward(strict_int=False)}, True, "ext_perfect > ext_bool_as_int"),
        ({}, False, "route 'route_analysis_mentions_reengajamento' -> insights"),
    ],
    ids=["push-length", "decimals", "strict-int", "routing"],
)
def test_probe_bench_catches_each_planted_bug(overrides, routing_ok, failing):
    tasks = tuple({r.task for r in overrides.values()}) or ("insights", "push")
    report = run_probes(overrides, tasks=tasks, insights_before_push=routing_ok)
    assert not report.passed
    assert failing in [r.check.describe() for r in report.failures]
    assert "FAIL" in format_report(report)


def test_probe_exploits_passes_on_the_built_prompts_and_fails_the_recipes_rewards(monkeypatch, capsys,
                                                                                  small_data_home):
    code, out, _ = _run(monkeypatch, capsys, ["rewards", "probe", "--exploits", "--prompts-per-family", "20"])
    assert code == 0, out
    assert "constant_template" in out and "FAIL" not in out and "exploit families below 0.4" in out
    code, out, _ = _run(monkeypatch, capsys, ["rewards", "probe", "--exploits", "--json", "--reward", "push_recipe",
                                              "--prompts-per-family", "15"])
    data = json.loads(out)
    assert code == 1 and data["passed"] is False
    (report,) = data["reports"]
    assert report["reward"] == "push_recipe" and report["families"]["off_brief"]["failed"]
    assert report["families"]["off_brief"]["example"]["prompt_id"].startswith("push-")


def test_probe_exploits_says_what_is_missing(monkeypatch, capsys, home):
    code, out, err = _run(monkeypatch, capsys, ["rewards", "probe", "--exploits"])
    assert code == 2 and "data build" in err and err.count("\n") == 1
    code, _, err = _run(monkeypatch, capsys, ["rewards", "probe", "--reward", "push"])
    assert code == 2 and "--reward goes with --exploits" in err
