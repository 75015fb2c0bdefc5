"""Context distillation with a LoRA adapter (torch + transformers + peft).

The teacher is the base model *with* the winning variant's prompt; its answers and their
next-token distributions (top k + tail, see targets.py) were stored when the answers were made.
The student is the same base model plus a LoRA adapter, fed the bare query (no system prompt,
no level texts) followed by the teacher's answer tokens, and trained so that its distribution at
every answer position matches the teacher's: the bucketed KL of targets.py, averaged over tokens.
An answer stored without token ids or alternatives has its teacher distribution recomputed here
from the base model with the prompt (the same weights the answers came from).

The adapter starts at zero (peft's default B = 0), so "before" is the bare base model, and its
KL to the teacher is the KL between the prompted and unprompted base model on these answers.
Everything is seeded; CUDA is used when present (bfloat16 base weights), else CPU (float32).
"""
import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from distillation import DEFAULT_TOP_K, targets
LOSS_NAME = "KL over the teacher's top-k tokens plus a tail bucket (distillation/targets.py)"


@dataclass(frozen=True)
class Example:
    """One distillation example: an answer made with the prompt, to be given without it."""

    key: str  # "variant/query/sample"
    query: str  # the query id: train and held-out are split by query
    teacher_messages: list  # the prompted chat the answer was made from
    student_messages: list  # the bare query
    text: str
    completion_ids: list | None = None  # the answer's token ids as generated; None: tokenise `text`
    top_ids: list | None = None  # per position, the stored alternatives' ids, best first
    top_logprobs: list | None = None
    tail_logprobs: list | None = None
    finish_reason: str = ""

    @classmethod
    def from_record(cls, record):
        return cls(**{name: record.get(name) for name in cls.__dataclass_fields__ if name in record})

    @property
    def has_target(self):
        return bool(self.completion_ids) and bool(self.top_ids) and self.tail_logprobs is not None


@dataclass(frozen=True)
class Config:
    rank: int = 8
    alpha: int = 16
    learning_rate: float = 2e-3
    steps: int = 100
    batch_size: int = 8
    top_k: int = DEFAULT_TOP_K
    held_out_share: float = 0.25
    seed: int = 0


@dataclass
class Metrics:
    """Means per answer token over one split."""

    tokens: int = 0
    kl_target: float = 0.0  # bucketed KL to the teacher's top k + tail: the loss
    kl_full: float = 0.0  # full-vocabulary KL to the base model with the prompt
    top1: float = 0.0  # share of positions where the student's most likely token is the teacher's
    topk_overlap: float = 0.0  # share of the teacher's top k that is in the student's top k


@dataclass
class Result:
    base: str
    config: Config
    data_sha256: str
    examples: int
    train_queries: list
    held_out_queries: list
    recomputed_targets: int  # examples whose teacher distribution was computed here, not stored
    before: dict = field(default_factory=dict)  # split -> Metrics
    after: dict = field(default_factory=dict)
    losses: list = field(default_factory=list)
    device: str = ""

    def as_dict(self):
        return {**asdict(self), "loss": LOSS_NAME}


def device_and_dtype():
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.bfloat16
    return torch.device("cpu"), torch.float32


def split_by_query(examples, share, seed):
    """(train, held_out): whole queries are held out, so held-out KL measures new queries."""
    queries = sorted({e.query for e in examples})
    random.Random(seed).shuffle(queries)
    n_held = min(len(queries) - 1, max(1, round(share * len(queries)))) if len(queries) > 1 and share > 0 else 0
    held = set(queries[:n_held])
    return [e for e in examples if e.query not in held], [e for e in examples if e.query in held]


def data_hash(examples, base_hash):
    digest = hashlib.sha256(base_hash.encode())
    for example in sorted(examples, key=lambda e: e.key):
        digest.update(json.dumps(asdict(example), sort_keys=True).encode())
    return digest.hexdigest()


class Distiller:
    """The base model, its tokenizer and a LoRA adapter on it, with the encoded examples."""

    def __init__(self, base, config):
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config
        self.device, dtype = device_and_dtype()
        torch.manual_seed(config.seed)
        self.tokenizer = AutoTokenizer.from_pretrained(base)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype).to(self.device)
        lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=0.0, target_modules="all-linear",
                          task_type="CAUSAL_LM")
        self.model = get_peft_model(model, lora)

    # --- encoding ------------------------------------------------------------------
    def prompt_ids(self, messages):
        # Rendered, then tokenised without special tokens: what vLLM's chat does.
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def completion_ids(self, example):
        if example.completion_ids:
            return list(example.completion_ids)
        ids = self.tokenizer(example.text, add_special_tokens=False)["input_ids"]
        if example.finish_reason == "stop" and self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def answer_logprobs(self, messages, completion):
        """The model's log-distribution at each answer position: [len(completion), V], float32."""
        prompt = self.prompt_ids(messages)
        ids = torch.tensor([prompt + completion], device=self.device)
        logits = self.model(input_ids=ids).logits[0, len(prompt) - 1:len(prompt) + len(completion) - 1]
        return torch.log_softmax(logits.float(), dim=-1)

    def teacher_logprobs(self, example, completion):
        """The base model with the prompt (the adapter switched off)."""
        with torch.no_grad(), self.model.disable_adapter():
            return self.answer_logprobs(example.teacher_messages, completion)

    def target(self, example, completion):
        """(ids [T, k], normalised log-probabilities [T, k + 1]) of the teacher at each answer position."""
        k = self.config.top_k
        if example.has_target and len(example.top_ids) == len(completion):
            # The stored alternatives, cut to the k wanted (the dropped ones join the tail).
            width = min(k, min(len(ids) for ids in example.top_ids))
            ids = torch.tensor([row[:width] for row in example.top_ids], device=self.device)
            top = torch.tensor([row[:width] for row in example.top_logprobs], device=self.device)
            if width == min(len(row) for row in example.top_logprobs):
                tail = torch.tensor(example.tail_logprobs, device=self.device)
            else:
                tail = targets.tail_of(top)
            return ids, targets.normalised(torch.cat([top, tail[:, None]], dim=-1))
        ids, log_target = targets.sparse_target(self.teacher_logprobs(example, completion), k)
        return ids, log_target

    def encode(self, examples):
        """Everything the loss and the metrics need, computed once per example."""
        encoded = []
        for example in examples:
            completion = self.completion_ids(example)
            if not completion:
                continue
            ids, log_target = self.target(example, completion)
            encoded.append({"example": example, "completion": completion, "ids": ids, "log_target": log_target,
                            "recomputed": not (example.has_target and len(example.top_ids) == len(completion))})
        return encoded

    # --- training and measuring ----------------------------------------------------------
    def loss(self, item):
        student = self.answer_logprobs(item["example"].student_messages, item["completion"])
        return targets.bucketed_kl(student, item["ids"], item["log_target"]).sum()

    def train(self, encoded):
        """AdamW on the adapter for `steps` steps of `batch_size` examples; the loss per token each step."""
        rng = random.Random(self.config.seed)
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=self.config.learning_rate, weight_decay=0.0)
        order, losses = [], []
        self.model.train()
        for _ in range(self.config.steps):
            batch = []
            while len(batch) < min(self.config.batch_size, len(encoded)):
                if not order:
                    order = list(range(len(encoded)))
                    rng.shuffle(order)
                batch.append(encoded[order.pop()])
            tokens = sum(len(item["completion"]) for item in batch)
            optimizer.zero_grad()
            total = 0.0
            for item in batch:
                loss = self.loss(item) / tokens
                loss.backward()
                total += loss.item()
            optimizer.step()
            losses.append(total)
        self.model.eval()
        return losses

    @torch.no_grad()
    def measure(self, encoded):
        metrics = Metrics()
        sums = {"kl_target": 0.0, "kl_full": 0.0, "top1": 0.0, "topk_overlap": 0.0}
        for item in encoded:
            example, completion, ids = item["example"], item["completion"], item["ids"]
            student = self.answer_logprobs(example.student_messages, completion)
            teacher = self.teacher_logprobs(example, completion)
            sums["kl_target"] += float(targets.bucketed_kl(student, ids, item["log_target"]).sum())
            sums["kl_full"] += float(targets.full_kl(teacher, student).sum())
            student_top = student.topk(ids.shape[1], dim=-1).indices
            sums["top1"] += float((student_top[:, 0] == ids[:, 0]).sum())
            overlap = (student_top[:, :, None] == ids[:, None, :]).any(-1).float().mean(-1)
            sums["topk_overlap"] += float(overlap.sum())
            metrics.tokens += len(completion)
        for name, total in sums.items():
            setattr(metrics, name, total / metrics.tokens if metrics.tokens else float("nan"))
        return metrics

    # --- writing -----------------------------------------------------------------------
    def save(self, out, card):
        """out/adapter (the LoRA adapter) and out/merged (base + adapter, a plain checkpoint),
        each with the model card (README.md) and its facts (distillation.json)."""
        out = Path(out)
        adapter, merged = out / "adapter", out / "merged"
        self.model.save_pretrained(adapter)
        full = self.model.merge_and_unload()
        full.save_pretrained(merged, safe_serialization=True)
        self.tokenizer.save_pretrained(merged)
        for folder in (adapter, merged):
            (folder / "README.md").write_text(card["text"], encoding="utf-8")
            (folder / "distillation.json").write_text(json.dumps(card["facts"], indent=2, sort_keys=True) + "\n")
        return adapter, merged


def distil(base, base_hash, examples, config, out, describe):
    """Train, measure before and after, write the adapter and the merged checkpoint.

    `describe` gives the model card's facts about where the data came from (experiment,
    variant); returns (Result, adapter directory, merged directory).
    """
    examples = list(examples)
    train_set, held_out = split_by_query(examples, config.held_out_share, config.seed)
    distiller = Distiller(base, config)
    encoded_train, encoded_held = distiller.encode(train_set), distiller.encode(held_out)
    if not encoded_train:
        raise ValueError("no training example has an answer to learn from")
    result = Result(base=str(base), config=config, data_sha256=data_hash(examples, base_hash),
                    examples=len(examples), train_queries=sorted({e.query for e in train_set}),
                    held_out_queries=sorted({e.query for e in held_out}),
                    recomputed_targets=sum(item["recomputed"] for item in encoded_train + encoded_held),
                    device=str(distiller.device))
    splits = {"train": encoded_train, "held_out": encoded_held}
    result.before = {name: distiller.measure(items) for name, items in splits.items() if items}
    result.losses = distiller.train(encoded_train)
    result.after = {name: distiller.measure(items) for name, items in splits.items() if items}
    facts = {**describe, **result.as_dict()}
    adapter, merged = distiller.save(out, {"text": model_card(facts), "facts": facts})
    return result, adapter, merged


def model_card(facts):
    config = facts["config"]
    lines = [
        f"# Distilled adapter: {facts.get('experiment', '')} {facts.get('variant', '')}",
        "",
        "Context distillation with evalplat: this LoRA adapter teaches the base model to answer the bare query "
        "the way it answered with the variant's prompt, matching the prompted model's token distributions.",
        "",
        f"- experiment: {facts.get('experiment', '')}",
        f"- variant: {facts.get('variant', '')} ({facts.get('variant_note', '')})",
        f"- base model: {facts['base']}",
        f"- data sha256: {facts['data_sha256']} ({facts['examples']} answers)",
        f"- loss: {facts['loss']}, k = {config['top_k']}",
        f"- steps: {config['steps']} of {config['batch_size']} answers, learning rate {config['learning_rate']}, "
        f"LoRA rank {config['rank']} (alpha {config['alpha']})",
        f"- seed: {config['seed']}",
        f"- final training loss: {facts['losses'][-1]:.5f}" if facts["losses"] else "- no training steps",
        "",
        "| split | KL to teacher before | after | teacher's top token matched before | after |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split in facts["after"]:
        before, after = facts["before"][split], facts["after"][split]
        lines.append(f"| {split} | {before['kl_target']:.5f} | {after['kl_target']:.5f} | "
                     f"{before['top1']:.3f} | {after['top1']:.3f} |")
    return "\n".join(lines) + "\n"
