"""The golden corpus of the rewards: a fixed, seeded set of completions of real prompts and
what every reward of the registry makes of them (total, components, notes), plus what the
exploit detector sees. tests/test_rewards_golden.py compares the rewards with the recorded
expectation, so a change meant to make them faster cannot change a score unnoticed.

The corpus is built from the small data build (seed 42): per task, good answers
(data.gold), every exploit family (rewards.exploits), good answers mutated the way a policy
or a tokenizer mangles text (cut, spliced, lines repeated, brackets and quotes inserted,
decimal commas, capitals, emoji, a partial object quoted before the answer, ...), random
strings over alphabets that reach every branch (JSON punctuation, figures, Portuguese and
English words, accents, combining marks, emoji, control characters), hostile inputs at and
past the read limit, and rows with meta keys missing. sql_qa items run on both databases
for half the corpus and without a database for the other half.

Regenerate the expectation (only when a reward is meant to change):

    .venv/bin/python -m tests.golden_corpus --write
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
import tempfile
from pathlib import Path

EXPECTED = Path(__file__).with_name("golden") / "rewards.json.gz"
PER_TASK_ROWS = 60
FAMILY_ROWS = 12
MUTANTS = 200
RANDOMS = 160
# Meta keys a row may lose (older builds, imported data), per task.
DROPPABLE = {"extraction": ("gold", "review", "rating"), "push": ("brief", "prompt_text", "max_chars"),
             "insights": ("data_summary", "request", "prompt_text"),
             "sql_qa": ("reference_answer", "question", "order_matters", "prompt_text", "db_path_b")}
WORDS = ("recomendamos priorizar clientes entrega atraso frete pedido produto qualidade receita ticket médio "
         "black friday natal cupom desconto grátis você sua nossa com de da do para que não mais hoje the and "
         "of to your free shipping order customers select from where group by order limit count sum avg "
         "estimado prezado comunicamos att sugerimos deveria rever medir melhor aumento lançamento").split()
ALPHABETS = (
    '{}[]":,\\ \n\t', "0123456789.,%-R$ ", "abcdefghijklmnopqrstuvwxyz ", "áàâãéêíóôõúüçÁÉÇ ",
    "\u0301\u0303\u00a0\u200b", "😀🔥🎁✨❤️🛒", "#*-•+|`>_~", "\x00\x07\x1b\r\x0c", "ABCDEFGHIJKLMNOPQRSTUVWXYZ!?",
    "日本語Ωβ𝔘\ud800",
)


def build_rows(folder: Path) -> list[dict]:
    """The small build's prompt rows with their reward meta (the databases in `folder`)."""
    from data.prompts import load_prompts, reward_meta

    rows = load_prompts(folder / "prompts" / "train.jsonl") + load_prompts(folder / "prompts" / "eval.jsonl")
    return [{**r, **reward_meta(r, db_path=folder / "commerce.db")} for r in rows]


_ODD_VALUES = (None, True, False, 0, 1, 3, 5, 7, -1, 0.5, 1.5, "0,85", "", "x" * 250, "neutro", "POSITIVO", "Negativo",
               "entrega", "preço", "string", "resumo", "ótimo", [1, 2], {"a": 1}, "bom", "{nome}")


def _mutate(text: str, rng: random.Random) -> str:
    kind = 16 if '"sentiment"' in text and rng.random() < 0.4 else rng.randrange(18)
    n = len(text)
    at = rng.randrange(n + 1)
    if kind == 0:
        return text[:at]
    if kind == 1:
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        return "\n".join(lines[:i + 1] + [lines[i]] * rng.randrange(1, 6) + lines[i + 1:])
    if kind == 2:
        return "".join(c + (rng.choice('{}[]"\\,:') if rng.random() < 0.03 else "") for c in text)
    if kind == 3:
        return "".join(c if c != "." or rng.random() < 0.5 else "," for c in text)
    if kind == 4:
        return text.upper()
    if kind == 5:
        return text + " " + "".join(rng.choice("😀🔥🎁✨🛒") for _ in range(rng.randrange(1, 7)))
    if kind == 6:
        return 'Raciocínio: o objeto começa com {"sentiment": "neutro", "summary": "x"} e depois:\n' + text
    if kind == 7:
        return "```json\n" + text + "\n```\nEspero ter ajudado."
    if kind == 8:
        return text + "\n\nIn summary, the customers should be reviewed and the orders improved."
    if kind == 9:
        lines = text.split("\n")
        rng.shuffle(lines)
        return "\n".join(lines)
    if kind == 10:
        return text[:at] + rng.choice(("{nome}", "[PRODUTO]", "XX%", "xxxxxxxx", "___", "<produto>", "R$ X"))\
            + text[at:]
    if kind == 11:
        return text[:at] + " " + str(rng.choice((7, 15, 50, 70, 1999, 2017, 12.5, 0.85, 1234.56))).replace(".", ",")\
            + rng.choice(("%", " mil", " dias", "", " pedidos")) + " " + text[at:]
    if kind == 12:
        return text.translate(str.maketrans("áàâãéêíóôõúç", "aaaaeeiooouc"))
    if kind == 13:
        return text + text
    if kind == 14:
        return text[at:] + text[:at]
    if kind == 16 and "{" in text:
        a, b = text.find("{"), text.rfind("}") + 1
        try:
            obj = json.loads(text[a:b])
        except ValueError:
            return text
        for _ in range(rng.randrange(1, 4)):
            if "summary" in obj and rng.random() < 0.3:  # too long, too short, off-topic
                obj["summary"] = rng.choice((str(obj["summary"]) * 4, str(obj["summary"])[:8], rng.choice(_ODD_VALUES)))
            else:
                obj[rng.choice(sorted(obj))] = rng.choice(_ODD_VALUES)
        if rng.random() < 0.2:
            obj.pop(rng.choice(sorted(obj)))
        return text[:a] + json.dumps(obj, ensure_ascii=rng.random() < 0.5) + text[b:]
    if kind == 17:
        return text[:at] + '{"a": ' + "[" * rng.randrange(1, 120) + text[at:]
    return '"' + text.replace("\n", " ") + '"'


def _random_text(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 60)))
    alphabet = "".join(rng.sample(ALPHABETS, rng.randrange(1, 4)))
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400)))


def _hostile() -> list[str]:
    from rewards.parsing import MAX_SCAN

    flood = ["{" * MAX_SCAN, '{"a": 1,5' + '\\"' * 32000, "{}" * 32000, "9" * (MAX_SCAN - 2) + ",9", '"' * MAX_SCAN,
             "é\u0301" * 32000, ("Recomendamos priorizar 12,5% dos clientes. " * 2000)[:MAX_SCAN],
             "```sql\n" * 9000, "- item repetido igual\n" * 3000, ("R$ 1.234,56 e 98,7% " * 4000)[:MAX_SCAN]]
    return [s[:3000] for s in flood] + [flood[1], flood[6], "x" * (MAX_SCAN + 500) + ' {"sentiment": "positivo"}']


def corpus(rows: list[dict]) -> list[dict]:
    """The items (task, prompt_id, kind, completion, meta) of the corpus, always the same."""
    from data.gold import gold_answer
    from rewards.exploits import families_for
    from rewards.types import TASKS

    items = []
    hostile = _hostile()
    for task in TASKS:
        rng = random.Random(f"golden {task}")
        mine = sorted((r for r in rows if r["task"] == task), key=lambda r: r["prompt_id"])
        sample = rng.sample(mine, min(PER_TASK_ROWS, len(mine)))
        good = {r["prompt_id"]: gold_answer(r) or "" for r in sample}
        out = [("good", r, good[r["prompt_id"]]) for r in sample]
        for family in families_for(task):
            for r in rng.sample(sample, FAMILY_ROWS):
                made = family.make(r, random.Random(f"{family.name}:{r['prompt_id']}"))
                if made is not None:
                    out.append((f"family:{family.name}", r, made))
        out += [("mutant", r, _mutate(good[r["prompt_id"]], rng)) for r in rng.choices(sample, k=MUTANTS)]
        out += [("random", r, _random_text(rng)) for r in rng.choices(sample, k=RANDOMS)]
        out += [("hostile", rng.choice(sample), h) for h in hostile]
        for i, (kind, row, text) in enumerate(out):
            meta = {k: v for k, v in row.items() if k not in ("prompt", "split", "stratum")}
            if task == "sql_qa" and i % 2:
                meta = {k: v for k, v in meta.items() if k not in ("db_path", "db_path_b")}
            if rng.random() < 0.12:
                drop = rng.sample(DROPPABLE[task], rng.randrange(1, len(DROPPABLE[task]) + 1))
                meta = {k: v for k, v in meta.items() if k not in drop}
            completion: object = text
            if rng.random() < 0.02:
                completion = [{"role": "assistant", "content": text}]
            items.append({"task": task, "prompt_id": row["prompt_id"], "kind": kind, "completion": completion,
                          "meta": meta, "row": row})
    return items


def _digest(item: dict) -> str:
    payload = json.dumps([item["completion"], sorted(k for k in item["meta"])], ensure_ascii=True)
    return hashlib.sha1(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def score_all(items: list[dict], folder: Path) -> list[dict]:
    """What every reward of each item's task, and the exploit detector, make of each item."""
    from rewards.exploits import detect
    from rewards.parsing import completion_text
    from rewards.registry import REWARDS

    out = []
    for item in items:
        scores = {}
        for name, reward in REWARDS.items():
            if reward.task == item["task"]:
                b = reward.score(item["completion"], **item["meta"])
                notes = [n.replace(str(folder), "<data>") for n in b.notes]
                scores[name] = [b.total, b.components, notes]
        found = detect(completion_text(item["completion"]), {**item["meta"], "prompt": item["row"]["prompt"]})
        out.append({"task": item["task"], "prompt_id": item["prompt_id"], "kind": item["kind"],
                    "digest": _digest(item), "scores": scores, "detect": found})
    return out


def load_expected() -> list[dict]:
    with gzip.open(EXPECTED, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def main() -> int:
    parser = argparse.ArgumentParser(description="Write the rewards' golden expectation (tests/golden/).")
    parser.add_argument("--write", action="store_true", help=f"write {EXPECTED.relative_to(Path.cwd())}")
    parser.add_argument("--data", type=Path, help="an existing small build (seed 42); default: build one")
    args = parser.parse_args()
    from data.build import build
    from rewards import sql_exec

    with tempfile.TemporaryDirectory(prefix="tucano-golden-") as tmp:
        folder = args.data or Path(build(Path(tmp), size="small", seed=42)["db"]).parent
        records = score_all(corpus(build_rows(folder)), folder)
        sql_exec.close_all()
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    if args.write:
        EXPECTED.parent.mkdir(exist_ok=True)
        # mtime=0: the same records make the same bytes.
        with open(EXPECTED, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
            gz.write(text.encode("ascii"))
    print(f"{len(records)} items, {sum(len(r['scores']) for r in records)} scores"
          + (f", written to {EXPECTED}" if args.write else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
