/**
 * The contract between the operator and its agent (the code inside backup, restore and WAL-archiver pods): the
 * environment variable names and how Secrets reach the agent ({@link io.dbaoperator.contract.AgentEnvironment}),
 * each command's arguments as a record that renders and parses itself, and the failure line
 * ({@link io.dbaoperator.contract.AgentFailure}). Both sides import it; it imports neither. The records the agent
 * writes to object storage, which the operator reads, are in {@code io.dbaoperator.backup.catalog}.
 */
package io.dbaoperator.contract;
