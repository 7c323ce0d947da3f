package io.dbaoperator.tuning;

import dev.langchain4j.service.SystemMessage;
import dev.langchain4j.service.UserMessage;
import io.quarkiverse.langchain4j.RegisterAiService;

/**
 * The optional LLM advisor (quarkus-langchain4j: any OpenAI-compatible endpoint, Ollama included). It reads what
 * the analyzer read and may propose more indexes, one {@code CREATE INDEX} per line, and a short rationale. Its
 * proposals are parsed, checked against the catalog and costed exactly like the analyzer's; nothing is applied on
 * its word. Only called when {@code dba.advisor.enabled} is true. No chat memory: each question stands alone.
 */
@RegisterAiService(chatMemoryProviderSupplier = RegisterAiService.NoChatMemoryProviderSupplier.class)
@jakarta.enterprise.context.ApplicationScoped // called from reconciler threads, where no request scope is active
public interface IndexAdvisor {

    @SystemMessage("""
            You are a PostgreSQL performance engineer. Given a slow statement, its EXPLAIN plan findings, the
            columns of the tables involved and their existing indexes, propose at most three B-tree indexes that
            would make the statement cheaper. Answer with one line per index, exactly of the form
            CREATE INDEX ON schema.table (column, column);
            using only the columns given, then one line starting with "Rationale:" in at most two sentences.
            Propose nothing if no index can help.""")
    @UserMessage("""
            Statement: {statement}
            Plan findings: {findings}
            Tables: {tables}""")
    String advise(String statement, String findings, String tables);
}
