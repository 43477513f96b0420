"""Reward versions (hash of source + parameters) and task routing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rewards.fingerprint import source_digest, version_hash
from rewards.insights import make_insights_reward
from rewards.registry import REWARDS, get_reward
from rewards.routing import route_task
from rewards.types import TASKS
from rewards.versions import current_versions, reward_version


def test_versions_exist_and_differ_between_rewards():
    versions = {name: reward_version(name) for name in REWARDS}
    assert len(set(versions.values())) == len(versions)
    assert all(len(v) == 16 and int(v, 16) >= 0 for v in versions.values())
    assert current_versions() == {t: versions[t] for t in TASKS}
    with pytest.raises(KeyError):
        reward_version("nope")


def test_version_changes_with_parameters_not_with_rebuilding():
    assert make_insights_reward().version == get_reward("insights").version
    assert make_insights_reward(max_words=900).version != get_reward("insights").version


def test_source_digest_tracks_code_not_comments_or_docstrings():
    base = 'def f(x):\n    """Doc."""\n    return x + 1\n'
    assert source_digest(base) == source_digest('def f(x):\n    """Other doc."""\n    return x + 1  # note\n')
    assert source_digest(base) == source_digest("def f(x):\n\n    return (x + 1)\n")
    assert source_digest(base) != source_digest('def f(x):\n    """Doc."""\n    return x + 2\n')
    words_a = 'STEMS = ["recomend", "melhor"]\n'
    assert source_digest(words_a) != source_digest('STEMS = ["recomend", "melhora"]\n')
    d = {"rewards.push": source_digest(base)}
    v = version_hash("push", "push", {"max_chars": 120}, d)
    assert v == version_hash("push", "push", {"max_chars": 120}, dict(d))
    assert v != version_hash("push", "push", {"max_chars": 121}, d)
    assert v != version_hash("push", "push", {"max_chars": 120}, {"rewards.push": source_digest(base + "y = 1\n")})


# A fixed module: its version must read the same on every Python the project may run on.
PINNED_SOURCE = 'def score(text):\n    """Doc."""\n    return f"{len(text):>4} {text!r}"  # why\n'
PINNED_DIGEST = "a3b43212856cd4e42ad31e448f5e47f7f03ab1b0a697bdc459e84b35eadb4ab4"


def test_version_string_is_pinned():
    assert source_digest(PINNED_SOURCE) == PINNED_DIGEST
    assert version_hash("push", "push", {"max_chars": 120}, {"rewards.push": PINNED_DIGEST}) == "efa295849f4cc2c7"


def _runs(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "pass"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# Interpreters other than this one, where the machine has them (pyenv's, or on the PATH).
OTHER_PYTHONS = [p for p in dict.fromkeys(
    [*map(str, sorted(Path("/root/.pyenv/versions").glob("3.1[23]*/bin/python"))),
     *filter(None, map(shutil.which, ("python3.12", "python3.13")))]) if _runs(p)]


@pytest.mark.skipif(not OTHER_PYTHONS, reason="no Python 3.12 or 3.13 on this machine")
def test_versions_do_not_depend_on_the_python_version():
    """An interpreter upgrade must not void every gate decision: the same sources give the
    same digests on 3.12 and 3.13 (which tokenise f-strings differently and dump ASTs differently)."""
    fingerprint = Path(__file__).resolve().parent.parent / "rewards" / "fingerprint.py"
    sources = sorted((fingerprint.parent).glob("*.py"))
    code = ("import importlib.util, sys, json\n"
            f"spec = importlib.util.spec_from_file_location('fp', {str(fingerprint)!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "print(json.dumps([m.source_digest(open(f, encoding='utf-8').read()) for f in sys.argv[1:]]))")
    here = [source_digest(p.read_text(encoding="utf-8")) for p in sources]
    for python in OTHER_PYTHONS:
        out = subprocess.run([python, "-c", code, *map(str, sources)], capture_output=True, text=True,
                             check=True).stdout
        assert json.loads(out) == here, python


def test_versions_are_stable_across_processes():
    code = "from rewards.versions import current_versions; print(sorted(current_versions().items()))"
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1
    assert str(sorted(current_versions().items())) == outs.pop().strip()


@pytest.mark.parametrize(
    "prompt, task",
    [
        ("Extraia os campos da avaliação abaixo em JSON: 'Chegou quebrado.'", "extraction"),
        ("Escreva uma consulta SQL para responder: qual o ticket médio por estado?", "sql_qa"),
        ("Faça uma análise dos atrasos de entrega e dê recomendações.", "insights"),
        ("Escreva uma notificação push de até 120 caracteres para clientes inativos.", "push"),
        ([{"role": "system", "content": "Você é um analista de marketing."},
          {"role": "user", "content": "Crie uma notificação push para o carrinho abandonado."}], "push"),
    ],
)
def test_keyword_routing(prompt, task):
    assert route_task(prompt) == task


def test_analysis_mentioning_reengajamento_is_insights_not_push():
    prompt = "Faça uma análise estratégica da campanha de reengajamento: o que funcionou e o que priorizar?"
    assert route_task(prompt) == "insights"
    # The recipe's historical bug (push checked first) misroutes it.
    assert route_task(prompt, insights_before_push=False) == "push"


def test_explicit_task_always_wins_and_is_validated():
    assert route_task("Escreva uma notificação push", task="insights") == "insights"
    with pytest.raises(ValueError, match="valid tasks: extraction, sql_qa, insights, push"):
        route_task("x", task="chat")
    with pytest.raises(ValueError, match="cannot tell the task"):
        route_task("Olá, tudo bem?")


def test_city_names_with_campo_do_not_route_push_briefs_to_extraction():
    brief = (
        "Escreva uma notificação push de no máximo 120 caracteres para clientes de Campo Grande "
        "e São Bernardo do Campo sobre frete grátis."
    )
    assert route_task(brief) == "push"
    assert route_task("Extraia os campos do JSON a partir da avaliação.") == "extraction"


def test_every_built_prompt_routes_to_its_own_task_without_the_column(small_data):
    import json

    for key in ("train", "eval"):
        with open(small_data[key], encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                assert route_task(row["prompt"]) == row["task"], row["prompt_id"]
