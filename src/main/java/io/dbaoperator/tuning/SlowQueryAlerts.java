package io.dbaoperator.tuning;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * Prometheus Alertmanager's webhook receiver for slow-query alerts: every firing alert that carries the labels
 * {@code namespace}, {@code database} (the Secret naming the database, as in a DatabaseRef) and {@code queryid}
 * becomes a QueryTuningRequest named {@code slow-query-<fingerprint>}, once per alert fingerprint (a re-sent or
 * re-grouped alert finds it there). Optional labels: {@code staging_database}, {@code apply_policy}
 * (RecommendOnly, AfterApproval: the default, or Automatic). The alert's summary and description go into the
 * request's annotations. With {@code dba.alerts.token} set, the request must carry {@code Authorization: Bearer}
 * with it (Alertmanager's {@code http_config.authorization}).
 */
@Path("/alerts/slow-query")
public class SlowQueryAlerts {

    private static final Logger LOG = Logger.getLogger(SlowQueryAlerts.class);
    static final String ALERT_ANNOTATION = "dbaoperator.io/alert";

    private final KubernetesClient client;
    private final Optional<String> token;

    public SlowQueryAlerts(KubernetesClient client, @ConfigProperty(name = "dba.alerts.token") Optional<String> token) {
        this.client = client;
        this.token = token.filter(t -> !t.isBlank());
    }

    /** The webhook body (Alertmanager's version 4 format), what we read of it. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Payload {
        public String status;
        public List<Alert> alerts = new ArrayList<>();
    }

    /** One alert. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Alert {
        public String status;
        public Map<String, String> labels = new HashMap<>();
        public Map<String, String> annotations = new HashMap<>();
        public String fingerprint;
        public String startsAt;
    }

    /** What was done with each alert. */
    public record Outcome(List<String> created, List<String> existing, List<String> ignored) {
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response receive(Payload payload, @HeaderParam("Authorization") String authorization) {
        if (token.isPresent() && !("Bearer " + token.get()).equals(authorization)) {
            return Response.status(Response.Status.UNAUTHORIZED).build();
        }
        Outcome outcome = new Outcome(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (Alert a : payload.alerts) {
            String why = problem(a);
            if (why != null) {
                outcome.ignored().add((a.fingerprint == null ? "?" : a.fingerprint) + ": " + why);
                continue;
            }
            QueryTuningRequest q = request(a);
            try {
                client.resource(q).create();
                outcome.created().add(a.labels.get("namespace") + "/" + q.getMetadata().getName());
                LOG.infof("slow-query alert %s: created QueryTuningRequest %s/%s for queryid %s", a.fingerprint,
                        a.labels.get("namespace"), q.getMetadata().getName(), a.labels.get("queryid"));
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409) {
                    outcome.existing().add(a.labels.get("namespace") + "/" + q.getMetadata().getName());
                } else {
                    outcome.ignored().add(a.fingerprint + ": " + e.getCode() + " " + e.getStatus().getMessage());
                }
            }
        }
        return Response.ok(outcome).build();
    }

    static String problem(Alert a) {
        if (!"firing".equals(a.status)) {
            return "not firing";
        }
        for (String label : List.of("namespace", "database", "queryid")) {
            if (a.labels.get(label) == null || a.labels.get(label).isBlank()) {
                return "label " + label + " missing";
            }
        }
        if (!a.labels.get("queryid").matches("-?[0-9]+")) {
            return "label queryid is not a pg_stat_statements queryid";
        }
        if (a.fingerprint == null || !a.fingerprint.matches("[0-9a-f]{1,40}")) {
            return "no alert fingerprint";
        }
        String policy = a.labels.get("apply_policy");
        if (policy != null && !List.of("RecommendOnly", "AfterApproval", "Automatic").contains(policy)) {
            return "label apply_policy must be RecommendOnly, AfterApproval or Automatic";
        }
        return null;
    }

    static QueryTuningRequest request(Alert a) {
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName("slow-query-" + a.fingerprint);
        q.getMetadata().setNamespace(a.labels.get("namespace"));
        Map<String, String> annotations = new HashMap<>();
        annotations.put(ALERT_ANNOTATION, a.labels.getOrDefault("alertname", "alert") + " " + a.fingerprint
                + (a.startsAt == null ? "" : " since " + a.startsAt));
        if (a.annotations.get("summary") != null) {
            annotations.put("dbaoperator.io/alert-summary", a.annotations.get("summary"));
        }
        q.getMetadata().setAnnotations(annotations);
        q.getMetadata().setLabels(Map.of("app.kubernetes.io/created-by", "dba-operator-alerts"));
        QueryTuningRequestSpec spec = new QueryTuningRequestSpec();
        spec.database = new DatabaseRef(a.labels.get("database"));
        if (a.labels.get("staging_database") != null) {
            spec.stagingDatabase = new DatabaseRef(a.labels.get("staging_database"));
        }
        spec.queryId = a.labels.get("queryid");
        if (a.labels.get("apply_policy") != null) {
            spec.apply.policy = QueryTuningRequestSpec.Apply.Policy.valueOf(a.labels.get("apply_policy"));
        }
        q.setSpec(spec);
        return q;
    }
}
