package io.dbaoperator.sql;

import java.util.Optional;

/** What the planner may ask of the live database about the objects a migration touches. */
public interface Catalog {

    boolean tableExists(QualifiedName table);

    /** The column's type as format_type prints it, if the column exists. */
    Optional<String> columnType(QualifiedName table, String column);

    /** Whether the application uses the table: it holds rows or has been scanned since statistics were reset. */
    boolean tableInUse(QualifiedName table);

    /** Whether an index of that name exists (and is valid and unique when {@code unique}). */
    boolean indexExists(String name, boolean unique);

    /** Whether a validated CHECK (column IS NOT NULL) exists, which lets SET NOT NULL skip its full scan. */
    boolean hasNotNullCheck(QualifiedName table, String column);

    /** A catalog of an empty database: nothing exists. */
    Catalog EMPTY = new Catalog() {
        @Override
        public boolean tableExists(QualifiedName table) {
            return false;
        }

        @Override
        public Optional<String> columnType(QualifiedName table, String column) {
            return Optional.empty();
        }

        @Override
        public boolean tableInUse(QualifiedName table) {
            return false;
        }

        @Override
        public boolean indexExists(String name, boolean unique) {
            return false;
        }

        @Override
        public boolean hasNotNullCheck(QualifiedName table, String column) {
            return false;
        }
    };
}
