"""Decide what a run must do, by comparing parsed documents with what the document store already holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from genai.ingest.records import ParsedDocument, StoredState


class IngestPlan(BaseModel):
    """The documents to (re-)embed, those to skip, and those to delete."""

    new: list[ParsedDocument] = Field(default_factory=list)
    changed: list[ParsedDocument] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)

    @property
    def to_embed(self) -> list[ParsedDocument]:
        return self.new + self.changed


def plan_changes(
    accepted: Sequence[ParsedDocument],
    stored: Mapping[str, StoredState],
    version: str,
    present_ids: Iterable[str],
    keep_deleted: bool,
) -> IngestPlan:
    """Sort accepted documents into new / changed / unchanged, and find stored documents to delete.

    ``present_ids`` are all documents found in the source, quarantined ones included: a document that is
    still there but failed its checks this time keeps its last good version rather than vanishing.
    """
    plan = IngestPlan()
    for doc in accepted:
        state = stored.get(doc.doc_id)
        if state is None:
            plan.new.append(doc)
        elif state.content_hash != doc.content_hash or state.pipeline_version != version:
            plan.changed.append(doc)
        else:
            plan.unchanged.append(doc.doc_id)
    if not keep_deleted:
        present = set(present_ids)
        plan.deleted = sorted(doc_id for doc_id in stored if doc_id not in present)
    return plan
