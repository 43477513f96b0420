"""Parsing shared by the rewards: completions in any shape, JSON in fences or prose,
Portuguese decimals only where a number is expected, json-repair, SQL extraction."""

from __future__ import annotations

import json

import pytest

from rewards.lexicon import BUSINESS_STEMS, StemLexicon, fold, words
from rewards.parsing import completion_text, normalise_decimals, parse_json_object
from rewards.sql_extract import extract_sql


def test_completion_text_accepts_strings_messages_bytes_and_none():
    assert completion_text("oi") == "oi"
    assert completion_text(None) == ""
    assert completion_text(b"caf\xc3\xa9 \xff") == "café \ufffd"
    conv = [{"role": "assistant", "content": "primeira"}, {"role": "assistant", "content": "segunda"}]
    assert completion_text(conv) == "primeira\nsegunda"
    # Only assistant turns are the completion; multimodal parts are joined.
    mixed = [{"role": "user", "content": "pergunta"},
             {"role": "assistant", "content": [{"type": "text", "text": "re"}, {"type": "text", "text": "sposta"}]}]
    assert completion_text(mixed) == "resposta"
    assert completion_text({"role": "assistant", "content": None}) == ""


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"nota": 4,5}', {"nota": 4.5}),
        ('{"nota": 4,5, "b": 1}', {"nota": 4.5, "b": 1}),
        ('{"total": 1.234,56}', {"total": 1234.56}),
        ('{"v": -0,25}', {"v": -0.25}),
        # Inside strings nothing changes; in arrays "4,5" are two numbers.
        ('{"resumo": "nota 4,5 no geral", "lista": [4,5], "n": 2,0}',
         {"resumo": "nota 4,5 no geral", "lista": [4, 5], "n": 2.0}),
        ('{"a": {"b": 0,9}, "c": "x\\"4,5"}', {"a": {"b": 0.9}, "c": 'x"4,5'}),
    ],
)
def test_decimal_commas_normalised_only_where_a_number_is_expected(text, expected):
    fixed, n = normalise_decimals(text)
    assert json.loads(fixed) == expected
    obj, report = parse_json_object(text)
    assert obj == expected and report.strict


def test_valid_json_is_left_alone():
    text = '{"lista": [4,5], "s": "1,5"}'
    assert normalise_decimals(text) == (text, 0)
    obj, report = parse_json_object(text)
    assert obj == {"lista": [4, 5], "s": "1,5"} and report.decimals_fixed == 0


def test_json_found_in_fence_and_in_prose():
    obj, report = parse_json_object('Claro! Aqui está:\n```json\n{"a": 1}\n```\nAbraço.')
    assert obj == {"a": 1} and report.in_fence and "parse: JSON read from a code fence" in report.notes()
    obj, report = parse_json_object('Resultado: {"a": 1} e mais texto {com chaves}')
    assert obj == {"a": 1} and report.prose_around
    # A stray brace in prose before the real object.
    obj, _ = parse_json_object('Use o formato {campo}: {"a": 2}')
    assert obj == {"a": 2}


def test_broken_json_is_repaired_and_reported():
    obj, report = parse_json_object('{"a": true, "b": "x"')
    assert obj == {"a": True, "b": "x"}
    assert report.repaired and not report.strict
    assert "parse: invalid JSON repaired with json-repair" in report.notes()


def test_no_json_and_deep_nesting_do_not_raise():
    assert parse_json_object("só texto, sem objeto")[0] is None
    obj, report = parse_json_object("{" * 5000)
    assert obj is None or isinstance(obj, dict | list)


def test_decimals_disabled_leaves_the_comma_to_json_repair():
    obj, report = parse_json_object('{"confidence": 0,9}', normalise=False)
    assert report.repaired and obj != {"confidence": 0.9}


def test_extract_sql_from_fence_text_and_nothing():
    e = extract_sql("Consulta:\n```sql\nSELECT a FROM t WHERE x = ';';\nDROP TABLE t;\n```\nSão 10 pedidos.")
    assert e.sql == "SELECT a FROM t WHERE x = ';'"
    assert e.source == "fence" and "10 pedidos" in e.outside and "SELECT" not in e.outside
    e = extract_sql("A query SELECT count(*) FROM orders; retorna 5 pedidos")
    assert e.sql == "SELECT count(*) FROM orders" and e.source == "text" and "retorna 5" in e.outside
    e = extract_sql("```\nWITH x AS (SELECT 1) SELECT * FROM x\n```")
    assert e.sql.startswith("WITH x")
    assert extract_sql("nenhuma consulta aqui").sql is None
    assert extract_sql("done with care, no query").sql is None


def test_fold_and_words_are_accent_and_case_insensitive():
    assert fold("Análise de PREÇO") == "analise de preco"
    assert words("Recomendação: 3 AÇÕES já! 🚀") == [b"recomendacao", b"acoes", b"ja"]


def test_stem_lexicon_matches_prefixes_and_rejects_short_stems():
    lex = StemLexicon(["recomend", "priorizar"])
    assert lex.matches(set(words("Recomendamos priorizar e recomenda"))) == {"recomend", "priorizar"}
    assert lex.matches(set(words("nada"))) == set()
    with pytest.raises(ValueError, match="at least 4"):
        StemLexicon(["abc"])
    # The recipe asks for a business vocabulary of at least 30 words.
    assert len(BUSINESS_STEMS) >= 30


def test_the_most_complete_object_wins_the_last_among_equals():
    answer = json.dumps({"sentiment": "negativo", "sentiment_score": 2, "summary": "Chegou tarde."})
    partial = '{"sentiment": "negativo"}'
    rank = len  # how many fields: what the extraction reward ranks by
    # A line of reasoning quoting a partial object before the answer, or after it.
    for text in (f"Penso em {partial} e respondo:\n{answer}", f"{answer}\nOu seja, {partial}."):
        obj, report = parse_json_object(text, rank=rank)
        assert obj == json.loads(answer) and report.objects == 2
    # Two drafts of the same size: the last one is the answer.
    first, second = '{"a": 1, "b": 2}', '{"a": 3, "b": 4}'
    assert parse_json_object(f"{first}\nCorrigindo: {second}", rank=rank)[0] == {"a": 3, "b": 4}
    # The recipe's parser took the first object, in the first json fence when there is one.
    assert parse_json_object(f"{first}\nCorrigindo: {second}", pick="first")[0] == {"a": 1, "b": 2}
    assert parse_json_object(f"{first}\n```json\n{second}\n```", pick="first")[0] == {"a": 3, "b": 4}


def test_stray_braces_and_quotes_in_prose_do_not_hide_the_answer():
    answer = '{"sentiment": "positivo", "summary": "Gostei"}'
    for prose in ("Use { para abrir: ", 'O cliente disse "ótimo. ', "{prosa entre chaves} ", "Nota 5\" e "):
        assert parse_json_object(prose + answer)[0] == json.loads(answer), prose


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1,5' + '\\"' * 8000,                  # a decimal comma, then a long run of escaped quotes
        '{"a": "' + "9" * 60000 + ",9",              # a long digit run with a decimal comma
        "{}" * 30000,                                 # a flood of tiny objects
        "{" * 64000,
        '{"a": ' * 12000,
        '"' * 64000,
        "[" * 32000 + "]" * 32000,
    ],
    ids=["escaped-quotes", "digits", "tiny-objects", "braces", "nested-keys", "quotes", "arrays"],
)
def test_json_scan_is_linear_on_pathological_input(text):
    import gc
    import time

    # A full collection now, not inside the timed call: in a whole `make test` run this case
    # once took 0.27 s of this thread's CPU where the parse alone takes 5-11 ms, most likely
    # a collection of the suite's large heap that the parse's allocations happened to trigger.
    gc.collect()
    start = time.thread_time()
    parse_json_object(text)
    # CPU time of this thread: the quadratic regex took 6 s on the first case at 16 KB.
    assert time.thread_time() - start < 0.1
