# Shortcuts; the scripts do the work (and run without make on a fresh machine).
.PHONY: demo test worker bench

demo:
	scripts/demo

test:
	scripts/test

# The GPU worker in a development checkout (vLLM's environment, the demo's settings, a broker at
# CELERY_BROKER_URL); production runs  manage.py worker  with its own settings (README "Serving").
worker:
	CELERY_TASK_ALWAYS_EAGER=0 scripts/manage --vllm worker --loglevel=INFO

bench:
	.venv/bin/python benchmarks/bench_fit.py
	.venv/bin/python benchmarks/bench_efficiency.py
	.venv-vllm/bin/python benchmarks/bench_generation.py
