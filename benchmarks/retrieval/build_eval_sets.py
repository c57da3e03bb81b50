"""Build the retrieval eval sets from public technical documentation on this machine.

Two sets, each a corpus folder of markdown documents and an eval set (JSONL in the format of
``genai.evaluation.eval_set``; the query kind is part of each id, ``pydocs-api-17``):

- ``pydocs`` (tuning): the standard library's docstrings, one document per module (``pydocs.py``);
- ``manpages`` (held out from ALL tuning): Debian's manual pages of common command-line tools and a
  sample of the system calls (``manpages.py``). Chosen as the held-out set before anything was measured:
  no weight, k, tokenizer rule or chunk size may be chosen by looking at its numbers.

Nothing is downloaded and nothing generated is committed (the texts are the packages' and the PSF's; the
queries quote them): the sets are rebuilt from the machine's files, deterministic for one machine and seed.

Usage: ``python benchmarks/retrieval/build_eval_sets.py --out DIR [--sets pydocs,manpages]
[--per-kind 100] [--seed 12]``. Writes ``DIR/corpus/<set>/*.md``, ``DIR/<set>.jsonl`` and
``DIR/manifest.json`` (counts per kind, the held-out set, the eval sets' sha256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SETS = ("pydocs", "manpages")
HELD_OUT = "manpages"
TUNING = "pydocs"
KNOWLEDGE_BASES = {"pydocs": "pydocs", "manpages": "manpages"}


def build_set(name: str, out: Path, per_kind: int, seed: int, syscalls: int = 120) -> dict[str, Any]:
    """Write set ``name``'s corpus and eval set under ``out``; returns its manifest entry."""
    if name == "pydocs":
        from benchmarks.retrieval import pydocs

        docs = pydocs.load_modules()
        rows = pydocs.build_queries(docs, per_kind, seed)  # before writing: it hides natural summaries
        texts = {doc.doc_id: doc.markdown() for doc in docs}
    elif name == "manpages":
        from benchmarks.retrieval import manpages

        pages = manpages.load_pages(syscalls, seed)
        rows = manpages.build_queries(pages, per_kind, seed)
        texts = {page.doc_id: page.markdown() for page in pages}
    else:
        raise SystemExit(f"unknown eval set {name!r} (known: {', '.join(SETS)})")
    corpus = out / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.glob("*.md"):
        old.unlink()  # a rebuild with another seed must not leave stale documents in the corpus
    for doc_id, text in texts.items():
        (corpus / doc_id).write_text(text, encoding="utf-8")
    path = out / f"{name}.jsonl"
    write_eval_set(path, name, rows)
    return {
        "corpus": str(corpus),
        "eval_set": str(path),
        "knowledge_base": KNOWLEDGE_BASES[name],
        "held_out": name == HELD_OUT,
        "documents": len(texts),
        "corpus_chars": sum(len(text) for text in texts.values()),
        "queries": len(rows),
        "queries_by_kind": dict(Counter(str(row["kind"]) for row in rows)),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def write_eval_set(path: Path, name: str, rows: list[dict[str, Any]]) -> None:
    """Rows as ``EvalExample`` lines; the kind goes into the id (the format has no field for it)."""
    counts: Counter[str] = Counter()
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            counts[str(row["kind"])] += 1
            example = {
                "id": f"{name}-{row['kind']}-{counts[str(row['kind'])]}",
                "question": row["question"],
                "reference_answer": row["reference_answer"],
                "relevant_doc_ids": row["relevant_doc_ids"],
                "knowledge_base": KNOWLEDGE_BASES[name],
            }
            out.write(json.dumps(example, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--syscalls", type=int, default=120, help="section 2 pages in the man-page set")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "held_out": HELD_OUT,
        "tuning": TUNING,
        "seed": args.seed,
        "sets": {
            name: build_set(name, args.out, args.per_kind, args.seed, args.syscalls)
            for name in args.sets.split(",")
        },
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(manifest, indent=2))
    return manifest


if __name__ == "__main__":
    main()
