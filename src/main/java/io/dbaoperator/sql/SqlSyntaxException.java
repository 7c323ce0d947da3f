package io.dbaoperator.sql;

/** SQL that cannot be read, with the 0-based offset in the script where reading stopped. */
public class SqlSyntaxException extends RuntimeException {

    private final int position;

    public SqlSyntaxException(String message, int position) {
        super(message);
        this.position = position;
    }

    /** 0-based character offset in the script. */
    public int position() {
        return position;
    }
}
