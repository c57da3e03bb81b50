"""Tests of deployments/: the Dockerfiles, the Helm chart, the compose file (docs/deploy.md)."""
