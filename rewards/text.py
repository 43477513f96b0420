"""Text signals the grounded rewards share, and the exploit detector reads.

Each is a property a reader notices at a glance and a policy can exploit if nobody looks:
which language the text is in (`language`), whether it is running text or a keyword list
(`function_share`), lines said twice (`repeated_lines`), lines or n-grams copied from the
prompt (`copied_lines`, `ngram_share`), template placeholders (`placeholders`), shouting
(`shouting`), and a text cut off mid-sentence (`cut_off`). All run in linear time on any
string: the read limit (rewards.parsing.MAX_SCAN) bounds their cost.

Tokens here keep digits (`lexicon.tokens`): "15% off em 10x" is ["15", "off", "em", "10x"], so
copies of figures count as copies. Matching is accent- and case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rewards.lexicon import EN_FUNCTION_WORDS, PT_FUNCTION_WORDS, STOPWORDS, tokens, tokens_table, words

# {nome}, {{cupom}}, [X], [NOME DO PRODUTO], <produto>, XX%, xxxxxxxx, ___, lorem ipsum, R$ X.
# Every alternative starts with its own character: the pattern starts with their class, so
# the engine skips to those characters, and each alternative checks its first one behind it.
_PLACEHOLDER_PARTS = (
    r"(?<=\{)\{?\s*[A-Za-zÀ-ÿ_][\wÀ-ÿ .-]{0,30}\}\}?",
    r"(?<=\[)\s*(?:[A-Z][A-Z_ ]{0,29}|[a-zà-ÿ_][a-zà-ÿ_ ]{1,29})\s*\](?!\()",
    r"(?<=<)\s*[A-Za-zÀ-ÿ_][\wÀ-ÿ ]{0,30}>",
    r"(?<=[Xx])(?<![A-Za-z][Xx])[Xx]+(?![A-Za-z])",  # XX, xxxx: not inside a word
    r"(?<=_)_{2,}",
    r"(?<=R)\$\s?X\b",
)
_PLACEHOLDER = re.compile(r"[{\[<Xx_R](?:" + "|".join(_PLACEHOLDER_PARTS) + ")")
# "lorem ipsum" (a word), only for texts that have it: "l" is too common a first character.
_PLACEHOLDER_LOREM = re.compile(r"[{\[<Xx_Rl](?:" + "|".join(_PLACEHOLDER_PARTS) + r"|(?<=l)(?<!\wl)orem ipsum\b)")
_LETTERS_ONLY = re.compile(r"[^\W\d_]")
_NOT_UPPER = bytes(b for b in range(256) if not re.match(r"[A-ZÀ-ÖØ-Þ]", chr(b)))
_NOT_LETTER = bytes(b for b in range(256) if not _LETTERS_ONLY.match(chr(b)))
_EMOJI = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff]")
# [.!?;]\s+|\n+, written to start with a character class: the engine skips to candidates.
_SENTENCE_SPLIT = re.compile(r"[.!?;\n](?:(?<=\n)\n*|(?<=[.!?;])\s+)")
_LIST_MARK = re.compile(r"^\s*(?:[-*•+]|\d{1,2}[.)]|#{1,6})\s*")
_NUMBERED_UNIT = re.compile(rb"\n *[0-9]")  # a folded unit whose first token starts with a digit


def content_words(text: str) -> list[bytes]:
    """Words (letters only) that say something: stopwords and words under 3 letters removed."""
    return [w for w in words(text) if len(w) > 2 and w not in STOPWORDS]


def language(word_list: list[bytes], unique: set[bytes] | None = None) -> tuple[int, int]:
    """(Portuguese, English) function words among `word_list` (from `lexicon.words`);
    `unique`, the set of `word_list` when the caller has it, spares counting a language
    none of whose words is there (English, in most answers)."""
    pt, en = PT_FUNCTION_WORDS, EN_FUNCTION_WORDS
    if unique is not None and en.isdisjoint(unique):
        return (0 if pt.isdisjoint(unique) else len([w for w in word_list if w in pt])), 0
    return len([w for w in word_list if w in pt]), len([w for w in word_list if w in en])


def function_share(word_list: list[bytes]) -> float:
    """Share of Portuguese function words among all words: running Portuguese is 30-45%,
    a telegraphic push 15-30%, a keyword list under 10%."""
    if not word_list:
        return 0.0
    return language(word_list)[0] / len(word_list)


LINES_TABLE = bytes(tokens_table()[:10]) + b"\n" + bytes(tokens_table()[11:])


def fold_lines(text: str) -> list[bytes]:
    """`text` folded as `tokens` folds it, one bytes string per line (split at "\n" only,
    as `text.split("\n")` splits it): one translation for the whole text."""
    return text.encode("latin-1", "ignore").translate(LINES_TABLE).split(b"\n")


def line_tokens(line: str) -> list[bytes]:
    """The tokens of a line as the repetition and copy checks compare it: list marks, case,
    accents, punctuation and spacing ignored."""
    head = line.lstrip()[:1]
    if head and (head.isdigit() or head in "-*•+#"):
        line = _LIST_MARK.sub("", line)
    return tokens(line)


def normal_line(line: str) -> bytes:
    """`line_tokens` joined: the key two lines are compared by."""
    return b" ".join(line_tokens(line))


def units(text: str) -> list[str]:
    """Lines and sentences (their end marks dropped): what a reader sees repeated."""
    return [u for u in _SENTENCE_SPLIT.split(text) if u and u.strip()]


def repeated_lines(text: str, *, min_tokens: int = 2) -> tuple[float, str | None]:
    """Share of the text's lines/sentences (of at least `min_tokens` tokens) that repeat an
    earlier one, and the first repeated one."""
    found = units(text)
    if not found:
        return 0.0, None
    # Units hold no line break: all of them are folded in one translation. A list mark other
    # than a number folds to nothing, so only numbered units need `normal_line`.
    joined = "\n".join(found).encode("latin-1", "ignore").translate(LINES_TABLE)
    # Two units with the same tokens have the same tokens run together: when no two units
    # (with a token) have those alike, none repeats (the common case, read in C).
    runs = joined.translate(None, b" ").split(b"\n")
    if _NUMBERED_UNIT.search(b"\n" + joined):
        runs = [normal_line(u).replace(b" ", b"") if u.lstrip()[:1].isdigit() else r for u, r in zip(found, runs,
                                                                                                   strict=True)]
    distinct = set(runs)
    distinct.discard(b"")
    if len(distinct) == len(runs) - runs.count(b"") and min_tokens >= 2:
        return 0.0, None
    return repeats_by_unit(found, joined.split(b"\n"), min_tokens)


def repeats_by_unit(found: list[str], folded: list[bytes], min_tokens: int) -> tuple[float, str | None]:
    """`repeated_lines` unit by unit (`folded`: each unit folded as `tokens` folds it)."""
    seen: set[bytes] = set()
    total = repeats = 0
    first = None
    for unit, low in zip(found, folded, strict=True):
        key = normal_line(unit) if unit.lstrip()[:1].isdigit() else b" ".join(low.split())
        if key.count(b" ") + 1 < min_tokens:
            continue
        total += 1
        if key in seen:
            repeats += 1
            first = first or unit.strip()
        else:
            seen.add(key)
    return (repeats / total if total else 0.0), first


def ngrams(toks: list[bytes], n: int) -> set[tuple[bytes, ...]]:
    return set(zip(*(toks[i:] for i in range(n)), strict=False))


def ngram_share(text_tokens: list[bytes], source: set[tuple[bytes, ...]], n: int) -> float:
    """Share of the text's n-grams found in `source` (n-grams of the prompt)."""
    if len(text_tokens) < n:
        return 0.0
    grams = zip(*(text_tokens[i:] for i in range(n)), strict=False)
    return sum(map(source.__contains__, grams)) / (len(text_tokens) - n + 1)


def copied_lines(text: str, prompt: str, *, min_tokens: int = 4) -> tuple[list[str], list[str]]:
    """(own lines, copied lines): a line is copied when it is a line of the prompt, or
    when nearly all its 4-grams are the prompt's. Short lines (headers) are never copies."""
    prompt_lines = {normal_line(line) for line in prompt.splitlines()}
    prompt_grams = ngrams(tokens(prompt), 4)
    own, copied = [], []
    for line in text.splitlines():
        key = normal_line(line)
        toks = key.split()
        if len(toks) >= min_tokens and (key in prompt_lines or ngram_share(toks, prompt_grams, 4) >= 0.8):
            copied.append(line)
        else:
            own.append(line)
    return own, copied


def placeholders(text: str) -> list[str]:
    """Template placeholders left in the text ({nome}, [X], XX%, xxxx, ___, <produto>)."""
    # Most texts have none of the characters a placeholder needs: skip the regex for them
    # ("R$X" alone does not count).
    if not ("{" in text or "[" in text or "<" in text or "___" in text or "lorem" in text or "R$ X" in text
            or "xx" in text or "xX" in text or "Xx" in text or "XX" in text):
        return []
    return (_PLACEHOLDER_LOREM if "lorem ipsum" in text else _PLACEHOLDER).findall(text)[:5]


def shouting(text: str, encoded: bytes | None = None) -> str | None:
    """Why the text shouts (capitals, emoji or exclamation spam), or None. `encoded`: the
    text's `encode("latin-1", "ignore")`, when the caller has it."""
    if encoded is None:
        encoded = text.encode("latin-1", "ignore")
    whole = len(encoded) == len(text)  # nothing past Latin-1: no emoji, and letters counted in bytes
    # The capitals counted (A-Z, À-Ö, Ø-Þ) are all Latin-1: the bytes left when every other
    # byte is deleted.
    upper = len(encoded.translate(None, _NOT_UPPER))
    if upper > 7:  # at least 12 letters and over 60% capitals: more than 7 capitals
        letters = len(encoded.translate(None, _NOT_LETTER)) if whole else len(_LETTERS_ONLY.findall(text))
        if letters >= 12 and upper / letters > 0.6:
            return f"{upper}/{letters} letters in capitals"
    emoji = 0 if whole else len(_EMOJI.findall(text))
    if emoji > 3:
        return f"{emoji} emoji"
    if "!!!" in text or "???" in text:
        return "repeated punctuation"
    return None


_TERMINAL = ".!?:)\"'»”…*_`]"


def _ends_sentence(line: str) -> bool:
    line = line.rstrip()
    return bool(line) and (line[-1] in _TERMINAL or bool(_EMOJI.match(line[-1])))


def cut_off(text: str) -> bool:
    """True when the text stops mid-sentence: its last line is running text (four words or
    more) that ends without a full stop, question or exclamation mark; or it is a list item
    that does, while two thirds of the text's other lines end theirs (a style without full
    stops in lists cannot be told from a cut)."""
    text = text.rstrip()
    if not text:
        return False
    # The last line (the text ends in a non-space, so the part after the last "\n" holds it).
    last = text[text.rfind("\n") + 1:].splitlines()[-1].strip()
    if last.startswith(("#", "|", "```")) or _ends_sentence(last) or len(words(last)) < 4:
        return False
    if not _LIST_MARK.match(last) and not last.startswith("**"):
        return True
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    others = [line for line in lines[:-1] if not line.startswith(("#", "|", "```")) and len(words(line)) >= 4]
    return bool(others) and sum(map(_ends_sentence, others)) >= 2 * len(others) / 3


# Words a Portuguese sentence cannot end on: a text that stops at one was cut off.
DANGLING = frozenset(words("de da do das dos com para pra por pelo pela em no na nos nas o a os as um uma e ou "
                           "que seu sua seus suas ao aos mas se sem nosso nossa cada entre sobre"))


def proper_prefixes(vocabulary: Iterable[bytes]) -> frozenset[bytes]:
    """Every proper prefix of the vocabulary's words ("cup" and "cupo" of "cupom")."""
    return frozenset(w[:i] for w in frozenset(vocabulary) for i in range(1, len(w)))


def prefixes(vocabulary: Iterable[bytes]) -> frozenset[bytes]:
    """Every proper prefix of the vocabulary's words that is not itself one of them."""
    vocab = frozenset(vocabulary)
    return proper_prefixes(vocab) - vocab


def stops_mid_word(text: str, cut_forms: frozenset[bytes]) -> bool:
    """True when a short text (a push) ends without punctuation on a word it cannot end
    on: a preposition or article ("... com 15% de"), or a word cut short (`cut_forms`:
    `prefixes()` of the words the prompt uses, such as "cup" for "cupom")."""
    stripped = text.rstrip()
    if not stripped or not stripped[-1].isalpha():
        return False
    last = words(stripped.rsplit(None, 1)[-1])
    if not last:
        return False
    return last[-1] in DANGLING or last[-1] in cut_forms


def prefix_overlap(a: Iterable[bytes], b: Iterable[bytes], *, prefix: int = 5) -> set[bytes]:
    """Words of `a` that share their first `prefix` letters with a word of `b` (so
    "atrasou" meets "atraso", "toalhas" meets "toalha")."""
    keys = {w[:prefix] for w in b}
    return {w for w in a if w[:prefix] in keys}
