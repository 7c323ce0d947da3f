package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The LLM advisor against a local OpenAI-compatible stub: what it proposes is parsed, checked against the plan's
 * tables and columns (an expression index and an unknown table are dropped), costed with HypoPG like any other
 * candidate, and only recommended: nothing is applied on its word.
 */
@OperatorTier
@QuarkusTest
@TestProfile(LlmAdvisorTest.WithAdvisor.class)
@QuarkusTestResource(OperatorHarness.class)
class LlmAdvisorTest {

    static final String NS = "advisor";
    static final List<String> PROMPTS = new CopyOnWriteArrayList<>();
    static final HttpServer STUB = stub();

    /** An OpenAI-compatible chat endpoint that always gives the same advice. */
    static HttpServer stub() {
        try {
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            s.createContext("/v1/chat/completions", ex -> {
                PROMPTS.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                String advice = "CREATE INDEX ON public.llm_orders (status, total);\\n"
                        + "CREATE INDEX ON public.llm_orders ((lower(status)));\\n"
                        + "CREATE INDEX ON public.no_such_table (x);\\n"
                        + "Rationale: status and total together select a handful of rows.";
                byte[] body = ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"stub\","
                        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + advice
                        + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":10,"
                        + "\"total_tokens\":20}}").getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            });
            s.start();
            return s;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static class WithAdvisor implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("dba.advisor.enabled", "true",
                    "quarkus.langchain4j.openai.base-url", "http://127.0.0.1:" + STUB.getAddress().getPort() + "/v1",
                    "quarkus.langchain4j.openai.api-key", "stub-key");
        }
    }

    @AfterAll
    static void stop() {
        STUB.stop(0);
        TestPostgres.get().exec("postgres", "drop database if exists llm_prod with (force)");
    }

    @Test
    void theAdvisorsProposalsAreCheckedAndCostedLikeAnyOther() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("llm_prod", "llm", "llm-pw");
        pg.exec("llm_prod", "create extension if not exists hypopg", "drop table if exists llm_orders",
                "create table llm_orders (id bigint primary key, status text not null, total int not null)",
                "alter table llm_orders owner to llm",
                "insert into llm_orders select g, 's' || (g % 50), g % 1000 from generate_series(1, 100000) g",
                "analyze llm_orders");
        var client = TestKubernetes.get().namespace(NS);
        Fixtures.secret(client, NS, "llm-db", Fixtures.dbKeys("llm_prod", "llm", "llm-pw"));
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName("advised");
        q.getMetadata().setNamespace(NS);
        q.setSpec(new QueryTuningRequestSpec());
        q.getSpec().database = Fixtures.db("llm-db");
        q.getSpec().query = "select id from llm_orders where total = $1 and status = $2";
        q.getSpec().parameters = List.of("7", "s7");
        q.getSpec().apply.policy = QueryTuningRequestSpec.Apply.Policy.AfterApproval;
        client.resource(q).create();

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(get(QueryTuningRequest.class, NS,
                "advised").getStatus().phase).isEqualTo(TuningPhase.AwaitingApproval));
        var st = get(QueryTuningRequest.class, NS, "advised").getStatus();
        assertThat(PROMPTS).anySatisfy(p -> assertThat(p).contains("llm_orders").contains("total = $1"));
        assertThat(st.advisorRationale).startsWith("status and total together select a handful of rows.")
                .contains("2 proposal(s) dropped");
        assertThat(st.recommendations).anySatisfy(r -> {
            assertThat(r.rationale).startsWith("proposed by the LLM advisor");
            assertThat(r.ddl).contains("(\"status\", \"total\")");
            assertThat(r.improvementPercent).isGreaterThan(30);
        });
        assertThat(st.recommendations).anySatisfy(r -> assertThat(r.rationale).startsWith("filter:"));
        // awaiting a person: nothing was created on the advisor's word
        try (var c = pg.superuser("llm_prod"); var rs = c.createStatement().executeQuery(
                "select count(*) from pg_indexes where tablename = 'llm_orders' and indexname like 'dba_%'")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }
}
