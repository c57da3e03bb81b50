"""Data-quality suites (Great Expectations) on what enters and leaves the platform's pipelines."""
