package io.dbaoperator.approval;

/** The kubectl lines a person runs to approve or reject; printed into status.approvalRequest. */
public final class ApprovalCommands {

    private ApprovalCommands() {
    }

    /** The approval pins the digest, so a plan that changed between reading and running the command is refused. */
    public static String approve(String shortName, String name, String namespace, String planDigest) {
        return "kubectl patch " + shortName + " " + name + " -n " + namespace
                + " --subresource=status --type=merge -p '{\"status\":{\"approved\":true,\"approvedPlanDigest\":\""
                + planDigest + "\"}}'";
    }

    public static String reject(String shortName, String name, String namespace) {
        return "kubectl patch " + shortName + " " + name + " -n " + namespace
                + " --subresource=status --type=merge -p '{\"status\":{\"rejected\":true}}'";
    }
}
