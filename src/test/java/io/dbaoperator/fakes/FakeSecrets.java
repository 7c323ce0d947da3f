package io.dbaoperator.fakes;

import java.util.HashMap;
import java.util.Map;

import io.dbaoperator.kube.SecretReader;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

/** Secrets a test puts here, read as the real reader reads them; any other is missing, with the real reason. */
public final class FakeSecrets extends SecretReader {

    private final Map<String, Map<String, String>> secrets = new HashMap<>();

    public FakeSecrets() {
        super(null);
    }

    public FakeSecrets secret(String name, Map<String, String> data) {
        secrets.put(name, Map.copyOf(data));
        return this;
    }

    @Override
    public Map<String, String> read(String namespace, String name, String usedFor) {
        Map<String, String> data = secrets.get(name);
        if (data == null) {
            throw Problem.invalid(Reason.SecretNotFound, "Secret " + name + " (" + usedFor + ") does not exist in "
                    + "namespace " + namespace).exception();
        }
        return data;
    }
}
