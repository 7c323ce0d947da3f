{{- define "dba-operator.labels" -}}
app.kubernetes.io/name: dba-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "dba-operator.selector" -}}
app.kubernetes.io/name: dba-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "dba-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The operator's rules: the same as deploy/rbac/operator-clusterrole.yaml (HelmChartTest compares them). */}}
{{- define "dba-operator.rules" -}}
- apiGroups: ["dbaoperator.io"]
  resources: [databasemigrations, backuppolicies, backuprestores, querytuningrequests, disposaljobs, databasemaintenances]
  verbs: [get, list, watch, patch, update]
- apiGroups: ["dbaoperator.io"]
  resources: [querytuningrequests]
  verbs: [create]
- apiGroups: ["dbaoperator.io"]
  resources: [databasemigrations/status, backuppolicies/status, backuprestores/status, querytuningrequests/status, disposaljobs/status, databasemaintenances/status]
  verbs: [get, patch, update]
- apiGroups: ["dbaoperator.io"]
  resources: [databasemigrations/finalizers, backuppolicies/finalizers, backuprestores/finalizers, querytuningrequests/finalizers, disposaljobs/finalizers, databasemaintenances/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, patch, delete]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, create, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, create, update]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
- apiGroups: ["batch"]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: ["apps"]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: ["apps"]
  resources: [statefulsets]
  verbs: [get, list, watch, create]
{{- end -}}
