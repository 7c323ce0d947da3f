package io.dbaoperator.sandbox;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;

/**
 * The resource types the sandbox API serves, for API discovery: the built-in ones the operator, its Jobs and
 * kubectl use, and every CRD applied at start.
 */
final class ApiResources {

    static final List<String> ALL_VERBS = List.of("create", "delete", "deletecollection", "get", "list", "patch",
            "update", "watch");

    /** One resource type. */
    record Resource(String group, String version, String plural, String singular, String kind, boolean namespaced,
            List<String> shortNames, List<String> categories, boolean status, CustomResourceDefinition crd) {

        String groupVersion() {
            return group.isEmpty() ? version : group + "/" + version;
        }
    }

    private final List<Resource> resources = new ArrayList<>();

    ApiResources(List<CustomResourceDefinition> crds) {
        core("namespaces", "namespace", "Namespace", false, List.of("ns"), true);
        core("pods", "pod", "Pod", true, List.of("po"), true);
        core("secrets", "secret", "Secret", true, List.of(), false);
        core("configmaps", "configmap", "ConfigMap", true, List.of("cm"), false);
        core("services", "service", "Service", true, List.of("svc"), true);
        core("events", "event", "Event", true, List.of("ev"), false);
        core("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, List.of("pvc"), true);
        core("serviceaccounts", "serviceaccount", "ServiceAccount", true, List.of("sa"), false);
        add("apps", "v1", "deployments", "deployment", "Deployment", true, List.of("deploy"), List.of("all"), true);
        add("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, List.of("sts"), List.of("all"), true);
        add("batch", "v1", "jobs", "job", "Job", true, List.of(), List.of("all"), true);
        add("batch", "v1", "cronjobs", "cronjob", "CronJob", true, List.of("cj"), List.of("all"), true);
        add("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, List.of(), List.of(), false);
        add("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
                "CustomResourceDefinition", false, List.of("crd", "crds"), List.of(), true);
        for (CustomResourceDefinition crd : crds) {
            var names = crd.getSpec().getNames();
            for (var v : crd.getSpec().getVersions()) {
                resources.add(new Resource(crd.getSpec().getGroup(), v.getName(), names.getPlural(),
                        names.getSingular(), names.getKind(), "Namespaced".equals(crd.getSpec().getScope()),
                        names.getShortNames() == null ? List.of() : names.getShortNames(),
                        names.getCategories() == null ? List.of() : names.getCategories(),
                        v.getSubresources() != null && v.getSubresources().getStatus() != null, crd));
            }
        }
    }

    private void core(String plural, String singular, String kind, boolean namespaced, List<String> shortNames,
            boolean status) {
        add("", "v1", plural, singular, kind, namespaced, shortNames, plural.equals("pods")
                || plural.equals("services") || plural.equals("persistentvolumeclaims") ? List.of("all") : List.of(),
                status);
    }

    private void add(String group, String version, String plural, String singular, String kind, boolean namespaced,
            List<String> shortNames, List<String> categories, boolean status) {
        resources.add(new Resource(group, version, plural, singular, kind, namespaced, shortNames, categories, status,
                null));
    }

    List<Resource> all() {
        return resources;
    }

    /** The custom resource served at {@code group/version/plural}, or null. */
    Resource custom(String group, String version, String plural) {
        return resources.stream().filter(r -> r.crd() != null && r.group().equals(group) && r.version().equals(version)
                && r.plural().equals(plural)).findFirst().orElse(null);
    }

    Map<String, Object> apiVersions() {
        return Map.of("kind", "APIVersions", "versions", List.of("v1"), "serverAddressByClientCIDRs",
                List.of(Map.of("clientCIDR", "0.0.0.0/0", "serverAddress", "127.0.0.1")));
    }

    Map<String, Object> groupList() {
        Map<String, List<String>> versions = new LinkedHashMap<>();
        for (Resource r : resources) {
            if (!r.group().isEmpty()) {
                List<String> vs = versions.computeIfAbsent(r.group(), g -> new ArrayList<>());
                if (!vs.contains(r.version())) {
                    vs.add(r.version());
                }
            }
        }
        List<Object> groups = new ArrayList<>();
        versions.forEach((g, vs) -> {
            List<Object> gvs = vs.stream().map(v -> (Object) Map.of("groupVersion", g + "/" + v, "version", v)).toList();
            groups.add(Map.of("name", g, "versions", gvs, "preferredVersion", gvs.get(0)));
        });
        return Map.of("kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
    }

    /** The APIResourceList of one group/version, or null when none is served there. */
    Map<String, Object> resourceList(String groupVersion) {
        List<Object> list = new ArrayList<>();
        for (Resource r : resources) {
            if (!r.groupVersion().equals(groupVersion)) {
                continue;
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("name", r.plural());
            entry.put("singularName", r.singular());
            entry.put("namespaced", r.namespaced());
            entry.put("kind", r.kind());
            entry.put("verbs", ALL_VERBS);
            if (!r.shortNames().isEmpty()) {
                entry.put("shortNames", r.shortNames());
            }
            if (!r.categories().isEmpty()) {
                entry.put("categories", r.categories());
            }
            list.add(entry);
            if (r.status()) {
                list.add(Map.of("name", r.plural() + "/status", "singularName", "", "namespaced", r.namespaced(),
                        "kind", r.kind(), "verbs", List.of("get", "patch", "update")));
            }
            if (r.plural().equals("pods")) {
                list.add(Map.of("name", "pods/log", "singularName", "", "namespaced", true, "kind", "Pod", "verbs",
                        List.of("get")));
            }
        }
        if (list.isEmpty()) {
            return null;
        }
        return Map.of("kind", "APIResourceList", "apiVersion", "v1", "groupVersion", groupVersion, "resources", list);
    }
}
