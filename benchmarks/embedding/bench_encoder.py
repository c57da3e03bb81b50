"""Embedding throughput: forward-pass ceiling, tokenization, SentenceTransformer.encode and our Encoder.

Builds N chunks of about ``--tokens`` tokens each from words of the model's own vocabulary (``corpus.py``,
no downloads), then measures, in one process and on one device, the rows a-e that ``measurements.py``
describes, and prints them with the per-chunk breakdown of tokenization against the forward pass
(``report.py``).

Run from the repository root so ``genai`` imports (it needs numpy, torch and sentence-transformers only):

    PYTHONPATH=. python benchmarks/embedding/bench_encoder.py --model DIR --n 20000 --batch-size 256 512 \
        --workers 8 15

The results (with the commit measured and whether the tree was dirty) go to
``docs/benchmarks/results/embedding-<device>.json`` unless ``--out`` says otherwise: commit that file with
the doc's tables it fills.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.embedding.corpus import build_corpus
from benchmarks.embedding.measurements import (
    bench_encoder,
    bench_forward,
    bench_interleaved,
    bench_st,
    bench_tokenize,
)
from benchmarks.embedding.report import Report
from benchmarks.embedding.timing import Clock
from benchmarks.provenance import RESULTS_DIR, provenance
from genai.embedding.encoder import Encoder
from genai.embedding.model_path import resolve_model_path

CHECK_ROWS = 1000  # rows of every Encoder result compared with SentenceTransformer.encode


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
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the results as JSON here (default: docs/benchmarks/results/embedding-<device>.json)",
    )
    return parser.parse_args(argv)


def describe(encoder: Encoder, texts: list[str]) -> dict[str, Any]:
    import sentence_transformers
    import tokenizers
    import torch
    import transformers

    lengths = [len(e) for e in encoder._tokenizer._encode_batch(texts)] if encoder._tokenizer else []
    meta = {
        **provenance(),
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
    out = args.out or RESULTS_DIR / f"embedding-{base.device.type}.json"
    report = Report(out, describe(base, texts))
    print(json.dumps(report.meta), flush=True)
    clock = Clock(str(base.device), args.repeat, args.warmup)
    # A reference for a correctness check of every Encoder run; a slice keeps it cheap.
    reference = base.model.encode(texts[:CHECK_ROWS], batch_size=args.batch_size[0], convert_to_numpy=True)
    assert base._tokenizer is not None, "the benchmark needs a model with a fast tokenizer"
    content_ids = [e.ids for e in base._tokenizer._tokenizer.encode_batch(texts, add_special_tokens=False)]
    # Most telling first: a run cut short by its time limit still leaves these rows in the JSON.
    for batch_size in args.batch_size:
        _measure_batch_size(report, clock, args, base, texts, batch_size, reference, content_ids)
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
    print(f"\nresults: {out}", file=sys.stderr)
    return 0


def _measure_batch_size(
    report: Report,
    clock: Clock,
    args: argparse.Namespace,
    base: Encoder,
    texts: list[str],
    batch_size: int,
    reference: np.ndarray,
    content_ids: list[list[int]],
) -> None:
    """Rows a, d, e (for each --workers), c and the interleaved c/d at one batch size."""
    common = (report, clock, base, texts, batch_size)
    if "forward" not in args.skip:
        _guarded(report, f"a. forward bs={batch_size}", bench_forward, *common)
    for workers in args.workers:
        name = f"d. Encoder bs={batch_size} workers={workers}"
        encoder_args = (report, clock, args, texts, batch_size, workers, reference, content_ids)
        _guarded(report, name, bench_encoder, *encoder_args)
    if "st" not in args.skip:
        _guarded(report, f"c. SentenceTransformer.encode, bs={batch_size}", bench_st, *common)
    if args.interleave:
        interleaved_args = (report, clock, args, texts, batch_size, args.workers[0])
        _guarded(report, f"c/d interleaved bs={batch_size}", bench_interleaved, *interleaved_args)


def _guarded(report: Report, name: str, fn: Callable[..., Any], *args: Any) -> Any:
    """One failing configuration must not cost the rest of a scarce GPU run."""
    try:
        return fn(*args)
    except Exception as exc:
        report.error(name, exc)
        return None


if __name__ == "__main__":
    raise SystemExit(main())
