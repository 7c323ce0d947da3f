package io.dbaoperator.sql;

/** A possibly schema-qualified name as written; {@code schema} is null when unqualified. */
public record QualifiedName(String schema, String name) {

    /** As PostgreSQL would print it: each part quoted only where needed. */
    @Override
    public String toString() {
        return schema == null ? Identifiers.quoteIfNeeded(name)
                : Identifiers.quoteIfNeeded(schema) + "." + Identifiers.quoteIfNeeded(name);
    }

    /** Always quoted, for SQL the operator composes. */
    public String quoted() {
        return schema == null ? Identifiers.quote(name) : Identifiers.quote(schema) + "." + Identifiers.quote(name);
    }

    /** Parses "table" or "schema.table" (with quoted parts), as a user writes it in a spec field. */
    public static QualifiedName parse(String text) {
        var tokens = SqlLexer.tokenize(text);
        if (tokens.size() == 1 && tokens.get(0).isName()) {
            return new QualifiedName(null, tokens.get(0).text());
        }
        if (tokens.size() == 3 && tokens.get(0).isName() && tokens.get(1).isSymbol(".") && tokens.get(2).isName()) {
            return new QualifiedName(tokens.get(0).text(), tokens.get(2).text());
        }
        throw new SqlSyntaxException("not a table name: " + text, 0);
    }
}
