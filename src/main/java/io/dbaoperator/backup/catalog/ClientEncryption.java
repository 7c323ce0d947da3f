package io.dbaoperator.backup.catalog;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

/**
 * Client-side encryption of what the agent stores: AES-256-GCM over a stream, in 64 KiB chunks, so a backup of any size is
 * encrypted while it streams (nothing on local disk, memory bounded by one chunk) and read back the same way.
 * <p>
 * The stored object: a header, then the chunks. The header is {@code DBAENC} and a version byte, the key id (one
 * length byte, UTF-8), an 8-byte random nonce prefix and the chunk size (4 bytes). Chunk {@code i} is the
 * encryption of up to chunk-size plaintext bytes with its 16-byte tag, under the nonce {@code prefix || i} (12
 * bytes: unique per key for 2^64 objects of 2^32 chunks), authenticating the header, {@code i} and whether it is the
 * last chunk. So every bit is authenticated, chunks cannot be reordered or swapped between objects, and an object cut
 * short at a chunk boundary fails (its new last chunk was not written as the last one): the STREAM construction of
 * Hoang, Reyhanitabar, Rogaway and Vizár. A plaintext that is empty is one empty last chunk.
 * <p>
 * Keys come from a Secret ({@link Keyring}): each data key is a key id, each value a 256-bit key in base64; the id
 * in the header says which key decrypts the object, so after a rotation old backups stay readable while their key
 * is still in the Secret. No message here ever holds key material.
 */
public final class ClientEncryption {

    public static final String ALGORITHM = "AES-256-GCM";
    /**
     * Plaintext bytes per chunk. 64 KiB, not more: HotSpot compiles the GCM loop by invocation count, and 1 MiB
     * chunks ran at 70-220 MB/s on the bench machine where 64 KiB ran at 1.4 GB/s (JDK 17, AES-NI); the tag costs
     * 16 bytes per chunk (0.02%), and 2^32 chunks still allow 256 TiB per object.
     */
    public static final int CHUNK = 64 << 10;
    static final byte[] MAGIC = "DBAENC".getBytes(StandardCharsets.US_ASCII);
    static final byte VERSION = 1;
    private static final int TAG_BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private ClientEncryption() {
    }

    /**
     * The keys of one policy: the Secret's name (for messages), the id new objects are encrypted with, and every key
     * the Secret holds (old ones decrypt older backups).
     */
    public record Keyring(String secret, String current, Map<String, SecretKey> keys) {

        public Keyring {
            keys = Map.copyOf(keys);
        }

        /**
         * From the Secret's data as the agent's environment or the API gives it (base64 of 32 random bytes, e.g.
         * {@code openssl rand -base64 32}); a value that is not such a key is refused by its id, never shown.
         */
        public static Keyring of(String secret, String current, Map<String, String> base64Keys) {
            Map<String, SecretKey> keys = new TreeMap<>();
            base64Keys.forEach((id, value) -> {
                byte[] raw;
                try {
                    raw = Base64.getDecoder().decode(value.strip());
                } catch (IllegalArgumentException e) {
                    throw Problem.invalid(Reason.EncryptionKeyInvalid, "key " + id + " in Secret " + secret + " is not "
                            + "base64; a key is 32 random bytes in base64 (openssl rand -base64 32)").exception();
                }
                if (raw.length != 32) {
                    throw Problem.invalid(Reason.EncryptionKeyInvalid, "key " + id + " in Secret " + secret + " holds "
                            + raw.length + " bytes, not 32 (AES-256); make one with openssl rand -base64 32")
                            .exception();
                }
                keys.put(id, new SecretKeySpec(raw, "AES"));
                Arrays.fill(raw, (byte) 0);
            });
            if (current != null && !keys.containsKey(current)) {
                throw Problem.invalid(Reason.EncryptionKeyMissing, "Secret " + secret + " has no key " + current
                        + " (the policy's spec.encryption.keyId); it holds " + keys.keySet()).exception();
            }
            return new Keyring(secret, current, keys);
        }

        /** The ciphertext of {@code plain}, under the current key, as a stream. */
        public InputStream encrypt(InputStream plain) {
            return new Encrypting(plain, current, keys.get(current));
        }

        /** The plaintext of a stored object ({@code object} names it in messages), with the key its header names. */
        public InputStream decrypt(InputStream stored, String object) throws IOException {
            Header header = Header.read(stored, object);
            SecretKey key = keys.get(header.keyId());
            if (key == null) {
                throw Problem.invalid(Reason.EncryptionKeyMissing, object + " was encrypted with key "
                        + header.keyId() + ", which Secret " + secret + " no longer holds (it holds " + keys.keySet()
                        + "): put that key back to read what was stored with it; nothing was deleted").exception();
            }
            return new Decrypting(stored, header, key, object, secret);
        }

        /** Encrypts bytes whole (a WAL segment). */
        public byte[] encrypt(byte[] plain) throws IOException {
            return encrypt(new java.io.ByteArrayInputStream(plain)).readAllBytes();
        }
    }

    /** Whether stored bytes begin like an encrypted object. */
    public static boolean isEncrypted(byte[] start) {
        return start.length >= MAGIC.length && Arrays.equals(Arrays.copyOf(start, MAGIC.length), MAGIC);
    }

    record Header(String keyId, byte[] noncePrefix, int chunk, byte[] bytes) {

        static Header create(String keyId) {
            byte[] prefix = new byte[8];
            RANDOM.nextBytes(prefix);
            byte[] id = keyId.getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (DataOutputStream d = new DataOutputStream(out)) {
                d.write(MAGIC);
                d.writeByte(VERSION);
                d.writeByte(id.length);
                d.write(id);
                d.write(prefix);
                d.writeInt(CHUNK);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return new Header(keyId, prefix, CHUNK, out.toByteArray());
        }

        static Header read(InputStream in, String object) throws IOException {
            byte[] fixed = in.readNBytes(MAGIC.length + 2);
            if (fixed.length < MAGIC.length + 2 || !isEncrypted(fixed)) {
                throw Problem.invalid(Reason.BackupCorrupted, object + " is not an encrypted object (no DBAENC "
                        + "header): stored without encryption, or damaged").exception();
            }
            if (fixed[MAGIC.length] != VERSION) {
                throw Problem.invalid(Reason.BackupCorrupted, object + " has encryption format version "
                        + fixed[MAGIC.length] + ", which this agent does not read").exception();
            }
            int idLength = fixed[MAGIC.length + 1] & 0xff;
            byte[] rest = in.readNBytes(idLength + 8 + 4);
            if (rest.length < idLength + 12) {
                throw Problem.invalid(Reason.BackupCorrupted, object + " ends inside its encryption header")
                        .exception();
            }
            ByteBuffer b = ByteBuffer.wrap(rest);
            byte[] id = new byte[idLength];
            b.get(id);
            byte[] prefix = new byte[8];
            b.get(prefix);
            int chunk = b.getInt();
            if (chunk <= 0 || chunk > 64 << 20) {
                throw Problem.invalid(Reason.BackupCorrupted, object + "'s encryption header is damaged (chunk size "
                        + chunk + ")").exception();
            }
            byte[] all = new byte[fixed.length + rest.length];
            System.arraycopy(fixed, 0, all, 0, fixed.length);
            System.arraycopy(rest, 0, all, fixed.length, rest.length);
            return new Header(new String(id, StandardCharsets.UTF_8), prefix, chunk, all);
        }

        byte[] nonce(long index) {
            if (index > 0xffffffffL) {
                throw new IllegalStateException("more than 2^32 chunks in one object");
            }
            return ByteBuffer.allocate(12).put(noncePrefix).putInt((int) index).array();
        }

        byte[] aad(long index, boolean last) {
            return ByteBuffer.allocate(bytes.length + 9).put(bytes).putLong(index).put((byte) (last ? 1 : 0)).array();
        }
    }

    private static Cipher cipher(int mode, SecretKey key, Header h, long index, boolean last) {
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(mode, key, new GCMParameterSpec(TAG_BYTES * 8, h.nonce(index)));
            c.updateAAD(h.aad(index, last));
            return c;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    /** A stream served one transformed chunk at a time: {@link #fill} makes the next chunk when one is used up. */
    private abstract static class Chunked extends InputStream {
        private final InputStream source;
        /** The chunk being served, and how far. */
        byte[] out = new byte[0];
        int pos;

        Chunked(InputStream source) {
            this.source = source;
        }

        /** Makes {@link #out} hold bytes not yet served; false at the end. */
        abstract boolean fill() throws IOException;

        @Override
        public int read() throws IOException {
            if (!fill()) {
                return -1;
            }
            return out[pos++] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, out.length - pos);
            System.arraycopy(out, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() throws IOException {
            source.close();
        }
    }

    /** Ciphertext as a stream: the header, then each chunk once its plaintext (and whether more follows) is read. */
    private static final class Encrypting extends Chunked {
        private final InputStream plain;
        private final SecretKey key;
        private final Header header;
        private long index;
        private boolean done;
        /** One byte read ahead of the chunk: whether the chunk is the last. */
        private int ahead = -2;

        Encrypting(InputStream plain, String keyId, SecretKey key) {
            super(plain);
            this.plain = plain;
            this.key = key;
            this.header = Header.create(keyId);
            this.out = header.bytes();
        }

        @Override
        boolean fill() throws IOException {
            while (pos >= out.length) {
                if (done) {
                    return false;
                }
                byte[] chunk = new byte[header.chunk()];
                int n = 0;
                if (ahead >= 0) {
                    chunk[n++] = (byte) ahead;
                }
                n += plain.readNBytes(chunk, n, chunk.length - n);
                ahead = n == chunk.length ? plain.read() : -1;
                boolean last = ahead < 0;
                try {
                    out = cipher(Cipher.ENCRYPT_MODE, key, header, index++, last).doFinal(chunk, 0, n);
                } catch (GeneralSecurityException e) {
                    throw new IOException("encryption failed: " + e.getClass().getSimpleName());
                }
                pos = 0;
                done = last;
            }
            return true;
        }

    }

    /** Plaintext as a stream: each chunk authenticated before any of its bytes is given out. */
    private static final class Decrypting extends Chunked {
        private final InputStream stored;
        private final Header header;
        private final SecretKey key;
        private final String object;
        private final String secret;
        private long index;
        private boolean done;
        private int ahead = -2;

        Decrypting(InputStream stored, Header header, SecretKey key, String object, String secret) {
            super(stored);
            this.stored = stored;
            this.header = header;
            this.key = key;
            this.object = object;
            this.secret = secret;
        }

        @Override
        boolean fill() throws IOException {
            while (pos >= out.length) {
                if (done) {
                    return false;
                }
                byte[] chunk = new byte[header.chunk() + TAG_BYTES];
                int n = 0;
                if (ahead >= 0) {
                    chunk[n++] = (byte) ahead;
                }
                n += stored.readNBytes(chunk, n, chunk.length - n);
                ahead = n == chunk.length ? stored.read() : -1;
                boolean last = ahead < 0;
                if (n < TAG_BYTES) {
                    throw Problem.invalid(Reason.BackupCorrupted, object + " is cut short (chunk " + index
                            + " has no tag): the stored object is damaged").exception();
                }
                try {
                    out = cipher(Cipher.DECRYPT_MODE, key, header, index, last).doFinal(chunk, 0, n);
                } catch (AEADBadTagException e) {
                    throw Problem.invalid(index == 0 ? Reason.EncryptionKeyMismatch : Reason.BackupCorrupted, index == 0
                            ? object + " does not decrypt with key " + header.keyId() + " of Secret " + secret
                                    + " (a different key under the same id, or a damaged object); nothing was deleted"
                            : object + " fails authentication at chunk " + index + (last ? " (cut short, or "
                                    + "damaged)" : " (damaged)") + ": the stored object was changed").exception();
                } catch (GeneralSecurityException e) {
                    throw new IOException("decryption failed: " + e.getClass().getSimpleName());
                }
                index++;
                pos = 0;
                done = last;
            }
            return true;
        }

    }
}
