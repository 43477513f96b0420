"""The recipe's extraction reward (`extraction_recipe`): a customer review turned into the
10-field JSON of rewards/schema.py, judged on its form and the star rating only.

Components (the recipe's weights):
- json_valid 0.30: a JSON object was found and parsed strictly (fences, prose around it
  and Portuguese decimal commas are fine); 0.15 when only json-repair could recover it or
  the object came wrapped in an array.
- completeness 0.30: fields present / 10.
- value_validity 0.40: 9 type/range checks / 9 (the free-text `product_mentioned` is not
  checked). Integers must be `int` and not `bool`; booleans must be JSON booleans; a text
  value that merely echoes a field name or a placeholder ("string", "resumo") fails.
- rating_penalty -0.20: the review's star rating (prompt metadata `rating`) contradicts
  the stated sentiment: rating 1-2 with "positivo", or rating 4-5 with "negativo".

It never reads the review: a constant JSON scores 1.0 on every prompt, and a 1-star review
labelled "positivo" keeps 0.80. The grounded default is rewards.extraction.
"""

from __future__ import annotations

from typing import Any

from rewards.lexicon import fold
from rewards.parsing import parse_json_object
from rewards.schema import CHECKED_FIELDS, EXTRACTION_FIELDS, FIELD_NAMES, PLACEHOLDERS
from rewards.types import Reward, RewardBreakdown

WEIGHTS = {"json_valid": 0.30, "completeness": 0.30, "value_validity": 0.40, "rating_penalty": -0.20}
COMPONENTS = tuple(WEIGHTS)
_ECHOES = frozenset(PLACEHOLDERS | set(FIELD_NAMES) | {fold(n.replace("_", " ")) for n in FIELD_NAMES})
_SPEC = {f["name"]: f for f in EXTRACTION_FIELDS}
_ALLOWED_ENUM = {f["name"]: frozenset(f["allowed"]) for f in EXTRACTION_FIELDS if f["type"] == "enum"}


def validate_rating(rating: Any) -> int | None:
    """The `rating` meta value as an int 1-5; ValueError naming the bad value otherwise."""
    if rating is None:
        return None
    if isinstance(rating, bool) or not isinstance(rating, int | float | str):
        raise ValueError(f"rating must be an integer from 1 to 5, got {rating!r}")
    try:
        value = float(rating)
    except ValueError:
        raise ValueError(f"rating must be an integer from 1 to 5, got {rating!r}") from None
    if value != int(value) or not 1 <= value <= 5:
        raise ValueError(f"rating must be an integer from 1 to 5, got {rating!r}")
    return int(value)


def _check(name: str, value: Any, strict_int: bool) -> str | None:
    """None when `value` is valid for field `name`, else a short reason."""
    spec = _SPEC[name]
    kind = spec["type"]
    if kind == "enum":
        if isinstance(value, str) and fold(value.strip()) in _ALLOWED_ENUM[name]:
            return None
        return f"{name}: {_show(value)} is not one of {'/'.join(spec['allowed'])}"
    if kind == "int":
        is_int = isinstance(value, int) and (not strict_int or not isinstance(value, bool))
        lo, hi = spec["allowed"]
        if is_int and lo <= value <= hi:
            return None
        return f"{name}: {_show(value)} is not an integer {lo}-{hi}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"{name}: {_show(value)} is not true/false"
    if kind == "number":
        lo, hi = spec["allowed"]
        if isinstance(value, int | float) and not isinstance(value, bool) and lo <= value <= hi:
            return None
        return f"{name}: {_show(value)} is not a number {lo:g}-{hi:g}"
    if kind == "text":
        lo, hi = spec["allowed"]
        if not isinstance(value, str):
            return f"{name}: {_show(value)} is not text"
        text = value.strip()
        if fold(text) in _ECHOES:
            return f"{name}: echoes the schema ({_show(value)})"
        if not lo <= len(text) <= hi:
            return f"{name}: length {len(text)} outside {lo}-{hi} characters"
        return None
    return None


_SENTIMENT_SET = frozenset(_ALLOWED_ENUM["sentiment"])
_TOPIC_SET = frozenset(_ALLOWED_ENUM["main_topic"])
_FLAGS = tuple(f["name"] for f in EXTRACTION_FIELDS if f["type"] == "bool")
_SCORE_RANGE, _CONFIDENCE_RANGE, _SUMMARY_LENGTH = (_SPEC[n]["allowed"] for n in ("sentiment_score", "confidence",
                                                                                   "summary"))
# fold() keeps every ASCII character: a summary with more ASCII characters than the longest
# echo cannot fold to one.
_LONGEST_ECHO = max(map(len, _ECHOES))


def plainly_valid(obj: dict) -> bool:
    """True when every checked field is there and valid in its plain form (a label as the
    schema spells it, an int score, JSON booleans, a float or int confidence, a summary that
    cannot be an echo): then `_check` finds nothing wrong with any of them, whatever
    `strict_int`. False says nothing: check field by field."""
    v = obj.get("sentiment")
    if type(v) is not str or v not in _SENTIMENT_SET:
        return False
    v = obj.get("main_topic")
    if type(v) is not str or v not in _TOPIC_SET:
        return False
    v = obj.get("sentiment_score")
    if type(v) is not int or not _SCORE_RANGE[0] <= v <= _SCORE_RANGE[1]:
        return False
    for flag in _FLAGS:
        if type(obj.get(flag)) is not bool:
            return False
    v = obj.get("confidence")
    if (type(v) is not float and type(v) is not int) or not _CONFIDENCE_RANGE[0] <= v <= _CONFIDENCE_RANGE[1]:
        return False
    v = obj.get("summary")
    if type(v) is not str:
        return False
    text = v.strip()
    return _SUMMARY_LENGTH[0] <= len(text) <= _SUMMARY_LENGTH[1] and (
        len(text.encode("ascii", "ignore")) > _LONGEST_ECHO or fold(text) not in _ECHOES)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _score(text: str, meta: dict[str, Any], *, normalise_decimals: bool, strict_int: bool) -> RewardBreakdown:
    rating = validate_rating(meta.get("rating"))
    notes: list[str] = []
    obj, report = parse_json_object(text, normalise=normalise_decimals, pick="first")
    notes.extend(report.notes())

    json_valid = 0.0
    if isinstance(obj, list):
        first = next((x for x in obj if isinstance(x, dict)), None)
        if first is not None:
            notes.append("json_valid: object wrapped in an array (half credit)")
            obj = first
            json_valid = 0.15
        else:
            obj = None
    elif isinstance(obj, dict):
        json_valid = 0.30 if report.strict else 0.15
        if not report.strict:
            notes.append("json_valid: repaired JSON earns half credit")
    if not isinstance(obj, dict):
        notes.append("json_valid: no JSON object found")
        return RewardBreakdown.make(0.0, {c: 0.0 for c in COMPONENTS}, notes)

    present = [n for n in FIELD_NAMES if n in obj]
    completeness = 0.30 * len(present) / len(FIELD_NAMES)
    if len(present) < len(FIELD_NAMES):
        missing = [n for n in FIELD_NAMES if n not in obj]
        notes.append(f"completeness: missing {', '.join(missing)}")

    passed = len(CHECKED_FIELDS) if plainly_valid(obj) else 0
    for name in CHECKED_FIELDS if not passed else ():
        if name not in obj:
            continue
        reason = _check(name, obj[name], strict_int)
        if reason is None:
            passed += 1
        else:
            notes.append(f"value_validity: {reason}")
    value_validity = 0.40 * passed / len(CHECKED_FIELDS)

    penalty = 0.0
    sentiment = obj.get("sentiment")
    if rating is not None and isinstance(sentiment, str):
        label = fold(sentiment.strip())
        if (rating <= 2 and label == "positivo") or (rating >= 4 and label == "negativo"):
            penalty = -0.20
            notes.append(f"rating_penalty: {rating}-star review labelled {label}")

    components = {
        "json_valid": json_valid,
        "completeness": completeness,
        "value_validity": value_validity,
        "rating_penalty": penalty,
    }
    return RewardBreakdown.make(json_valid + completeness + value_validity + penalty, components, notes)


def make_extraction_recipe_reward(
    *, normalise_decimals: bool = True, strict_int: bool = True, name: str = "extraction_recipe"
) -> Reward:
    """The recipe's extraction reward (with its historical bugs fixed unless
    `normalise_decimals=False` / `strict_int=False` plant them)."""
    params = {"normalise_decimals": bool(normalise_decimals), "strict_int": bool(strict_int)}

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        return _score(text, meta, **params)

    return Reward(
        name=name,
        task="extraction",
        components=COMPONENTS,
        weights=dict(WEIGHTS),
        params=params,
        meta_keys=("rating",),
        source_modules=(__name__, "rewards.parsing", "rewards.schema", "rewards.lexicon", "rewards.types"),
        fn=fn,
    )
