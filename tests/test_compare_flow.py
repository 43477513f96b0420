"""The whole compare flow on the tiny model: generation on both sides with the same seeds,
scoring, storage, statistics and report; interruption and resume; identical outputs; bad
input (adapter of another base, unknown tasks); the CLI."""

from __future__ import annotations

import json
import shutil

import pytest

from data.store import Store
from data.store.roles import SYSTEM

pytestmark = pytest.mark.slow

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_adapter(base_dir, out_dir, *, perturb: float | None = 20.0, seed: int = 0):
    """A LoRA adapter on `base_dir`, no training: random A and B scaled by `perturb` so the
    outputs differ from the base (perturb=None: PEFT's default init, B = 0, an identity)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base_dir))
    config = LoraConfig(r=4, lora_alpha=8, target_modules=LORA_TARGETS, init_lora_weights=perturb is None)
    peft_model = get_peft_model(model, config)
    if perturb is not None:
        with torch.no_grad():
            for name, param in peft_model.named_parameters():
                if "lora_B" in name:
                    param.mul_(perturb)
    peft_model.save_pretrained(str(out_dir))
    return out_dir


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return {
        "tuned": make_adapter(tiny_model_dir, root / "runs" / "r1" / "best_checkpoint"),
        "identity": make_adapter(tiny_model_dir, root / "identity", perturb=None),
    }


@pytest.fixture(scope="module")
def eval_file(tmp_path_factory):
    from data.prompts import dumps, make_row

    rows = [
        make_row("extraction", "Extraia os campos em JSON.", "Avaliação: o fone chegou quebrado.", rating=1,
                 split="eval"),
        make_row("extraction", "Extraia os campos em JSON.", "Avaliação: ótimo relógio, chegou cedo.", rating=5,
                 split="eval"),
        make_row("sql_qa", "Responda com SQL.", "Quantos pedidos existem?", split="eval",
                 reference_sql="SELECT COUNT(*) FROM orders", reference_answer="[[10]]"),
        make_row("insights", "Analise.", "Como melhorar a recompra em SP?", topic="recompra", split="eval"),
        make_row("push", "Escreva um push.", "Push para clientes inativos de perfumes.", topic="reengajamento",
                 split="eval"),
        make_row("push", "Escreva um push.", "Push de frete grátis para tênis.", split="eval"),
    ]
    path = tmp_path_factory.mktemp("eval") / "eval.jsonl"
    path.write_text(dumps(rows), encoding="utf-8")
    return path


def spec(tiny_model_dir, eval_file, *adapter_dirs, **kw):
    from train.compare.evaluate import CompareSpec

    base = {"base": str(tiny_model_dir), "adapters": tuple(str(a) for a in adapter_dirs),
            "eval_path": str(eval_file), "max_new_tokens": 12, "chunk_size": 4, "temperature": 0.7,
            "samples": 1}  # one completion per prompt and side unless a test asks for more
    return CompareSpec(**{**base, **kw})


def test_compare_end_to_end_and_resume_after_interrupt(home, tiny_model_dir, adapters, eval_file, tmp_path):
    from train.compare.evaluate import run_comparison

    # An uninterrupted run in one store...
    with Store(tmp_path / "a.db") as full_store:
        full = run_comparison(full_store, SYSTEM, spec(tiny_model_dir, eval_file, adapters["tuned"]),
                              out_dir=tmp_path / "full")
        assert full["status"] == "complete" and full["generated_chunks"] == 4  # 2 chunks x 2 sides
        results = full_store.compare_results(full["comparison_id"])
        assert len(results) == 12
        assert all(r["reward_version"] and 0 <= r["reward_total"] <= 1 for r in results)
        base = {r["prompt_id"]: r["completion"] for r in results if r["side"] == "base"}
        tuned = {r["prompt_id"]: r["completion"] for r in results if r["side"] != "base"}
        assert base != tuned  # the adapter changes what the model writes
        rep = full["report"]
        assert rep["partial"] is False and set(rep["sides"]) == {"r1/best_checkpoint"}
        assert rep["sides"]["r1/best_checkpoint"]["overall"]["n"] == 6
        md = (tmp_path / "full" / "report.md").read_text()
        assert "| Task | Base | Tuned | Δ | Δ % | Significant? |" in md and "PARTIAL" not in md

    # ...and one interrupted after its first stored chunk, then resumed with the same spec.
    def stop_after_first(info):
        raise KeyboardInterrupt

    with Store(tmp_path / "b.db") as store:
        s = spec(tiny_model_dir, eval_file, adapters["tuned"])
        with pytest.raises(KeyboardInterrupt):
            run_comparison(store, SYSTEM, s, on_chunk=stop_after_first)
        c = store.list_comparisons()[0]
        assert c["status"] == "partial" and c["progress"]["done"] == 4 and c["progress"]["partial"]
        # The adapter lives outside the home's runs/ folder, so the report goes to runs/compare-<id>.
        assert c["out_dir"] == str(home.resolve() / "runs" / "compare-1")
        partial_md = (home / "runs" / "compare-1" / "report.md").read_text()
        assert "PARTIAL REPORT" in partial_md and "0 of 6 prompts paired" in partial_md
        resumed = run_comparison(store, SYSTEM, s)
        assert resumed["created"] is False and resumed["comparison_id"] == c["id"]
        assert resumed["generated_chunks"] == 3  # chunk 0 tuned, chunk 1 base and tuned
        assert resumed["status"] == "complete"
        again = {(r["prompt_id"], r["side"]): r["completion"] for r in store.compare_results(c["id"])}
        # Same seeds per chunk: the resumed comparison wrote exactly what the uninterrupted one did.
        assert again == {(r["prompt_id"], r["side"]): r["completion"] for r in results}
        assert run_comparison(store, SYSTEM, s)["generated_chunks"] == 0  # nothing left to do


def test_seeds_samples_and_identical_outputs(home, tiny_model_dir, adapters, eval_file, tmp_path):
    """Two tuned sides against one base, 2 samples per prompt; one side is a zero LoRA, which
    writes exactly what the base writes: its Wilcoxon is undefined and the report says so."""
    from train.compare.evaluate import run_comparison

    with Store(tmp_path / "s.db") as store:
        out = run_comparison(store, SYSTEM, spec(tiny_model_dir, eval_file, adapters["tuned"], adapters["identity"],
                                                 samples=2, tasks=("push", "extraction")),
                             out_dir=tmp_path / "r")
        cid = out["comparison_id"]
        assert out["status"] == "complete"
        assert store.comparison_progress(cid)["done"] == 4 * 2 * 3
        identity = next(label for label in out["report"]["sides"] if label.endswith("identity"))
        base = {(r["prompt_id"], r["sample_index"]): r["completion"] for r in store.compare_results(cid, "base")}
        same = {(r["prompt_id"], r["sample_index"]): r["completion"] for r in store.compare_results(cid, identity)}
        assert same == base
        assert any(base[(p, 0)] != base[(p, 1)] for p, _ in base)  # the two samples are two draws
        overall = out["report"]["sides"][identity]["overall"]
        assert overall["p_greater"] is None and "Wilcoxon undefined" in overall["note"]
        assert "Wilcoxon undefined" in (tmp_path / "r" / "report.md").read_text()
        seeds = out["report"]["seeds"]
        assert seeds["push"]["n_seeds"] == 2 and set(seeds["push"]["per_seed"]) == {"r1/best_checkpoint", identity}
        assert out["report"]["comparison"]["tasks"] == ["extraction", "push"]


def test_base_loads_once_and_adapters_switch_in_place(home, tiny_model_dir, adapters, eval_file, tmp_path):
    """Two adapters, one base in memory: each side's outputs equal those of a model loaded
    with that adapter alone (and the base side those of the bare base)."""
    from train.compare.evaluate import run_comparison
    from train.models.generation import GenParams, generate
    from train.models.loading import load_model

    calls = []

    def counting_loader(base, *rest):
        calls.append((base, rest))
        return load_model(base)

    with Store(tmp_path / "s.db") as store:
        out = run_comparison(store, SYSTEM, spec(tiny_model_dir, eval_file, adapters["tuned"], adapters["identity"],
                                                 tasks=("push",), temperature=0.0, chunk_size=8),
                             out_dir=tmp_path / "r", loader=counting_loader)
        assert calls == [(str(tiny_model_dir), ())]
        cid = out["comparison_id"]
        prompts = store.compare_prompts(cid)
        by_side = {side: {r["prompt_id"]: r["completion"] for r in store.compare_results(cid, side)}
                   for side in ("base", *out["report"]["sides"])}
    params = GenParams(temperature=0.0, top_p=1.0, top_k=0, max_new_tokens=12, seed=42)
    messages = [p["messages"] for p in prompts]
    for side, adapter in (("base", None), ("r1/best_checkpoint", adapters["tuned"])):
        alone = generate(load_model(tiny_model_dir, adapter), messages, params, batch_size=len(messages))
        assert [g[0].text for g in alone] == [by_side[side][p["prompt_id"]] for p in prompts], side
    assert by_side["r1/best_checkpoint"] != by_side["base"]


def test_a_second_comparison_of_the_same_base_copies_its_base_side(home, tiny_model_dir, adapters, eval_file,
                                                                   tmp_path):
    """The next checkpoint against the same base: the base side is copied from the store and
    scored again, not generated, and it is what generating it would have written."""
    from train.compare.evaluate import run_comparison

    with Store(tmp_path / "s.db") as store:
        first = run_comparison(store, SYSTEM, spec(tiny_model_dir, eval_file, adapters["tuned"]), out_dir=tmp_path / "1")
        second = run_comparison(store, SYSTEM, spec(tiny_model_dir, eval_file, adapters["identity"]),
                                out_dir=tmp_path / "2")
        assert second["reused_chunks"] == 2 and second["generated_chunks"] == 2  # only the tuned side generated
        assert second["reused_from"] == [first["comparison_id"]] and first["reused_chunks"] == 0
        copied = store.compare_results(second["comparison_id"], "base")
        assert len(copied) == 6 and all(r["reward_version"] for r in copied)
        # Other settings are another base side: generated.
        third = run_comparison(store, SYSTEM, spec(tiny_model_dir, eval_file, adapters["identity"], max_new_tokens=10),
                               out_dir=tmp_path / "3")
        assert third["reused_chunks"] == 0 and third["generated_chunks"] == 4
    with Store(tmp_path / "fresh.db") as fresh:  # the same comparison generated from scratch
        alone = run_comparison(fresh, SYSTEM, spec(tiny_model_dir, eval_file, adapters["identity"]),
                               out_dir=tmp_path / "4")
        generated = fresh.compare_results(alone["comparison_id"], "base")
    keep = ("prompt_id", "sample_index", "completion", "completion_tokens", "truncated", "reward_total")
    assert [{k: r[k] for k in keep} for r in copied] == [{k: r[k] for k in keep} for r in generated]


def test_bad_input_fails_before_any_work(home, tiny_model_dir, adapters, eval_file, tmp_path):
    from train.compare.evaluate import plan_comparison
    from train.models.loading import AdapterMismatch
    from train.models.tiny import build_tiny_model

    # An adapter whose config names another base model.
    other = tmp_path / "other"
    shutil.copytree(adapters["tuned"], other)
    cfg = json.loads((other / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "HuggingFaceTB/SmolLM2-135M-Instruct"
    (other / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(AdapterMismatch, match="trained on HuggingFaceTB/SmolLM2-135M-Instruct"):
        plan_comparison(spec(tiny_model_dir, eval_file, other))
    # An adapter trained on a differently shaped model of the same name.
    wide = build_tiny_model(tmp_path / "wide" / tiny_model_dir.name, hidden_size=96)
    wide_adapter = make_adapter(wide, tmp_path / "wide_adapter")
    with pytest.raises(AdapterMismatch, match="does not fit"):
        plan_comparison(spec(tiny_model_dir, eval_file, wide_adapter))
    # An eval file with a task the rewards do not know.
    bad_eval = tmp_path / "bad.jsonl"
    lines = eval_file.read_text().splitlines()
    row = json.loads(lines[0])
    row["task"] = "poetry"
    bad_eval.write_text("\n".join([lines[1], json.dumps(row)]) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: unknown task 'poetry'"):
        plan_comparison(spec(tiny_model_dir, bad_eval, adapters["tuned"]))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plan_comparison(spec(tiny_model_dir, tmp_path / "missing.jsonl", adapters["tuned"]))
    with pytest.raises(ValueError, match="samples"):
        plan_comparison(spec(tiny_model_dir, eval_file, adapters["tuned"], samples=0))
    with pytest.raises(ValueError, match="temperature"):
        plan_comparison(spec(tiny_model_dir, eval_file, adapters["tuned"], temperature=-1.0))
    with pytest.raises(ValueError, match="unknown task"):
        plan_comparison(spec(tiny_model_dir, eval_file, adapters["tuned"], tasks=("poetry",)))
    with pytest.raises(ValueError, match="at least one --adapter"):
        plan_comparison(spec(tiny_model_dir, eval_file))


def test_cli_compare_and_report(home, tiny_model_dir, adapters, eval_file, tmp_path, capsys):
    from audit_app.cli import main

    store_path = tmp_path / "cli.db"
    args = ["compare", "--base", str(tiny_model_dir), "--adapter", str(adapters["tuned"]), "--eval", str(eval_file),
            "--store", str(store_path), "--max-new-tokens", "8", "--tasks", "push", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| push |" in out and "comparison 1 (complete)" in out
    with Store(store_path) as store:
        store.add_review_note(SYSTEM, 1, store.compare_prompts(1)[0]["prompt_id"], "looks fine")
    assert main(["compare", "--report", "1", "--store", str(store_path)]) == 0
    assert "looks fine" in (tmp_path / "o" / "report.md").read_text()
    other = tmp_path / "other"
    shutil.copytree(adapters["tuned"], other)
    cfg = json.loads((other / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "someone/else"
    (other / "adapter_config.json").write_text(json.dumps(cfg))
    assert main(["compare", "--base", str(tiny_model_dir), "--adapter", str(other), "--eval", str(eval_file),
                 "--store", str(store_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: adapter") and "someone/else" in err[0]
