"""The man-page eval set: Debian's installed manual pages (commands and system calls) rendered to markdown,
with queries built from their own structure.

Documents: the section 1 and 8 pages of a fixed list of Debian packages (coreutils, util-linux, procps,
...) and a seeded sample of the section 2 pages (system calls, from manpages-dev), each rendered by
``man`` and turned into one markdown file: ``# cp(1)``, one ``##`` heading per manual section. The page's
NAME section is left out of the document because its one-line description is a query (a question must not
be a verbatim copy of its answer's text). Pages that only redirect (``.so``) are skipped.

Queries, each with the doc ids that answer it:

- ``natural``: the NAME line's description ("copy files and directories") -> that page;
- ``flag``: "what does --one-file-system do" for a long option that appears in exactly one page;
- ``errno``: an error code and the first words of its ERRORS entry ("EXDEV: oldpath and newpath are not
  on the same mounted filesystem") -> every page whose ERRORS lists that code with that text (1 to 3).

Nothing here is committed: the corpus and the queries are generated from the machine's files each run.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = (
    "coreutils",
    "findutils",
    "grep",
    "sed",
    "tar",
    "gzip",
    "diffutils",
    "util-linux",
    "procps",
    "openssh-client",
    "rsync",
    "curl",
)
SYSCALL_PACKAGE = "manpages-dev"
MAX_CHARS = 10_000  # a long page (bash-sized) would dominate the corpus; its tail is cut at a section
# Boilerplate every GNU or Linux page repeats: it costs embedding time and answers no query.
DROPPED = frozenset({"NAME", "AUTHOR", "AUTHORS", "REPORTING BUGS", "COPYRIGHT", "COLOPHON", "AVAILABILITY"})
_SECTION = re.compile(r"^([A-Z][A-Z0-9 ,/()-]{1,60})$")
_FLAG_DEF = re.compile(r"^ {7}(?:-\w(?:\s\S+)?, )?(--[a-z][a-z0-9-]{2,})")
_ERRNO = re.compile(r"^ {7}(E[A-Z0-9]{2,})\b\s*(.*)$")
_WORD = re.compile(r"[A-Za-z0-9_./-]+")


@dataclass
class ManPage:
    """One rendered page: its doc id, title, NAME description, sections (heading, text)."""

    doc_id: str
    title: str
    description: str
    sections: list[tuple[str, str]] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"# {self.title}", ""]
        for heading, text in self.sections:
            parts += [f"## {heading.title()}", "", text.strip("\n"), ""]
        return "\n".join(parts)


def package_pages(package: str, sections: str = "18") -> list[Path]:
    """The man pages a Debian package installed in the given sections (real files, not redirects)."""
    done = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    pattern = re.compile(rf"^/usr/share/man/man[{sections}]/[^/]+\.[{sections}]\w*(\.gz)?$")
    pages = []
    for line in done.stdout.splitlines():
        path = Path(line)
        if pattern.match(line) and path.is_file() and not path.is_symlink() and not _is_redirect(path):
            pages.append(path)
    return sorted(pages)


def _is_redirect(path: Path) -> bool:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.read(200).lstrip().startswith(".so ")


def render(path: Path) -> str:
    """The page as ``man`` prints it, 100 columns, no hyphenation or justification, no overstrikes."""
    env = {**os.environ, "MANWIDTH": "100", "MAN_KEEP_FORMATTING": "0", "LC_ALL": "C.UTF-8"}
    text = subprocess.run(
        ["man", "--no-hyphenation", "--no-justification", "-l", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    ).stdout
    return re.sub(r".\x08", "", text)


def parse_page(path: Path, text: str) -> ManPage | None:
    """Split a rendered page into its sections; None for a page with no NAME line."""
    lines = text.splitlines()
    if len(lines) < 6:
        return None
    lines = lines[1:-1]  # the running header and footer ("CP(1)  User Commands  CP(1)")
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        match = _SECTION.match(line)
        if match:
            sections.append((match.group(1).strip(), []))
        elif sections:
            sections[-1][1].append(line)
    named = dict((heading, body) for heading, body in sections)
    if "NAME" not in named:
        return None
    name_line = " ".join(part.strip() for part in named["NAME"] if part.strip())
    if " - " not in name_line:
        return None
    description = name_line.split(" - ", 1)[1].strip()
    stem = path.name.removesuffix(".gz")
    name, _, section = stem.rpartition(".")
    page = ManPage(doc_id=f"{name}.{section}.md", title=f"{name}({section})", description=description)
    size = 0
    for heading, body in sections:
        if heading in DROPPED:
            continue
        body_text = "\n".join(body)
        if size + len(body_text) > MAX_CHARS and page.sections:
            break
        page.sections.append((heading, body_text))
        size += len(body_text)
    return page


def defined_flags(page: ManPage) -> set[str]:
    return {
        m.group(1) for _, text in page.sections for line in text.splitlines() if (m := _FLAG_DEF.match(line))
    }


def errno_entries(page: ManPage) -> list[tuple[str, str]]:
    """(code, description) of each entry of the page's ERRORS section."""
    entries: list[tuple[str, list[str]]] = []
    for heading, text in page.sections:
        if heading != "ERRORS":
            continue
        for line in text.splitlines():
            match = _ERRNO.match(line)
            if match:
                entries.append((match.group(1), [match.group(2)]))
            elif entries and line.strip():
                entries[-1][1].append(line.strip())
            elif entries and not line.strip() and any(entries[-1][1]):
                entries[-1][1].append("")
    result = []
    for code, parts in entries:
        text = re.sub(r"^\([^)]*\)\s*:?\s*", "", " ".join(" ".join(parts).split()))
        words = text.split(" ")
        if len(words) >= 4:
            result.append((code, " ".join(words[:10])))
    return result


def load_pages(syscalls: int, seed: int) -> list[ManPage]:
    """Every page of ``PACKAGES`` (sections 1, 8) and ``syscalls`` section 2 pages (seeded sample)."""
    paths = [path for package in PACKAGES for path in package_pages(package)]
    calls = package_pages(SYSCALL_PACKAGE, "2")
    random.Random(seed).shuffle(calls)
    paths += sorted(calls[:syscalls])
    from concurrent.futures import ThreadPoolExecutor

    unique = list(dict.fromkeys(paths))
    with ThreadPoolExecutor(4) as pool:  # man and groff are separate processes: a few run in parallel
        rendered = list(pool.map(render, unique))
    pages: dict[str, ManPage] = {}
    for path, text in zip(unique, rendered, strict=True):
        page = parse_page(path, text)
        if page is not None and page.sections:
            pages.setdefault(page.doc_id, page)
    return list(pages.values())


def build_queries(pages: list[ManPage], per_kind: int, seed: int) -> list[dict[str, object]]:
    """Rows (id, kind, question, answer, relevant doc ids) of the three kinds, ``per_kind`` each at most."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    by_description: dict[str, list[str]] = {}
    for page in pages:
        by_description.setdefault(page.description.lower(), []).append(page.doc_id)
    natural = [
        p for p in pages if len(by_description[p.description.lower()]) == 1 and len(p.description) > 12
    ]
    for page in rng.sample(natural, min(per_kind, len(natural))):
        rows.append(_row("natural", page.description, page.title, [page.doc_id]))
    texts = {page.doc_id: page.markdown() for page in pages}
    flags: list[tuple[str, ManPage]] = []
    for page in pages:
        for flag in sorted(defined_flags(page)):
            holders = [
                doc
                for doc, text in texts.items()
                if re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)
            ]
            if holders == [page.doc_id]:
                flags.append((flag, page))
    for flag, page in rng.sample(flags, min(per_kind, len(flags))):
        rows.append(_row("flag", f"what does {flag} do", f"{page.title}: {flag}", [page.doc_id]))
    errors: dict[tuple[str, str], list[str]] = {}
    for page in pages:
        for code, text in errno_entries(page):
            errors.setdefault((code, text), []).append(page.doc_id)
    usable = sorted(key for key, docs in errors.items() if 1 <= len(set(docs)) <= 3)
    for code, text in rng.sample(usable, min(per_kind, len(usable))):
        docs = sorted(set(errors[(code, text)]))
        rows.append(_row("errno", f"{code}: {text}", f"{code} from {', '.join(docs)}", docs))
    return rows


def _row(kind: str, question: str, answer: str, docs: list[str]) -> dict[str, object]:
    return {"kind": kind, "question": question, "reference_answer": answer, "relevant_doc_ids": docs}
