"""Any OpenAI-compatible chat completions server (`vllm serve` on a GPU machine is the main case).

Many requests are in flight at once under a bound; 429s, 5xx answers, timeouts and connection
errors are retried with exponential backoff and jitter; whatever still fails is reported in that
request's result, never raised, so one bad request cannot sink a chunk. Results come back in
input order. The server's reply is untrusted: anything that is not the documented shape is a
per-request error saying what was wrong.

Checkpoints and adapters: a model can have a server of its own (`servers`, model -> base URL:
one `vllm serve` per checkpoint), and an adapter level is addressed as vLLM's named LoRA modules
are, by the request's `model` field (`vllm serve BASE --enable-lora --lora-modules NAME=PATH`;
`lora_modules` maps an adapter directory to its NAME, else the level's text is sent as written).
A vLLM server (it answers GET /version) is asked for token ids with the log-probabilities
(`return_tokens_as_token_ids`), which a distillation loss needs; other servers are not sent
that extension.
"""
import asyncio
import random

import httpx

from evalplat.generation import logprobs
from evalplat.generation.backends.base import Backend, GenerationResult, Stopwatch

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_BACKOFF_SECONDS = 30.0
ERROR_BODY_CHARS = 300


class MalformedReply(ValueError):
    pass


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, base_url, *, api_key="", concurrency=32, timeout=300.0, retries=5, backoff=0.5,
                 servers=None, lora_modules=None):
        self.base_url = base_url.rstrip("/")
        self.servers = {model: url.rstrip("/") for model, url in (servers or {}).items()}
        self.lora_modules = dict(lora_modules or {})
        self.api_key = api_key
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def generate(self, requests):
        return asyncio.run(self._generate_all(requests))

    def server_for(self, request):
        return self.servers.get(request.model, self.base_url)

    def served_model(self, request):
        """The request's `model` field: an adapter's LoRA module name, else the model."""
        return self.lora_modules.get(request.adapter, request.adapter) if request.adapter else request.model

    async def _generate_all(self, requests):
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        gate = asyncio.Semaphore(self.concurrency)
        urls = sorted({self.server_for(r) for r in requests})
        clients = {url: httpx.AsyncClient(base_url=url, headers=headers, timeout=self.timeout, limits=limits)
                   for url in urls}
        try:
            versions = dict(zip(urls, await asyncio.gather(*(self._engine_version(clients[u], u) for u in urls))))

            async def one(request):
                url = self.server_for(request)
                async with gate:
                    result = await self._generate_one(clients[url], request, versions[url].startswith("vllm "))
                result.engine_version = versions[url]
                return result

            return await asyncio.gather(*(one(r) for r in requests))
        finally:
            await asyncio.gather(*(client.aclose() for client in clients.values()))

    async def _engine_version(self, client, url):
        """vLLM's server answers GET /version; other servers may not, which is fine."""
        root = url.removesuffix("/v1")
        try:
            reply = await client.get(root + "/version", timeout=min(self.timeout, 10.0))
            version = reply.json().get("version") if reply.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return ""
        return f"vllm {version}" if isinstance(version, str) else ""

    async def _generate_one(self, client, request, is_vllm):
        body = request_body(request, self.served_model(request), token_ids=is_vllm)
        watch = Stopwatch()
        last_problem, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt, retry_after))
            retry_after = None
            try:
                reply = await client.post("/chat/completions", json=body)
            except httpx.TimeoutException as exc:
                last_problem = f"timed out after {self.timeout:g}s ({type(exc).__name__})"
                continue
            except httpx.TransportError as exc:
                last_problem = f"could not reach {client.base_url}: {type(exc).__name__}: {exc}"
                continue
            if reply.status_code in RETRY_STATUS:
                last_problem = f"HTTP {reply.status_code}: {reply.text[:ERROR_BODY_CHARS]}"
                retry_after = _retry_after(reply)
                continue
            if reply.status_code != 200:
                return GenerationResult(error=f"HTTP {reply.status_code}: {reply.text[:ERROR_BODY_CHARS]}",
                                        latency_ms=watch.elapsed_ms())
            try:
                result = parse_reply(reply)
            except MalformedReply as exc:
                return GenerationResult(error=f"malformed reply: {exc}", latency_ms=watch.elapsed_ms())
            result.latency_ms = watch.elapsed_ms()
            return result
        return GenerationResult(error=f"gave up after {self.retries + 1} tries: {last_problem}",
                                latency_ms=watch.elapsed_ms())

    def _delay(self, attempt, retry_after):
        """Exponential backoff with full jitter; a server's Retry-After wins when it is longer."""
        delay = random.uniform(0, min(MAX_BACKOFF_SECONDS, self.backoff * 2 ** (attempt - 1)))
        return max(delay, min(retry_after or 0.0, MAX_BACKOFF_SECONDS))


def request_body(request, model, token_ids=False):
    body = {
        "model": model,
        "messages": list(request.messages),
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        **request.optional_sampling(),
    }
    if request.seed is not None:
        body["seed"] = request.seed
    if request.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = request.logprobs
        if token_ids:
            body["return_tokens_as_token_ids"] = True  # vLLM's extension: "token_id:N" instead of text
    return body


def _retry_after(reply):
    try:
        return float(reply.headers.get("retry-after", ""))
    except ValueError:
        return None


def parse_reply(reply):
    """A GenerationResult from a chat completion reply, or MalformedReply saying what is off."""
    try:
        data = reply.json()
    except ValueError:
        raise MalformedReply(f"not JSON: {reply.text[:ERROR_BODY_CHARS]!r}") from None
    choice = _first_choice(data)
    message = choice.get("message")
    if not isinstance(message, dict):
        raise MalformedReply("choices[0].message is not an object")
    content = message.get("content")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise MalformedReply("choices[0].message.content is not a string")
    usage = data.get("usage") or {}
    if not isinstance(usage, dict):
        raise MalformedReply("usage is not an object")
    return GenerationResult(
        text=content,
        finish_reason=str(choice.get("finish_reason") or ""),
        prompt_tokens=_count(usage, "prompt_tokens"),
        completion_tokens=_count(usage, "completion_tokens"),
        logprobs=_logprobs(choice.get("logprobs")),
    )


def _first_choice(data):
    if not isinstance(data, dict):
        raise MalformedReply("the reply is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedReply("no choices[0] object")
    return choices[0]


def _count(usage, name):
    value = usage.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedReply(f"usage.{name} is not a whole number")
    return value


def _logprobs(block):
    if block is None:
        return []
    content = block.get("content") if isinstance(block, dict) else None
    try:
        return logprobs.from_openai(content)
    except ValueError as exc:
        raise MalformedReply(f"choices[0].logprobs.content: {exc}") from None
