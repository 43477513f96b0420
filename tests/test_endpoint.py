"""Sampling through an OpenAI-compatible endpoint.

vLLM cannot be installed on this CPU machine, so the test starts a real HTTP server on
loopback that implements GET /v1/models and POST /v1/chat/completions (OpenAI's shapes)
backed by the tiny model through train.models.generation; the client under test talks to it over
TCP exactly as it would to `vllm serve`. One more test feeds the parser a response in
vLLM's documented shape (extra fields included).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from train.models.endpoint import EndpointError, EndpointModel, base_url, parse_completion
from train.models.generation import GenParams, generate

pytestmark = pytest.mark.slow

SERVED = "tiny/qwen2-chat"
PROMPTS = [
    [{"role": "user", "content": "Escreva um push sobre frete grátis."}],
    [{"role": "system", "content": "Responda em JSON."}, {"role": "user", "content": "Extraia: nota 4."}],
]


class _Handler(BaseHTTPRequestHandler):
    server_version = "tiny-openai/1.0"

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": SERVED, "object": "model", "owned_by": "test"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if body.get("model") != SERVED:
            self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                       "type": "NotFoundError", "code": 404}})
            return
        try:
            params = GenParams(temperature=body.get("temperature", 1.0), top_p=body.get("top_p", 1.0),
                               top_k=body.get("top_k", 0), max_new_tokens=body["max_tokens"], seed=body["seed"])
        except ValueError as exc:
            self._send(400, {"object": "error", "message": str(exc), "type": "BadRequestError", "code": 400})
            return
        with self.server.lock:  # one generate at a time: torch's seed is process-wide
            gens = generate(self.server.loaded, [body["messages"]], params, k=body.get("n", 1))[0]
        self._send(200, {
            "id": f"chatcmpl-{len(self.server.requests)}", "object": "chat.completion",
            "created": int(time.time()), "model": SERVED,
            "choices": [{"index": i, "message": {"role": "assistant", "content": g.text},
                         "finish_reason": "length" if g.truncated else "stop"} for i, g in enumerate(gens)],
            "usage": {"prompt_tokens": gens[0].prompt_tokens,
                      "completion_tokens": sum(g.completion_tokens for g in gens),
                      "total_tokens": gens[0].prompt_tokens + sum(g.completion_tokens for g in gens)},
        })


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    from train.models.loading import load_model

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.loaded = load_model(tiny_model_dir)
    httpd.lock = threading.Lock()
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def url(server):
    server.requests.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_base_url_forms():
    assert base_url("http://h:8000") == "http://h:8000/v1"
    assert base_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert base_url("http://h:8000/v1/chat/completions") == "http://h:8000/v1"
    with pytest.raises(ValueError, match="http://"):
        base_url("h:8000")


def test_check_picks_or_verifies_the_served_model(url):
    assert EndpointModel(url).check().model_id == SERVED
    with pytest.raises(EndpointError, match=f"does not serve 'other/model'; it serves: {SERVED}"):
        EndpointModel(url, "other/model").check()


def test_generate_passes_the_same_parameters(url, server):
    remote = EndpointModel(url, SERVED).check()
    params = GenParams(temperature=0.9, top_p=0.8, top_k=0, max_new_tokens=20, seed=4)
    batches = []
    outs = generate(remote, PROMPTS, params, k=3, batch_size=4, on_batch=batches.append)
    assert [len(o) for o in outs] == [3, 3]
    assert [b.done for b in batches] == [4, 6]
    reqs = server.requests
    assert len(reqs) == 6
    for r in reqs:
        assert r["temperature"] == 0.9 and r["top_p"] == 0.8 and r["max_tokens"] == 20 and r["n"] == 1
        assert "top_k" not in r  # 0 = off: not sent (OpenAI's API does not know top_k)
        assert r["model"] == SERVED and r["messages"] in PROMPTS
    assert len({r["seed"] for r in reqs}) == 6  # each sample its own draw
    texts = [g.text for g in outs[0]]
    assert len(set(texts)) > 1
    for o in outs:
        for g in o:
            assert g.prompt_tokens > 0 and 1 <= g.completion_tokens <= 20
            assert g.truncated == (g.completion_tokens == 20)
    # Same seed, same answers: the server is asked for the same draws.
    server.requests.clear()
    assert generate(remote, PROMPTS, params, k=3, batch_size=4) == outs
    generate(remote, PROMPTS[:1], GenParams(top_k=7, max_new_tokens=4, seed=1))
    assert server.requests[-1]["top_k"] == 7


def test_local_and_endpoint_see_the_same_prompt(url, tiny_model_dir):
    """The server applies the chat template; prompt token counts agree with local generation."""
    from train.models.loading import load_model

    local = generate(load_model(tiny_model_dir), PROMPTS, GenParams(max_new_tokens=4, seed=1))
    remote = generate(EndpointModel(url).check(), PROMPTS, GenParams(max_new_tokens=4, seed=1))
    assert [o[0].prompt_tokens for o in local] == [o[0].prompt_tokens for o in remote]


def test_sampling_service_through_the_endpoint(url, sample_home, file_store):
    from train.sampling import SampleRequest, run_sampling

    request = SampleRequest(model=None, endpoint=url, tasks=("push", "extraction"), prompts_per_task=1,
                            per_prompt=2, params=GenParams(max_new_tokens=12, seed=9), batch_size=4)
    result = run_sampling(file_store, request, on_progress=lambda *a, **k: None)
    assert result.backend == "endpoint" and result.model_id == SERVED
    rows = [file_store.get_rollout(i) for i in result.rollout_ids]
    assert len(rows) == 4 and {r["model_id"] for r in rows} == {SERVED}
    assert all(r["gen_params"]["seed"] == 9 for r in rows)


def test_server_errors_are_named(url):
    remote = EndpointModel(url, SERVED).check()
    remote.model_id = "gone/model"  # e.g. the server was restarted with another model
    with pytest.raises(EndpointError, match="HTTP 404: The model `gone/model` does not exist"):
        generate(remote, PROMPTS[:1], GenParams(max_new_tokens=4))


def test_unreachable_endpoint():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EndpointError, match=f"cannot reach the endpoint http://127.0.0.1:{port}/v1"):
        EndpointModel(f"http://127.0.0.1:{port}").check()


def test_parse_vllm_shaped_response():
    """A response in the shape vLLM's OpenAI server documents (extra fields are ignored)."""
    data = {
        "id": "chatcmpl-9d1f", "object": "chat.completion", "created": 1732600000,
        "model": "Polygl0t/Tucano2-qwen-0.5B-Instruct",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Frete grátis hoje!",
                                             "reasoning_content": None, "tool_calls": []},
                     "logprobs": None, "finish_reason": "length", "stop_reason": None}],
        "usage": {"prompt_tokens": 41, "total_tokens": 61, "completion_tokens": 20, "prompt_tokens_details": None},
        "prompt_logprobs": None, "kv_transfer_params": None,
    }
    g = parse_completion(data)
    assert (g.text, g.prompt_tokens, g.completion_tokens, g.truncated) == ("Frete grátis hoje!", 41, 20, True)
    with pytest.raises(EndpointError, match="no choices"):
        parse_completion({"choices": []})
