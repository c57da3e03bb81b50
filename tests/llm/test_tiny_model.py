"""The offline tiny model: built with no network, deterministic per seed, reused when complete, and loadable
by transformers with a working chat template."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from genai.llm.tiny_model import MARKER_FILE, RECIPE_VERSION, ROLE_TOKENS, VOCAB_SIZE, create_tiny_model

WEIGHTS = "model.safetensors"


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("the tiny model must be built without any network access")


def test_built_offline_and_deterministic_per_seed(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    again = create_tiny_model(tmp_path / "same-seed", seed=0)
    other = create_tiny_model(tmp_path / "other-seed", seed=1)

    for name in (WEIGHTS, "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (tiny_model_dir / name).read_bytes(), name
    assert (other / WEIGHTS).read_bytes() != (tiny_model_dir / WEIGHTS).read_bytes()
    marker = json.loads((tiny_model_dir / MARKER_FILE).read_text())
    assert marker == {"recipe_version": RECIPE_VERSION, "seed": 0, "vocab_size": VOCAB_SIZE}


def test_a_complete_model_is_reused_and_an_incomplete_one_rebuilt(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    before = (tiny_model_dir / WEIGHTS).stat().st_mtime_ns
    assert create_tiny_model(tiny_model_dir) == tiny_model_dir
    assert (tiny_model_dir / WEIGHTS).stat().st_mtime_ns == before

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / WEIGHTS).unlink()
    create_tiny_model(broken)
    assert (broken / WEIGHTS).read_bytes() == (tiny_model_dir / WEIGHTS).read_bytes()

    stale = tmp_path / "stale"
    shutil.copytree(tiny_model_dir, stale)
    (stale / MARKER_FILE).write_text(json.dumps({"recipe_version": "0", "seed": 0}))
    create_tiny_model(stale)
    assert json.loads((stale / MARKER_FILE).read_text())["recipe_version"] == RECIPE_VERSION
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")], "staging dirs left behind"


def test_config_is_a_small_llama(tiny_model_dir: Path) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_model_dir)
    assert config.model_type == "llama"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (128, 2, 4)
    assert (config.intermediate_size, config.max_position_embeddings) == (256, 1024)
    assert config.vocab_size == VOCAB_SIZE
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert 1_000_000 <= sum(p.numel() for p in model.parameters()) <= 2_000_000
    assert model.generation_config.eos_token_id == config.eos_token_id


def test_tokenizer_special_tokens_and_byte_level_round_trip(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    assert len({tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}) == 3
    for role in ROLE_TOKENS:
        assert len(tokenizer(role, add_special_tokens=False).input_ids) == 1, role

    text = "Grüße, 世界! The gateway streams 42 tokens.\n\tdef f(x): return x"
    ids = tokenizer(text).input_ids
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert len(tokenizer("The worker serves the model.", add_special_tokens=False).input_ids) <= 8


def test_chat_template_renders_roles_and_generation_prompt(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Bye"},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == (
        "<s><|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello.</s>\n"
        "<|user|>\nBye</s>\n<|assistant|>\n"
    )
    closed = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    assert closed == rendered.removesuffix("<|assistant|>\n")
    parts: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}
    ]
    assert "<|user|>\nHi!</s>" in tokenizer.apply_chat_template(parts, tokenize=False)


def test_tokenizer_config_is_portable_to_older_transformers(tiny_model_dir: Path) -> None:
    config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert config["chat_template"] == (tiny_model_dir / "chat_template.jinja").read_text()
    assert "extra_special_tokens" not in config
