package io.dbaoperator.status;

/** Test access to the patcher's serialization. */
public final class StatusPatcherTestSupport {

    private StatusPatcherTestSupport() {
    }

    public static String json(Object status) {
        return StatusPatcher.MAPPER.valueToTree(status).toString();
    }
}
