"""Batch serving: the OpenAI batch file formats, their quality suites, the runner that sends a batch to
the gateway, and (H2's part) file and batch records, the file store and the catalog (docs/batch.md)."""
