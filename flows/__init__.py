"""Prefect flows: thin compositions of tasks, one file per flow."""
