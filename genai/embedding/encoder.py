"""The pipelined sentence encoder: tokenization runs in parallel and overlaps the model's forward pass.

``SentenceTransformer.encode`` tokenizes each batch on the calling thread and then runs the model, so on a
GPU the card waits for the CPU (tokenization and the Python conversion of its output dominate). Here:

* texts are sorted by length (longest first) so a batch pads to nearly nothing, then split into batches;
* ``tokenizer_workers`` threads tokenize the upcoming batches into a bounded, ordered prefetch window with
  the model's own fast tokenizer (its batch encode releases the GIL; worker processes measured slower);
* the calling thread runs the model's own ``forward`` on each batch as it arrives; on CUDA inputs travel
  from pinned memory with non-blocking copies and the embeddings stay on the card until one copy back;
* a batch whose rows all have the same length is sent without an attention mask: the result is the same
  (nothing is masked), and transformers then skips a mask check that would stall the CPU on the GPU;
* ``encode_ids`` takes token ids the chunker already computed, so the stage need not tokenize at all.

torch and sentence-transformers are imported when an ``Encoder`` is built, never at module import, and
nothing here imports pydantic or the settings: the module also runs on GPU workers that have neither.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from genai.embedding.model_path import resolve_model_path

if TYPE_CHECKING:
    import torch

T = TypeVar("T")
Features = dict[str, Any]
_Tokenized = tuple[np.ndarray, Features]

_DTYPES = {"float32", "float16", "bfloat16"}


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _pick_device(torch: Any, device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def _pick_dtype(torch: Any, dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        dtype = "float16" if device.type == "cuda" else "float32"
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of auto, {', '.join(sorted(_DTYPES))}; got {dtype!r}")
    return getattr(torch, dtype)


class _BatchTokenizer:
    """The model's fast tokenizer, truncating like the model, turning texts into padded numpy arrays.

    It never lets the tokenizer pad: padding in numpy is cheaper than the tokenizer's per-token lists.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        from tokenizers import Tokenizer

        self.spec = spec
        self._tokenizer = Tokenizer.from_str(spec["json"])
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(spec["max_len"], direction=spec["truncation_side"])
        self._encode_batch = getattr(self._tokenizer, "encode_batch_fast", self._tokenizer.encode_batch)

    @classmethod
    def from_model(cls, model: Any, max_len: int) -> _BatchTokenizer | None:
        """None when the model has no fast tokenizer (the model's own preprocessing is used then)."""
        hf_tokenizer = getattr(model, "tokenizer", None)
        backend = getattr(hf_tokenizer, "backend_tokenizer", None)
        if backend is None:
            return None
        pad_id = getattr(hf_tokenizer, "pad_token_id", None)
        spec = {
            # to_str keeps the normalizer the model configured (lower-casing, for one).
            "json": backend.to_str(),
            "max_len": max_len,
            "truncation_side": getattr(hf_tokenizer, "truncation_side", "right"),
            "pad_id": int(pad_id) if pad_id is not None else 0,
            "left_pad": getattr(hf_tokenizer, "padding_side", "right") == "left",
            "type_ids": False,
        }
        tokenizer = cls(spec)
        # Token type ids are sent only when they are not all zeros (the model's own default).
        wants = "token_type_ids" in getattr(hf_tokenizer, "model_input_names", ())
        spec["type_ids"] = wants and any(tokenizer._tokenizer.encode("type ids probe").type_ids)
        return tokenizer

    def special_tokens(self) -> tuple[list[int], list[int]] | None:
        """The ids the model puts before and after a text's own ([CLS] and [SEP] for BERT); None if the
        post-processor does something other than wrap the text."""
        content = self._tokenizer.encode("probe", add_special_tokens=False).ids
        full = self._tokenizer.encode("probe").ids
        for start in range(len(full) - len(content) + 1):
            if full[start : start + len(content)] == content:
                return full[:start], full[start + len(content) :]
        return None

    def arrays(self, texts: list[str]) -> dict[str, np.ndarray]:
        encodings = self._encode_batch(texts)
        types = [e.type_ids for e in encodings] if self.spec["type_ids"] else None
        return self.pad([e.ids for e in encodings], types)

    def pad(self, rows: list[list[int]], type_rows: list[list[int]] | None = None) -> dict[str, np.ndarray]:
        """Token id rows (special tokens included, already truncated) as the model's padded input arrays."""
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        width = int(lengths.max())
        left = self.spec["left_pad"]
        input_ids = np.full((len(rows), width), self.spec["pad_id"], dtype=np.int64)
        type_ids = np.zeros_like(input_ids) if type_rows is not None else None
        for row, (ids, length) in enumerate(zip(rows, lengths.tolist(), strict=True)):
            cols = slice(width - length, width) if left else slice(0, length)
            input_ids[row, cols] = ids
            if type_ids is not None and type_rows is not None:
                type_ids[row, cols] = type_rows[row]
        arrays = {"input_ids": input_ids}
        if int(lengths.min()) != width:
            # Equal lengths need no mask; leaving it out spares transformers a GPU-to-CPU sync.
            positions, column = np.arange(width), lengths[:, None]
            valid = positions >= width - column if left else positions < column
            arrays["attention_mask"] = valid.astype(np.int64)
        if type_ids is not None:
            arrays["token_type_ids"] = type_ids
        return arrays


class Encoder:
    """One loaded sentence-transformers model that embeds lists of texts as fast as the hardware allows.

    Build it through :func:`get_encoder` (one per process per configuration). ``encode`` is safe to call
    from several threads; calls run one at a time.
    """

    def __init__(
        self,
        model_dir: str | Path,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 64,
        tokenizer_workers: int = 2,
        max_seq_length: int | None = None,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.device = _pick_device(torch, device)
        self.dtype = _pick_dtype(torch, dtype, self.device)
        self.batch_size = max(1, batch_size)
        self.tokenizer_workers = max(1, tokenizer_workers)
        on_cuda = self.device.type == "cuda"
        if not on_cuda and torch.get_num_threads() > _usable_cores():
            # torch may count cores this process may not use (containers): more threads than cores thrash.
            torch.set_num_threads(_usable_cores())

        model = SentenceTransformer(str(model_dir), device=str(self.device), local_files_only=True)
        model.to(device=self.device, dtype=self.dtype)
        model.eval()
        if max_seq_length is not None:
            model.max_seq_length = max_seq_length
        self._model = model
        self._max_len = self._resolve_max_len(model)
        self._normalized = any(type(module).__name__ == "Normalize" for module in model.children())
        self._tokenizer = _BatchTokenizer.from_model(model, self._max_len)
        self._pin = on_cuda
        self._lock = threading.Lock()
        self._preprocess_lock = threading.Lock()
        self._specials = self._tokenizer.special_tokens() if self._tokenizer else None
        self._pool = ThreadPoolExecutor(self.tokenizer_workers, thread_name_prefix="encoder-tokenize")
        self._dim = int(self.encode_query("dimension probe").shape[1])

    @staticmethod
    def _resolve_max_len(model: Any) -> int:
        limit = model.max_seq_length
        if limit is None or limit > 100_000:
            # Tokenizers without a real limit report a huge sentinel; 512 is what BERT-style models take.
            return 512
        return int(limit)

    @property
    def dim(self) -> int:
        """Length of one embedding."""
        return self._dim

    @property
    def max_seq_length(self) -> int:
        """Tokens per text the model sees, special tokens included; longer texts are truncated."""
        return self._max_len

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer``, for comparisons and introspection."""
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed ``texts`` as document passages: float32, shape (len(texts), dim), in the order given.

        Rows are L2-normalized when the model ends in a Normalize module, as ``SentenceTransformer.encode``
        returns them for that model. ``batch_size`` overrides the encoder's own for this call.
        """
        prompt = self._prompt(None)
        return self._encode(texts, len, lambda batch: self._tokenize(batch, prompt), batch_size)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one search query (with the model's query prompt, if it has one): shape (1, dim)."""
        prompt = self._prompt("query")
        return self._encode([text], len, lambda batch: self._tokenize(batch, prompt), 1)

    def encode_ids(self, token_ids: Sequence[Sequence[int]], batch_size: int | None = None) -> np.ndarray:
        """Embed texts the caller already tokenized with this model's tokenizer, special tokens left out.

        The chunker tokenizes every document anyway; handing its ids here takes tokenization off the
        embedding stage altogether. Rows are truncated to ``max_seq_length`` and wrapped in the model's
        special tokens, as ``encode`` does: the ids of a whole text give that text's ``encode`` embedding.
        """
        tokenizer = self._tokenizer
        if self._specials is None or tokenizer is None or tokenizer.spec["type_ids"] or self._prompt(None):
            raise NotImplementedError("encode_ids needs a fast tokenizer that only wraps the text, no prompt")
        head, tail = self._specials
        keep = self._max_len - len(head) - len(tail)

        def features(batch: list[Sequence[int]]) -> Features:
            return self._tensors(tokenizer.pad([[*head, *ids[:keep], *tail] for ids in batch]))

        return self._encode(token_ids, len, features, batch_size)

    def _prompt(self, name: str | None) -> str | None:
        prompts = getattr(self._model, "prompts", None) or {}
        default_name = getattr(self._model, "default_prompt_name", None)
        prompt = prompts.get(name) if name else None
        if not prompt and default_name:
            prompt = prompts.get(default_name)
        return prompt or None

    def _encode(
        self,
        items: Sequence[T],
        size: Callable[[T], int],
        features: Callable[[list[T]], Features],
        batch_size: int | None,
    ) -> np.ndarray:
        """Sort ``items`` longest first, batch them, featurize batches on the pool, run, restore order."""
        if len(items) == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        step = batch_size or self.batch_size
        order = np.argsort(-np.fromiter(map(size, items), dtype=np.int64, count=len(items)), kind="stable")
        batches = [order[start : start + step] for start in range(0, len(order), step)]
        with self._lock:
            prepared = self._prefetch(items, batches, features)
            try:
                outputs = self._run(prepared)
            finally:
                prepared.close()
        return self._gather(outputs, len(items))

    def _prefetch(
        self, items: Sequence[T], batches: list[np.ndarray], features: Callable[[list[T]], Features]
    ) -> Generator[_Tokenized, None, None]:
        """Featurized batches in order, with a bounded window of batches being tokenized ahead."""
        window = 2 * self.tokenizer_workers
        pending: deque[tuple[np.ndarray, Future[Features]]] = deque()
        upcoming = iter(batches)

        def submit() -> None:
            index = next(upcoming, None)
            if index is not None:
                pending.append((index, self._pool.submit(features, [items[i] for i in index])))

        for _ in range(window):
            submit()
        try:
            while pending:
                index, future = pending.popleft()
                submit()
                yield index, future.result()
        finally:
            for _, future in pending:
                future.cancel()

    def _tokenize(self, texts: list[str], prompt: str | None) -> Features:
        if self._tokenizer is None or prompt:
            # The generic path: the model's own preprocessing (prompts, non-fast tokenizers). HF tokenizers
            # change their settings per call, so two threads must not call one at the same time.
            with self._preprocess_lock:
                return self._tensors(dict(self._model.preprocess(texts, prompt=prompt)))
        return self._tensors(self._tokenizer.arrays(texts))

    def _tensors(self, features: Features) -> Features:
        """numpy arrays to tensors, pinned on CUDA so the copy to the GPU can be asynchronous."""
        import torch

        out: Features = {}
        for key, value in features.items():
            if isinstance(value, np.ndarray):
                value = torch.from_numpy(value)
            if self._pin and isinstance(value, torch.Tensor) and not value.is_pinned():
                value = value.pin_memory()
            out[key] = value
        return out

    def _forward(self, features: Features) -> torch.Tensor:
        import torch

        on_device = {
            k: v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in features.items()
        }
        return self._model.forward(on_device)["sentence_embedding"]

    def _run(self, tokenized: Iterator[_Tokenized]) -> list[tuple[np.ndarray, torch.Tensor]]:
        """Forward every batch; returns (positions, embeddings still on the device) pairs.

        Nothing here waits for the GPU: the host runs ahead queueing batches until ``_gather`` copies back.
        """
        import torch

        with torch.inference_mode():
            return [(index, self._forward(features)) for index, features in tokenized]

    def _gather(self, outputs: list[tuple[np.ndarray, torch.Tensor]], count: int) -> np.ndarray:
        """Put the batches back in the caller's order and copy them to the host once."""
        import torch

        with torch.inference_mode():
            positions = torch.from_numpy(np.concatenate([index for index, _ in outputs]))
            stacked = torch.cat([embeddings for _, embeddings in outputs]).float()
            ordered = torch.empty_like(stacked)
            ordered[positions.to(stacked.device)] = stacked
            if self._normalized:
                # Re-normalize in float32: a float16 model's own normalization leaves norms ~1e-3 off 1.
                ordered = torch.nn.functional.normalize(ordered, dim=1)
            result = ordered.cpu().numpy()
        assert result.shape[0] == count
        return np.ascontiguousarray(result, dtype=np.float32)

    def close(self) -> None:
        """Stop the tokenizer threads (the encoder cannot encode afterwards)."""
        self._pool.shutdown(wait=True)


@lru_cache(maxsize=4)
def _cached_encoder(
    model_dir: Path,
    device: str,
    dtype: str,
    batch_size: int,
    tokenizer_workers: int,
    max_seq_length: int | None,
) -> Encoder:
    return Encoder(model_dir, device, dtype, batch_size, tokenizer_workers, max_seq_length)


def get_encoder(
    model: str,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int = 64,
    tokenizer_workers: int = 2,
    max_seq_length: int | None = None,
) -> Encoder:
    """The process's encoder for the ``embedding.model`` setting (a packaged name or a model directory).

    On a GPU worker raise ``tokenizer_workers`` (tokenization is the bound there): 8 measured best on a
    16-core H100 host, and ``batch_size`` 256-512. See docs/benchmarks/embedding.md.
    """
    return _cached_encoder(
        resolve_model_path(model), device, dtype, batch_size, tokenizer_workers, max_seq_length
    )
