"""The model registry: an MLflow-backed catalog of model versions (provider, endpoint, context window,
prices), aliases (champion, challenger, previous-champion) and the promotion policy.

Empty for now: model routes are gateway settings (``gateway.models``) until the registry issue resolves
them from MLflow. The package exists so the layout is the one the platform is built around.
"""
