"""Talking to Prefect: its environment, the local server `genai up` runs, and the served deployments."""
