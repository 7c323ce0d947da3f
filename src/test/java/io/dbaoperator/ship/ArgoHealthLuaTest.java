package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.lib.jse.JsePlatform;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/** deploy/argocd/health.lua run as Argo CD runs it (the object as global {@code obj}), on objects as we write them. */
class ArgoHealthLuaTest {

    static final Path SCRIPT = Path.of("deploy/argocd/health.lua");
    static final ObjectMapper JSON = new ObjectMapper();

    static String[] health(String json) throws Exception {
        Globals globals = JsePlatform.standardGlobals();
        globals.set("obj", lua(JSON.readTree(json)));
        LuaValue hs = globals.load(Files.readString(SCRIPT), "health.lua").call();
        return new String[] {hs.get("status").tojstring(), hs.get("message").tojstring()};
    }

    static LuaValue lua(JsonNode n) {
        if (n.isObject()) {
            LuaTable t = new LuaTable();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext();) {
                var e = it.next();
                t.set(e.getKey(), lua(e.getValue()));
            }
            return t;
        }
        if (n.isArray()) {
            LuaTable t = new LuaTable();
            for (int i = 0; i < n.size(); i++) {
                t.set(i + 1, lua(n.get(i)));
            }
            return t;
        }
        if (n.isNumber()) {
            return LuaValue.valueOf(n.asDouble());
        }
        if (n.isBoolean()) {
            return LuaValue.valueOf(n.asBoolean());
        }
        return n.isNull() ? LuaValue.NIL : LuaValue.valueOf(n.asText());
    }

    static String object(String kind, String status) {
        return "{\"apiVersion\":\"dbaoperator.io/v1alpha1\",\"kind\":\"" + kind + "\",\"metadata\":{\"name\":\"x\","
                + "\"generation\":2}" + (status == null ? "" : ",\"status\":" + status) + "}";
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "DatabaseMigration | {\"phase\":\"Backfilling\",\"observedGeneration\":2,\"message\":\"backfill 42%\"} | Progressing | backfill 42%",
        "DatabaseMigration | {\"phase\":\"AwaitingCutover\",\"observedGeneration\":2,\"approvalRequest\":{\"step\":\"cutover\",\"command\":\"kubectl patch dbm x\"}} | Suspended | waiting for approval of step cutover: kubectl patch dbm x",
        "DatabaseMigration | {\"phase\":\"Completed\",\"observedGeneration\":2,\"message\":\"completed\"} | Healthy | completed",
        "DatabaseMigration | {\"phase\":\"Failed\",\"observedGeneration\":2,\"message\":\"expand#2 failed\"} | Degraded | Failed: expand#2 failed",
        "DatabaseMigration | {\"phase\":\"RolledBack\",\"observedGeneration\":2,\"message\":\"rolled back\"} | Degraded | RolledBack: rolled back",
        "DatabaseMigration | {\"phase\":\"Expanding\",\"observedGeneration\":2,\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"Paused\"}],\"message\":\"paused\"} | Suspended | paused",
        "DatabaseMigration | {\"phase\":\"Completed\",\"observedGeneration\":1} | Progressing | the operator has not seen generation 2 yet",
        "BackupPolicy | {\"phase\":\"Active\",\"observedGeneration\":2,\"message\":\"last backup ok\",\"conditions\":[{\"type\":\"LastBackupSucceeded\",\"status\":\"True\"},{\"type\":\"WalArchiving\",\"status\":\"True\"}]} | Healthy | last backup ok",
        "BackupPolicy | {\"phase\":\"Active\",\"observedGeneration\":2,\"conditions\":[{\"type\":\"LastBackupSucceeded\",\"status\":\"True\"},{\"type\":\"WalArchiving\",\"status\":\"False\",\"reason\":\"WalArchiverStale\",\"message\":\"no segment for 20m\"}]} | Degraded | WalArchiving: no segment for 20m",
        "BackupPolicy | {\"phase\":\"Suspended\",\"observedGeneration\":2,\"message\":\"suspended\"} | Suspended | suspended",
        "DisposalJob | {\"phase\":\"AwaitingApproval\",\"observedGeneration\":2,\"approvalRequest\":{\"step\":\"dispose\",\"command\":\"kubectl patch dsp x\"}} | Suspended | waiting for approval of step dispose: kubectl patch dsp x",
        "DisposalJob | {\"phase\":\"Scheduled\",\"observedGeneration\":2,\"message\":\"disposed of 500 rows\"} | Healthy | disposed of 500 rows",
        "BackupRestore | {\"phase\":\"Ready\",\"observedGeneration\":2,\"message\":\"serving\"} | Healthy | serving",
        "BackupRestore | {\"phase\":\"Waiting\",\"observedGeneration\":2,\"message\":\"staging: served\",\"conditions\":[{\"type\":\"StagingRefreshed\",\"status\":\"True\"}]} | Healthy | staging: served",
        "BackupRestore | {\"phase\":\"Waiting\",\"observedGeneration\":2,\"conditions\":[{\"type\":\"StagingRefreshed\",\"status\":\"False\",\"message\":\"refresh r3 failed\"}]} | Degraded | StagingRefreshed: refresh r3 failed",
        "QueryTuningRequest | {\"phase\":\"Rejected\",\"observedGeneration\":2,\"message\":\"no\"} | Degraded | Rejected: no",
    })
    void healthOf(String kind, String status, String expected, String message) throws Exception {
        String[] hs = health(object(kind, status));
        assertThat(hs[0]).isEqualTo(expected);
        assertThat(hs[1]).isEqualTo(message);
    }

    @Test
    void aNewObjectIsProgressing() throws Exception {
        assertThat(health(object("DisposalJob", null))[0]).isEqualTo("Progressing");
    }

    @Test
    void theArgocdCmPatchCarriesTheScriptForEveryKind() throws Exception {
        JsonNode cm = new ObjectMapper(new YAMLFactory()).readTree(Path.of("deploy/argocd/argocd-cm-patch.yaml")
                .toFile());
        String script = Files.readString(SCRIPT);
        for (String kind : new String[] {"DatabaseMigration", "BackupPolicy", "BackupRestore", "QueryTuningRequest",
            "DisposalJob", "DatabaseMaintenance"}) {
            assertThat(cm.path("data").path("resource.customizations.health.dbaoperator.io_" + kind).asText())
                    .as(kind).isEqualTo(script);
        }
    }
}
