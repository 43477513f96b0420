"""Builders shared by the audit and gate tests: synthetic audit items and a seeded store.

Rows go into the core tables (001_core.sql) with parameterised SQL so these tests do not
depend on how rollouts are scored on insert; the schema is the contract.
"""

from __future__ import annotations

import json

import numpy as np

from data.store.roles import User

NOW = "2026-01-01T00:00:00.000+00:00"


def synthetic_items(task: str, n: int, *, rho_noise: float = 0.15, n_per_prompt: int = 4,
                    double_share: float = 0.3, repeat_share: float = 0.1, seed: int = 0,
                    annotators: tuple[str, ...] = ("ana", "bia", "caio")) -> list[dict]:
    """Items whose reward tracks a hidden quality with `rho_noise` noise; people score
    that quality on 1-5 with their own noise."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        q = rng.random()
        people = [annotators[i % len(annotators)]]
        if rng.random() < double_share:
            people.append(annotators[(i + 1) % len(annotators)])

        def judge(q=q):
            return int(np.clip(round(1 + 4 * q + rng.normal(0, 0.5)), 1, 5))

        anns = [{"annotator": who, "round": 0, "score": judge(), "flag": False, "comment": None}
                for who in people]
        if rng.random() < repeat_share:
            anns.append({"annotator": people[0], "round": 1, "score": judge(), "flag": False, "comment": None})
        total = float(np.clip(q + rng.normal(0, rho_noise), 0, 1))
        items.append({"rollout_id": i + 1, "prompt_id": f"{task}-{i // n_per_prompt}", "task": task,
                      "reward_total": total, "reward_components": {"good": round(total, 2), "noise": rng.random()},
                      "reward_notes": [], "completion": f"completion {i}", "annotations": anns})
    return items


PRODUCTS = (("luminária", "móveis e decoração"), ("fone de ouvido", "eletrônicos"), ("tênis", "esporte e lazer"),
            ("perfume", "beleza e saúde"), ("cafeteira", "utilidades domésticas"))
OFFERS = ("cupom VOLTA{n} com {n}% off", "frete grátis acima de R$ {m}", "{n}% de desconto na segunda unidade")


def push_prompt(prompt_id: str) -> tuple[str, dict]:
    """A push prompt as `data build` writes one (briefing text, brief), varied by its id: the
    default push reward is grounded in the brief, so an answer that ignores it cannot pay."""
    k = sum(map(ord, prompt_id))
    product, category = PRODUCTS[k % len(PRODUCTS)]
    offer = OFFERS[k % len(OFFERS)].format(n=10 + k % 4 * 5, m=90 + k % 7 * 10)
    brief = {"occasion": "dia_das_maes", "occasion_label": "Dia das Mães", "audience": "clientes de SP inativos",
             "product": product, "category": category, "offer": offer, "ticket": "R$ 129,90", "tone": "afetuoso"}
    text = ("Briefing da campanha\n- Ocasião: Dia das Mães\n- Público: clientes de SP inativos\n"
            f"- Produto em destaque: {product} ({category})\n- Oferta: {offer}\n- Ticket médio do público: R$ 129,90\n"
            "- Tom: afetuoso\n\nEscreva uma notificação push de no máximo 120 caracteres para essa campanha.")
    return text, brief


REVIEWS = (
    (1, "O pedido chegou com duas semanas de atraso e a caixa veio amassada. Não recomendo a loja.",
     {"sentiment": "negativo", "delivery_issue": True, "product_quality_issue": False, "customer_service_issue": False,
      "would_recommend": False, "main_topic": ["entrega"], "other_topics": ["embalagem"]}),
    (5, "Adorei a cafeteira, faz um café ótimo e chegou antes do prazo. Recomendo!",
     {"sentiment": "positivo", "delivery_issue": False, "product_quality_issue": False,
      "customer_service_issue": False, "would_recommend": True, "main_topic": ["qualidade"], "other_topics": []}),
    (3, "O fone funciona, mas o som é fraco para o preço que paguei.",
     {"sentiment": "neutro", "delivery_issue": False, "product_quality_issue": True, "customer_service_issue": False,
      "would_recommend": None, "main_topic": ["qualidade"], "other_topics": ["preco"]}),
)


def extraction_prompt(prompt_id: str) -> tuple[str, dict]:
    """An extraction prompt with what `data build` knows about it (rating, review, gold labels)."""
    rating, review, gold = REVIEWS[sum(map(ord, prompt_id)) % len(REVIEWS)]
    text = f"Extraia as informações da avaliação abaixo em JSON.\n\nAvaliação do cliente:\nComentário: \"{review}\""
    return text, {"rating": rating, "review": review, "gold": gold}


GROUNDED = {"push": push_prompt, "extraction": extraction_prompt}


def add_user(store, username: str, role: str) -> User:
    cur = store.conn.execute("INSERT INTO users (username, role, active, created_at, created_by)"
                             " VALUES (?, ?, 1, ?, 'test')", [username, role, NOW])
    return User(id=cur.lastrowid, username=username, role=role, active=True)


def seed_store(store, items: list[dict], *, reward_name: str | None = None, reward_version: str = "v-test",
               prompt_texts: dict | None = None, metas: dict | None = None) -> dict[str, User]:
    """Write synthetic items (as `synthetic_items` makes them) into the store's core tables.

    Push and extraction prompts get what a built prompt knows (`push_prompt`,
    `extraction_prompt`) unless `prompt_texts` or `metas` name them, so the grounded rewards cannot be
    gamed by an answer that ignores the prompt (the gate's exploit check). Returns the
    annotators as users. `reward_total` None or NaN is stored as NULL."""
    users = {u["username"]: u for u in store.query("SELECT id, username, role FROM users")}
    out: dict[str, User] = {}
    with store.transaction(immediate=True) as conn:
        for item in items:
            pid, task = item["prompt_id"], item["task"]
            text, meta = (prompt_texts or {}).get(pid, f"Prompt {pid}"), (metas or {}).get(pid, {})
            if task in GROUNDED and pid not in (prompt_texts or {}) and pid not in (metas or {}):
                text, meta = GROUNDED[task](pid)
            conn.execute(
                "INSERT OR IGNORE INTO prompts (prompt_id, task, split, messages, meta, created_at)"
                " VALUES (?, ?, 'train', ?, ?, ?)",
                [pid, task, json.dumps([{"role": "user", "content": text}], ensure_ascii=False),
                 json.dumps(meta, ensure_ascii=False), NOW])
            total = item.get("reward_total")
            total = None if total is None or total != total else float(total)
            cur = conn.execute(
                "INSERT INTO rollouts (prompt_id, task, model_id, sample_index, completion, reward_name,"
                " reward_total, reward_components, reward_notes, reward_version, dedup_key, created_at)"
                " VALUES (?, ?, 'test-model', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [pid, task, item["rollout_id"], item.get("completion", ""), reward_name or task, total,
                 json.dumps(item.get("reward_components", {})), json.dumps(item.get("reward_notes", [])),
                 reward_version, f"{task}-{item['rollout_id']}-{pid}", NOW])
            rid = cur.lastrowid
            for ann in item["annotations"]:
                who = ann["annotator"]
                if who not in users:
                    c = conn.execute("INSERT INTO users (username, role, active, created_at, created_by)"
                                     " VALUES (?, 'annotator', 1, ?, 'test')", [who, NOW])
                    users[who] = {"id": c.lastrowid, "username": who, "role": "annotator"}
                u = users[who]
                out[who] = User(id=u["id"], username=who, role=u["role"])
                conn.execute(
                    "INSERT INTO annotations (rollout_id, annotator_id, round, score, flag_reward_wrong, comment,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [rid, u["id"], ann.get("round", 0), ann.get("score"), int(bool(ann.get("flag"))),
                     ann.get("comment"), NOW, NOW])
    return out
