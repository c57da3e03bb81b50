{{/* Names, labels and shared pod fragments. Object names are fixed (genai-gateway, qdrant, ...), not
prefixed by the release: the observability manifests (deployments/observability) and the platform config
find the services by these DNS names. One release per namespace. */}}

{{- define "genai.labels" -}}
app.kubernetes.io/part-of: genai-platform
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* Selector labels of one component: "app" is what the NetworkPolicies and Services select on. */}}
{{- define "genai.selector" -}}
app: {{ . }}
{{- end }}

{{- define "genai.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}

{{/* In-cluster DNS name of a Service of this release's namespace. */}}
{{- define "genai.svc" -}}
{{ .name }}.{{ .root.Release.Namespace }}.svc.cluster.local
{{- end }}

{{/* What every platform container (gateway, MLflow, flow-run pods) gets: the settings file and the secrets
as GENAI_* variables. The Prefect base job template repeats this in JSON (prefect-worker.yaml). */}}
{{- define "genai.configEnv" -}}
- name: GENAI_CONFIG
  value: {{ .Values.config.mountPath }}/config.yaml
{{- end }}

{{- define "genai.configEnvFrom" -}}
- secretRef:
    name: {{ .Values.secrets.name }}
{{- end }}

{{- define "genai.configMount" -}}
- name: genai-config
  mountPath: {{ .Values.config.mountPath }}
  readOnly: true
{{- end }}

{{- define "genai.configVolume" -}}
- name: genai-config
  configMap:
    name: genai-config
{{- end }}

{{/* The databases the bundled PostgreSQL holds, or the external server's. */}}
{{- define "genai.postgresHost" -}}
{{- if .Values.postgresql.enabled -}}
{{ include "genai.svc" (dict "name" "postgres" "root" .) }}
{{- else -}}
{{ .Values.postgresql.external.host }}
{{- end -}}
{{- end }}

{{/* A SQLAlchemy URL of one database: (dict "root" $ "db" "genai" "driver" "psycopg"). */}}
{{- define "genai.databaseUrl" -}}
{{- $pg := .root.Values.postgresql -}}
postgresql+{{ .driver }}://{{ $pg.user }}:{{ $pg.password }}@{{ include "genai.postgresHost" .root }}:{{ $pg.port }}/{{ .db }}
{{- end }}
