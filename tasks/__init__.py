"""Prefect tasks: coarse steps, each a thin wrapper over a plain function in ``genai``."""
