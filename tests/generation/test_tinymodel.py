"""The tiny model builder: deterministic, loadable files of the right shape, no torch needed."""
import json

from safetensors.numpy import load_file
from tokenizers import Tokenizer

from evalplat.generation.tinymodel import BOS, EOS, SHAPE, build_tiny_model


def files(path):
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_the_same_seed_gives_identical_files_and_another_seed_other_weights(tmp_path, tiny_model):
    again = build_tiny_model(tmp_path / "again", seed=0)
    assert files(again) == files(tiny_model)
    other = files(build_tiny_model(tmp_path / "other", seed=1))
    assert other["model.safetensors"] != files(tiny_model)["model.safetensors"]
    assert other["tokenizer.json"] == files(tiny_model)["tokenizer.json"]


def test_it_is_a_small_llama_with_head_dim_64(tiny_model):
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["head_dim"] == 64
    assert config["hidden_size"] == config["num_attention_heads"] * config["head_dim"]
    weights = load_file(str(tiny_model / "model.safetensors"))
    assert weights["model.embed_tokens.weight"].shape == (config["vocab_size"], config["hidden_size"])
    assert weights["model.layers.1.self_attn.k_proj.weight"].shape == (
        config["num_key_value_heads"] * 64, config["hidden_size"])
    size = sum(p.stat().st_size for p in tiny_model.iterdir())
    assert 1_000_000 < size < 10_000_000


def test_the_tokenizer_round_trips_any_text_and_knows_the_chat_tokens(tiny_model):
    tokenizer = Tokenizer.from_file(str(tiny_model / "tokenizer.json"))
    text = "Ünïcode, emoji 🦘 and code: print(sorted(x))"
    assert tokenizer.decode(tokenizer.encode(text).ids) == text
    config = json.loads((tiny_model / "config.json").read_text())
    assert tokenizer.token_to_id(EOS) == config["eos_token_id"] and tokenizer.token_to_id(BOS) == config["bos_token_id"]
    assert tokenizer.get_vocab_size() == SHAPE["vocab_size"]
    template = json.loads((tiny_model / "tokenizer_config.json").read_text())["chat_template"]
    assert "add_generation_prompt" in template and "<|assistant|>" in template
