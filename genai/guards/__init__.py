"""Detectors for what a prompt or an answer should not carry: personal data and secrets (``pii``) and
prompt-injection attempts (``injection``). Pure functions over text, shared by the gateway's screening and
output policies and by batch serving; nothing here imports the gateway."""
