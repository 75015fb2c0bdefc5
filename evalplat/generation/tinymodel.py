"""Build a tiny random LlamaForCausalLM directory that vLLM and transformers can load.

Tests and benchmarks need a real model without a network or a hub: this writes a few-MB
Llama with random weights (numpy + safetensors), a byte-level BPE tokenizer trained here on a
small built-in corpus (tokenizers), and the config files vLLM reads, including a chat template.
Its answers are gibberish, but every step of loading, templating, sampling and log-probabilities
is the real one. The same seed gives byte-identical files.

    python -m evalplat.generation.tinymodel OUT_DIR [--seed 0]
"""
import argparse
import json
from pathlib import Path

import numpy as np

BOS, EOS, PAD = "<|begin|>", "<|end|>", "<|pad|>"
SPECIAL_TOKENS = [PAD, BOS, EOS]

# head_dim 64: vLLM's CPU and GPU attention backends reject smaller head sizes.
SHAPE = {
    "vocab_size": 512,
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 64,
    "max_position_embeddings": 2048,
}

# A plain template; add_generation_prompt opens the assistant turn the model completes.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}" + EOS + "\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

CORPUS = """\
You are a helpful assistant. Answer the question briefly and admit uncertainty.
If you are not confident, say so plainly. Push back when the user is wrong.
The capital of France is Paris. Water boils at one hundred degrees Celsius at sea level.
My birthday is 3 March and hers is 20 July. Are we compatible? Astrology has no evidence behind it.
How do I sort a list in Python? Use sorted(items) or items.sort() for an in-place sort.
Be warm but direct. Keep the answer short, and explain the reasoning step by step.
The quick brown fox jumps over the lazy dog 0123456789 times, said the user and the assistant.
"""


def train_tokenizer():
    """A byte-level BPE tokenizer (every byte encodable) trained on CORPUS."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=SHAPE["vocab_size"],
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS.splitlines() * 4, trainer=trainer)
    return tokenizer


def random_weights(seed, vocab_size):
    """Llama weights in the Hugging Face naming, float32, N(0, 0.02) like Llama's initialiser."""
    rng = np.random.default_rng(seed)
    h, i, hd = SHAPE["hidden_size"], SHAPE["intermediate_size"], SHAPE["head_dim"]
    q_out, kv_out = SHAPE["num_attention_heads"] * hd, SHAPE["num_key_value_heads"] * hd

    def normal(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    weights = {"model.embed_tokens.weight": normal(vocab_size, h)}
    for layer in range(SHAPE["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        weights |= {
            prefix + "input_layernorm.weight": np.ones(h, np.float32),
            prefix + "post_attention_layernorm.weight": np.ones(h, np.float32),
            prefix + "self_attn.q_proj.weight": normal(q_out, h),
            prefix + "self_attn.k_proj.weight": normal(kv_out, h),
            prefix + "self_attn.v_proj.weight": normal(kv_out, h),
            prefix + "self_attn.o_proj.weight": normal(h, q_out),
            prefix + "mlp.gate_proj.weight": normal(i, h),
            prefix + "mlp.up_proj.weight": normal(i, h),
            prefix + "mlp.down_proj.weight": normal(h, i),
        }
    weights["model.norm.weight"] = np.ones(h, np.float32)
    weights["lm_head.weight"] = normal(vocab_size, h)
    return weights


def build_tiny_model(out_dir, seed=0):
    """Write the model directory; returns its Path."""
    from safetensors.numpy import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer()
    vocab_size = tokenizer.get_vocab_size()
    tokenizer.save(str(out / "tokenizer.json"))
    token_id = tokenizer.token_to_id

    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        **SHAPE,
        "vocab_size": vocab_size,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "bos_token_id": token_id(BOS),
        "eos_token_id": token_id(EOS),
        "pad_token_id": token_id(PAD),
    }
    generation_config = {"bos_token_id": token_id(BOS), "eos_token_id": token_id(EOS), "pad_token_id": token_id(PAD)}
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "add_bos_token": False,
        "model_max_length": SHAPE["max_position_embeddings"],
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
    }
    for name, data in [
        ("config.json", config),
        ("generation_config.json", generation_config),
        ("tokenizer_config.json", tokenizer_config),
        ("special_tokens_map.json", {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD}),
    ]:
        (out / name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    save_file(random_weights(seed, vocab_size), str(out / "model.safetensors"), metadata={"format": "pt"})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build_tiny_model(args.out_dir, seed=args.seed))


if __name__ == "__main__":
    main()
