"""Gateway telemetry: Prometheus metrics and structured JSON logs."""
