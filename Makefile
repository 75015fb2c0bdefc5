# Shortcuts; the scripts do the work (and run without make on a fresh machine).
.PHONY: demo test worker bench

demo:
	scripts/demo

test:
	scripts/test

worker:
	.venv/bin/celery -A evalplat worker -Q gpu --pool=solo --concurrency=1 --prefetch-multiplier=1 -l info

bench:
	.venv/bin/python benchmarks/bench_fit.py
	.venv/bin/python benchmarks/bench_efficiency.py
	.venv-vllm/bin/python benchmarks/bench_generation.py
