"""Word classes: what the grounded rewards count about a word, worked out once per word.

A word (from `lexicon.words`) may be a Portuguese or an English function word (what
`text.language` counts) and may start with a stem of the recommendation, domain or
business lexicons (`lexicon.RECOMMEND_STEMS`, `DOMAIN_STEMS`, `BUSINESS_STEMS`). Every
combination that occurs gets a small integer code, and every word seen is remembered with
its code, so a text's words become codes in one C pass (`codes`: a dict lookup per word),
function words are counted with `list.count`, and the stems a text uses are read from its
few distinct codes (`Profile`). The memo is dropped when it grows past `_MAX_MEMO`
words, so it cannot grow without bound; a word is classified the same way every time.
"""

from __future__ import annotations

from typing import NamedTuple

from rewards.lexicon import (
    BUSINESS_STEMS,
    DOMAIN_STEMS,
    EN_FUNCTION_WORDS,
    PT_FUNCTION_WORDS,
    RECOMMEND_STEMS,
)


class WordClass(NamedTuple):
    pt: bool  # a Portuguese function word
    en: bool  # an English function word
    recommend: str | None  # the RECOMMEND_STEMS stem it starts with
    domain: str | None  # the DOMAIN_STEMS stem
    business: str | None  # the BUSINESS_STEMS stem


# Codes start at 1, so that a list of codes is all true exactly when every word was known.
_CLASSES: list[WordClass | None] = [None]
_CODE_OF: dict[WordClass, int] = {}
_MEMO: dict[bytes, int] = {}
_MAX_MEMO = 200_000


def _code(cls: WordClass) -> int:
    code = _CODE_OF.get(cls)
    if code is None:
        code = _CODE_OF[cls] = len(_CLASSES)
        _CLASSES.append(cls)
    return code


NOTHING = _code(WordClass(False, False, None, None, None))


def _classify(word: bytes) -> int:
    return _code(WordClass(word in PT_FUNCTION_WORDS, word in EN_FUNCTION_WORDS, RECOMMEND_STEMS.stem_of(word),
                           DOMAIN_STEMS.stem_of(word), BUSINESS_STEMS.stem_of(word)))


def codes(words: list[bytes]) -> list[int]:
    """The class code of each word (same order)."""
    out = list(map(_MEMO.get, words))
    if all(out):
        return out
    if len(_MEMO) > _MAX_MEMO:
        _MEMO.clear()
    for w in set(words).difference(_MEMO):
        _MEMO[w] = _classify(w)
    return list(map(_MEMO.__getitem__, words))


class Profile:
    """The classes of a text's words: function words counted, stems collected."""

    __slots__ = ("codes", "distinct")

    def __init__(self, words: list[bytes]):
        self.codes = codes(words)
        self.distinct = [(c, _CLASSES[c]) for c in set(self.codes)]

    def language(self) -> tuple[int, int]:
        """(Portuguese, English) function words, as `text.language` counts them."""
        pt = en = 0
        for code, cls in self.distinct:
            if cls.pt or cls.en:
                n = self.codes.count(code)
                pt += n if cls.pt else 0
                en += n if cls.en else 0
        return pt, en

    def stems(self, lexicon: str) -> set[str]:
        """The stems of `lexicon` ("recommend", "domain" or "business") the words start with,
        as `StemLexicon.matches` finds them."""
        return {s for _, cls in self.distinct if (s := getattr(cls, lexicon))}
