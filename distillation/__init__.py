"""Context distillation training (torch + transformers + peft, in .venv-vllm only).

Django-free and never imported by the web app: `manage.py distill` and the distillation task
import it inside the function that trains, so that only a worker with torch pays for it.
"""

# Teacher alternatives per token that a distillation target keeps (plus the tail): chosen by the
# measurement of the KL it leaves out (benchmarks/bench_topk.py, README "Distillation").
DEFAULT_TOP_K = 20
