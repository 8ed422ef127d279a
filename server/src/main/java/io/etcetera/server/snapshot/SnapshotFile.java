package io.etcetera.server.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * The file {@code etcdctl snapshot save} writes, from etcd or from Etcetera: etcd's backend
 * database (a bbolt file of 4 KiB pages, see {@link io.etcetera.mvcc.snapshot.EtcdDbExport})
 * followed by the SHA-256 of those bytes. etcd's tools tell the two parts apart by the size: a
 * file whose size modulo 512 is 32 carries the hash. Immutable helpers; no state.
 */
public final class SnapshotFile {
  static final int ALIGN = 512;
  static final int SHA256_BYTES = 32;

  private SnapshotFile() {}

  /**
   * Checks the SHA-256 at the end of {@code snapshot} (as etcdctl's restore does) and returns the
   * length of the database before it. A file without a hash is refused unless {@code
   * skipHashCheck}, with etcdctl's words.
   */
  public static long checkHash(Path snapshot, boolean skipHashCheck) throws IOException {
    long size = Files.size(snapshot);
    boolean hasHash = size % ALIGN == SHA256_BYTES;
    if (!hasHash) {
      if (!skipHashCheck) {
        throw new IOException("snapshot missing hash but --skip-hash-check=false");
      }
      return size;
    }
    long db = size - SHA256_BYTES;
    if (skipHashCheck) {
      return db;
    }
    MessageDigest sha = sha256();
    byte[] expected;
    try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(snapshot), 1 << 16)) {
      byte[] buf = new byte[1 << 16];
      long left = db;
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          throw new IOException("snapshot file " + snapshot + " is cut short");
        }
        sha.update(buf, 0, n);
        left -= n;
      }
      expected = in.readNBytes(SHA256_BYTES);
    }
    byte[] actual = sha.digest();
    if (!Arrays.equals(expected, actual)) {
      throw new IOException("snapshot file " + snapshot + " does not match its SHA-256 (expected " + hex(expected)
          + ", got " + hex(actual) + ")");
    }
    return db;
  }

  private static String hex(byte[] b) {
    return java.util.HexFormat.of().formatHex(b);
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Deletes {@code dir} (or a file) and everything under it, if present. */
  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
