package io.dbaoperator.kube;

import java.time.InstantSource;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The operator's clock for what is decided by the calendar: maintenance windows and schedules (a BackupPolicy's
 * runs, a DisposalJob's). The system's, unless another {@link InstantSource} bean replaces it (the operator tests'
 * clock, which they move forward to a window's opening instead of waiting for a cron minute).
 */
@Singleton
public class Clocks {

    @Produces
    @Singleton
    @DefaultBean
    InstantSource system() {
        return InstantSource.system();
    }
}
