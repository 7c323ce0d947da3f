package io.dbaoperator.backup;

import java.util.Map;

import io.dbaoperator.api.backup.BackupPolicy;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.dependent.Matcher;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;

/**
 * The WAL archiver Deployment of a policy as a JOSDK dependent resource: its desired state is
 * {@link WalArchiverDeployment#build}, its informer (the controller's only one on Deployments) watches the
 * Deployments labelled with a policy, and JOSDK creates, updates and deletes it and caches its own writes, so the
 * reconcile that follows reads the Deployment it just made. It is reconciled from the policy's workflow
 * ({@code BackupPolicyReconciler.advance}), not before it: the archiver is made only for a policy that validated,
 * and disabling archiving deletes it and then drops its slot, an order the workflow keeps.
 * <p>
 * Up to date means the {@code dbaoperator.io/spec-hash} annotation matches the desired one: the API server fills
 * defaults into a Deployment that the desired object never states, so comparing specs field by field would
 * call every Deployment changed (and the hash is what the archiver carried before it was a dependent, so an
 * operator upgrade does not restart a running archiver).
 */
public class WalArchiver extends CRUDKubernetesDependentResource<Deployment, BackupPolicy> {

    /** The name of its event source in the policy's controller. */
    public static final String EVENT_SOURCE = "wal-archiver";

    private final String agentImage;

    public WalArchiver(String agentImage) {
        super(Deployment.class, EVENT_SOURCE);
        this.agentImage = agentImage;
    }

    @Override
    protected Deployment desired(BackupPolicy policy, Context<BackupPolicy> context) {
        return WalArchiverDeployment.build(policy, agentImage);
    }

    @Override
    protected InformerEventSourceConfiguration.Builder<Deployment> informerConfigurationBuilder(
            EventSourceContext<BackupPolicy> context) {
        return super.informerConfigurationBuilder(context).withLabelSelector(BackupJobs.POLICY_LABEL);
    }

    @Override
    public Matcher.Result<Deployment> match(Deployment actual, Deployment desired, BackupPolicy policy,
            Context<BackupPolicy> context) {
        Map<String, String> have = actual.getMetadata().getAnnotations();
        String want = desired.getMetadata().getAnnotations().get(BackupJobs.SPEC_HASH);
        return Matcher.Result.computed(have != null && want.equals(have.get(BackupJobs.SPEC_HASH)), desired);
    }
}
