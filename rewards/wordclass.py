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

from operator import itemgetter
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
# The codes of function words (Portuguese, English), and each lexicon's codes with their stem.
_PT_CODES: set[int] = set()
_EN_CODES: set[int] = set()
_STEMS: dict[str, dict[int, str]] = {"recommend": {}, "domain": {}, "business": {}}
_STEM_CODES: dict[str, set[int]] = {lexicon: set() for lexicon in _STEMS}
_MEMO: dict[bytes, int] = {}
_MAX_MEMO = 200_000


def _code(cls: WordClass) -> int:
    code = _CODE_OF.get(cls)
    if code is None:
        code = _CODE_OF[cls] = len(_CLASSES)
        _CLASSES.append(cls)
        if cls.pt:
            _PT_CODES.add(code)
        if cls.en:
            _EN_CODES.add(code)
        for lexicon, stems in _STEMS.items():
            if getattr(cls, lexicon):
                stems[code] = getattr(cls, lexicon)
                _STEM_CODES[lexicon].add(code)
    return code


def _classify(word: bytes) -> int:
    return _code(WordClass(word in PT_FUNCTION_WORDS, word in EN_FUNCTION_WORDS, RECOMMEND_STEMS.stem_of(word),
                           DOMAIN_STEMS.stem_of(word), BUSINESS_STEMS.stem_of(word)))


def codes(words: list[bytes]) -> list[int] | tuple[int, ...]:
    """The class code of each word (same order)."""
    if len(words) < 2:  # itemgetter of one key returns the value, not a tuple
        if words and words[0] not in _MEMO:
            _learn(words)
        return [_MEMO[w] for w in words]
    lookup = itemgetter(*words)  # one C call looks every word up
    try:
        return lookup(_MEMO)
    except KeyError:  # a word not classified yet
        _learn(words)
        return lookup(_MEMO)


def _learn(words: list[bytes]) -> None:
    if len(_MEMO) > _MAX_MEMO:
        _MEMO.clear()
    for w in set(words).difference(_MEMO):
        _MEMO[w] = _classify(w)


class Profile:
    """The classes of a text's words: function words counted, stems collected."""

    __slots__ = ("codes", "distinct")

    def __init__(self, words: list[bytes]):
        self.codes = codes(words)
        self.distinct = set(self.codes)

    def language(self) -> tuple[int, int]:
        """(Portuguese, English) function words, as `text.language` counts them."""
        count = self.codes.count
        return (sum(map(count, _PT_CODES.intersection(self.distinct))),
                sum(map(count, _EN_CODES.intersection(self.distinct))))

    def stems(self, lexicon: str) -> set[str]:
        """The stems of `lexicon` ("recommend", "domain" or "business") the words start with,
        as `StemLexicon.matches` finds them."""
        return set(map(_STEMS[lexicon].__getitem__, self.distinct & _STEM_CODES[lexicon]))
