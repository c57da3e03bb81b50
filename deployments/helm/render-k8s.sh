#!/usr/bin/env bash
# Writes deployments/k8s/*.yaml: the chart rendered with its default values into namespace genai, one file
# per template, for `kubectl apply` without Helm. The chart is the source; tests/deployments fails when
# these files differ from a fresh render, so run this after changing the chart.
set -euo pipefail
cd "$(dirname "$0")/../.."
HELM="${HELM:-.venv/bin/helm}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$HELM" template genai deployments/helm/genai-platform --namespace genai --output-dir "$out" >/dev/null
find deployments/k8s -name '*.yaml' ! -name namespace.yaml -delete
for file in "$out"/genai-platform/templates/*.yaml; do
  {
    echo "# Rendered from deployments/helm/genai-platform/templates/$(basename "$file") by"
    echo "# deployments/helm/render-k8s.sh (default values, namespace genai): edit the chart, not this file."
    cat "$file"
  } > "deployments/k8s/$(basename "$file")"
done
