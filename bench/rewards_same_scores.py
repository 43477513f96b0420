"""Do two checkouts' rewards give the same scores? For changes meant to make the rewards
faster without moving a score (tests/test_rewards_golden.py pins a fixed corpus; this
compares on many more inputs, generated afresh).

    .venv/bin/python bench/rewards_same_scores.py [--against REV | --other DIR] [--data DIR] [--n 10000]

The other side is the `rewards/` of a git revision of this checkout (`--against`, default
HEAD: what the uncommitted change moves) or of another checkout's folder (`--other`).

Inputs: the throughput mix of bench/rewards.py (good answers and exploit families of a
small build's prompts) for three seeds; each mixed completion fuzzed (characters that trip
parsers inserted, spans deleted, repeated, cut, case changed, lines shuffled); random
strings of those characters; cold prompts (prompt fields fuzzed or dropped); hostile texts
at the read limit; and sql_qa answers with their databases, so execution runs too. Each
checkout scores every input with every registered reward of its task, and the exploit
detector, in its own process (its `rewards` package first on the path); any total or
component more than 1e-9 apart, any note, detection or error that differs is listed.
Exit status 1 when something differs.
"""

from __future__ import annotations

import argparse
import io
import math
import pickle
import random
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rewards import HOSTILE, mixed, rows_of  # noqa: E402
from data.build import build  # noqa: E402
from data.gold import gold_answer  # noqa: E402
from rewards.exploits import families_for  # noqa: E402
from rewards.parsing import MAX_SCAN  # noqa: E402

TRIPS = ["{", "}", "[", "]", '"', "\\", ",", ".", "%", "R$ ", "\n", "\n\n", "- ", "# ", "**", "```", "```sql\n", "é",
         "ç", "\u0301", "😀", "١٢", "１２", "12,5", "1.234,56", "0,85", "NATAL20", "{nome}", "[X]", "xx", "!!!", "???",
         "ABCDEF ", " de", " com", ";", ":", ")", "1.", "2)", "mil", " dias", "x ", "-3", "\t", "\r\n", "SELECT ",
         " FROM orders", "recomendamos ", "the ", "and ", "prezado ", "black friday", "natal", "'", "»"]

# Run in each checkout's own process: score every input, write the results.
SCORE = """
import pickle, sys
root, inputs, out = sys.argv[1:4]
sys.path.insert(0, root)
import rewards
assert rewards.__file__.startswith(root), rewards.__file__
from rewards.exploits import detect
from rewards.registry import REWARDS
results = []
for task, text, meta in pickle.load(open(inputs, "rb")):
    row = {}
    for name, reward in REWARDS.items():
        if reward.task == task:
            try:
                b = reward.score(text, **meta)
                row[name] = (b.total, dict(b.components), list(b.notes))
            except Exception as e:
                row[name] = ("error", type(e).__name__, str(e))
    try:
        row["detect"] = detect(text, {**meta, "task": task})
    except Exception as e:
        row["detect"] = ("error", type(e).__name__, str(e))
    results.append(row)
pickle.dump(results, open(out, "wb"))
"""


def fuzz(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 6)):
        op, i = rng.random(), rng.randint(0, len(text))
        if op < 0.35:
            text = text[:i] + rng.choice(TRIPS) + text[i:]
        elif op < 0.5:
            text = text[:i] + text[rng.randint(i, min(len(text), i + 40)):]
        elif op < 0.6:
            text = text[:i]
        elif op < 0.7:
            j = rng.randint(i, min(len(text), i + 200))
            text = text[:i] + text[i:j] * rng.randint(2, 5) + text[j:]
        elif op < 0.8:
            text = text.upper() if rng.random() < 0.5 else text.lower()
        elif op < 0.9:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
        else:
            text = "".join(rng.choice(TRIPS) + c if rng.random() < 0.05 else c for c in text)
    return text


def cold(task: str, meta: dict, rng: random.Random) -> dict:
    """The row's prompt fields fuzzed or dropped: a prompt no answer came with before."""
    meta = dict(meta)
    fields = {"push": ["brief"], "insights": ["data_summary", "request"], "extraction": ["review", "gold", "rating"],
              "sql_qa": ["question"]}[task] + ["prompt_text"]
    for key in fields:
        if key not in meta or rng.random() < 0.4:
            continue
        if rng.random() < 0.1:
            meta.pop(key)
        elif key == "brief" and isinstance(meta[key], dict) and meta[key]:
            brief = dict(meta[key])
            field = rng.choice(list(brief))
            brief[field] = fuzz(str(brief[field]), rng)
            meta[key] = brief
        elif isinstance(meta[key], str):
            meta[key] = fuzz(meta[key], rng)
    return meta


def inputs(rows: list[dict], n: int) -> list[tuple[str, str, dict]]:
    rng = random.Random(7)
    mix = [item for seed in range(3) for item in mixed(rows, n, seed=seed)]
    out = mix + [(task, fuzz(text, rng), meta) for task, text, meta in mix[:n]]
    for k in range(n // 3):
        task, _, meta = mix[k]
        out.append((task, "".join(rng.choice(TRIPS + list("abcdefghij klmnop 0123456789")) for _ in
                                  range(rng.randint(0, 400))), meta))
    out += [(task, text if rng.random() < 0.5 else fuzz(text, rng), cold(task, meta, rng))
            for task, text, meta in mix[:n // 2]]
    for task, _, meta in mix[:4]:
        out += [(task, (h * (1 + MAX_SCAN // max(1, len(h))))[:MAX_SCAN + 50], meta) for h in HOSTILE["any"]]
    for row in [r for r in rows if r["task"] == "sql_qa"][:150]:  # with the databases: execution runs too
        out.append(("sql_qa", gold_answer(row), row))
        out += [("sql_qa", text, row) for f in families_for("sql_qa")[:6] if (text := f.make(row, rng))]
    return out


def differences(items, mine, theirs) -> list[str]:
    out = []
    for (task, text, _), a, b in zip(items, mine, theirs, strict=True):
        for name in a.keys() | b.keys():
            x, y = a.get(name), b.get(name)
            same = x == y if name == "detect" or not x or not y or x[0] == "error" or y[0] == "error" else (
                math.isclose(x[0], y[0], rel_tol=0, abs_tol=1e-9) and x[1].keys() == y[1].keys()
                and all(math.isclose(v, y[1][k], rel_tol=0, abs_tol=1e-9) for k, v in x[1].items()) and x[2] == y[2])
            if not same:
                out.append(f"{task} {name} {text[:80]!r}\n  this checkout: {x}\n  the other:     {y}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--against", default="HEAD", help="a git revision of this checkout (default HEAD)")
    side.add_argument("--other", type=Path, help="another checkout (a folder holding rewards/)")
    parser.add_argument("--data", type=Path, help="an existing small build's folder (default: build one)")
    parser.add_argument("--n", type=int, default=10_000, help="completions in each mix")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tucano-same-") as tmp:
        label = str(args.other) if args.other else f"the rewards/ of {args.against}"
        if args.other is None:  # the revision's rewards/, unpacked
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", args.against, "rewards"],
                                     capture_output=True)
            if archive.returncode:
                parser.error(f"--against {args.against}: {archive.stderr.decode(errors='replace').strip()}")
            args.other = Path(tmp) / "other"
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(args.other, filter="data")
        elif not (args.other / "rewards" / "__init__.py").is_file():
            parser.error(f"--other {args.other}: no rewards package there")
        folder = args.data or Path(build(Path(tmp) / "small", size="small")["db"]).parent
        items = inputs(rows_of(folder), args.n)
        pickle.dump(items, open(Path(tmp) / "inputs.pkl", "wb"))
        results = []
        for root in (ROOT, args.other.resolve()):
            out = Path(tmp) / f"scores-{len(results)}.pkl"
            subprocess.run([sys.executable, "-c", SCORE, str(root), str(Path(tmp) / "inputs.pkl"), str(out)],
                           check=True)
            results.append(pickle.load(open(out, "rb")))
        found = differences(items, *results)
    for line in found[:20]:
        print(line)
    print(f"{len(items)} inputs, {sum(map(len, results[0]))} scores and detections each: "
          f"{len(found)} differ between {ROOT} and {label}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
