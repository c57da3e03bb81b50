"""Embedding throughput: forward-pass ceiling, tokenization, SentenceTransformer.encode and our Encoder.

Builds N chunks of about ``--tokens`` tokens each from words of the model's own vocabulary (no downloads),
then measures, in one process and on one device:

a. the forward pass alone on batches tokenized and copied to the device beforehand (the ceiling);
b. tokenization alone: the HF tokenizer as sentence-transformers calls it (one call, and per batch), our fast
   path (one call, per batch, per batch on one core);
c. ``SentenceTransformer.encode`` with the same batch size (and, with --interleave, alternating with d);
d. ``genai.embedding.encoder.Encoder.encode`` for each --workers, and its tokenizing pipeline alone;
e. ``Encoder.encode_ids`` on token ids computed beforehand (as the chunker has them): no tokenization.

Run from the repository root so ``genai`` imports (it needs numpy, torch and sentence-transformers only):

    PYTHONPATH=. python benchmarks/embedding/bench_encoder.py --model DIR --n 20000 --batch-size 256 512 \
        --workers 8 15 --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from genai.embedding.encoder import Encoder
from genai.embedding.model_path import resolve_model_path

CHECK_ROWS = 1000  # rows of every Encoder result compared with SentenceTransformer.encode


def build_corpus(tokenizer_file: Path, n: int, tokens: int, seed: int = 0) -> list[str]:
    """N English-looking chunks of 90-100% of ``tokens`` tokens (special tokens included)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    # BERT-style vocabularies list whole words roughly by frequency: rank gives a Zipf-like draw.
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    words = [w for w, _ in vocab if w.isalpha() and w.isascii() and (len(w) > 1 or w in "ai")]
    weights = [1.0 / (rank + 20) for rank in range(len(words))]
    rng = random.Random(seed)
    drafts = [_draft(rng, words, weights, int(tokens * 1.2)) for _ in range(n)]
    targets = [rng.randint(int(tokens * 0.9), tokens) for _ in range(n)]
    chunks = []
    for draft, encoding, target in zip(drafts, tokenizer.encode_batch(drafts), targets, strict=True):
        content = [
            offsets
            for offsets, special in zip(encoding.offsets, encoding.special_tokens_mask, strict=True)
            if not special
        ]
        keep = max(1, target - tokenizer.num_special_tokens_to_add(is_pair=False))
        chunks.append(draft[: content[min(keep, len(content)) - 1][1]])
    return chunks


def _draft(rng: random.Random, words: list[str], weights: list[float], count: int) -> str:
    """A run of sentences: common words, a few rare compounds and numbers, commas and full stops."""
    picked = rng.choices(words, weights, k=count)
    out: list[str] = []
    start = True
    for word in picked:
        roll = rng.random()
        if roll < 0.06:
            word += rng.choice(words[2000:])  # an unseen compound splits into word pieces, as names do
        elif roll < 0.08:
            word = str(rng.randint(2, 99_999))
        out.append(word.capitalize() if start else word)
        start = False
        roll = rng.random()
        if roll < 0.07:
            out[-1] += "."
            start = True
        elif roll < 0.14:
            out[-1] += ","
    return " ".join(out)


class Clock:
    """Times a callable after warm-up, synchronizing the device before each clock read."""

    def __init__(self, device: str, repeat: int, warmup: int) -> None:
        self.device = device
        self.repeat = repeat
        self.warmup = warmup

    def sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    def time(self, fn: Callable[[], Any]) -> list[float]:
        for _ in range(self.warmup):
            fn()
        seconds = []
        for _ in range(self.repeat):
            self.sync()
            start = time.perf_counter()
            fn()
            self.sync()
            seconds.append(time.perf_counter() - start)
        return seconds


class Report:
    """Collects rows, prints each as it lands and rewrites the JSON file after every row."""

    def __init__(self, out: Path | None, meta: dict[str, Any]) -> None:
        self.out = out
        self.meta = meta
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, items: int, seconds: list[float], **extra: Any) -> dict[str, Any]:
        median = statistics.median(seconds)
        row = {
            "name": name,
            "items": items,
            "seconds": seconds,
            "median_s": median,
            "chunks_per_s": items / median,
            **extra,
        }
        self.rows.append(row)
        print(
            f"{name:<58} {items / median:>10,.0f} chunks/s  (median of {len(seconds)}: {median:.3f} s)",
            flush=True,
        )
        self.save()
        return row

    def error(self, name: str, exc: BaseException) -> None:
        self.rows.append({"name": name, "error": repr(exc)})
        print(f"{name:<58} FAILED: {exc!r}", flush=True)
        self.save()

    def save(self) -> None:
        if self.out is not None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.out.write_text(json.dumps({"meta": self.meta, "rows": self.rows}, indent=2))

    def table(self) -> None:
        print("\n| measurement | chunks/s |\n| --- | ---: |")
        for row in self.rows:
            value = f"{row['chunks_per_s']:,.0f}" if "chunks_per_s" in row else "failed"
            print(f"| {row['name']} | {value} |")


def sorted_batches(texts: Sequence[str], batch_size: int) -> list[list[str]]:
    """Longest first, as both encoders order them, so the ceiling pads as little as they do."""
    ordered = sorted(texts, key=len, reverse=True)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


def bench_forward(report: Report, clock: Clock, encoder: Encoder, texts: list[str], batch_size: int) -> None:
    """(a) the model alone: inputs tokenized and already on the device."""
    import torch

    model = encoder.model
    fast = encoder._tokenizer
    assert fast is not None, "the benchmark needs a model with a fast tokenizer"
    on_device = [
        {k: v.to(encoder.device) for k, v in encoder._tensors(fast.arrays(batch)).items()}
        for batch in sorted_batches(texts, batch_size)
    ]

    def run() -> None:
        with torch.inference_mode():
            for features in on_device:
                model.forward(dict(features))["sentence_embedding"]

    report.add(f"a. forward only, pre-tokenized, bs={batch_size}", len(texts), clock.time(run))


def bench_tokenize(
    report: Report, clock: Clock, encoder: Encoder, texts: list[str], batch_size: int, with_hf: bool = True
) -> None:
    """(b) tokenization alone, the way sentence-transformers does it and the way the Encoder does it."""
    hf = encoder.model.tokenizer
    limit = encoder.max_seq_length
    batches = sorted_batches(texts, batch_size)

    def hf_call(chunk: list[str]) -> Any:
        return hf(chunk, padding=True, truncation="longest_first", max_length=limit, return_tensors="pt")

    tok_clock = Clock("cpu", clock.repeat, 1)
    if with_hf:
        report.add(
            "b. HF tokenizer (as ST calls it), one call", len(texts), tok_clock.time(lambda: hf_call(texts))
        )
        report.add(
            f"b. HF tokenizer, per batch of {batch_size}",
            len(texts),
            tok_clock.time(lambda: [hf_call(b) for b in batches]),
        )
    fast = encoder._tokenizer
    assert fast is not None, "the benchmark needs a model with a fast tokenizer"
    report.add("b. Encoder fast path, one call", len(texts), tok_clock.time(lambda: fast.arrays(texts)))
    report.add(
        f"b. Encoder fast path, per batch of {batch_size}",
        len(texts),
        tok_clock.time(lambda: [fast.arrays(b) for b in batches]),
    )
    # One core, no rayon: what one tokenizer process does; times the core count bounds the processes.
    previous = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        few = batches[: max(1, 2048 // batch_size)]  # one core is slow: a slice is enough
        report.add(
            f"b. Encoder fast path, per batch of {batch_size}, one core",
            sum(map(len, few)),
            tok_clock.time(lambda: [fast.arrays(b) for b in few]),
        )
    finally:
        if previous is None:
            os.environ.pop("TOKENIZERS_PARALLELISM")
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = previous


def bench_st(report: Report, clock: Clock, encoder: Encoder, texts: list[str], batch_size: int) -> None:
    """(c) bare SentenceTransformer.encode on the same loaded model."""
    model = encoder.model

    def run() -> None:
        model.encode(texts, batch_size=batch_size, convert_to_numpy=True)

    report.add(f"c. SentenceTransformer.encode, bs={batch_size}", len(texts), clock.time(run))


def bench_encoder(
    report: Report,
    clock: Clock,
    args: argparse.Namespace,
    texts: list[str],
    batch_size: int,
    workers: int,
    reference: np.ndarray,
    content_ids: list[list[int]],
) -> None:
    """(d, e) our Encoder, a fresh one per configuration; then its tokenizing pipeline alone."""
    encoder = Encoder(args.model_dir, args.device, args.dtype, batch_size, workers)
    label = f"bs={batch_size}, {workers} tokenizer threads"
    try:
        runs: list[tuple[str, Callable[[], np.ndarray]]] = [
            ("d. Encoder.encode", lambda: encoder.encode(texts)),
            ("e. Encoder.encode_ids", lambda: encoder.encode_ids(content_ids)),
        ]
        for name, fn in runs:
            result: list[np.ndarray] = []
            seconds = clock.time(partial(_keep_last, result, fn))
            ours = result[-1][: len(reference)]
            norms = np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1)
            cosine = (ours * reference).sum(1) / norms
            report.add(f"{name}, {label}", len(texts), seconds, min_cosine_vs_st=float(cosine.min()))
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        tokenize = partial(encoder._tokenize, prompt=None)
        cpu_clock = Clock("cpu", clock.repeat, 1)
        seconds = cpu_clock.time(lambda: list(encoder._prefetch(texts, batches, tokenize)))
        report.add(f"d. Encoder tokenizing pipeline alone, {label}", len(texts), seconds)
    finally:
        encoder.close()


def bench_interleaved(
    report: Report, clock: Clock, args: argparse.Namespace, texts: list[str], batch_size: int, workers: int
) -> None:
    """(c, d) alternating, one pass each per round: on a shared, busy machine both see the same load."""
    encoder = Encoder(args.model_dir, args.device, args.dtype, batch_size, workers)
    model = encoder.model
    timings: dict[str, list[float]] = {"st": [], "ours": []}
    one = Clock(clock.device, 1, 0)
    try:
        for _ in range(clock.repeat):
            timings["st"] += one.time(lambda: model.encode(texts, batch_size=batch_size))
            timings["ours"] += one.time(lambda: encoder.encode(texts))
    finally:
        encoder.close()
    report.add(f"c. SentenceTransformer.encode, bs={batch_size}, interleaved", len(texts), timings["st"])
    report.add(
        f"d. Encoder.encode, bs={batch_size}, {workers} tokenizer threads, interleaved",
        len(texts),
        timings["ours"],
    )


def _keep_last(into: list[np.ndarray], fn: Callable[[], np.ndarray]) -> None:
    into[:] = [fn()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="packaged model name or model directory")
    parser.add_argument("--n", type=int, default=256, help="number of chunks")
    parser.add_argument("--tokens", type=int, default=250, help="tokens per chunk (90-100%% of this)")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="tokenizer threads to try")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed full passes before each measurement")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["forward", "tokenize", "hf", "st"],
        help="leave out: a, b, b's HF tokenizer rows, c",
    )
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="also time ST and the Encoder alternately (fair on a busy shared machine)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


def describe(encoder: Encoder, texts: list[str]) -> dict[str, Any]:
    import sentence_transformers
    import tokenizers
    import torch
    import transformers

    lengths = [len(e) for e in encoder._tokenizer._encode_batch(texts)] if encoder._tokenizer else []
    meta = {
        "argv": sys.argv,
        "device": str(encoder.device),
        "dtype": str(encoder.dtype).replace("torch.", ""),
        "n": len(texts),
        "mean_tokens": float(np.mean(lengths)) if lengths else None,
        "max_seq_length": encoder.max_seq_length,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "cpu_threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }
    if encoder.device.type == "cuda":
        meta["gpu"] = torch.cuda.get_device_name(encoder.device)
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.model_dir = resolve_model_path(args.model)
    texts = build_corpus(args.model_dir / "tokenizer.json", args.n, args.tokens)
    base = Encoder(args.model_dir, args.device, args.dtype, args.batch_size[0], 2)
    report = Report(args.out, describe(base, texts))
    print(json.dumps(report.meta), flush=True)
    clock = Clock(str(base.device), args.repeat, args.warmup)
    # A reference for a correctness check of every Encoder run; a slice keeps it cheap.
    reference = base.model.encode(texts[:CHECK_ROWS], batch_size=args.batch_size[0], convert_to_numpy=True)
    assert base._tokenizer is not None, "the benchmark needs a model with a fast tokenizer"
    content_ids = [e.ids for e in base._tokenizer._tokenizer.encode_batch(texts, add_special_tokens=False)]
    # Most telling first: a run cut short by its time limit still leaves these rows in the JSON.
    for batch_size in args.batch_size:
        common = (report, clock, base, texts, batch_size)
        if "forward" not in args.skip:
            _guarded(report, f"a. forward bs={batch_size}", bench_forward, *common)
        for workers in args.workers:
            _guarded(
                report,
                f"d. Encoder bs={batch_size} workers={workers}",
                bench_encoder,
                report,
                clock,
                args,
                texts,
                batch_size,
                workers,
                reference,
                content_ids,
            )
        if "st" not in args.skip:
            _guarded(report, f"c. SentenceTransformer.encode, bs={batch_size}", bench_st, *common)
        if args.interleave:
            _guarded(
                report,
                f"c/d interleaved bs={batch_size}",
                bench_interleaved,
                report,
                clock,
                args,
                texts,
                batch_size,
                args.workers[0],
            )
    if "tokenize" not in args.skip:
        _guarded(
            report,
            "b. tokenize",
            bench_tokenize,
            report,
            clock,
            base,
            texts,
            args.batch_size[0],
            "hf" not in args.skip,
        )
    base.close()
    report.table()
    return 0


def _guarded(report: Report, name: str, fn: Callable[..., Any], *args: Any) -> Any:
    """One failing configuration must not cost the rest of a scarce GPU run."""
    try:
        return fn(*args)
    except Exception as exc:
        report.error(name, exc)
        return None


if __name__ == "__main__":
    raise SystemExit(main())
