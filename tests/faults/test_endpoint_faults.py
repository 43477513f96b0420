"""Sampling through a server that does not sample: the case `transformers serve` made real
(temperature ignored unless sampling is turned on, HTTP 500 on GET /v1/models without a
hub cache folder, HTTP 422 for `top_k`).

The server here is modelled on transformers' own serving code (transformers/cli/serving):
request fields outside its parameter set are refused with 422 "Unexpected fields in the
request", sampling follows the `generation_config` the request carries (greedy without
it, as for most models), and the model listing fails with 500. A second mode ignores every
sampling parameter, like a server stuck on greedy decoding; a third refuses the
`generation_config` field, as OpenAI's API does, and samples from `temperature`.
Generation is the tiny model's.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import ThreadingHTTPServer

import pytest

from data.store import Store
from tests.faults.test_disk_faults import in_process
from tests.test_endpoint import _Handler
from train.models.generation import GenParams, generate

pytestmark = pytest.mark.slow
SERVED = "tiny/served"
FIELDS = {"model", "messages", "temperature", "top_p", "max_tokens", "seed", "stream", "n", "stop",
          "frequency_penalty", "logit_bias", "generation_config", "chat_template_kwargs"}


class _ServeLike(_Handler):  # its _send and quiet log; the routes below are transformers serve's
    def do_GET(self):
        self._send(500, {"detail": "Internal Server Error: no Hugging Face cache folder to scan"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if self.server.mode == "strict" and "generation_config" in body:  # OpenAI's own API
            self._send(400, {"error": {"message": "Unrecognized request argument supplied: generation_config",
                                       "type": "invalid_request_error"}})
            return
        unexpected = set(body) - FIELDS
        if unexpected:
            self._send(422, {"detail": f"Unexpected fields in the request: {unexpected}"})
            return
        config = json.loads(body["generation_config"]) if body.get("generation_config") else {}
        sample = config.get("do_sample", False) and self.server.mode == "serve" or (
            self.server.mode == "strict" and body.get("temperature", 1.0) > 0)
        params = GenParams(temperature=float(body.get("temperature", 1.0)) if sample else 0.0,
                           top_p=float(body.get("top_p", 1.0)) if sample else 1.0,
                           top_k=int(config.get("top_k", 0)) if sample else 0,
                           max_new_tokens=int(body["max_tokens"]), seed=int(body.get("seed", 0)))
        with self.server.lock:
            gen = generate(self.server.loaded, [body["messages"]], params)[0][0]
        self._send(200, {"id": "c", "object": "chat.completion", "created": int(time.time()), "model": SERVED,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": gen.text},
                                      "finish_reason": "length" if gen.truncated else "stop"}],
                         "usage": {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens}})


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    from train.models.loading import load_model

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ServeLike)
    httpd.loaded, httpd.lock, httpd.requests, httpd.mode = load_model(tiny_model_dir), threading.Lock(), [], "serve"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def sample(server, store, capsys, *extra, model=SERVED):
    args = ["sample", "--endpoint", f"http://127.0.0.1:{server.server_address[1]}", "--tasks", "push", "insights",
            "--prompts", "1", "--per-prompt", "3", "--temperature", "0.8", "--max-new-tokens", "16", "--seed", "3",
            "--batch-size", "6", "--store", store, *extra]
    if model:
        args += ["--model", model]
    return in_process(args, capsys)


def test_a_server_that_needs_to_be_told_to_sample(server, sample_home, tmp_path, capsys, ledger):
    server.mode, store = "serve", tmp_path / "store.db"
    runs = [sample(server, store, capsys)]
    assert runs[0].rc == 0, runs[0].err
    assert all(json.loads(r["generation_config"])["do_sample"] is True for r in server.requests)
    with Store(store) as s:
        rows = s.list_rollouts(limit=None)
        by_prompt = {}
        for r in rows:
            by_prompt.setdefault(r["prompt_id"], set()).add(r["completion"])
        assert len(rows) == 6 and all(len(texts) > 1 for texts in by_prompt.values())
        assert not any(r["gen_params"].get("identical_samples") for r in rows)
    runs.append(sample(server, tmp_path / "other.db", capsys, model=None))  # the listing is broken
    assert runs[-1].rc == 2 and "GET" in runs[-1].last_line and "HTTP 500" in runs[-1].last_line \
        and "pass --model" in runs[-1].last_line
    runs.append(sample(server, tmp_path / "other.db", capsys, "--top-k", "5"))
    assert runs[-1].rc == 2 and "refused the parameter(s) top_k (HTTP 422: Unexpected fields in the request: " \
        "{'top_k'})" in runs[-1].last_line and "--top-k" in runs[-1].last_line, runs[-1].last_line
    ledger.record("endpoint: 5xx listing, refused top_k, sampling switched on", runs=len(runs),
                  tracebacks=sum(r.tracebacks for r in runs))
    assert all(r.tracebacks == 0 for r in runs)


def test_a_server_that_never_samples(server, sample_home, tmp_path, capsys, ledger):
    server.mode, store = "greedy", tmp_path / "store.db"
    stopped = sample(server, store, capsys)
    assert stopped.rc == 2 and stopped.tracebacks == 0, stopped.err
    assert "3 identical texts at temperature 0.8: it is not sampling" in stopped.last_line
    with Store(store) as s:
        assert s.count_rollouts() == 0  # nothing mislabelled was stored
    allowed = sample(server, store, capsys, "--allow-greedy")
    assert allowed.rc == 0 and "warning: the endpoint did not sample" in allowed.out
    with Store(store) as s:
        rows = s.list_rollouts(limit=None)
        assert len(rows) == 6 and all(r["gen_params"]["identical_samples"] is True for r in rows)
    ledger.record("endpoint that never samples (stop, then --allow-greedy)", runs=2,
                  tracebacks=stopped.tracebacks + allowed.tracebacks)


def test_a_strict_server_refusing_generation_config(server, sample_home, tmp_path, capsys, ledger):
    server.mode, store = "strict", tmp_path / "store.db"
    server.requests.clear()
    res = sample(server, store, capsys)
    ledger.record("endpoint refusing generation_config (asked again without)", tracebacks=res.tracebacks)
    assert res.rc == 0, res.err
    assert "generation_config" in server.requests[0] and "generation_config" not in server.requests[-1]
    with Store(store) as s:
        assert s.count_rollouts() == 6
