package io.dbaoperator.api.common;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Min;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.Toleration;

/** Overrides for the Jobs the operator runs on a resource's behalf. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class JobTemplate {

    @JsonPropertyDescription("Image with the agent and the PostgreSQL client tools; the operator's own image by default.")
    public String image;

    @JsonPropertyDescription("CPU and memory requests and limits of the agent container, used as given. Unset: "
            + "requests 100m CPU and 256Mi with a 512Mi memory limit for backups and the WAL archiver, requests 250m "
            + "and 512Mi with a 1Gi limit for restores and restore tests.")
    public ResourceRequirements resources;

    @JsonPropertyDescription("Node selector for the Job's pod.")
    public Map<String, String> nodeSelector;

    @JsonPropertyDescription("Tolerations for the Job's pod.")
    public List<Toleration> tolerations;

    @JsonPropertyDescription("Service account of the Job's pod; it needs no RBAC on the operator's resources.")
    public String serviceAccountName;

    @Min(1)
    @JsonPropertyDescription("Seconds after which a running Job is stopped and counted as failed (default 6h).")
    public Long activeDeadlineSeconds;

    @Min(0)
    @JsonPropertyDescription("Retries of a failed pod before the Job fails (default 0: the operator decides retries).")
    public Integer backoffLimit;

    @Min(0)
    @JsonPropertyDescription("Seconds a finished Job is kept for inspection before Kubernetes deletes it (default 1 day).")
    public Integer ttlSecondsAfterFinished;
}
