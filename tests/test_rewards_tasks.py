"""The task rewards: the registry, the recipe's rewards kept under their own names, and the
grounded defaults for extraction, push and insights, each judged against what its prompt
knows (sql_qa: tests/test_rewards_sql_qa.py)."""

from __future__ import annotations

import json
import math

import pytest

from rewards import schema, types
from rewards.extraction import make_extraction_reward
from rewards.insights import make_insights_reward
from rewards.push import make_push_reward
from rewards.recipe.extraction import make_extraction_recipe_reward
from rewards.recipe.push import length_score
from rewards.registry import RECIPE_REWARDS, REWARDS, default_reward_name, get_reward, score
from rewards.types import TASKS, RewardBreakdown

GOOD = schema.example_json()

# ---------------------------------------------------------------- registry


def test_registry_names_defaults_and_the_recipes_rewards():
    assert set(REWARDS) == {"extraction", "sql_qa", "insights", "push", "extraction_recipe", "sql_qa_recipe",
                            "sql_qa_heuristic", "insights_recipe", "push_recipe"}
    for task in TASKS:
        assert default_reward_name(task) == task and get_reward(task).task == task
        recipe = get_reward(RECIPE_REWARDS[task])
        assert recipe.task == task and recipe.version != get_reward(task).version
    with pytest.raises(KeyError, match="valid rewards: extraction, sql_qa, insights, push, extraction_recipe"):
        get_reward("sql")
    with pytest.raises(ValueError, match="valid tasks"):
        default_reward_name("chat")
    b = score("push", "Seu pedido chegou! Avalie e ganhe 10% 📦")
    assert isinstance(b, RewardBreakdown) and set(b.components) == set(get_reward("push").components)


def test_breakdown_total_is_clamped_and_components_sum_to_it():
    assert RewardBreakdown(1.7, {}).total == 1.0
    assert RewardBreakdown(-0.2, {}).total == 0.0
    assert RewardBreakdown(float("nan"), {}).total == 0.0
    for name, reward in REWARDS.items():
        assert abs(sum(w for w in reward.weights.values() if w > 0) - 1.0) < 1e-9, name
    b = get_reward("extraction").score(json.dumps({**GOOD, "sentiment": "positivo"}), rating=1)
    assert sum(b.components.values()) == pytest.approx(b.total) == pytest.approx(0.30)


# ---------------------------------------------------------------- the recipe's rewards, as they were


def test_recipe_extraction_never_reads_the_review():
    r = get_reward("extraction_recipe")
    perfect = r.score(json.dumps(GOOD), rating=2)
    assert perfect.total == pytest.approx(1.0)
    assert r.score(json.dumps({**GOOD, "sentiment": "positivo"}), rating=1).total == pytest.approx(0.8)
    assert r.score(json.dumps({**GOOD, "sentiment_score": True})).components["value_validity"] == \
        pytest.approx(0.40 * 8 / 9)
    buggy = make_extraction_recipe_reward(normalise_decimals=False, strict_int=False)
    decimal = json.dumps(GOOD).replace('"confidence": 0.9', '"confidence": 0,9')
    assert r.score(decimal).total == pytest.approx(1.0) and buggy.score(decimal).total < 0.9


def test_recipe_push_and_insights_never_read_their_prompt():
    assert get_reward("push_recipe").score("de do da ç 1").total == pytest.approx(1.0, abs=0.05)
    bullet = "## Recomendações\n" + "\n".join(["- Recomendamos priorizar e melhorar a entrega aos clientes."] * 9)
    assert get_reward("insights_recipe").score(bullet + " palavra" * 60).total > 0.9


# ---------------------------------------------------------------- extraction

REVIEW = "A toalha chegou rasgada e com duas semanas de atraso. Não recomendo."
GOLD = {"sentiment": "negativo", "delivery_issue": True, "product_quality_issue": True,
        "customer_service_issue": False, "would_recommend": False, "main_topic": ["qualidade", "embalagem"],
        "other_topics": ["entrega"]}
RIGHT = {"sentiment": "negativo", "sentiment_score": 1, "delivery_issue": True, "product_quality_issue": True,
         "customer_service_issue": False, "would_recommend": False, "main_topic": "qualidade",
         "summary": "Toalha chegou rasgada e atrasada.", "confidence": 0.9, "product_mentioned": "toalha"}
META = {"rating": 1, "gold": GOLD, "review": REVIEW}


def _ext(obj, **meta):
    return get_reward("extraction").score(json.dumps(obj, ensure_ascii=False), **{**META, **meta})


def test_extraction_right_answer_and_its_components():
    b = _ext(RIGHT)
    assert b.total == pytest.approx(1.0) and b.notes == ()
    assert b.components["correctness"] == pytest.approx(0.50) and b.components["sentiment"] == pytest.approx(0.20)


def test_extraction_correctness_follows_the_gold_labels():
    one_wrong = _ext({**RIGHT, "customer_service_issue": True})
    assert one_wrong.components["correctness"] == pytest.approx(0.50 * (1 - (25 / 3) / 50))
    assert any("customer_service_issue" in n for n in one_wrong.notes)
    side_topic = _ext({**RIGHT, "main_topic": "entrega"})  # a topic of another theme: half
    assert side_topic.components["correctness"] == pytest.approx(0.50 * (1 - 10 / 50))
    # A label the gold leaves open is not scored either way.
    open_gold = {**GOLD, "delivery_issue": None}
    assert _ext({**RIGHT, "delivery_issue": False}, gold=open_gold).components["correctness"] == pytest.approx(0.50)
    flipped = _ext({**RIGHT, "delivery_issue": False, "product_quality_issue": False,
                    "customer_service_issue": True, "would_recommend": True, "main_topic": "preco"})
    assert flipped.total <= 0.35 and any("most labels contradict" in n for n in flipped.notes)


def test_extraction_star_rating_contradiction_caps_the_total():
    for obj in ({**RIGHT, "sentiment": "positivo"}, {**RIGHT, "sentiment_score": 5}):
        b = _ext(obj)
        assert b.total == pytest.approx(0.30) and b.components["cap"] < 0
    # Neutral on a 2-star review is half right, not a contradiction.
    b = _ext({**RIGHT, "sentiment": "neutro", "sentiment_score": 2}, rating=2)
    assert b.components["sentiment"] == pytest.approx(0.20 * (0.6 * 0.5 + 0.4)) and b.components["cap"] == 0
    with pytest.raises(ValueError, match="rating must be an integer from 1 to 5"):
        _ext(RIGHT, rating=7)


def test_each_further_defect_lowers_the_ceiling_so_fixing_one_of_two_pays():
    """A 1-star review labelled positivo (one cap, 0.30); the same JSON with a trailing comma
    that only json-repair reads (a second defect): lower. Fixing either one pays."""
    contradiction = _ext({**RIGHT, "sentiment": "positivo"})
    text = json.dumps({**RIGHT, "sentiment": "positivo"}, ensure_ascii=False, indent=2)[:-2] + ",\n}"
    both = get_reward("extraction").score(text, **META)
    repaired_only = get_reward("extraction").score(json.dumps(RIGHT, ensure_ascii=False, indent=2)[:-2] + ",\n}",
                                                   **META)
    assert contradiction.total == pytest.approx(0.30) and repaired_only.total == pytest.approx(0.30)
    assert both.total == pytest.approx(0.30 * types.CAP_STACK) and both.total < contradiction.total
    assert sum(both.components.values()) == pytest.approx(both.total)


def test_a_defect_noted_several_times_is_one_defect():
    notes: list[str] = []
    one = types.capped({"a": 0.9}, [(0.35, "cap: repeats 'cliente'"), (0.35, "cap: repeats 'pedido'")], notes)
    assert one.total == pytest.approx(0.35) and notes == ["cap: repeats 'cliente'", "cap: repeats 'pedido'"]
    two = types.capped({"a": 0.9}, [(0.35, "cap: repeats 'cliente'"), (0.30, "cap: copies the prompt")], [])
    three = types.capped({"a": 0.9}, [(0.35, "cap: repeats 'x'"), (0.30, "cap: copies the prompt"),
                                      (0.35, "cap: in English")], [])
    assert two.total == pytest.approx(0.30 * 0.8) and three.total == pytest.approx(0.30 * 0.8 * 0.8)
    # A cap never raises a total: an answer already below the ceiling keeps its own total.
    assert types.capped({"a": 0.1}, [(0.30, "cap: x"), (0.30, "cap: y")], []).total == pytest.approx(0.1)


def test_extraction_cross_field_consistency():
    b = _ext({**RIGHT, "would_recommend": True}, gold={**GOLD, "would_recommend": None})
    assert b.components["consistency"] == pytest.approx(-0.05)
    assert any("would_recommend true with sentiment negativo" in n for n in b.notes)


def test_extraction_summary_must_be_about_the_review_and_not_the_schema():
    for summary in ("Cliente satisfeito com a compra.", "Resumo da avaliação em uma frase, de 10 a 200 caracteres.",
                    "xxxxxxxx"):
        b = _ext({**RIGHT, "summary": summary})
        assert b.components["summary"] == 0 and b.total <= 0.35, summary


def test_extraction_without_gold_labels_is_scored_without_correctness():
    b = _ext(RIGHT, gold=None)
    assert b.components["correctness"] == 0 and b.total == pytest.approx(1.0)
    assert any("no gold labels" in n for n in b.notes)
    with pytest.raises(ValueError, match="gold.main_topic"):
        _ext(RIGHT, gold={**GOLD, "main_topic": ["logistica"]})


def test_extraction_repaired_json_is_capped_and_form_checks_stay():
    b = _ext(RIGHT | {"confidence": 0.9}, gold=GOLD)
    truncated = get_reward("extraction").score(json.dumps(RIGHT)[:-40], **META)
    assert truncated.total <= 0.30 < b.total
    as_bool = _ext({**RIGHT, "sentiment_score": True})
    assert as_bool.components["value_validity"] == pytest.approx(0.05 * 8 / 9)
    echo = _ext({**RIGHT, "delivery_issue": "delivery_issue"})
    assert any("delivery_issue" in n for n in echo.notes)


def test_extraction_planted_bugs_change_scores_and_versions():
    good, buggy = get_reward("extraction"), make_extraction_reward(normalise_decimals=False, strict_int=False)
    decimal = json.dumps(RIGHT).replace('"confidence": 0.9', '"confidence": 0,9')
    assert good.score(decimal, **META).total == pytest.approx(1.0)
    assert buggy.score(decimal, **META).total <= 0.30  # only json-repair reads it: capped
    as_bool = json.dumps({**RIGHT, "sentiment_score": True})  # True == 1 == the rating
    assert buggy.score(as_bool, **META).total == pytest.approx(1.0)
    assert good.score(as_bool, **META).total < 0.95
    assert buggy.version != good.version and make_extraction_reward().version == good.version


# ---------------------------------------------------------------- push

BRIEF = {"occasion": "dia_das_maes", "occasion_label": "Dia das Mães", "product": "secador",
         "category": "beleza e saúde", "offer": "cupom MAE15 com 15% off", "audience": "clientes de MG",
         "tone": "acolhedor", "ticket": "R$ 132,10"}
FAITHFUL = "Dia das Mães: o secador que ela merece com 15% off no cupom MAE15! Presenteie 💐"


def _push(text, **meta):
    return get_reward("push").score(text, **{"brief": BRIEF, **meta})


def test_push_faithful_to_its_brief():
    b = _push(FAITHFUL)
    assert b.total >= 0.99 and b.components["brief"] == pytest.approx(0.45)
    no_offer = _push("Dia das Mães: o secador que ela merece está te esperando na loja! 💐")
    assert no_offer.components["brief"] == pytest.approx(0.45 * 0.55) and no_offer.total < b.total


@pytest.mark.parametrize(
    "text, cap",
    [
        ("Aproveite as ofertas especiais da semana na nossa loja! Confira já 🛍️", "names nothing of the brief"),
        ("Natal chegou: secador com 15% off no cupom MAE15! 🎄", "names another occasion"),
        ("Dia das Mães: secador com 70% off! 💐", "not in the brief: 70%"),
        ("Dia das Mães: secador com 15% off, só 3 unidades! 💐", "not in the brief: 3"),
        ("Estimado cliente, comunicamos que o secador está com 15% off no cupom MAE15. Att., Loja", "formal"),
        ("DIA DAS MÃES: SECADOR COM 15% OFF NO CUPOM MAE15!!! 💐💐💐💐", "shouting"),
        ("Olá {nome}, o secador está com 15% off no cupom MAE15!", "placeholder"),
        ("Mother's Day: get the hair dryer with 15% off using code MAE15 today!", "English"),
        ("secador secador secador 15% off MAE15 Dia das Mães", "repeats"),
        ("dia maes secador beleza saude cupom MAE15 15% off oferta aproveite", "keywords"),
        ("Dia das Mães: o secador que ela merece com 15% off no cup", "stops mid-sentence"),
    ],
)
def test_push_exploits_are_capped(text, cap):
    b = _push(text, prompt_text="Briefing da campanha")
    assert b.total <= 0.30 and any(cap in n for n in b.notes), b.notes


def test_push_content_words_before_length_and_over_length_cap():
    assert _push("de do da ç 1").components["length"] < 0.05
    long = FAITHFUL + " Aproveite também a entrega rápida para todo o estado."
    assert len(long) > 120 and _push(long).total < _push(FAITHFUL).total
    assert _push(" ".join([FAITHFUL] * 3)).total <= 0.30
    assert length_score(140, 120, 200) < 0.3
    assert _push("e\u0301" * 120).components["length"] < 0.05  # one content word: length barely pays


def test_push_prompt_copy_is_capped():
    prompt = ("Briefing da campanha\n- Ocasião: Dia das Mães\n- Público: clientes de MG\n- Produto em destaque: "
              "secador (beleza e saúde)\n- Oferta: cupom MAE15 com 15% off")
    assert _push(prompt[:118], prompt_text=prompt).total <= 0.20


def test_push_without_a_brief_is_scored_without_fidelity_and_the_length_bug():
    b = get_reward("push").score(FAITHFUL)
    assert b.components["brief"] == 0 and any("no campaign brief" in n for n in b.notes)
    buggy = make_push_reward(length_penalty=False)
    long = " ".join([FAITHFUL.replace("!", ".")] + ["Entrega rápida para todo o estado, troca grátis."])
    assert buggy.score(long, brief=BRIEF).total > _push(long).total
    assert buggy.version != get_reward("push").version
    with pytest.raises(ValueError):
        make_push_reward(max_chars=120, hard_limit=100)
    with pytest.raises(ValueError, match="max_chars must be a positive integer"):
        _push("oi", max_chars=0)
    with pytest.raises(ValueError, match="brief must be an object"):
        _push("oi", brief="Natal")
    assert math.isfinite(_push("").total) and _push("").total == 0.0


# ---------------------------------------------------------------- insights

SUMMARY = ["Resumo dos dados em Minas Gerais (MG) (pedidos de 2016-09-04 a 2018-08-29):",
           "Pedidos: 11.354; receita de produtos: R$ 1.402.115,77; ticket médio: R$ 123,49",
           "Clientes únicos: 10.878; compraram mais de uma vez: 3,1%",
           "Clientes sem comprar há mais de 180 dias (até 2018-08-29): 61,4%"]
REQUEST = "Proponha uma estratégia de reengajamento para os clientes inativos em Minas Gerais (MG): quais " \
          "segmentos priorizar, que ações e canais usar e como medir o resultado."
ANALYSIS = """## Diagnóstico

Em Minas Gerais, 61,4% dos clientes não compram há mais de 180 dias e só 3,1% compraram mais de uma vez, com \
ticket médio de R$ 123,49. O reengajamento dos inativos é a maior alavanca para a receita.

## Recomendações

- Priorizar os segmentos de inativos com ticket acima da média, com ofertas por canal de e-mail e push.
- Sugerimos testar cupons de retorno por 30 dias e medir a recompra contra um grupo de controle.
- Deveríamos rever a frequência das mensagens para não cansar os clientes que ainda compram.

## Como medir

Acompanhar mês a mês a taxa de recompra e a parcela de inativos, comparando os canais usados."""


def _ins(text, **meta):
    return get_reward("insights").score(text, **{"data_summary": SUMMARY, "request": REQUEST, **meta})


def test_insights_grounded_analysis_scores_high():
    b = _ins(ANALYSIS)
    assert b.total >= 0.9 and b.components["grounding"] == pytest.approx(0.30)
    assert b.components["recommendations"] == pytest.approx(0.25) and b.components["coverage"] > 0.1


def test_insights_invented_figures_and_no_figures():
    invented = ANALYSIS.replace("61,4%", "72,8%").replace("3,1%", "9,7%").replace("R$ 123,49", "R$ 310,00")
    assert _ins(invented).total <= 0.35 and _ins(invented).components["invented"] < 0
    rounded = ANALYSIS.replace("61,4%", "61%").replace("R$ 123,49", "R$ 123")
    assert _ins(rounded).components["grounding"] == pytest.approx(0.30)
    no_figures = "\n".join(line for line in ANALYSIS.splitlines() if not any(c.isdigit() for c in line))
    assert _ins(no_figures).total <= 0.35


def test_insights_form_and_length_alone_earn_at_most_a_third():
    filler = "\n".join(["## Contexto", "", "Este tema merece atenção da equipe ao longo do tempo e em várias áreas.",
                        "", "## Pontos", "", *[f"- Ponto número {w} que a equipe deve observar com calma e método."
                                                for w in ("um", "dois", "três", "quatro", "cinco", "seis")]]) * 2
    assert _ins(filler).total <= 0.35


def test_insights_copies_repeats_english_salad_and_cuts():
    assert _ins("## Análise\n" + "\n".join(f"- {line}" for line in SUMMARY) + "\n" + REQUEST).total <= 0.25
    bullet = "- Recomendamos priorizar os clientes inativos de MG com 61,4% sem comprar."
    assert _ins("## Recomendações\n" + "\n".join([bullet] * 9)).total <= 0.30
    english = ("## Diagnosis\nIn Minas Gerais 61,4% of the customers have not bought in the last 180 days and "
               "only 3,1% bought more than once. We recommend prioritizing the inactive segments with the "
               "highest ticket and measuring the repurchase rate.")
    assert _ins(english).total <= 0.20
    salad = "## Análise\n" + " ".join(["reengajamento inativos segmentos canais priorizar medir 61,4% 3,1%"] * 4)
    assert _ins(salad).total <= 0.30
    assert _ins(ANALYSIS[: len(ANALYSIS) // 2].rstrip(" .")).total <= 0.35


def test_insights_verbs_of_recommendation():
    from rewards.lexicon import RECOMMEND_STEMS, words

    for verb in ("deveríamos", "devemos", "rever", "medir", "sugerimos", "priorizar", "recomendamos", "melhorar",
                 "aumentar", "lançar"):
        assert RECOMMEND_STEMS.matches(set(words(verb))), verb
    assert not RECOMMEND_STEMS.matches(set(words("o melhor mês teve aumento e lançamento")))


def test_insights_without_summary_and_parameters():
    b = get_reward("insights").score(ANALYSIS)
    assert b.components["grounding"] == 0 and any("no data summary" in n for n in b.notes)
    assert make_insights_reward(max_words=900).version != get_reward("insights").version
    with pytest.raises(ValueError):
        make_insights_reward(min_words=900)
