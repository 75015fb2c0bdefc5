"""Backends by name."""
import functools

from django.conf import settings

BACKENDS = ("vllm", "openai", "replay")


def backend_for(name, options):
    """The backend for a job's chunk; `options` are the job's (JSON-able).

    A vLLM backend is kept for the process's life (its engine is what takes a minute to load);
    the others are cheap and made afresh, so a changed replay file or server address is seen.
    """
    if name == "vllm":
        return _process_vllm_backend(settings.GENERATION_VLLM_TENSOR_PARALLEL_SIZE,
                                     settings.GENERATION_VLLM_GPU_MEMORY_UTILIZATION,
                                     settings.GENERATION_VLLM_MAX_MODEL_LEN, settings.GENERATION_VLLM_MAX_LORAS,
                                     settings.GENERATION_VLLM_MAX_LORA_RANK)
    if name == "openai":
        from evalplat.generation.backends.openai import OpenAIBackend

        return OpenAIBackend(settings.GENERATION_OPENAI_BASE_URL, api_key=settings.GENERATION_OPENAI_API_KEY,
                             concurrency=settings.GENERATION_OPENAI_CONCURRENCY,
                             timeout=settings.GENERATION_OPENAI_TIMEOUT, retries=settings.GENERATION_OPENAI_RETRIES,
                             servers=settings.GENERATION_OPENAI_SERVERS,
                             lora_modules=settings.GENERATION_OPENAI_LORA_MODULES)
    if name == "replay":
        from evalplat.generation.backends.replay import ReplayBackend

        return ReplayBackend(options["replay"])
    raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")


@functools.lru_cache(maxsize=1)
def _process_vllm_backend(tensor_parallel_size, gpu_memory_utilization, max_model_len, max_loras, lora_rank):
    # Keyed by the engine's own settings only: a change to any other setting (say the chunk
    # size) must not load a second engine beside the first.
    from evalplat.generation.backends.vllm import VllmBackend

    return VllmBackend(tensor_parallel_size=tensor_parallel_size, gpu_memory_utilization=gpu_memory_utilization,
                       max_model_len=max_model_len, max_loras=max_loras, lora_rank=lora_rank)
