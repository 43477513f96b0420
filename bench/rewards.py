"""Reward speed benchmark: completions scored per second, and the SQL component's latency.

    .venv/bin/python bench/rewards.py [--n 10000] [--sql-db PATH] [--sql-n 400]

Part 1 scores N mixed completions of realistic length (a quarter per task: extraction
JSON in fences or with prose, decimal commas and broken brackets; SQL answers with
explanations; markdown analyses of 100-600 words; push notifications of 40-220
characters) on one core and prints completions/s per task and overall. SQL execution is
excluded here (sql_qa completions are scored with `sql_qa_heuristic`); goal >= 20,000/s.

Part 2 times the SQL execution component (sandboxed run + comparison with the
reference answer, result cache off) on the full-size commerce database (built with
`data.build.build(size="default")` into a temporary folder unless --sql-db is given):
the distinct reference SQL of the database's sql_qa prompts, and a wrong variant of
each; prints median and p99 ms of CPU and wall time (goal: median <= 5 ms).

Throughput is measured in CPU time of this process (time.process_time), so a busy
machine does not distort it; wall-clock rates are printed beside.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewards.registry import get_reward  # noqa: E402
from rewards.schema import SENTIMENTS, TOPICS  # noqa: E402

SENTENCES = [
    "As vendas de {cat} cresceram {p}% no trimestre, puxadas pelos clientes de {uf}.",
    "O ticket médio ficou em R$ {v},90 e o frete representa {p}% do valor do pedido.",
    "A taxa de atraso na entrega chegou a {p}% nos pedidos enviados para {uf}.",
    "Avaliações de 1 e 2 estrelas se concentram em pedidos atrasados de {cat}.",
    "Recomendamos priorizar transportadoras com melhor prazo nas rotas de {uf}.",
    "Sugerimos implementar cupons de recompra para clientes que avaliaram com nota {n}.",
    "É importante monitorar a nota média por vendedor e agir quando cair abaixo de {n}.",
    "Os pedidos pagos com boleto têm cancelamento {p}% maior que os pagos com cartão.",
    "Vale ampliar o estoque de {cat} antes da Black Friday, quando a demanda sobe {p}%.",
    "Clientes recorrentes respondem por {p}% do faturamento, mas são poucos em {uf}.",
]
CATS = ["beleza e saúde", "informática", "móveis e decoração", "esporte e lazer", "utilidades domésticas"]
UFS = ["SP", "RJ", "MG", "BA", "PE", "RS", "PR"]
PUSHES = [
    "Seu carrinho está esperando! {cat} com {p}% OFF só hoje 🛒",
    "Ana, chegou a hora: frete grátis em {cat} até domingo. Corre! 🚚",
    "Sentimos sua falta! Volte e ganhe R$ {v} de desconto na próxima compra.",
    "Confira nossas ofertas imperdíveis! Não perca essa oportunidade.",
    "Prezado cliente, informamos que há novas ofertas disponíveis em nossa loja. Atenciosamente, equipe.",
    "Seu pedido de {cat} já saiu para entrega e chega amanhã. Acompanhe pelo app 📦",
    "Você viu? {cat} que você favoritou baixou para R$ {v},90. Garanta o seu antes que acabe!",
]
SQLS = [
    "SELECT c.customer_state, COUNT(*) AS pedidos FROM orders o JOIN customers c ON c.customer_id = o.customer_id "
    "WHERE o.order_status = 'delivered' GROUP BY c.customer_state ORDER BY pedidos DESC LIMIT 5",
    "SELECT p.product_category_name, ROUND(AVG(r.review_score), 2) FROM order_reviews r JOIN order_items i "
    "ON i.order_id = r.order_id JOIN products p ON p.product_id = i.product_id GROUP BY 1 ORDER BY 2 DESC",
    "SELECT payment_type, ROUND(SUM(payment_value), 2) AS total FROM order_payments GROUP BY payment_type",
    "SELECT strftime('%Y-%m', order_purchase_timestamp) AS mes, COUNT(*) FROM orders GROUP BY mes ORDER BY mes",
]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(cat=rng.choice(CATS), uf=rng.choice(UFS), p=rng.randint(3, 45),
                           v=rng.randint(10, 300), n=rng.randint(1, 5))


def extraction_completion(rng: random.Random) -> str:
    obj = {
        "sentiment": rng.choice(SENTIMENTS), "sentiment_score": rng.randint(1, 5),
        "delivery_issue": rng.random() < 0.4, "product_quality_issue": rng.random() < 0.3,
        "customer_service_issue": rng.random() < 0.2, "would_recommend": rng.random() < 0.6,
        "main_topic": rng.choice(TOPICS), "summary": _fill(rng, rng.choice(SENTENCES))[:180],
        "confidence": round(rng.random(), 2), "product_mentioned": rng.choice([None, "cadeira", "fone de ouvido"]),
    }
    if rng.random() < 0.2:
        del obj[rng.choice(list(obj))]
    if rng.random() < 0.1:
        obj["delivery_issue"] = "delivery_issue"
    text = json.dumps(obj, ensure_ascii=False, indent=rng.choice([None, 2]))
    roll = rng.random()
    if roll < 0.15:
        text = text.replace(f'"confidence": {obj.get("confidence")}', f'"confidence": {str(obj.get("confidence")).replace(".", ",")}')
    elif roll < 0.22:
        text = text[:-1]  # unclosed: json-repair path
    elif roll < 0.27:
        return "A avaliação é " + str(obj.get("sentiment")) + " e fala sobre " + str(obj.get("main_topic")) + "."
    if rng.random() < 0.5:
        text = f"Aqui está a extração da avaliação:\n```json\n{text}\n```"
    return text


def sql_completion(rng: random.Random) -> str:
    sql = rng.choice(SQLS)
    expl = " ".join(_fill(rng, rng.choice(SENTENCES)) for _ in range(rng.randint(2, 5)))
    if rng.random() < 0.15:
        return "Para responder, consultamos o banco de dados. " + expl
    return f"```sql\n{sql};\n```\nEssa consulta agrupa os pedidos e calcula o total. {expl}"


def insights_completion(rng: random.Random) -> str:
    parts = ["## Diagnóstico", ""]
    parts += [_fill(rng, rng.choice(SENTENCES)) for _ in range(rng.randint(4, 20))]
    parts += ["", "## Recomendações", ""]
    parts += ["- " + _fill(rng, rng.choice(SENTENCES)) for _ in range(rng.randint(2, 12))]
    parts += ["", "## Próximos passos", ""]
    parts += [_fill(rng, rng.choice(SENTENCES)) for _ in range(rng.randint(2, 10))]
    return "\n".join(parts)


def push_completion(rng: random.Random) -> str:
    text = _fill(rng, rng.choice(PUSHES))
    if rng.random() < 0.2:
        text += " " + _fill(rng, rng.choice(PUSHES))
    return text


MAKERS = {"extraction": extraction_completion, "sql_qa": sql_completion,
          "insights": insights_completion, "push": push_completion}
BENCH_REWARD = {"extraction": "extraction", "sql_qa": "sql_qa_heuristic", "insights": "insights", "push": "push"}


def mixed(n: int, seed: int = 0) -> list[tuple[str, str, dict]]:
    rng = random.Random(seed)
    tasks = list(MAKERS)
    out = []
    for i in range(n):
        task = tasks[i % 4]
        meta = {"rating": rng.randint(1, 5)} if task == "extraction" else {}
        out.append((task, MAKERS[task](rng), meta))
    rng.shuffle(out)
    return out


def bench_throughput(n: int) -> None:
    """Completions per second of CPU time (time.process_time), so that other load on the
    machine does not count against the rewards; wall-clock figures printed beside."""
    items = mixed(n)
    rewards = {t: get_reward(name) for t, name in BENCH_REWARD.items()}
    for task, text, meta in items[:400]:  # warm-up: imports, word memo
        rewards[task].score(text, **meta)
    print(f"== throughput: {n} mixed completions, one core (SQL execution excluded)")
    for task in MAKERS:
        mine = [(text, meta) for t, text, meta in items if t == task]
        reward = rewards[task]
        c0, w0 = time.process_time(), time.perf_counter()
        for text, meta in mine:
            reward.score(text, **meta)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        chars = sum(len(text) for text, _ in mine) / len(mine)
        print(f"{task:<11} ({BENCH_REWARD[task]:<16}) {len(mine):>6} completions, mean {chars:>5.0f} chars: "
              f"{len(mine) / cpu:>9,.0f} /s CPU ({len(mine) / wall:,.0f} /s wall)")
    c0, w0 = time.process_time(), time.perf_counter()
    for task, text, meta in items:
        rewards[task].score(text, **meta)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"overall (shuffled mix): {n / cpu:,.0f} completions/s CPU, {n / wall:,.0f} /s wall; goal >= 20,000/s")


def _sql_items(db: Path, limit: int, seed: int) -> list[tuple[str, dict]]:
    """Right and wrong answers to the database's own sql_qa prompts."""
    from data.prompts import load_prompts

    rows = []
    for split in ("train.jsonl", "eval.jsonl"):
        path = db.parent / "prompts" / split
        if path.is_file():
            rows += [r for r in load_prompts(path, tasks=["sql_qa"])]
    rng = random.Random(seed)
    rng.shuffle(rows)
    items, seen = [], set()
    for row in rows[:limit]:
        sql = row["reference_sql"]
        meta = {"reference_sql": sql, "reference_answer": row["reference_answer"], "db_path": str(db)}
        wrong = sql.replace("DESC", "ASC") if "DESC" in sql else sql.replace("COUNT(", "COUNT(DISTINCT ")
        for q in (sql, wrong):
            if q in seen:
                continue
            seen.add(q)
            items.append((f"```sql\n{q};\n```\nA consulta responde à pergunta com os pedidos e clientes "
                          f"da base; o resultado mostra 12 registros no período analisado.", meta))
    return items


def bench_sql(db: Path | None, n: int) -> None:
    from rewards import sql_exec
    from rewards.sql_compare import compare_results, is_ordered, parse_reference_answer

    tmp = None
    if db is None:
        from data.build import build

        tmp = tempfile.TemporaryDirectory(prefix="tucano-bench-")
        t0 = time.perf_counter()
        paths = build(Path(tmp.name), size="default")
        db = Path(paths["db"])
        print(f"== built the full-size commerce database in {time.perf_counter() - t0:.1f} s: "
              f"{db.stat().st_size / 1e6:.0f} MB")
    items = _sql_items(db, n, seed=1)
    if not items:
        print(f"no sql_qa prompts found beside {db}; SQL timing skipped")
        return
    reward = get_reward("sql_qa")
    for text, meta in items[:5]:
        reward.score(text, **meta)  # warm-up: opens the cached connection
    cpu_ms, wall_ms, correct, timeouts = [], [], 0, 0
    for text, meta in items:
        sql = text.split("```sql\n", 1)[1].split(";\n```", 1)[0]
        w0, c0 = time.perf_counter(), time.thread_time()
        result = sql_exec.run_readonly(meta["db_path"], sql)  # the component's work, uncached
        ok = result.ok and compare_results(result.rows, parse_reference_answer(meta["reference_answer"]),
                                           ordered=is_ordered(meta["reference_sql"]))[0]
        cpu_ms.append((time.thread_time() - c0) * 1000)
        wall_ms.append((time.perf_counter() - w0) * 1000)
        correct += bool(ok)
        timeouts += result.timed_out
    def stats(xs):
        return f"median {statistics.median(xs):.2f} ms, p99 {statistics.quantiles(xs, n=100)[98]:.2f} ms, max {max(xs):.0f} ms"
    print(f"== SQL execution component on {db} ({len(items)} distinct queries: {correct} correct, "
          f"{timeouts} over the {sql_exec.DEFAULT_TIME_LIMIT_MS} ms limit)")
    print(f"execution + comparison, CPU:  {stats(cpu_ms)} (goal: median <= 5 ms)")
    print(f"execution + comparison, wall: {stats(wall_ms)}")
    sql_exec.close_all()
    if tmp is not None:
        tmp.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--sql-db", type=Path, help="an existing commerce.db (prompts/ beside it)")
    parser.add_argument("--sql-n", type=int, default=400, help="sql_qa prompts to time (x2 answers)")
    parser.add_argument("--skip-sql", action="store_true")
    args = parser.parse_args()
    bench_throughput(args.n)
    if not args.skip_sql:
        bench_sql(args.sql_db, args.sql_n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
