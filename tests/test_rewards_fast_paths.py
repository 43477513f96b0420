"""The rewards' shortcuts decide exactly what the long way decides.

The rewards answer the common case in C (a text that copies and repeats nothing, a JSON
answer cut off in the plain way, a single object among prose, plainly valid fields, a
money figure read by the regex itself) and fall back to the step-by-step reading
otherwise. Each shortcut is checked here against that reading, or against json-repair and
the patterns the shortcut replaced, on generated text made of the pieces that trip them."""

from __future__ import annotations

import json
import re

import json_repair
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rewards import figures, insights, prompt_cache, text, wordclass
from rewards.json_spans import spans
from rewards.json_truncated import read_truncated
from rewards.lexicon import BUSINESS_STEMS, DOMAIN_STEMS, RECOMMEND_STEMS, words
from rewards.parsing import _candidates, _decode, _single, normalise_decimals
from rewards.recipe.extraction import _check, plainly_valid
from rewards.registry import get_reward
from rewards.schema import CHECKED_FIELDS, example_json
from rewards.sql_extract import _SELECT, _SQL_START


def pieces(*items: str, max_size: int = 14):
    return st.lists(st.sampled_from(items), max_size=max_size).map("".join)


# ------------------------------------------------------------ JSON cut off, JSON among prose

def _answers() -> list[str]:
    obj = example_json()
    odd = {**obj, "summary": "Chegou, mas (com atraso) e a caixa amassada; nota 4,5!", "confidence": 0.85}
    return [json.dumps(obj, ensure_ascii=False), json.dumps(obj, ensure_ascii=False, indent=2),
            json.dumps(odd, ensure_ascii=False, separators=(",", ":")), json.dumps(odd),
            json.dumps({**obj, "product_mentioned": None, "sentiment_score": True}, ensure_ascii=False)]


def test_a_cut_off_answer_reads_as_json_repair_reads_it():
    read = 0
    for answer in _answers():
        for cut in range(1, len(answer)):
            candidate = normalise_decimals(answer[:cut])[0]
            obj = read_truncated(candidate)
            if obj is not None:
                read += 1
                expected = json_repair.loads(candidate)
                assert obj == expected and list(obj) == list(expected), candidate
                assert [type(v) for v in obj.values()] == [type(v) for v in expected.values()], candidate
    assert read > 0.6 * sum(map(len, _answers()))  # most cuts take the shortcut


@settings(max_examples=300, deadline=None)
@given(tail=pieces('"', "'", "\\", "{", "}", "[", "]", ":", ",", ", ", " ", "\n", "a", "é", "1", "-", ".", "true",
                   "null", "„", "“", "`", '"k":', "\u00a0"))
def test_a_cut_off_answer_with_odd_characters_reads_as_json_repair_reads_it(tail):
    for head in ('{"a": 1, "summary": "', '{"a": "x", ', '{\n  "b": ', '{"a": true,"b"'):
        obj = read_truncated(head + tail)
        if obj is not None:
            expected = json_repair.loads(head + tail)
            assert obj == expected and list(obj) == list(expected), head + tail


@settings(max_examples=300, deadline=None)
@given(text=pieces("{", "}", "[", "]", '"', "\\", '{"a": 1}', '{"b": [1, {"c": 2}]}', "[1]", "texto ", "4,5",
                   '"x": 1', ", ", "```json\n", "```", "\n"))
def test_a_single_object_among_prose_is_what_the_bracket_scan_finds(text):
    single = _single(text, _decode)  # the decoder that normalises decimal commas
    if single:
        assert single == _candidates(text, _decode)[0]
        assert [(s, e) for s, e, d in spans(text)[0] if d == 0] == [single[0][:2]]


# ------------------------------------------------------------ lines, units, placeholders

LINE_PIECES = ("foo", "bar", "baz", " ", "  ", ". ", "! ", "; ", ".", "\n", "\n\n", "1. ", "2) ", "- ", "* ", "# ",
               "(1) ", "٣. ", "² ", "\u2003", "10 ", "3.5", "é", "Foo", ",", "Resumo dos dados", "pedidos: 63",
               # whole lines that are the same but for a list number or mark
               "\nfoo bar baz qux\n", "\n1. foo bar baz qux\n", "\n2) Foo, bar baz qux.\n", "\n- foo bar baz qux\n")


@settings(max_examples=400, deadline=None)
@given(t=pieces(*LINE_PIECES, max_size=20), min_tokens=st.sampled_from([1, 2, 3]))
@example(t="1. foo bar\nfoo bar", min_tokens=2)
def test_repeated_lines_shortcut_agrees_with_the_unit_by_unit_reading(t, min_tokens):
    found = text.units(t)
    folded = "\n".join(found).encode("latin-1", "ignore").translate(text.LINES_TABLE).split(b"\n")
    expected = text.repeats_by_unit(found, folded, min_tokens) if found else (0.0, None)
    assert text.repeated_lines(t, min_tokens=min_tokens) == expected


FACTS = insights.prompt_facts("Resumo dos dados\npedidos: 63; receita R$ 6.638,87", "Analise a recompra",
                              "Resumo dos dados\npedidos: 63; receita R$ 6.638,87\nAnalise a recompra")


@settings(max_examples=400, deadline=None)
@given(t=pieces(*LINE_PIECES, "receita R$ 6.638,87", "analise a recompra", max_size=20))
@example(t="1. foo bar baz\nfoo bar baz")
def test_own_lines_shortcut_agrees_with_the_line_by_line_reading(t):
    notes, caps, notes2, caps2 = [], [], [], []
    folded = t.encode("latin-1", "ignore").translate(text.LINES_TABLE).split(b"\n")
    assert insights._own_text(t, FACTS, notes, caps) == insights._own_lines(t, folded, FACTS, notes2, caps2)
    assert (notes, caps) == (notes2, caps2)


_OLD_PLACEHOLDER = re.compile(  # the alternation the placeholder regex replaced
    r"\{\{?\s*[A-Za-zÀ-ÿ_][\wÀ-ÿ .-]{0,30}\}\}?|\[\s*(?:[A-Z][A-Z_ ]{0,29}|[a-zà-ÿ_][a-zà-ÿ_ ]{1,29})\s*\](?!\()"
    r"|<\s*[A-Za-zÀ-ÿ_][\wÀ-ÿ ]{0,30}>|(?<![A-Za-z])[Xx]{2,}(?![A-Za-z])|_{3,}|\blorem ipsum\b|R\$\s?X\b")


@settings(max_examples=400, deadline=None)
@given(t=pieces("{", "}", "{{", "[", "]", "(", "<", ">", "X", "x", "_", "lorem ipsum", "alorem ipsum", "R$", "R$ X",
                "R$X", " ", "\n", "a", "NOME", "nome", "é", "1"))
def test_placeholder_regex_finds_what_the_old_alternation_found(t):
    assert _OLD_PLACEHOLDER.findall(t)[:5] == (text._PLACEHOLDER_LOREM if "lorem ipsum" in t
                                               else text._PLACEHOLDER).findall(t)[:5]


@settings(max_examples=400, deadline=None)
@given(t=pieces("select", "SELECT", "ſelect", "with", "With", "xselect", "_select", "é", "1", " ", "\n", "(",
                "withx", "selectwith"))
def test_sql_start_patterns_find_what_the_word_boundary_patterns_found(t):
    assert [m.span() for m in re.finditer(r"(?is)\b(?:select|with)\b", t)] == [m.span() for m in _SQL_START.finditer(t)]
    assert [m.span() for m in re.finditer(r"(?i)\bselect\b", t)] == [m.span() for m in _SELECT.finditer(t)]


# ------------------------------------------------------------ figures, words, fields

@settings(max_examples=500, deadline=None)
@given(t=pieces("R", "$", "R$", "R$ ", "R$-", "-", "1", "2", ",", ".", " ", "\n", "%", "mil", "x", "a", "é", "١",
                "\x00"))
def test_money_is_what_stands_within_four_characters_after_r_dollar(t):
    pattern = figures._PATTERNS[False].flat  # positions, to read the context as the rule says
    expected = []
    for m in pattern.finditer(t):
        start = m.start() + (t[m.start()] == "-")
        expected.append(start >= 4 and "R$" in t[start - 4:start])
    got = [f.money for f in figures.figures(t)] if t.isascii() or not figures._WIDE.search(t) else None
    if got is not None:
        assert got == expected[:len(got)]


@settings(max_examples=300, deadline=None)
@given(t=pieces("recomendamos ", "sugerimos ", "o ", "the ", "and ", "de ", "cliente ", "clientes ", "produto ",
                "vendas ", "prioriza ", "deveria ", "melhor ", "aumento ", "x ", "pedido ", "entrega ", "é ",
                max_size=30))
def test_word_classes_count_and_match_as_the_lexicons_do(t):
    ws = words(t)
    profile = wordclass.Profile(ws)
    assert profile.language() == text.language(ws)
    assert profile.stems("recommend") == RECOMMEND_STEMS.matches(set(ws))
    assert profile.stems("domain") == DOMAIN_STEMS.matches(set(ws))
    assert profile.stems("business") == BUSINESS_STEMS.matches(set(ws))


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(CHECKED_FIELDS + ("product_mentioned",)),
                               st.one_of(st.none(), st.booleans(), st.integers(-2, 7), st.floats(-1, 2),
                                         st.sampled_from(["positivo", " neutro", "Entrega", "resumo", "x" * 300,
                                                          "Chegou bem, mas atrasou dois dias.", "string"]))))
def test_plainly_valid_fields_pass_every_check(changes):
    obj = {**example_json(), **changes}
    if plainly_valid(obj):
        for strict in (True, False):
            assert all(_check(name, obj[name], strict) is None for name in CHECKED_FIELDS)


# ------------------------------------------------------------ per-prompt caches

@pytest.mark.parametrize("task", ["extraction", "insights", "push", "sql_qa"])
def test_a_cold_prompt_scores_as_a_warm_one(task):
    from tests.test_rewards_properties import META
    reward = get_reward(task)
    meta = META[task]
    for completion in ("Analise: R$ 6.638,87 e 63 pedidos. Recomendamos priorizar a recompra.",
                       '{"sentiment": "neutro", "summary": "Demorou, mas chegou"', "Panela com 20% off no Natal!",
                       "```sql\nSELECT COUNT(*) FROM orders\n```\nHá 30 pedidos."):
        warm = reward.score(completion, **meta)
        prompt_cache.clear()
        assert reward.score(completion, **meta) == warm

