"""The extraction reward: a customer review turned into the 10-field JSON of rewards/schema.py,
judged against what the prompt knows about that review.

Components (positive weights sum to 1):
- json_valid 0.05, completeness 0.05, value_validity 0.05: the form (a strict JSON object,
  fields present / 10, the 9 type/range/echo checks of `rewards.schema`). Form alone is
  worth 0.15: a constant JSON is well formed.
- sentiment 0.20: `sentiment` (0.12) and `sentiment_score` (0.08) agree with the star
  rating (meta `rating`): 1-2 stars negativo, 3 neutro, 4-5 positivo (neutro on 2 or 4
  stars earns half, a polar label on 3 stars a quarter); the score earns all within 0 of
  the rating, half within 1.
- correctness 0.50: the labels the review was written from (meta `gold`): the three
  issue flags (0.25 together), `would_recommend` (0.05) and `main_topic` (0.20; the
  topic of another theme of the review earns half). A label the gold leaves open (null)
  is not scored.
- summary 0.15: the summary shares content words with the review (meta `review`), is
  10-200 characters and is not the schema's own text.
- consistency (penalty, down to -0.10): -0.05 when the score contradicts the sentiment,
  -0.05 when `would_recommend` contradicts it.
- cap (penalty): the total is capped, whatever else the answer does, when
  the sentiment or score contradicts the stars (0.30), the JSON had to be repaired (0.30:
  a program reading the answer would fail), text fields hold placeholders (0.20), most
  labels contradict the review (0.35), or the summary is not about this review (0.35).

A component whose grounding is missing (a review imported without gold labels, a row
without its review text or rating) is not scored: the note says so and the others share
its weight. The JSON read is the most complete object in the completion, the last among
equals (rewards.parsing): a partial object quoted in a line of reasoning never wins.

`make_extraction_reward(normalise_decimals=False, strict_int=False)` plants the recipe's
historical bugs in a copy (decimal commas break the JSON; `True` passes as an integer).
"""

from __future__ import annotations

import operator
from typing import Any

from rewards.lexicon import SHORT_WORDS, STOPWORDS, fold, letters_table, tokens, tokens_table
from rewards.parsing import parse_json_object
from rewards.prompt_cache import prompt_cache
from rewards.recipe.extraction import _check, plainly_valid, validate_rating
from rewards.schema import CHECKED_FIELDS, FIELD_NAMES, SENTIMENTS, TOPICS, describe_schema
from rewards.text import content_words, ngrams, placeholders
from rewards.types import Reward, RewardBreakdown, capped, weighted

WEIGHTS = {"json_valid": 0.05, "completeness": 0.05, "value_validity": 0.05, "sentiment": 0.20,
           "correctness": 0.50, "summary": 0.15, "consistency": -0.10, "cap": -1.0}
COMPONENTS = tuple(WEIGHTS)
FLAGS = ("delivery_issue", "product_quality_issue", "customer_service_issue")
# Sentiment label credit by star rating; a polar label opposite to the stars is a contradiction.
LABEL_CREDIT = {1: {"negativo": 1.0, "neutro": 0.0}, 2: {"negativo": 1.0, "neutro": 0.5},
                3: {"neutro": 1.0, "negativo": 0.25, "positivo": 0.25},
                4: {"positivo": 1.0, "neutro": 0.5}, 5: {"positivo": 1.0, "neutro": 0.0}}
CAPS = {"contradiction": 0.30, "repaired": 0.30, "placeholder": 0.20, "labels": 0.35, "summary": 0.35}
# Words any review summary may use without saying anything about this review.
_GENERIC = frozenset(w[:5] for w in content_words("produto produtos cliente clientes compra pedido loja "
                                                   "avaliacao avaliou item coisa comprou"))
_SCHEMA_GRAMS = ngrams(tokens(describe_schema()), 4)
_LABELS = frozenset(SENTIMENTS + TOPICS)
_FIELDS = frozenset(FIELD_NAMES)
_PREFIX = operator.itemgetter(slice(5))
_LETTERS, _TOKENS = letters_table(), tokens_table()


def _rank(obj: Any) -> float:
    if isinstance(obj, dict):
        return sum(1 for n in FIELD_NAMES if n in obj)
    first = next((x for x in obj if isinstance(x, dict)), {}) if isinstance(obj, list) else {}
    return sum(1 for n in FIELD_NAMES if n in first) - 0.5


def validate_gold(gold: Any) -> dict | None:
    """The `gold` meta value: a dict of labels (booleans or null, `main_topic` a topic or a
    list of acceptable topics); ValueError naming the problem otherwise."""
    if gold is None:
        return None
    if not isinstance(gold, dict):
        raise ValueError(f"gold must be an object of labels, got {type(gold).__name__}")
    for flag in (*FLAGS, "would_recommend"):
        if gold.get(flag) is not None and not isinstance(gold[flag], bool):
            raise ValueError(f"gold.{flag} must be true, false or null, got {gold[flag]!r}")
    topics = gold.get("main_topic")
    topics = [topics] if isinstance(topics, str) else list(topics or [])
    if any(t not in TOPICS for t in topics):
        raise ValueError(f"gold.main_topic must be among {', '.join(TOPICS)}, got {topics!r}")
    others = [t for t in gold.get("other_topics") or [] if t in TOPICS]
    return {**gold, "main_topic": topics, "other_topics": others}


def _label(value: Any) -> str | None:
    if type(value) is str and value in _LABELS:  # already folded, as the schema spells it
        return value
    return fold(value.strip()) if isinstance(value, str) else None


def _score_of(obj: dict, strict_int: bool) -> int | None:
    score = obj.get("sentiment_score")
    return int(score) if isinstance(score, int) and (not strict_int or not isinstance(score, bool)) else None


def _sentiment(obj: dict, rating: int | None, gold: dict | None, notes: list[str], caps: list,
               strict_int: bool) -> float | None:
    label = _label(obj.get("sentiment"))
    score = _score_of(obj, strict_int)
    if rating is None:
        expected = gold.get("sentiment") if gold else None
        if expected not in SENTIMENTS:
            return None
        return 1.0 if label == expected else 0.0
    opposite = (rating <= 2 and (label == "positivo" or (score or 0) >= 4)) or \
               (rating >= 4 and (label == "negativo" or (score is not None and score <= 2)))
    if opposite:
        caps.append(("contradiction", f"{rating}-star review labelled {label or '?'} with score {score}"))
    label_credit = LABEL_CREDIT[rating].get(label or "", 0.0)
    score_credit = 0.0 if score is None else {0: 1.0, 1: 0.5}.get(abs(score - rating), 0.0)
    if label_credit < 1:
        notes.append(f"sentiment: {label or 'no sentiment'} for a {rating}-star review")
    if score_credit < 1:
        notes.append(f"sentiment: score {score} for a {rating}-star review")
    return 0.6 * label_credit + 0.4 * score_credit


def _correctness(obj: dict, gold: dict, notes: list[str], caps: list) -> float | None:
    earned = available = 0.0
    wrong = []
    for flag in FLAGS:
        if gold.get(flag) is None:
            continue
        available += 25 / 3
        if obj.get(flag) is gold[flag]:
            earned += 25 / 3
        else:
            wrong.append(flag)
    if gold.get("would_recommend") is not None:
        available += 5
        if obj.get("would_recommend") is gold["would_recommend"]:
            earned += 5
        else:
            wrong.append("would_recommend")
    if gold["main_topic"]:
        available += 20
        topic = _label(obj.get("main_topic"))
        if topic in gold["main_topic"]:
            earned += 20
        elif topic in gold["other_topics"]:
            earned += 10
            notes.append(f"correctness: main_topic {topic} is a side topic of the review")
        else:
            wrong.append("main_topic")
    if not available:
        return None
    if wrong:
        notes.append(f"correctness: {', '.join(wrong)} disagree(s) with the review")
    if available >= 25 and earned < 0.25 * available:
        caps.append(("labels", "most labels contradict the review"))
    return earned / available


@prompt_cache(maxsize=8192)
def _review_keys(review: str) -> tuple[frozenset[bytes], int]:
    """The review's content words that say something about it (five-letter prefixes), and
    how many it has: cached per review, which all of a prompt's answers share."""
    keys = frozenset(w[:5] for w in content_words(review)) - _GENERIC
    return keys, len(keys)


def _summary(obj: dict, review: str, notes: list[str], caps: list) -> float:
    summary = obj.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        notes.append("summary: missing")
        caps.append(("summary", "no summary of this review"))
        return 0.0
    text = summary.strip()
    encoded = text.encode("latin-1", "ignore")  # lexicon.tokens and words read these bytes
    toks = encoded.translate(_TOKENS).split()
    if not _SCHEMA_GRAMS.isdisjoint(zip(toks, toks[1:], toks[2:], toks[3:], strict=False)):  # a 4-gram of it
        notes.append("summary: copies the schema's description")
        caps.append(("summary", "the summary is the schema's text"))
        return 0.0
    keys, n_keys = _review_keys(review)
    # Its content words (lexicon.words, 3+ letters, no stopword) that start like the review's.
    shared = keys.intersection(map(_PREFIX, set(encoded.translate(_LETTERS).split()) - STOPWORDS - SHORT_WORDS))
    needed = 1 if n_keys <= 5 else 2
    if len(shared) < needed:
        notes.append(f"summary: shares {len(shared)} content word(s) with the review, {needed} expected")
        if n_keys >= 3:
            caps.append(("summary", "the summary is not about this review"))
        return 0.0
    if not 10 <= len(text) <= 200:
        notes.append(f"summary: length {len(text)} outside 10-200 characters")
        return 0.5
    return 1.0


def _consistency(obj: dict, notes: list[str], strict_int: bool) -> float:
    label = _label(obj.get("sentiment"))
    score = _score_of(obj, strict_int)
    penalty = 0.0
    if score is not None and label in SENTIMENTS:
        if (label == "positivo" and score <= 2) or (label == "negativo" and score >= 4) or \
                (label == "neutro" and score in (1, 5)):
            penalty -= 0.05
            notes.append(f"consistency: score {score} with sentiment {label}")
    rec = obj.get("would_recommend")
    if isinstance(rec, bool) and ((label == "positivo" and not rec) or (label == "negativo" and rec)):
        penalty -= 0.05
        notes.append(f"consistency: would_recommend {str(rec).lower()} with sentiment {label}")
    return penalty


def _score(text: str, meta: dict[str, Any], *, normalise_decimals: bool, strict_int: bool) -> RewardBreakdown:
    rating = validate_rating(meta.get("rating"))
    gold = validate_gold(meta.get("gold"))
    review = meta.get("review")
    notes: list[str] = []
    obj, report = parse_json_object(text, normalise=normalise_decimals, rank=_rank)
    notes.extend(report.notes())
    caps: list[tuple[str, str]] = []
    form = 1.0
    if isinstance(obj, list):
        obj = next((x for x in obj if isinstance(x, dict)), None)
        form = 0.5
        notes.append("json_valid: object wrapped in an array (half credit)")
    if not isinstance(obj, dict):
        notes.append("json_valid: no JSON object found")
        return RewardBreakdown.make(0.0, dict.fromkeys(COMPONENTS, 0.0), notes)
    if report.repaired:
        form = 0.0
        caps.append(("repaired", "the JSON does not parse without repair"))

    parts: dict[str, float | None] = {"json_valid": form}
    present = sum(map(obj.__contains__, FIELD_NAMES))
    parts["completeness"] = present / len(FIELD_NAMES)
    if present < len(FIELD_NAMES):
        notes.append(f"completeness: missing {', '.join(n for n in FIELD_NAMES if n not in obj)}")
    passed = len(CHECKED_FIELDS) if plainly_valid(obj) else 0
    for name in CHECKED_FIELDS if not passed else ():
        reason = _check(name, obj[name], strict_int) if name in obj else "missing"
        passed += reason is None
        if reason not in (None, "missing"):
            notes.append(f"value_validity: {reason}")
    parts["value_validity"] = passed / len(CHECKED_FIELDS)
    marks = placeholders(" ".join([str(v) for v in obj.values() if isinstance(v, str)]))
    if marks:
        caps.append(("placeholder", f"placeholder text {marks[0]!r}"))

    parts["sentiment"] = _sentiment(obj, rating, gold, notes, caps, strict_int)
    parts["correctness"] = _correctness(obj, gold, notes, caps) if gold else None
    if gold is None:
        notes.append("correctness: no gold labels for this review (imported data): not scored")
    parts["summary"] = _summary(obj, review, notes, caps) if isinstance(review, str) and review.strip() else None
    if parts["summary"] is None:
        notes.append("summary: no review text given: not checked against it")
    if parts["sentiment"] is None:
        notes.append("sentiment: no star rating given: not scored")

    components = weighted(parts, WEIGHTS)
    components["consistency"] = _consistency(obj, notes, strict_int)
    limits = [(CAPS[kind], f"cap: {why}") for kind, why in caps] if caps else []
    return capped(components, limits, notes)


def make_extraction_reward(
    *, normalise_decimals: bool = True, strict_int: bool = True, name: str = "extraction"
) -> Reward:
    """The extraction reward. `normalise_decimals=False` and `strict_int=False` plant the
    recipe's historical bugs (in a copy: the parameters are part of the version)."""
    params = {"normalise_decimals": bool(normalise_decimals), "strict_int": bool(strict_int)}

    def fn(text: str, meta: dict[str, Any]) -> RewardBreakdown:
        return _score(text, meta, **params)

    return Reward(
        name=name,
        task="extraction",
        components=COMPONENTS,
        weights=dict(WEIGHTS),
        params=params,
        meta_keys=("rating", "gold", "review"),
        source_modules=(__name__, "rewards.recipe.extraction", "rewards.parsing", "rewards.schema",
                        "rewards.lexicon", "rewards.text", "rewards.types"),
        fn=fn,
    )
