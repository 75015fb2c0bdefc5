"""Backends by name."""
import functools

from evalplat.generation.conf import GenerationSettings

BACKENDS = ("vllm", "openai", "replay")


def backend_for(name, options):
    """The backend for a job's chunk; `options` are the job's (JSON-able).

    A vLLM backend is kept for the process's life (its engine is what takes a minute to load);
    the others are cheap and made afresh, so a changed replay file or server address is seen.
    """
    settings = GenerationSettings.from_env()
    if name == "vllm":
        return _process_vllm_backend(settings.vllm_tensor_parallel_size, settings.vllm_gpu_memory_utilization,
                                     settings.vllm_max_model_len)
    if name == "openai":
        from evalplat.generation.backends.openai import OpenAIBackend

        return OpenAIBackend(settings.openai_base_url, api_key=settings.openai_api_key,
                             concurrency=settings.openai_concurrency, timeout=settings.openai_timeout_seconds,
                             retries=settings.openai_retries)
    if name == "replay":
        from evalplat.generation.backends.replay import ReplayBackend

        return ReplayBackend(options["replay"])
    raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")


@functools.lru_cache(maxsize=1)
def _process_vllm_backend(tensor_parallel_size, gpu_memory_utilization, max_model_len):
    # Keyed by the engine's own settings only: a change to any other setting (say the chunk
    # size) must not load a second engine beside the first.
    from evalplat.generation.backends.vllm import VllmBackend

    return VllmBackend(tensor_parallel_size=tensor_parallel_size, gpu_memory_utilization=gpu_memory_utilization,
                       max_model_len=max_model_len)
