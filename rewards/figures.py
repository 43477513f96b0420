"""Figures in text: reading Portuguese (and English) numbers, and telling a figure that
restates a source from one that was made up.

`figures(text)` finds every number a reader would call a figure: "R$ 1.234,56", "12,5%",
"1,2 mil", "3.210 pedidos", "0.85". Each `Figure` keeps the readings the text allows
("1.234" is 1234 in Portuguese and 1.234 in English) and the decimals it shows, so a
source value matches when the text could be that value rounded as shown: 12.46 matches
"12,5%" and "12%", not "13,1%". A value and its percent or fraction (0.125 and "12,5%")
match too.

`is_generic(figure)` marks numbers that state nothing about the data: small counts
("3 ações", list numbering), years and durations ("90 dias", "6 meses"). The rewards
neither pay nor penalise those.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from rewards.prompt_cache import prompt_cache

# A figure is found by one regex pass in C: a run of digits and separators, its shape
# (thousands separators, decimals), what follows it (a percent sign, a Portuguese multiplier
# or a unit; read only where the first non-space character within three can start one) and
# what precedes it (a minus; a letter, digit or separator before it makes it part of a code
# or a date, the 20 of NATAL20, the 09 of 2016-09). The pattern starts with a character
# class, so the engine skips to digits and minus signs; the context is a lookbehind after
# that first character, whose shape is then read without it (`_SHAPE_REST`).
_SHAPE = r"<d>{1,3}(?:\.<d>{3})++(?:,<d>+)?|<d>{1,3}(?:,<d>{3})++(?:\.<d>+)?|<d>++(?:[.,]<d>++)?"
_SHAPE_REST = r"<d>{0,2}(?:\.<d>{3})++(?:,<d>+)?|<d>{0,2}(?:,<d>{3})++(?:\.<d>+)?|<d>*+(?:[.,]<d>++)?"
_TAIL = (r"<g>\s*%|\s*(?:mil|milh[õo]es|milh[ãa]o|bilh[õo]es|bilh[ãa]o|bi)\b)?"
         r"<g>\s*(?:dias?|meses|m[eê]s|semanas?|horas?|h|anos?|minutos?|min|x|vezes|estrelas?|caracteres)\b)?")
_FIGURE = (r"[\x00<cd>-](?<![\w.,-][-<cd>])<money>(?:(?<=-)<g>" + _SHAPE + r")|(?<=<d>)<g>" + _SHAPE_REST + r"))"
           r"(?:(?=\s{0,3}[%mMbBdDsShHaAxXvVeEcC])(?i:" + _TAIL + "))?")
# (NUL, in the first class, starts no match: both branches need a minus or a digit behind them;
# with three runs, the class is compiled to a bitmap, which the engine's scan tests faster.)
# Money: "R$" within the four characters before the number (after its minus sign, at least
# four characters into the text), read by findall as a capture inside a lookbehind (two:
# the first character read was a minus, or the number's first digit) rather than by looking
# at each match's position afterwards.
_MONEY = r"(?:(?<=(R\$[\s\S]-|[\s\S]R\$-))|(?<=(R\$[\s\S]{2}<d>|[\s\S]R\$[\s\S]<d>|[\s\S]{2}R\$<d>))|)"


def _figure_pattern(*, ascii_digits: bool, groups: bool, money: bool = False) -> re.Pattern:
    """The figure regex: groups (1 or 2: the number, 3: multiplier or %, 4: unit) to read a
    match, none for findall to list them, or (with `money`) three for findall: the match and
    the two money captures; digits beyond ASCII (Arabic-Indic, fullwidth, all at U+0660 and
    above) only where the text has such characters ([0-9] scans faster)."""
    source = _FIGURE.replace("<g>", "(" if groups else "(?:").replace("<money>", _MONEY if money else "")
    source = source.replace("<cd>", "0-9" if ascii_digits else r"\d").replace("<d>", "[0-9]" if ascii_digits else r"\d")
    return re.compile(f"({source})" if money else source)


class _Patterns(NamedTuple):
    grouped: re.Pattern
    flat: re.Pattern
    money: re.Pattern


_PATTERNS = {wide: _Patterns(_figure_pattern(ascii_digits=not wide, groups=True),
                             _figure_pattern(ascii_digits=not wide, groups=False),
                             _figure_pattern(ascii_digits=not wide, groups=False, money=True))
             for wide in (False, True)}
_WIDE = re.compile("[\u0660-\U0010ffff]")
_MULTIPLIERS = {"mil": 1e3, "milhao": 1e6, "milhão": 1e6, "milhoes": 1e6, "milhões": 1e6,
                "bilhao": 1e9, "bilhão": 1e9, "bilhoes": 1e9, "bilhões": 1e9, "bi": 1e9}
_MAX_FIGURES = 400
_MAX_EAGER = 16_000  # characters of a text with R$ whose matches are all listed at once
_MAX_KNOWN = 65536


class Figure(NamedTuple):
    text: str
    readings: tuple[tuple[float, int], ...]  # (value, decimals shown) per possible reading
    percent: bool
    money: bool
    unit: str  # "dias", "x", ... ("" for none)
    generic: bool = False  # is_generic(): states nothing about the data

    @property
    def value(self) -> float:
        return self.readings[0][0]


@lru_cache(maxsize=65536)
def _readings(number: str, mult: float) -> tuple[tuple[float, int], ...]:
    if mult == 1.0 and number.isdigit():  # the common case: a plain integer
        return ((float(number), 0),)
    return tuple((v, d) for v, d in _parse(number, mult) if math.isfinite(v))


def _parse(number: str, mult: float) -> tuple[tuple[float, int], ...]:
    sign = -1.0 if number.startswith("-") else 1.0
    n = number.lstrip("-")
    out: list[tuple[float, int]] = []
    if "." in n and "," in n:
        if n.rfind(",") > n.rfind("."):  # 1.234,56 (Portuguese)
            whole, dec = n.replace(".", "").split(",")
        else:  # 1,234.56 (English)
            whole, dec = n.replace(",", "").split(".")
        out.append((float(f"{whole}.{dec}"), len(dec)))
    elif "," in n:
        whole, dec = n.split(",", 1)
        if len(dec) == 3 and whole != "0" and "," not in dec:
            out.append((float(whole + dec), 0))  # 1,234 (English thousands)
        out.insert(0, (float(f"{whole}.{dec.replace(',', '')}"), len(dec)))  # 1,5 (Portuguese decimal)
    elif "." in n:
        parts = n.split(".")
        if len(parts) > 2 or (len(parts[1]) == 3 and parts[0] != "0"):
            out.append((float("".join(parts)), 0))  # 1.234 (Portuguese thousands)
        if len(parts) == 2:
            out.append((float(n), len(parts[1])))  # 0.85, 1.234 (English decimal)
    else:
        out.append((float(n), 0))
    if mult != 1.0:
        # "1,2 mil": the shown decimals apply to the mantissa, so 1.2e3 stands for 1150-1250.
        return tuple((sign * v * mult, d - round(math.log10(mult))) for v, d in out)
    return tuple((sign * v, d) for v, d in out)


def figures(text: str, encoded: bytes | None = None) -> list[Figure]:
    """Every figure in `text` (at most a few hundred: the rest of a huge text adds nothing).
    A number glued to a word on its left (the 20 of NATAL20) is part of a code, not a figure.
    `encoded`: the text's `encode("latin-1", "ignore")`, when the caller has it."""
    wide = not text.isascii() and len(text.encode("latin-1", "ignore") if encoded is None else encoded) < len(text) \
        and bool(_WIDE.search(text))
    patterns = _PATTERNS[wide]
    plain, money = _KNOWN[wide]
    # Where a match stands matters when R$ comes just before it: that pattern's matches carry
    # the characters before them (the memo's keys then hold both).
    if "R$" not in text:
        memo, found = plain, patterns.flat.findall(text)
    elif len(text) <= _MAX_EAGER:
        memo, found = money, patterns.money.findall(text)
    else:  # a long text is read lazily, up to the cap: its matches past it are never made
        memo, found = money, (m.groups("") for m in patterns.money.finditer(text))
    if type(found) is list:
        known = list(map(memo.get, found))
        if all(known) and len(known) <= _MAX_FIGURES:  # every match read before: the common case
            return known
    out: list[Figure] = []
    for key in found:
        f = memo.get(key)
        if f is None:
            if len(memo) >= _MAX_KNOWN:
                memo.clear()
            shown, is_money = (key, False) if memo is plain else (key[0], bool(key[1] or key[2]))
            f = memo[key] = _figure(patterns.grouped.match(shown), is_money)
        if f:
            out.append(f)
            if len(out) >= _MAX_FIGURES:
                break
    return out


def _figure(m: re.Match, money: bool) -> Figure | bool:
    """The Figure of a match, read alone (what a match means depends only on its text, and
    on an R$ before it); False for a number too large to be a float."""
    shown = m.group()
    number = shown[:m.end(1 if shown[0] == "-" else 2)]
    suffix, unit = (m.group(3) or "").strip(), (m.group(4) or "").strip().lower()
    readings = _readings(number, _MULTIPLIERS.get(suffix.lower(), 1.0) if suffix and suffix != "%" else 1.0)
    if not readings:
        return False
    f = Figure("R$ " + shown if money else shown, readings, suffix == "%", money, unit)
    return f._replace(generic=is_generic(f))


# Each distinct match is read once: match -> its Figure (False: not a float), per digit set:
# one memo for plain matches, one for the (match, characters before it) of texts with R$.
_KNOWN: dict[bool, tuple[dict[str, Figure | bool], dict[tuple, Figure | bool]]] = {False: ({}, {}), True: ({}, {})}


def is_generic(f: Figure) -> bool:
    """A number that states nothing about the data: a small count or rank, a year, a duration."""
    if f.percent or f.money:
        return False
    v, d = f.readings[0]
    if d > 0 and not f.unit:
        return False
    if f.unit and f.unit not in ("x",):
        return True
    return (0 <= v <= 12 and v == int(v)) or (1990 <= v <= 2035 and v == int(v))


def numeric_values(items: Iterable) -> list[float]:
    """The numbers among cells or figures (text cells that read as numbers included)."""
    out: list[float] = []
    for item in items:
        if isinstance(item, Figure):
            out.extend(v for v, _ in item.readings)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | float):
            if math.isfinite(float(item)):
                out.append(float(item))
        elif isinstance(item, str):
            out.extend(v for f in figures(item) for v, _ in f.readings)
    return out


@prompt_cache()
def source_of(text: str) -> Source:
    """The Source of every reading of every figure of a prompt-side text (cached: a
    prompt's summary, brief or question is read once, however many answers it gets)."""
    return Source(v for f in figures(text) for v, _ in f.readings)


class Source:
    """The figures a text may restate, indexed so that matching stays fast for a long text."""

    def __init__(self, values: Iterable[float]):
        self.values = sorted({round(v, 9) for v in values if math.isfinite(v)})
        self._seen: dict[tuple, bool] = {}  # readings -> answer: answers quote the same figures

    def __bool__(self) -> bool:
        return bool(self.values)

    def has(self, f: Figure) -> bool:
        """True when `f` could be one of the values as the text shows it: rounded to the
        decimals it shows (never coarser than units: "12" does not stand for 14.9), or the
        value's percent or fraction."""
        vals = self.values
        if not vals:
            return False
        known = self._seen.get(f.readings)
        if known is not None:
            return known
        found = self._has(vals, f.readings)
        if len(self._seen) < 4096:
            self._seen[f.readings] = found
        return found

    @staticmethod
    def _has(vals: list[float], readings: tuple) -> bool:
        for shown, decimals in readings:
            tol = 0.5 * 10.0 ** (-decimals) + 1e-9 * (1.0 + abs(shown))
            for target, t in ((shown, tol), (shown / 100.0, tol / 100.0), (shown * 100.0, tol * 100.0)):
                i = bisect.bisect_left(vals, target - t)
                if i < len(vals) and vals[i] <= target + t:
                    return True
        return False


def split(found: list[Figure], source: Source) -> tuple[list[Figure], list[Figure]]:
    """(figures restating the source, figures made up); generic numbers are in neither."""
    grounded, invented = [], []
    for f in found:
        if not f.generic:
            (grounded if source.has(f) else invented).append(f)
    return grounded, invented
