"""Inline diff highlighting and the extraction field-by-field diff."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from audit_app.ui import diffview


def _plain(html_text: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def test_inline_diff_marks_changed_words_only():
    left, right = diffview.inline_diff("O pedido chegou atrasado.", "O pedido chegou no prazo.")
    assert '<del class="diff-del">atrasado</del>' in left
    assert '<ins class="diff-ins">no prazo</ins>' in right
    assert "O pedido chegou " in left and "O pedido chegou " in right
    assert "<ins" not in left and "<del" not in right


def test_inline_diff_escapes_untrusted_html():
    evil = 'ok <script>alert("x")</script> <img src=x onerror=alert(1)>'
    left, right = diffview.inline_diff(evil, "ok")
    for out in (left, right):
        assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in left
    assert _plain(left) == evil


def test_identical_texts_have_no_highlight():
    left, right = diffview.inline_diff("igual", "igual")
    assert left == right and "<del" not in left
    assert diffview.similarity("a b", "a b") == 1.0
    assert 0 <= diffview.similarity("a b c", "x y z") < 0.5


def test_very_long_texts_fall_back_to_plain_escaped():
    long = "<b>palavra</b> " * 4000
    left, right = diffview.inline_diff(long, long + "fim")
    assert "too long" in left and "too long" in right
    assert "<b>" not in left and "&lt;b&gt;palavra" in left


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_diff_preserves_both_texts(a, b):
    left, right = diffview.inline_diff(a, b)
    assert _plain(left) == a
    assert _plain(right) == b


def test_extraction_field_by_field():
    base = 'Aqui está:\n```json\n{"sentimento": "negativo", "nota": 2, "produto": "cadeira"}\n```'
    tuned = '{"sentimento": "positivo", "nota": 2, "entrega": "atrasada"'  # truncated JSON, repaired
    rows = {r.field: r for r in diffview.field_diff(base, tuned)}
    assert rows["sentimento"].status == "changed"
    assert rows["sentimento"].left == '"negativo"' and rows["sentimento"].right == '"positivo"'
    assert rows["nota"].status == "same"
    assert rows["produto"].status == "only left" and rows["produto"].right is None
    assert rows["entrega"].status == "only right"
    assert [r.field for r in diffview.field_diff(base, tuned)][:3] == ["sentimento", "nota", "produto"]
    assert diffview.pretty_json(base) == '{\n  "sentimento": "negativo",\n  "nota": 2,\n  "produto": "cadeira"\n}'
    assert diffview.field_diff("sem json", "também não") is None
    assert diffview.pretty_json("[1, 2]") is None
