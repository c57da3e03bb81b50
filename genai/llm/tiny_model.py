"""A tiny causal language model built on this machine, with no download, for vLLM workers and tests.

The model hubs are out of reach here, yet the gateway needs a real model behind a real vLLM server. This
module trains a byte-level BPE tokenizer on English-like text generated in code, wraps it as a Hugging Face
tokenizer with BOS/EOS/PAD tokens and a role-tagged chat template, and saves a two-layer Llama with seeded
random weights next to it. The weights are random, so the model speaks gibberish: it exists to exercise
serving (shapes, streaming, usage, metrics, determinism), never to judge text.

Building takes a few seconds; a directory that already holds a model of the same recipe and seed is reused.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

# Bump whenever the corpus, tokenizer, template or architecture changes: existing models get rebuilt.
RECIPE_VERSION = "1"
MARKER_FILE = "genai-tiny-model.json"
VOCAB_SIZE = 4096
MAX_POSITIONS = 1024

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|tool|>")

# Each message is framed by its role tag and closed by EOS, so a greedy reply stops at the end of its turn.
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- set content = message['content'] if message['content'] is string else "
    "message['content'] | map(attribute='text') | join('') -%}"
    "{{- '<|' + message['role'] + '|>\\n' + content + eos_token + '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}"
)

_FILES = (
    "config.json",
    "model.safetensors",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    MARKER_FILE,
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NOUNS = _words(
    "gateway worker model team pipeline service cluster user scheduler request index tokenizer robot river "
    "neighbour library cat engineer weather council document report token batch cup tea metric file version "
    "answer check door idea news question cache plan database queue message path mountain garden window "
    "kitchen station bridge harbour forest village market teacher student doctor farmer pilot painter "
    "writer singer driver baker child parent friend stranger captain island valley desert ocean cloud storm "
    "morning evening winter summer autumn spring street road train ship letter book story song picture "
    "table chair lamp clock key box bottle bread apple orange lemon coffee milk water fire stone paper "
    "machine engine server network signal memory disk screen keyboard budget price market customer order "
    "invoice contract meeting project deadline schedule problem solution result error warning reason "
    "history science music language number pattern shape colour sound voice light shadow dream journey"
)
_VERBS = _words(
    "reads writes sends answers builds checks streams retries measures stores finds loads serves watches "
    "counts sorts explains repairs opens closes carries follows remembers forgets collects paints teaches "
    "borrows plants describes compares prepares delivers receives cleans moves lifts draws cooks sells "
    "buys visits leaves joins drops shares protects improves replaces watches signs tests starts stops "
    "discovers imagines questions translates publishes arranges balances covers crosses"
)
_ADJECTIVES = _words(
    "small large quiet bright warm cold green blue red yellow old new careful curious empty full heavy "
    "light quick slow busy lazy simple complex shared private public local remote early late strange "
    "familiar gentle rough smooth sharp soft loud tiny huge ancient modern wooden golden silver honest "
    "patient nervous happy tired clever brave calm wild friendly distant narrow wide"
)
_ADVERBS = _words(
    "quickly slowly carefully quietly often rarely always never gladly suddenly finally barely nearly "
    "proudly calmly openly twice again today tomorrow yesterday"
)
_PREPOSITIONS = _words("near behind under above beside across through after before without with from into")
_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ren",
    "tor",
    "vel",
    "sha",
    "qui",
    "dan",
    "ber",
    "lin",
    "po",
    "gra",
    "the",
    "zu",
    "mar",
    "el",
    "ost",
    "fen",
    "ira",
    "cor",
    "nu",
    "bal",
    "wen",
    "ty",
    "sor",
    "ex",
    "ap",
    "lum",
    "dra",
    "vik",
    "sel",
    "om",
    "pra",
    "tes",
    "ul",
    "zan",
    "chi",
    "rho",
    "gel",
    "bri",
    "naf",
    "os",
    "kel",
    "mun",
)
_CODE_LINES = (
    "def {name}(value: int) -> int:\n    return value * {n} + {m}\n",
    "for item in {name}_items:\n    total += item.{name}\n",
    'if {name} is None:\n    raise ValueError("missing {name}")\n',
    '{name} = {{"id": {n}, "size": {m}, "ok": true}}\n',
    "curl -s http://127.0.0.1:{port}/v1/{name}\n",
    "SELECT {name}, count(*) FROM events WHERE id > {n} GROUP BY {name};\n",
)


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _noun_phrase(rng: random.Random) -> str:
    words = [rng.choice(("the", "a", "every", "this", "that", "our", "my", "one", "some"))]
    if rng.random() < 0.5:
        words.append(rng.choice(_ADJECTIVES))
    words.append(rng.choice(_NOUNS) if rng.random() < 0.9 else _pseudo_word(rng))
    if words[0] in ("some",) and rng.random() < 0.8:
        words[-1] += "s"
    return " ".join(words)


def _sentence(rng: random.Random) -> str:
    words = [_noun_phrase(rng)]
    if rng.random() < 0.2:
        words.append(rng.choice(_ADVERBS))
    words += [rng.choice(_VERBS), _noun_phrase(rng)]
    if rng.random() < 0.5:
        words += [rng.choice(_PREPOSITIONS), _noun_phrase(rng)]
    if rng.random() < 0.2:
        words.append(f"near {_pseudo_word(rng).capitalize()}")
    if rng.random() < 0.15:
        words.append(f"({rng.randint(0, 9999)} times)")
    text = " ".join(words)
    end = rng.choice(".!?") if rng.random() < 0.2 else "."
    return text[0].upper() + text[1:] + end


def training_corpus(seed: int = 0, paragraphs: int = 8000) -> Iterator[str]:
    """Deterministic English-like prose with a little code and numbers: what the tokenizer learns from."""
    rng = random.Random(seed)
    for _ in range(paragraphs):
        if rng.random() < 0.15:
            template = rng.choice(_CODE_LINES)
            yield template.format(
                name=_pseudo_word(rng),
                n=rng.randint(0, 999),
                m=rng.randint(0, 99),
                port=rng.randint(1024, 65535),
            )
        else:
            yield " ".join(_sentence(rng) for _ in range(rng.randint(1, 5))) + "\n"


def _is_complete(target: Path, seed: int) -> bool:
    marker = target / MARKER_FILE
    if not all((target / name).is_file() for name in _FILES):
        return False
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return bool(recorded.get("recipe_version") == RECIPE_VERSION and recorded.get("seed") == seed)


def _train_tokenizer(seed: int) -> Tokenizer:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=[PAD, BOS, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_corpus(seed), trainer=trainer)
    # Plain completions start with BOS, as Llama's do; chat prompts get it from the template instead.
    bos_id = tokenizer.token_to_id(BOS)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return tokenizer


def _save_tokenizer(tokenizer_object: Tokenizer, directory: Path) -> PreTrainedTokenizerFast:
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer_object,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(ROLE_TOKENS),
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(directory)
    _portable_tokenizer_config(directory)
    return tokenizer


def _portable_tokenizer_config(directory: Path) -> None:
    """Make the saved tokenizer loadable by older transformers too (vLLM's venv and images pin their own).

    transformers 5 writes its own backend class name and keeps the chat template only in chat_template.jinja;
    4.x needs the generic fast-tokenizer class and reads the template from tokenizer_config.json.
    """
    path = directory / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config["chat_template"] = CHAT_TEMPLATE
    # 4.x reads the list as additional_special_tokens and chokes on a list-valued extra_special_tokens.
    config.pop("extra_special_tokens", None)
    config["additional_special_tokens"] = list(ROLE_TOKENS)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _save_model(tokenizer: PreTrainedTokenizerFast, directory: Path, seed: int) -> None:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    ids = {name: tokenizer.vocab[token] for name, token in (("bos", BOS), ("eos", EOS), ("pad", PAD))}
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=MAX_POSITIONS,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=ids["bos"],
        eos_token_id=ids["eos"],
        pad_token_id=ids["pad"],
        dtype="float32",
    )
    # A private RNG stream: the weights depend on the seed alone, and the caller's RNG state is untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"]
    )
    model.save_pretrained(directory, safe_serialization=True)


def create_tiny_model(target: Path, seed: int = 0) -> Path:
    """Build the tiny Llama and its tokenizer in ``target`` (offline) and return ``target``.

    The same ``seed`` gives the same tokenizer and weights. When ``target`` already holds a complete model of
    this recipe version and seed, nothing is rebuilt. The model is written to a sibling temporary directory
    and moved into place, so an interrupted build never leaves a half-written model behind.
    """
    target = Path(target).expanduser().resolve()
    if _is_complete(target, seed):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        tokenizer = _save_tokenizer(_train_tokenizer(seed), staging)
        _save_model(tokenizer, staging, seed)
        (staging / MARKER_FILE).write_text(
            json.dumps(
                {"recipe_version": RECIPE_VERSION, "seed": seed, "vocab_size": len(tokenizer)}, indent=2
            )
            + "\n"
        )
        _readable_by_all(staging)
        _move_into_place(staging, target, seed)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _readable_by_all(directory: Path) -> None:
    # mkdtemp makes the directory private; a model is served by other users and mounted into containers.
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)


def _move_into_place(staging: Path, target: Path, seed: int) -> None:
    # Another process may have finished the same build meanwhile: its result is as good as ours.
    if _is_complete(target, seed):
        return
    if target.exists():
        shutil.rmtree(target)
    try:
        os.replace(staging, target)
    except OSError:
        if not _is_complete(target, seed):
            raise
