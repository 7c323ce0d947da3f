package io.dbaoperator.fakes;

import io.dbaoperator.api.common.GatedStatus;

/**
 * What a person does to a gated status in handler tests, as {@code kubectl patch --subresource=status} would, with
 * the identity the admission policy stamps.
 */
public final class Approver {

    private Approver() {
    }

    /** Approves the pending request, pinned to the plan digest it shows. */
    public static void approve(GatedStatus st, String user) {
        if (st.approvalRequest == null) {
            throw new AssertionError("no approval request to approve");
        }
        st.approved = true;
        st.approvedPlanDigest = st.approvalRequest.planDigest;
        st.approvedByUser = user;
    }

    public static void reject(GatedStatus st, String user) {
        st.rejected = true;
        st.rejectedByUser = user;
    }
}
