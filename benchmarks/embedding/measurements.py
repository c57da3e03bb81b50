"""The benchmark's measurements, each on one loaded model and one corpus (letters as in the doc):

a. the forward pass alone on batches tokenized and copied to the device beforehand (the ceiling);
b. tokenization alone, the way sentence-transformers does it and the way the Encoder does it;
c. ``SentenceTransformer.encode`` with the same batch size (and alternating with d, ``bench_interleaved``);
d. ``Encoder.encode`` on raw text, and its tokenizing pipeline alone;
e. ``Encoder.encode_ids`` on token ids computed beforehand (as the chunker has them): no tokenization.

Rows of a, d and e carry a ``kind``, ``batch_size`` and ``workers`` so the report can set tokenization
against the forward pass per chunk.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from benchmarks.embedding.report import ENCODE, ENCODE_IDS, FORWARD, TOKENIZE, Report
from benchmarks.embedding.timing import Clock
from genai.embedding.encoder import Encoder


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

    name = f"a. forward only, pre-tokenized, bs={batch_size}"
    report.add(name, len(texts), clock.time(run), kind=FORWARD, batch_size=batch_size)


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
    config = {"batch_size": batch_size, "workers": workers}
    try:
        runs: list[tuple[str, str, Callable[[], np.ndarray]]] = [
            ("d. Encoder.encode", ENCODE, lambda: encoder.encode(texts)),
            ("e. Encoder.encode_ids", ENCODE_IDS, lambda: encoder.encode_ids(content_ids)),
        ]
        for name, kind, fn in runs:
            result: list[np.ndarray] = []
            seconds = clock.time(partial(_keep_last, result, fn))
            ours = result[-1][: len(reference)]
            norms = np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1)
            cosine = (ours * reference).sum(1) / norms
            report.add(
                f"{name}, {label}",
                len(texts),
                seconds,
                kind=kind,
                **config,
                min_cosine_vs_st=float(cosine.min()),
            )
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        tokenize = partial(encoder._tokenize, prompt=None)
        cpu_clock = Clock("cpu", clock.repeat, 1)
        seconds = cpu_clock.time(lambda: list(encoder._prefetch(texts, batches, tokenize)))
        name = f"d. Encoder tokenizing pipeline alone, {label}"
        report.add(name, len(texts), seconds, kind=TOKENIZE, **config)
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
