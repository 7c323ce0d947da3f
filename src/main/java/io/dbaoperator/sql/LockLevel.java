package io.dbaoperator.sql;

/** PostgreSQL's table-level lock modes, weakest first (explicit locking, 13.3.1). */
public enum LockLevel {
    NONE("none"),
    ACCESS_SHARE("ACCESS SHARE"),
    ROW_SHARE("ROW SHARE"),
    ROW_EXCLUSIVE("ROW EXCLUSIVE"),
    SHARE_UPDATE_EXCLUSIVE("SHARE UPDATE EXCLUSIVE"),
    SHARE("SHARE"),
    SHARE_ROW_EXCLUSIVE("SHARE ROW EXCLUSIVE"),
    EXCLUSIVE("EXCLUSIVE"),
    ACCESS_EXCLUSIVE("ACCESS EXCLUSIVE");

    private final String sqlName;

    LockLevel(String sqlName) {
        this.sqlName = sqlName;
    }

    public String sqlName() {
        return sqlName;
    }

    /** Whether plain SELECTs wait behind it. */
    public boolean blocksReads() {
        return this == ACCESS_EXCLUSIVE;
    }

    /** Whether INSERT/UPDATE/DELETE wait behind it. */
    public boolean blocksWrites() {
        return compareTo(SHARE) >= 0;
    }

    public LockLevel max(LockLevel other) {
        return compareTo(other) >= 0 ? this : other;
    }
}
