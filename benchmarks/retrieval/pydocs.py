"""The Python-docs eval set: the docstrings of this interpreter's standard library, one markdown document
per module, with queries built from the functions and classes they document.

Documents, as an API reference site has pages: per module of ``MODULES`` one for its functions
(``# shutil``, the module docstring, ``## Functions``, one ``###`` heading per public function with its
signature, then its docstring) and one per public class (``# threading.Event``, the class signature and
docstring, ``## Methods``, one ``###`` per public method). A document stops at ``MAX_CHARS`` (at an entry
boundary). Classes with similar methods (``close``, ``read``) make the right page hard to rank first.

Queries, each with the doc ids that answer it:

- ``api``: an identifier a programmer would type: "copytree dirs_exist_ok", "SequenceMatcher.get_opcodes"
  for a name that is defined in exactly one module of the corpus;
- ``natural``: the first line of a function's or method's docstring ("Recursively copy a directory tree
  and return the destination directory") -> its module; that line is left out of the document, so the
  question is not a verbatim copy of the text that answers it, and only entries whose docstring says more
  than that line are used.

The docstrings are the Python Software Foundation's (PSF licence); nothing is committed, everything is
generated from the running interpreter.
"""

from __future__ import annotations

import importlib
import inspect
import random
import re
from dataclasses import dataclass, field
from typing import Any

MODULES = (
    "shutil", "posixpath", "json", "re", "subprocess", "itertools", "functools", "collections", "pathlib",
    "datetime", "string", "textwrap", "hashlib", "base64", "csv", "argparse", "tempfile", "glob", "fnmatch",
    "heapq", "bisect", "statistics", "math", "random", "difflib", "shlex", "struct", "zlib", "gzip",
    "tarfile", "zipfile", "urllib.parse", "http.client", "socket", "signal", "threading", "queue", "uuid",
    "secrets", "hmac", "binascii", "codecs", "unicodedata", "calendar", "time", "copy", "pprint", "enum",
    "dataclasses", "inspect", "traceback", "warnings", "contextlib", "operator", "fractions", "sqlite3",
    "html", "configparser", "platform", "filecmp", "ipaddress", "mimetypes", "locale", "gettext",
    "sched", "selectors", "smtplib", "ftplib", "imaplib", "wave", "colorsys", "graphlib", "zoneinfo",
)  # fmt: skip
MAX_CHARS = 12_000
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,}$")


@dataclass
class Entry:
    """One documented function, class or method: its heading, the name a query uses, its docstring."""

    heading: str
    level: int
    name: str
    params: list[str]
    summary: str
    rest: str
    hidden_summary: bool = False

    def markdown(self) -> str:
        body = self.rest if self.hidden_summary else "\n".join(p for p in (self.summary, self.rest) if p)
        return f"{'#' * self.level} {self.heading}\n\n{body.strip()}\n"


@dataclass
class PyDoc:
    """One document: a module's functions (``shutil``) or one class with its methods
    (``threading.Event``): its title, the docstring that opens it and its entries in order."""

    title: str
    docstring: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def doc_id(self) -> str:
        return f"{self.title}.md"

    def markdown(self) -> str:
        heading = "## Methods" if self.is_class else "## Functions"
        parts = [f"# {self.title}", "", self.docstring.strip(), ""]
        if self.entries:
            parts += [heading, ""]
        parts += [entry.markdown() for entry in self.entries]
        return "\n".join(parts)

    @property
    def is_class(self) -> bool:
        return self.docstring.startswith("class ")


def _signature(obj: Any) -> tuple[str, list[str]]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)", []
    params = [p for p in signature.parameters if p not in {"self", "cls"} and _IDENT.match(p)]
    text = re.sub(r" at 0x[0-9a-f]+", "", str(signature))
    return (text if len(text) <= 160 else text[:157] + "..."), params


def _entry(heading: str, name: str, obj: Any) -> Entry | None:
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return None
    lines = doc.strip().splitlines()
    summary, rest = lines[0].strip(), "\n".join(lines[1:]).strip()
    _, params = _signature(obj)
    return Entry(heading=heading, level=3, name=name, params=params, summary=summary, rest=rest)


def _public(module: Any, obj: Any, name: str) -> bool:
    owner = getattr(obj, "__module__", None)
    return not name.startswith("_") and owner in {module.__name__, "_" + module.__name__}


def _capped(doc: PyDoc) -> PyDoc:
    size, kept = len(doc.docstring), list[Entry]()
    for entry in doc.entries:
        size += len(entry.markdown())
        if size > MAX_CHARS and kept:
            break
        kept.append(entry)
    doc.entries = kept
    return doc


def module_docs(name: str) -> list[PyDoc]:
    """The documents of module ``name``: its public functions in one, each public class in its own."""
    module = importlib.import_module(name)
    members = sorted(vars(module).items())
    functions = PyDoc(title=name, docstring=inspect.getdoc(module) or "")
    for fname, obj in members:
        if callable(obj) and not inspect.isclass(obj) and _public(module, obj, fname):
            entry = _entry(f"{fname}{_signature(obj)[0]}", fname, obj)
            if entry is not None:
                functions.entries.append(entry)
    docs = [_capped(functions)] if functions.entries or functions.docstring else []
    for cname, cls in members:
        if not (inspect.isclass(cls) and _public(module, cls, cname)):
            continue
        opening = f"class {cname}{_signature(cls)[0]}\n\n{inspect.getdoc(cls) or ''}"
        doc = PyDoc(title=f"{name}.{cname}", docstring=opening)
        for mname, method in sorted(vars(cls).items()):
            if not mname.startswith("_") and callable(method):
                entry = _entry(f"{cname}.{mname}{_signature(method)[0]}", f"{cname}.{mname}", method)
                if entry is not None:
                    doc.entries.append(entry)
        if doc.entries or len(opening) > 80:
            docs.append(_capped(doc))
    return docs


def load_modules() -> list[PyDoc]:
    docs = []
    for name in MODULES:
        try:
            docs += module_docs(name)
        except ImportError:
            continue  # a module this interpreter was built without (e.g. no sqlite3) is left out
    return docs


def build_queries(docs: list[PyDoc], per_kind: int, seed: int) -> list[dict[str, object]]:
    """Rows (kind, question, answer, relevant doc ids); marks the natural queries' summaries hidden."""
    rng = random.Random(seed)
    owners: dict[str, set[str]] = {}
    for doc in docs:
        for entry in doc.entries:
            for part in {entry.name, entry.name.split(".")[-1]}:
                owners.setdefault(part, set()).add(doc.doc_id)
    api: list[tuple[Entry, PyDoc]] = []
    natural: list[tuple[Entry, PyDoc]] = []
    summaries: dict[str, int] = {}
    for doc in docs:
        for entry in doc.entries:
            summaries[entry.summary.lower()] = summaries.get(entry.summary.lower(), 0) + 1
    for doc in docs:
        for entry in doc.entries:
            last = entry.name.split(".")[-1]
            if owners.get(last) == {doc.doc_id} and _IDENT.match(last):
                api.append((entry, doc))
            words = len(entry.summary.split())
            signature_line = "->" in entry.summary or entry.summary.startswith(last)  # builtins open so
            unique = summaries[entry.summary.lower()] == 1
            if 5 <= words <= 30 and len(entry.rest.split()) >= 12 and unique and not signature_line:
                natural.append((entry, doc))
    rows: list[dict[str, object]] = []
    for entry, doc in rng.sample(api, min(per_kind, len(api))):
        question = entry.name
        if entry.params and rng.random() < 0.6:
            question = f"{entry.name} {rng.choice(entry.params)}"
        rows.append(_row("api", question, f"{doc.title}: {entry.name}", [doc.doc_id]))
    for entry, doc in rng.sample(natural, min(per_kind, len(natural))):
        entry.hidden_summary = True
        rows.append(_row("natural", entry.summary.rstrip("."), f"{doc.title}: {entry.name}", [doc.doc_id]))
    return rows


def _row(kind: str, question: str, answer: str, docs: list[str]) -> dict[str, object]:
    return {"kind": kind, "question": question, "reference_answer": answer, "relevant_doc_ids": docs}
