"""Sampling from an OpenAI-compatible server (vLLM's `vllm serve`, or any server that speaks
POST /v1/chat/completions), with the same parameters as local generation.

    remote = EndpointModel("http://gpu-box:8000", "Polygl0t/Tucano2-qwen-0.5B-Instruct").check()
    outs = train.models.generation.generate(remote, prompts, GenParams(...), k=8, batch_size=16)

One request per completion (n=1), `batch_size` of them in flight at once: per-completion
token counts then come straight from each response's `usage`, and each request carries its
own seed (derived from GenParams.seed, the prompt and the sample index), so the K samples
of a prompt differ and a rerun with the same seed asks for the same draws. `top_k` is sent
only when set (vLLM reads it; OpenAI's own API does not know it). A completion that ends on
`finish_reason == "length"` is truncated.

Servers differ in what makes them sample. vLLM samples whenever temperature > 0;
`transformers serve` keeps the model's own `do_sample` (greedy for most models) unless the
request carries a `generation_config` (a JSON text) saying `do_sample: true`, so every
request carries one with the same parameters. A server that refuses that field by name
(OpenAI's API) is asked again without it, once, and never again. A parameter a server
refuses (HTTP 400/422 naming it, e.g. `top_k` on `transformers serve`) ends the run with
one line naming it and the option it comes from. Whether the server really sampled is
checked by train.sampling on the first batch (K identical completions at T > 0).
`GET /models` failing with a 5xx (transformers serve without a hub cache folder) is read
like a 404 when the model is named.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from train.models.generation import BatchInfo, Generation, GenParams, validate_request


class EndpointError(LookupError):
    """The endpoint cannot be reached, does not serve the model, or answered with an error."""


# Request fields -> the `sample` option they come from, to name a refused one.
OPTIONS = {"temperature": "--temperature", "top_p": "--top-p", "top_k": "--top-k",
           "max_tokens": "--max-new-tokens", "seed": "--seed", "generation_config": "--temperature"}


def base_url(url: str) -> str:
    """Accept http://host:8000, .../v1 or .../v1/chat/completions; return http://host:8000/v1."""
    text = url.strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"endpoint URL must start with http:// or https://, got {url!r}")
    for suffix in ("/chat/completions", "/completions"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text if text.endswith("/v1") else text + "/v1"


def request_seed(seed: int, prompt_index: int, sample_index: int) -> int:
    return (seed * 1_000_003 + prompt_index * 9_973 + sample_index) % (2**31)


class EndpointModel:
    """Stands where a LoadedModel stands for train.models.generation.generate (backend "endpoint")."""

    backend = "endpoint"
    checkpoint_id = None

    def __init__(self, url: str, model: str | None = None, *, api_key: str | None = None,
                 timeout: float = 300.0):
        import httpx

        self.url = base_url(url)
        self.model_id = model
        self.reason = f"OpenAI-compatible endpoint {self.url}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self.send_generation_config = True  # until the server refuses the field

    def check(self) -> EndpointModel:
        """Ask /models what is served; pick the first if no model was named. Raises EndpointError."""
        import httpx

        try:
            response = self.client.get("/models", timeout=15.0)
        except httpx.HTTPError as exc:
            raise EndpointError(f"cannot reach the endpoint {self.url}: {type(exc).__name__}: {exc}") from exc
        # 404: no listing at all; 5xx: a listing that broke (transformers serve scans a hub
        # cache folder for it). Neither says anything about a model named by the caller.
        if response.status_code == 404 or response.status_code >= 500:
            if self.model_id is None:
                raise EndpointError(f"GET {self.url}/models answered HTTP {response.status_code}, so the served "
                                    "model cannot be looked up; pass --model with the served model name")
            self.reason = (f"OpenAI-compatible endpoint {self.url} serving {self.model_id} (not listed: GET /models "
                           f"answered HTTP {response.status_code})")
            return self
        served = [m.get("id") for m in _json(response, "GET /models").get("data", [])]
        if self.model_id is None:
            if not served:
                raise EndpointError(f"the endpoint {self.url} serves no model")
            self.model_id = served[0]
        elif served and self.model_id not in served:
            raise EndpointError(f"the endpoint {self.url} does not serve {self.model_id!r}; it serves: "
                                f"{', '.join(map(str, served))}")
        self.reason = f"OpenAI-compatible endpoint {self.url} serving {self.model_id}"
        return self

    def payload(self, messages: list[dict], params: GenParams, seed: int) -> dict:
        body = {
            "model": self.model_id,
            "messages": messages,
            "n": 1,
            "temperature": float(params.temperature),
            "top_p": float(params.top_p),
            "max_tokens": int(params.max_new_tokens),
            "seed": int(seed),
            "stream": False,
        }
        if params.top_k > 0:
            body["top_k"] = int(params.top_k)
        if self.send_generation_config:
            body["generation_config"] = json.dumps(generation_config(params))
        return body

    def complete(self, messages: list[dict], params: GenParams, seed: int) -> Generation:
        body = self.payload(messages, params, seed)
        response = self._post(body)
        if "generation_config" in body and _refuses(response, "generation_config"):
            # A strict OpenAI-style server: it samples from `temperature` alone (checked later).
            self.send_generation_config = False
            body.pop("generation_config")
            response = self._post(body)
        if response.status_code in (400, 422):
            refused = [k for k in body if k not in ("model", "messages", "stream") and _refuses(response, k)]
            if refused:
                options = sorted({OPTIONS.get(k, k) for k in refused})
                raise EndpointError(
                    f"the endpoint {self.url} refused the parameter(s) {', '.join(refused)} (HTTP "
                    f"{response.status_code}: {_detail(response)}); this server cannot take "
                    f"{', '.join(options)} as given")
        return parse_completion(_json(response, "POST /chat/completions"))

    def _post(self, body: dict):
        import httpx

        try:
            return self.client.post("/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise EndpointError(f"request to {self.url}/chat/completions failed: {type(exc).__name__}: {exc}") from exc

    def generate(self, prompts: list[list[dict]], params: GenParams, *, k: int = 1, batch_size: int = 8,
                 on_batch: Callable[[BatchInfo], None] | None = None) -> list[list[Generation]]:
        validate_request(prompts, k, batch_size)
        if self.model_id is None:
            self.check()
        rows = [(pi, j) for pi in range(len(prompts)) for j in range(k)]
        results: list[list[Generation | None]] = [[None] * k for _ in prompts]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=batch_size) as pool:
            for start in range(0, len(rows), batch_size):
                chunk = rows[start:start + batch_size]
                t0 = time.perf_counter()
                futures = [pool.submit(self.complete, prompts[pi], params, request_seed(params.seed, pi, j))
                           for pi, j in chunk]
                items = []
                for (pi, j), fut in zip(chunk, futures, strict=True):
                    gen = fut.result()
                    results[pi][j] = gen
                    items.append((pi, j, gen))
                if on_batch is not None:
                    now = time.perf_counter()
                    on_batch(BatchInfo(done=start + len(chunk), total=len(rows), items=items,
                                       new_tokens=sum(g.completion_tokens for _, _, g in items),
                                       seconds=now - t0, elapsed=now - started))
        return results  # type: ignore[return-value]

    def close(self) -> None:
        self.client.close()


def generation_config(params: GenParams) -> dict:
    """What `transformers serve` needs to sample as asked (it reads `generation_config`)."""
    if params.temperature <= 0:
        return {"do_sample": False, "max_new_tokens": int(params.max_new_tokens)}
    return {"do_sample": True, "temperature": float(params.temperature), "top_p": float(params.top_p),
            "top_k": int(params.top_k), "max_new_tokens": int(params.max_new_tokens)}


def _detail(response) -> str:
    """The error message of a failed response (OpenAI's, FastAPI's or vLLM's shape), one line."""
    detail = response.text[:300]
    try:
        body = response.json()
        if isinstance(body, dict):
            err = body.get("error")
            detail = (err.get("message") if isinstance(err, dict) else err) or body.get("message") \
                or body.get("detail") or detail
    except ValueError:
        pass
    return " ".join(str(detail).split())[:300]


def _refuses(response, field: str) -> bool:
    """True when a 400/422 answer names `field` as the problem (quoted, or as a whole word)."""
    if response.status_code not in (400, 422):
        return False
    name = re.escape(field)
    return bool(re.search(rf"['\"`]{name}['\"`]", response.text)
                or (len(field) > 2 and re.search(rf"(?<!\w){name}(?!\w)", response.text)))


def _json(response, what: str) -> dict:
    if response.status_code >= 400:
        raise EndpointError(f"{what} answered HTTP {response.status_code}: {_detail(response)}")
    try:
        data = response.json()
    except ValueError as exc:
        raise EndpointError(f"{what} did not answer JSON: {response.text[:200]!r}") from exc
    if not isinstance(data, dict):
        raise EndpointError(f"{what} answered {type(data).__name__}, not a JSON object")
    return data


def parse_completion(data: dict) -> Generation:
    """One Generation from a chat.completion response with a single choice."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise EndpointError(f"response has no choices: {str(data)[:200]}")
    choice = choices[0]
    message = choice.get("message") or {}
    text = message.get("content")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise EndpointError(f"response message content is not text: {str(message)[:200]}")
    usage = data.get("usage") or {}
    finish = choice.get("finish_reason")
    return Generation(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        truncated=finish == "length",
    )
