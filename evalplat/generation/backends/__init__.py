"""Backends by name."""
import functools

from evalplat.generation.conf import GenerationSettings

BACKENDS = ("vllm", "openai", "replay")


def make_backend(name, options, settings):
    """A new backend. `options` are the job's (JSON-able); `settings` a GenerationSettings."""
    if name == "vllm":
        from evalplat.generation.backends.vllm import VllmBackend

        return VllmBackend(tensor_parallel_size=settings.vllm_tensor_parallel_size,
                           gpu_memory_utilization=settings.vllm_gpu_memory_utilization,
                           max_model_len=settings.vllm_max_model_len)
    if name == "openai":
        from evalplat.generation.backends.openai import OpenAIBackend

        return OpenAIBackend(settings.openai_base_url, api_key=settings.openai_api_key,
                             concurrency=settings.openai_concurrency, timeout=settings.openai_timeout_seconds,
                             retries=settings.openai_retries)
    if name == "replay":
        from evalplat.generation.backends.replay import ReplayBackend

        return ReplayBackend(options["replay"])
    raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")


def backend_for(name, options):
    """The backend for a chunk. A vLLM backend is kept for the process's life (its engine is what
    takes a minute to load); the others are cheap and made afresh, so a changed replay file or
    server address is seen at once."""
    settings = GenerationSettings.from_env()
    if name == "vllm":
        return _process_vllm_backend(settings)
    return make_backend(name, options, settings)


@functools.lru_cache(maxsize=1)
def _process_vllm_backend(settings):
    return make_backend("vllm", {}, settings)
