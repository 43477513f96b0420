"""Proof that the gate catches the recipe's historical reward bugs.

We plant each bug into a copy of the rewards through the factories' parameters:
- extraction: Portuguese decimals not normalised (`"confidence": 0,85` breaks the JSON)
  and booleans accepted as integers (`"sentiment_score": true` passes);
- push: no length penalty, so a 260-character "push" earns full length credit;
- routing: untagged prompts routed push-before-insights, so an analysis that mentions
  "reengajamento" is scored as a push notification.
Realistic completions for the four tasks (of varied quality) go into a store, scored on
insert by the correct rewards; simulated annotators score them by the *correct* rewards
plus noise (seeded). The gate computed with a buggy copy fails exactly the affected
task and passes the clean ones, and the disagreement queue points at the bug.

How sure is this? Over seeds 1-30 of this very simulation (100 items per task over 25
prompts, the gate's default minimum) the correct rewards pass every task every time, and
each planted bug fails its task 30 times in 30 (and never another task). The extraction
bugs are the subtle ones: json-repair rescues a decimal-comma JSON for half credit, so the
planted bugs cost at most 0.19 of reward and the buggy reward's pooled rho sits around
0.3-0.55; before the gate also asked for a CI lower bound above 0.4 and for the order
within each prompt (at 80 items, rho >= 0.5 and a lower bound above 0.2 only) they were
caught 26 times in 30. The seed below is fixed (extraction: rho 0.36, CI lower bound
0.21; within-prompt tau 0.23, CI lower bound 0.05). tests/test_gate_power.py and
bench/gate_power.py measure the rates over many more simulated audits.
"""

from __future__ import annotations

import json
import random
import sqlite3

import pytest
from scipy.stats import rankdata

from audit_app.audit import gate
from audit_app.audit.report import TaskScorer, reward_meta
from data.store.roles import SYSTEM
from rewards import registry
from rewards.extraction import make_extraction_reward
from rewards.push import make_push_reward
from rewards.routing import prompt_text, route_task
from tests.test_audit_support import add_user

PROMPTS_PER_TASK = 25
PER_PROMPT = 4
BOOT = 1000
SEED = 2024
# sd of a person's score around 1 + 4 * (the completion's quantile by the correct reward), before rounding
HUMAN_NOISE = 0.6

# -- a small commerce database for the SQL reward (Olist column names), and a second copy with
# other outcomes, as `data build` makes them (an answer typed in agrees with one of them only) ----
def db_rows(n_orders: int, shift: int) -> dict[str, list[tuple]]:
    return {
        "customers": [(f"c{i}", ["SP", "RJ", "MG", "RS"][(i + shift) % 4]) for i in range(40)],
        "orders": [(f"o{i}", f"c{i % 40}", ["delivered", "delivered", "shipped", "canceled"][(i + shift) % 4],
                    f"2018-0{1 + i % 6}-1{i % 10} 10:00:00") for i in range(n_orders)],
        "order_items": [(f"o{i}", 1, f"p{i % 15}", round(20 + (i * (7.3 + shift)) % 180, 2),
                         round(5 + (i * 1.7) % 25, 2)) for i in range(n_orders)],
    }


DB_ROWS = db_rows(120, 0)
DB_ROWS_B = db_rows(137, 1)
QUESTIONS = [
    ("Quantos pedidos foram cancelados?", "SELECT COUNT(*) FROM orders WHERE order_status = 'canceled'"),
    ("Qual o faturamento total (soma dos preços) dos itens vendidos?", "SELECT ROUND(SUM(price), 2) FROM order_items"),
    ("Quantos clientes existem por estado?",
     "SELECT customer_state, COUNT(*) FROM customers GROUP BY customer_state ORDER BY customer_state"),
    ("Qual o frete médio por item?", "SELECT ROUND(AVG(freight_value), 2) FROM order_items"),
    ("Quantos pedidos foram entregues?", "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered'"),
]
WRONG_SQL = {
    0: "SELECT COUNT(*) FROM orders WHERE order_status = 'delivered'",
    1: "SELECT ROUND(SUM(freight_value), 2) FROM order_items",
    2: "SELECT customer_state, COUNT(*) FROM customers",
    3: "SELECT ROUND(AVG(price), 2) FROM order_items",
    4: "SELECT COUNT(*) FROM orders",
}


def build_db(path, rows: dict = DB_ROWS) -> None:
    conn = sqlite3.connect(path)
    fill_db(conn, rows)
    conn.close()


def reference_answer(sql: str) -> str:
    """The reference query's rows as JSON text, as a built prompt row carries them."""
    conn = sqlite3.connect(":memory:")
    fill_db(conn)
    rows = [list(r) for r in conn.execute(sql)]
    conn.close()
    return json.dumps(rows)


def fill_db(conn, db: dict = DB_ROWS) -> None:
    conn.execute("CREATE TABLE customers (customer_id TEXT PRIMARY KEY, customer_state TEXT)")
    conn.execute("CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer_id TEXT, order_status TEXT,"
                 " order_purchase_timestamp TEXT)")
    conn.execute("CREATE TABLE order_items (order_id TEXT, order_item_id INTEGER, product_id TEXT, price REAL,"
                 " freight_value REAL)")
    for table, rows in db.items():
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    conn.commit()


# -- realistic completions, of varied quality ----------------------------------------------------
REVIEWS = [
    (1, "Produto chegou quebrado e ninguém responde no chat. Não recomendo.", "negativo", "qualidade"),
    (2, "Entrega atrasou duas semanas, o fone funciona mas a caixa veio amassada.", "negativo", "entrega"),
    (3, "Cumpre o que promete, mas demorou mais do que o previsto.", "neutro", "entrega"),
    (4, "Gostei da cadeira, montagem simples. Só o manual é confuso.", "positivo", "qualidade"),
    (5, "Chegou antes do prazo e o vendedor foi super atencioso! Recomendo.", "positivo", "atendimento"),
]


BAD_VALUES = [("sentiment_score", 7), ("main_topic", "logística"), ("summary", "resumo"), ("delivery_issue", "sim"),
              ("sentiment", "misto"), ("would_recommend", "talvez"), ("customer_service_issue", "não")]
# A decent instruct model: mostly complete JSON, small slips, now and then a worse answer.
EXTRACTION_TIERS = {"perfect": 6, "one_slip": 4, "several_slips": 1, "contradicts_stars": 0.5, "prose": 0.2}


def extraction_completion(rng: random.Random, review) -> str:
    rating, text, sentiment, topic = review
    obj = {"sentiment": sentiment, "sentiment_score": rating, "delivery_issue": topic == "entrega",
           "product_quality_issue": topic == "qualidade", "customer_service_issue": rating == 1,
           "would_recommend": rating >= 4, "main_topic": topic,
           "summary": text[:60].rstrip(" ,.") + ".", "confidence": rng.choice([0.7, 0.85, 0.9, 0.95]),
           "product_mentioned": None}
    tier = rng.choices(list(EXTRACTION_TIERS), weights=list(EXTRACTION_TIERS.values()))[0]
    if tier == "prose":
        return f"A avaliação é {sentiment}: o cliente fala de {topic}."
    slips = {"one_slip": 1, "several_slips": rng.choice([3, 4])}.get(tier, 0)
    for field, bad in rng.sample(BAD_VALUES, slips):
        obj[field] = bad
    if tier == "contradicts_stars":
        obj["sentiment"] = "positivo" if rating <= 2 else "negativo"
    if obj["sentiment_score"] == rating and rng.random() < 0.3:
        obj["sentiment_score"] = True                     # a boolean where an integer belongs
    text_json = json.dumps(obj, ensure_ascii=False, indent=2)
    if rng.random() < 0.5:                                # Portuguese decimal comma: "confidence": 0,85
        text_json = text_json.replace(f'"confidence": {obj["confidence"]}',
                                      f'"confidence": {str(obj["confidence"]).replace(".", ",")}')
    wrap = rng.random()
    if wrap < 0.3:
        return f"```json\n{text_json}\n```"
    if wrap < 0.45:
        return f"Segue a extração da avaliação:\n{text_json}"
    return text_json


def sql_completion(rng: random.Random, q: int) -> str:
    question, sql = QUESTIONS[q]
    kind = rng.choice(["full", "full", "no_expl", "wrong", "broken", "prose"])
    explanation = ("Essa consulta soma os pedidos e clientes da loja; o resultado mostra 3 grupos de "
                   "vendas e ajuda a entender o faturamento e a entrega dos produtos.")
    if kind == "full":
        return f"```sql\n{sql};\n```\n{explanation}"
    if kind == "no_expl":
        return f"```sql\n{sql};\n```"
    if kind == "wrong":
        return f"```sql\n{WRONG_SQL[q]};\n```\n{explanation}"
    if kind == "broken":
        return f"```sql\nSELEC COUNT(*) FORM pedidos WERE status = cancelado\n```\n{explanation}"
    return f"Para responder \"{question}\" seria preciso consultar o banco de dados de pedidos com SQL."


ACTIONS = ["Recomendo", "Priorizar", "Melhorar", "Implementar", "Otimizar", "Reduzir"]


def insights_completion(rng: random.Random, theme: str) -> str:
    kind = rng.choice(["full", "full", "no_structure", "short", "short", "vague"])
    body = [f"{rng.choice(ACTIONS)} {x}" for x in (
        f"uma campanha de {theme} com cupons para clientes inativos há mais de 90 dias;",
        "a revisão do prazo de entrega nas regiões com mais atrasos e reclamações;",
        "o acompanhamento da taxa de recompra por categoria de produto a cada mês;",
        "o atendimento ao cliente no pós-venda, respondendo avaliações negativas em 24 horas;")]
    context = ("Os dados mostram que a maior parte dos clientes compra apenas uma vez e que os pedidos "
               "com atraso na entrega concentram as avaliações de uma e duas estrelas. ") * 3
    if kind == "full":
        return "## Diagnóstico\n" + context + "\n\n## Recomendações\n" + "\n".join(f"- {b}" for b in body)
    if kind == "no_structure":
        return context + " ".join(body)
    if kind == "short":
        return f"{body[0]} Ação rápida para {theme}."
    return "Os clientes e os produtos são importantes e é bom acompanhar os resultados."


PUSH_GOOD = ["Seu carrinho sente sua falta! 🛒 Volte hoje e ganhe 10% OFF no que você escolheu.",
             "Faz tempo, hein? 👀 Separamos ofertas com frete grátis só pra você até domingo.",
             "Aquele tênis que você olhou baixou para R$ 199! Corre que o estoque é pequeno 👟",
             "Bateu saudade? Cupom VOLTA15 liberado: 15% de desconto na sua próxima compra 💛"]
PUSH_WEAK = ["Confira nossas ofertas", "Aproveite nossas promoções",
             "Prezado cliente, informamos que há novas ofertas disponíveis. Atenciosamente, equipe."]


def push_completion(rng: random.Random) -> str:
    kind = rng.choice(["good", "good", "weak", "mid", "long", "long"])
    good = rng.choice(PUSH_GOOD)
    if kind == "good":
        return good
    if kind == "weak":
        return rng.choice(PUSH_WEAK)
    if kind == "mid":   # 120-200 characters: the steep decay zone
        return good + " Aproveite também as novidades da semana na loja."
    # A verbose model writes a whole e-mail instead of a push: well over 200 characters.
    return (good + " Preparamos uma seleção especial com os produtos mais vendidos da semana, entrega rápida "
            "para todo o Brasil e condições exclusivas no pagamento. Não deixe para depois, porque as "
            "ofertas acabam logo! 🎁")


def prompts_and_completions(rng: random.Random) -> tuple[list[dict], list[tuple[str, str]]]:
    prompts, rollouts = [], []
    for p in range(PROMPTS_PER_TASK):
        review = REVIEWS[p % len(REVIEWS)]
        prompts.append({"prompt_id": f"extraction-{p}", "task": "extraction", "rating": review[0],
                        "prompt": [{"role": "user", "content": f"Extraia os campos em JSON da avaliação: {review[1]}"}]})
        rollouts += [(f"extraction-{p}", extraction_completion(rng, review)) for _ in range(PER_PROMPT)]

        question, sql = QUESTIONS[p % len(QUESTIONS)]
        prompts.append({"prompt_id": f"sql_qa-{p}", "task": "sql_qa", "reference_sql": sql,
                        "reference_answer": reference_answer(sql),
                        "prompt": [{"role": "user", "content": f"Escreva a consulta SQL e explique: {question}"}]})
        rollouts += [(f"sql_qa-{p}", sql_completion(rng, p % len(QUESTIONS))) for _ in range(PER_PROMPT)]

        # Most analyses this season are about winning back inactive customers.
        theme = "reengajamento" if p % 4 else "fidelização"
        prompts.append({"prompt_id": f"insights-{p}", "task": "insights", "topic": theme,
                        "prompt": [{"role": "user", "content": f"Faça uma análise estratégica da base de clientes "
                                                               f"com foco em {theme}, com recomendações."}]})
        rollouts += [(f"insights-{p}", insights_completion(rng, theme)) for _ in range(PER_PROMPT)]

        prompts.append({"prompt_id": f"push-{p}", "task": "push", "topic": "reengajamento",
                        "prompt": [{"role": "user", "content": "Escreva uma notificação push de até 120 caracteres "
                                                               "para reengajar clientes inativos."}]})
        rollouts += [(f"push-{p}", push_completion(rng)) for _ in range(PER_PROMPT)]
    return prompts, rollouts


# -- the store: correct rewards on insert, people who judge like the correct rewards -------------
def correct_quantiles(store, ids) -> dict[int, float]:
    """Where each rollout stands among its task's rollouts by the correct reward (0..1, ties
    share a mid-rank): people use the whole 1-5 scale for the range of answers they see."""
    rows = [store.get_rollout(rid) for rid in ids]
    out = {}
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task]
        ranks = rankdata([r["reward_total"] for r in mine])
        out.update({r["id"]: (rank - 0.5) / len(mine) for r, rank in zip(mine, ranks, strict=True)})
    return out


@pytest.fixture(scope="module")
def audited_store(tmp_path_factory):
    from data.store import Store

    home = tmp_path_factory.mktemp("home")
    build_db(home / "commerce.db")
    build_db(home / "commerce-b.db", DB_ROWS_B)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUCANO_AUDIT_HOME", str(home))  # the SQL reward's database: data.paths.commerce_db()
        store = Store(home / "store.db")
        rng = random.Random(SEED)
        prompts, rollouts = prompts_and_completions(rng)
        store.add_prompts(prompts)
        ids = store.add_rollouts([{"prompt_id": pid, "model_id": "base", "sample_index": i, "completion": text}
                                  for i, (pid, text) in enumerate(rollouts)])
        people = [add_user(store, name, "annotator") for name in ("ana", "bia", "caio")]
        noise = random.Random(SEED + 1)
        quantiles = correct_quantiles(store, ids)
        for rid in ids:  # a fixed order: the noise each rollout gets must not depend on hashing
            quantile = quantiles[rid]
            raters = [people[rid % 3]] + ([people[(rid + 1) % 3]] if noise.random() < 0.35 else [])
            for person in raters:
                score = round(1 + 4 * quantile + noise.gauss(0, HUMAN_NOISE))
                store.record_annotation(person, rid, min(5, max(1, score)))
        yield store
        store.close()


def routed_insights(*, insights_before_push: bool) -> TaskScorer:
    """The insights scorer as an untagged-prompt pipeline would apply it: route, then score."""
    def score_item(item):
        task = route_task(prompt_text(item["prompt"]), insights_before_push=insights_before_push)
        meta = reward_meta({**item, "task": task})
        return registry.get_reward(registry.default_reward_name(task)).score(item["completion"], **meta)

    base = registry.get_reward("insights").version + registry.get_reward("push").version
    order = "insights-first" if insights_before_push else "push-first"
    return TaskScorer("insights", f"routed-{order}-{base}", score_item)


def decide(store, rewards=None) -> gate.GateDecision:
    return gate.compute_decision(store, SYSTEM, rewards=rewards, n_boot=BOOT, seed=1)


def assert_only(decision: gate.GateDecision, failing: str | None) -> None:
    for task in ("extraction", "sql_qa", "insights", "push"):
        verdict = decision.per_task[task]
        assert verdict.passed == (task != failing), verdict.reason


def test_correct_rewards_pass_every_task(audited_store):
    d = decide(audited_store)
    assert_only(d, None)
    assert d.report.rescored == {t: 0 for t in d.tasks}   # stored with today's rewards
    for task in d.tasks:
        st = d.report.stats[task]
        assert st.n_items == PROMPTS_PER_TASK * PER_PROMPT and st.alpha is not None


def test_extraction_bugs_fail_extraction_only(audited_store):
    buggy = make_extraction_reward(normalise_decimals=False, strict_int=False)
    d = decide(audited_store, {"extraction": buggy})
    assert_only(d, "extraction")
    assert d.reward_versions["extraction"] == buggy.version != registry.get_reward("extraction").version
    st = d.report.stats["extraction"]
    assert st.rho < 0.5 or st.ci_low <= 0.4
    # The queue shows where: the top disagreements are completions with a decimal comma or a boolean score.
    top = d.report.queue("extraction", limit=8)
    hits = [r for r in top if ",8" in r["completion"] or ",9" in r["completion"] or ",7" in r["completion"]
            or '"sentiment_score": true' in r["completion"]]
    assert len(hits) >= 6
    assert "extraction" in d.reasons()[0]


def test_push_without_length_penalty_fails_push_only(audited_store):
    d = decide(audited_store, {"push": make_push_reward(length_penalty=False)})
    assert_only(d, "push")
    # Where the reward is more generous than people, the queue is all over-long "pushes".
    queue = d.report.queue("push", limit=None)
    generous = [r for r in queue if r["direction"] == "reward rates it above people"][:8]
    assert all(len(r["completion"]) > 200 for r in generous)
    assert sum(len(r["completion"]) > 200 for r in queue[:8]) >= 4


def test_push_first_routing_fails_insights_only(audited_store):
    d = decide(audited_store, {"insights": routed_insights(insights_before_push=False)})
    assert_only(d, "insights")
    # The correct routing, built the same way, passes: the failure is the routing order.
    ok = decide(audited_store, {"insights": routed_insights(insights_before_push=True)})
    assert_only(ok, None)
