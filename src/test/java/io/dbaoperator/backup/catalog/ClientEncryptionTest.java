package io.dbaoperator.backup.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;

/**
 * The stored format of client-side encryption: round trips of every size around the chunk boundaries; any change,
 * a cut at a chunk boundary, chunks swapped between objects, a different key under the same id, or a key no longer
 * in the Secret is refused with a reason; no message holds key material; old keys keep old objects readable.
 */
class ClientEncryptionTest {

    static final String K1 = key(1);
    static final String K2 = key(2);

    static String key(int seed) {
        byte[] k = new byte[32];
        new Random(seed).nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    static ClientEncryption.Keyring ring(String current, Map<String, String> keys) {
        return ClientEncryption.Keyring.of("backup-keys", current, keys);
    }

    static byte[] plain(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    static byte[] decrypt(ClientEncryption.Keyring ring, byte[] stored) throws IOException {
        return ring.decrypt(new ByteArrayInputStream(stored), "base/x/base.tar").readAllBytes();
    }

    @Test
    void everySizeRoundTripsAndTheCiphertextShowsNothingOfThePlaintext() throws IOException {
        ClientEncryption.Keyring ring = ring("k1", Map.of("k1", K1));
        int c = ClientEncryption.CHUNK;
        for (int size : new int[] {0, 1, 15, 16, c - 1, c, c + 1, 2 * c, 2 * c + 17}) {
            byte[] p = plain(size);
            byte[] stored = ring.encrypt(new ByteArrayInputStream(p)).readAllBytes();
            assertThat(ClientEncryption.isEncrypted(stored)).isTrue();
            int chunks = Math.max(1, (size + c - 1) / c);
            assertThat(stored.length).as("size %d", size).isEqualTo(22 + chunks * 16 + size);
            assertThat(decrypt(ring, stored)).as("size %d", size).isEqualTo(p);
        }
        byte[] text = "INSERT INTO customers VALUES ('alice@example.com')".repeat(100).getBytes();
        String stored = new String(ring.encrypt(text), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(stored).doesNotContain("alice@example.com").doesNotContain("INSERT");
        assertThat(ring.encrypt(text)).as("a fresh nonce every time").isNotEqualTo(ring.encrypt(text));
    }

    @Test
    void aChangedByteACutAtAChunkBoundaryOrASwappedChunkIsRefused() throws IOException {
        ClientEncryption.Keyring ring = ring("k1", Map.of("k1", K1));
        byte[] p = plain(3 * ClientEncryption.CHUNK);
        byte[] stored = ring.encrypt(p);
        int chunkOnDisk = ClientEncryption.CHUNK + 16;

        byte[] flipped = stored.clone();
        flipped[22 + chunkOnDisk + 5] ^= 1;
        assertThatThrownBy(() -> decrypt(ring, flipped)).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.BackupCorrupted);
            assertThat(e.problem().message()).contains("fails authentication at chunk 1");
        });
        byte[] cut = Arrays.copyOf(stored, 22 + 2 * chunkOnDisk); // whole chunks, the last one missing
        assertThatThrownBy(() -> decrypt(ring, cut)).isInstanceOfSatisfying(ProblemException.class,
                e -> assertThat(e.problem().message()).contains("chunk 1", "cut short"));
        byte[] other = ring.encrypt(p);
        byte[] swapped = stored.clone();
        System.arraycopy(other, 22 + chunkOnDisk, swapped, 22 + chunkOnDisk, chunkOnDisk);
        assertThatThrownBy(() -> decrypt(ring, swapped)).isInstanceOf(ProblemException.class);
        assertThatThrownBy(() -> decrypt(ring, plain(100))).isInstanceOfSatisfying(ProblemException.class,
                e -> assertThat(e.problem().message()).contains("not an encrypted object"));
    }

    @Test
    void afterARotationOldObjectsReadWhileTheirKeyIsKeptAndAMissingOrWrongKeyIsSaidWithoutTheKey()
            throws IOException {
        byte[] p = plain(5000);
        byte[] old = ring("k1", Map.of("k1", K1)).encrypt(p);
        ClientEncryption.Keyring rotated = ring("k2", Map.of("k1", K1, "k2", K2));
        byte[] fresh = rotated.encrypt(p);
        assertThat(decrypt(rotated, old)).isEqualTo(p);
        assertThat(decrypt(rotated, fresh)).isEqualTo(p);

        ClientEncryption.Keyring onlyNew = ring("k2", Map.of("k2", K2));
        assertThatThrownBy(() -> decrypt(onlyNew, old)).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.EncryptionKeyMissing);
            assertThat(e.problem().message()).contains("encrypted with key k1", "no longer holds (it holds [k2])",
                    "nothing was deleted").doesNotContain(K1).doesNotContain(K2);
        });
        ClientEncryption.Keyring impostor = ring("k1", Map.of("k1", K2));
        assertThatThrownBy(() -> decrypt(impostor, old)).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.EncryptionKeyMismatch);
            assertThat(e.problem().message()).contains("does not decrypt with key k1 of Secret backup-keys")
                    .doesNotContain(K2);
        });
    }

    @Test
    void aKeyThatIsNotA256BitKeyOrACurrentKeyNotInTheSecretIsRefusedByItsId() {
        assertThatThrownBy(() -> ring("k1", Map.of("k1", "not base64!"))).isInstanceOfSatisfying(
                ProblemException.class, e -> assertThat(e.problem().message()).contains("key k1", "not base64")
                        .doesNotContain("not base64!"));
        String short16 = Base64.getEncoder().encodeToString(new byte[16]);
        assertThatThrownBy(() -> ring("k1", Map.of("k1", short16))).isInstanceOfSatisfying(ProblemException.class,
                e -> assertThat(e.problem().message()).contains("holds 16 bytes, not 32").doesNotContain(short16));
        assertThatThrownBy(() -> ring("k3", Map.of("k1", K1))).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.EncryptionKeyMissing);
            assertThat(e.problem().message()).contains("has no key k3", "it holds [k1]");
        });
    }
}
