"""Generation settings, read from the environment with the project's settings helpers.

They live here rather than in evalplat/settings.py because only generation workers and commands
use them; each is read when a backend or a job starts, so a test or a worker sees its own
environment. README "Settings" documents every name.
"""
from dataclasses import dataclass

from evalplat.settings import env, envfloat, envint


@dataclass(frozen=True)
class GenerationSettings:
    chunk_size: int  # answers per Celery chunk task (one LLM.chat call each)
    max_attempts: int  # tries per answer before it is marked failed
    lease_seconds: int  # a claimed answer whose lease is this old belongs to a dead worker
    retry_delay_seconds: int  # wait before a chunk of failed answers is tried again
    vllm_tensor_parallel_size: int
    vllm_gpu_memory_utilization: float
    vllm_max_model_len: int  # 0: the model's own limit
    openai_base_url: str
    openai_api_key: str
    openai_concurrency: int
    openai_timeout_seconds: float
    openai_retries: int

    @classmethod
    def from_env(cls):
        return cls(
            # vLLM's default batch on a GPU is 256 sequences: a chunk that size fills it once.
            chunk_size=envint("GENERATION_CHUNK_SIZE", 256),
            max_attempts=envint("GENERATION_MAX_ATTEMPTS", 3),
            lease_seconds=envint("GENERATION_LEASE_SECONDS", 120),
            retry_delay_seconds=envint("GENERATION_RETRY_DELAY", 10),
            vllm_tensor_parallel_size=envint("GENERATION_VLLM_TENSOR_PARALLEL_SIZE", 1),
            vllm_gpu_memory_utilization=envfloat("GENERATION_VLLM_GPU_MEMORY_UTILIZATION", 0.9),
            vllm_max_model_len=envint("GENERATION_VLLM_MAX_MODEL_LEN", 0),
            openai_base_url=env("GENERATION_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
            openai_api_key=env("GENERATION_OPENAI_API_KEY", ""),
            openai_concurrency=envint("GENERATION_OPENAI_CONCURRENCY", 32),
            openai_timeout_seconds=envfloat("GENERATION_OPENAI_TIMEOUT", 300.0),
            openai_retries=envint("GENERATION_OPENAI_RETRIES", 5),
        )
