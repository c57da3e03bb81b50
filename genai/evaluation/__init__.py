"""The evaluation kernel: eval sets, the metrics as plain functions, per-example results and their summary,
the paired bootstrap, and the promotion gates.

Nothing here talks to a model or to MLflow: ``runner.py`` sends the examples through the gateway, and the
flows and the registry log and act on what these functions compute. Heavy libraries (numpy aside) are
imported inside the functions that need them.
"""
