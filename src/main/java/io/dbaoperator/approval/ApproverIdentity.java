package io.dbaoperator.approval;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;

/**
 * The fallback identity of an approval when the approver-identity admission policy is not installed: the field
 * manager that last set {@code status.approved} ({@code kubectl patch --field-manager=alice}; kubectl's default
 * manager is kubectl-patch). Any client can name it freely, so it is recorded as unverified; with the policy the
 * API server stamps the authenticated user into {@code status.approvedByUser} instead ({@link ApprovalGate}).
 */
public final class ApproverIdentity {

    public static final String UNKNOWN = "unknown";

    private ApproverIdentity() {
    }

    public static String of(List<ManagedFieldsEntry> managedFields, String field) {
        if (managedFields == null) {
            return UNKNOWN;
        }
        return managedFields.stream()
                .filter(e -> e.getManager() != null && ownsStatusField(e, field))
                .max(Comparator.comparing(e -> e.getTime() == null ? "" : e.getTime()))
                .map(ManagedFieldsEntry::getManager)
                .orElse(UNKNOWN);
    }

    @SuppressWarnings("unchecked")
    private static boolean ownsStatusField(ManagedFieldsEntry entry, String field) {
        if (entry.getFieldsV1() == null || entry.getFieldsV1().getAdditionalProperties() == null) {
            return false;
        }
        Object status = entry.getFieldsV1().getAdditionalProperties().get("f:status");
        return status instanceof Map<?, ?> m && ((Map<String, Object>) m).containsKey("f:" + field);
    }
}
