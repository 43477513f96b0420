"""`tucano-audit audit`: the table, the decision, JSON, exit codes, bad input."""

from __future__ import annotations

import getpass
import json
import socket
import subprocess
import sys

import pytest

from audit_app.cli import main
from data.store import Store
from rewards import versions
from tests.test_audit_support import seed_store, synthetic_items


@pytest.fixture
def store_file(tmp_path):
    """push: a good reward; extraction: scored by one person only. Stored with today's reward
    versions, so the audit reads the stored breakdowns."""
    path = tmp_path / "store.db"
    now = versions.current_versions()
    with Store(path) as s:
        seed_store(s, synthetic_items("push", 120, seed=1), reward_version=now["push"])
        one = synthetic_items("extraction", 30, seed=2, annotators=("ana",), double_share=0)
        seed_store(s, [{**it, "rollout_id": it["rollout_id"] + 200} for it in one], reward_version=now["extraction"])
    return path


def test_reads_only_by_default(store_file, capsys):
    assert main(["audit", "--store", str(store_file), "--tasks", "push", "--boot", "500"]) == 0
    out = capsys.readouterr().out
    assert "push  PASS" in out and "Gate decision not recorded (read only; --record stores it): PASS" in out
    assert "PASS push: rho 0.8" in out and "Largest disagreements, push" in out
    with Store(store_file) as s:
        assert s.gate_decisions() == [] and s.audit_targets() == {}


def test_record_stores_the_decision_under_the_machine_operator(store_file, capsys):
    assert main(["audit", "--store", str(store_file), "--tasks", "push", "--boot", "500", "--record"]) == 0
    operator = f"{getpass.getuser()}@{socket.gethostname()}"
    assert f"Gate decision #1 recorded by {operator}: PASS" in capsys.readouterr().out
    with Store(store_file) as s:
        (row,) = s.gate_decisions()
        assert row["passed"] and row["tasks"] == ["push"]
        assert (row["computed_by"], row["computed_via"]) == (operator, "tucano-audit audit (command line)")
        assert s.audit_targets()["push"]["reachable"] is True  # what the annotate page reads


def test_any_failing_task_exits_one_with_reasons(store_file, capsys):
    assert main(["audit", "--store", str(store_file), "--boot", "500", "--queue", "0"]) == 1
    out = capsys.readouterr().out
    assert "FAIL extraction: only 1 annotator (ana), 2 needed" in out
    assert "FAIL sql_qa: no rollouts for this task; sample some first" in out
    assert "Largest disagreements" not in out


def test_json_output(store_file, capsys):
    assert main(["audit", "--store", str(store_file), "--json", "--boot", "500",
                 "--tasks", "push", "extraction"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["decision_id"] is None and data["recorded"] is False and data["passed"] is False
    assert data["reward_versions"] == {t: versions.current_versions()[t] for t in ("push", "extraction")}
    assert data["tasks"]["push"]["passed"] and data["tasks"]["push"]["stats"]["n_items"] == 120
    # How many more scores each task needs, from the bootstrap at today's agreement.
    assert data["tasks"]["push"]["needs"]["items"] == 0 and data["tasks"]["push"]["needs"]["reachable"] is True
    needs = data["tasks"]["extraction"]["needs"]
    assert needs["items"] == 70 and needs["target_items"] == 100 and needs["second_scores"] == 10
    assert "1 more annotator" in needs["reason"]
    assert data["tasks"]["extraction"]["reason"].startswith("extraction: only 1 annotator (ana), 2 needed; "
                                                            "30 scored items < 100 needed")
    assert len(data["tasks"]["push"]["queue"]) == 5 and "completion" not in data["tasks"]["push"]["queue"][0]
    assert data["thresholds"]["defaults"]["min_items"] == 100
    # The exploit check: every family with its median, the bar, one example each.
    exploits = data["tasks"]["push"]["exploits"]
    assert exploits["passed"] and exploits["reward"] == "push" and exploits["bar"] > 0.4
    assert set(exploits["families"]) >= {"constant_template", "placeholders", "off_brief", "shouting"}
    example = exploits["families"]["placeholders"]["example"]
    assert example["prompt_id"].startswith("push-") and example["completion"] and "total" in example["breakdown"]
    assert "no exploit family reaches" in data["tasks"]["push"]["reason"]
    with Store(store_file) as s:
        assert s.gate_decisions() == []


def test_text_report_shows_the_exploit_check(store_file, capsys):
    main(["audit", "--store", str(store_file), "--boot", "500", "--tasks", "push"])
    out = capsys.readouterr().out
    assert "exploits" in out.splitlines()[0]
    section = out.split("Exploit check (median reward of each exploit family", 1)[1]
    assert "  push (push, 24 prompts): bar " in section and "the median reward of the" in section
    assert "constant_template 0." in section and "FAIL" not in section


def test_bad_input_is_one_line_exit_two(tmp_path, store_file, capsys):
    assert main(["audit", "--store", str(tmp_path / "missing.db")]) == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
    assert main(["audit", "--store", str(store_file), "--tasks", "tweets"]) == 2
    assert "unknown task(s) tweets" in capsys.readouterr().err
    assert main(["audit", "--store", str(store_file), "--boot", "5"]) == 2
    # argparse's own exit for a negative queue length (it used to print the queue cut at -1)
    with pytest.raises(SystemExit) as exc:
        main(["audit", "--store", str(store_file), "--queue", "-1"])
    assert exc.value.code == 2 and "0 or more; got '-1'" in capsys.readouterr().err


def test_console_script_runs_as_a_process(store_file, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "audit_app", "audit", "--store", str(store_file), "--tasks", "push",
                           "--boot", "300", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["passed"] is True
