"""What the benchmark prints and writes: one row per measurement, and the per-chunk breakdown of the
Encoder's two halves (tokenization and the model's forward pass) against its pipelined speed.

Each row is printed as it lands and the JSON file is rewritten after every row, so a run cut short by a
time limit still leaves what it measured.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

# Row kinds the breakdown reads (other rows carry no kind).
FORWARD = "forward"  # a: the model alone on inputs already tokenized and on the device
TOKENIZE = "tokenize_pipeline"  # d: the Encoder's tokenizing pipeline with no model behind it
ENCODE = "encode"  # d: Encoder.encode on raw text, tokenization overlapping the forward pass
ENCODE_IDS = "encode_ids"  # e: Encoder.encode_ids on token ids computed beforehand


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
            "us_per_chunk": median / items * 1e6,
            **extra,
        }
        self.rows.append(row)
        print(
            f"{name:<58} {items / median:>10,.0f} chunks/s  {row['us_per_chunk']:>9,.1f} us/chunk"
            f"  (median of {len(seconds)}: {median:.3f} s)",
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
            data = {"meta": self.meta, "rows": self.rows, "breakdown": self.breakdown()}
            self.out.write_text(json.dumps(data, indent=2) + "\n")

    def _find(self, kind: str, batch_size: int, workers: int | None = None) -> dict[str, Any] | None:
        for row in self.rows:
            same = row.get("kind") == kind and row.get("batch_size") == batch_size
            if same and (workers is None or row.get("workers") == workers):
                return row
        return None

    def breakdown(self) -> list[dict[str, Any]]:
        """Per batch size and tokenizer threads: microseconds per chunk for tokenizing and for the forward
        pass, their sum (the speed if the two ran one after the other: 1/(1/a + 1/b) in chunks/s), and the
        measured speeds of the pipelined ``encode`` and of ``encode_ids`` (no tokenization at all)."""
        entries = []
        for row in self.rows:
            if row.get("kind") != ENCODE:
                continue
            batch_size, workers = row["batch_size"], row["workers"]
            tokenize = self._find(TOKENIZE, batch_size, workers)
            forward = self._find(FORWARD, batch_size)
            ids = self._find(ENCODE_IDS, batch_size, workers)
            entry: dict[str, Any] = {
                "batch_size": batch_size,
                "workers": workers,
                "tokenize_us_per_chunk": tokenize["us_per_chunk"] if tokenize else None,
                "forward_us_per_chunk": forward["us_per_chunk"] if forward else None,
                "serial_us_per_chunk": None,
                "serial_chunks_per_s": None,
                "pipelined_us_per_chunk": row["us_per_chunk"],
                "pipelined_chunks_per_s": row["chunks_per_s"],
                "encode_ids_us_per_chunk": ids["us_per_chunk"] if ids else None,
                "encode_ids_chunks_per_s": ids["chunks_per_s"] if ids else None,
            }
            if tokenize and forward:
                serial = tokenize["us_per_chunk"] + forward["us_per_chunk"]
                entry["serial_us_per_chunk"] = serial
                entry["serial_chunks_per_s"] = 1e6 / serial
            entries.append(entry)
        return entries

    def table(self) -> None:
        print("\n| measurement | chunks/s | us/chunk |\n| --- | ---: | ---: |")
        for row in self.rows:
            if "chunks_per_s" in row:
                print(f"| {row['name']} | {row['chunks_per_s']:,.0f} | {row['us_per_chunk']:,.1f} |")
            else:
                print(f"| {row['name']} | failed | |")
        entries = self.breakdown()
        if not entries:
            return
        print(
            "\nPer chunk, raw text (us/chunk, chunks/s in brackets): tokenize + forward = serial sum, "
            "against the pipelined Encoder.encode; encode_ids skips tokenization.\n"
            "| batch | threads | tokenize | forward | serial sum | pipelined encode | encode_ids |\n"
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        )
        for e in entries:
            cells = [
                _cell(e["tokenize_us_per_chunk"]),
                _cell(e["forward_us_per_chunk"]),
                _cell(e["serial_us_per_chunk"]),
                _cell(e["pipelined_us_per_chunk"]),
                _cell(e["encode_ids_us_per_chunk"]),
            ]
            print(f"| {e['batch_size']} | {e['workers']} | " + " | ".join(cells) + " |")


def _cell(us: float | None) -> str:
    return "not measured" if us is None else f"{us:,.1f} ({1e6 / us:,.0f})"
