package io.dbaoperator.backup.catalog;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/** wal/archiver.json: the WAL archiver's heartbeat, which the operator reads for the recovery window and lag. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class WalArchiverStatus {
    public String slot;
    public String startedAt;
    public String updatedAt;
    public boolean receiving;
    public String firstArchivedSegment;
    public String lastArchivedSegment;
    public String lastArchivedAt;
    public long segmentsArchived;
}
