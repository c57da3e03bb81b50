"""Settings of the model registry (registry/): reserved; MLflow's store is ``mlflow_tracking_uri`` today."""

from __future__ import annotations

from genai.settings.placeholder import PlaceholderSection


class RegistrySettings(PlaceholderSection):
    """Coming: the registered model names, the aliases the gateway resolves (champion, challenger,
    previous-champion) and the promotion gates (metric thresholds against the champion)."""
