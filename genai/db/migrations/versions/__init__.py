"""Migration scripts, one per revision, written by hand to match ``genai.db.models``."""
