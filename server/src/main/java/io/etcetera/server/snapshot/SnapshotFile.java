package io.etcetera.server.snapshot;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * The file {@code etcdctl snapshot save} writes from an Etcetera member: the files of a RocksDB
 * checkpoint of the member's store, one after the other, each as a header (name length, name,
 * size) and its bytes; a zero name length ends the list; zeros pad it to a multiple of 512 bytes;
 * and the SHA-256 of everything before it closes it. That last shape is what etcdctl checks before
 * it keeps the file (an etcd snapshot is a bbolt file of 4 KiB pages plus its SHA-256: size modulo
 * 512 is 32). The layout starts with {@link #MAGIC}. Immutable helpers; no state.
 */
public final class SnapshotFile {

  /** The first bytes of every snapshot file. */
  static final byte[] MAGIC = "ETCETERA-SNAPSHOT-1\n".getBytes(StandardCharsets.US_ASCII);
  static final int ALIGN = 512;
  static final int SHA256_BYTES = 32;

  private SnapshotFile() {}

  /** One checkpoint file and the header that precedes it in the snapshot. */
  record Entry(Path file, String name, long size) {
    byte[] header() {
      byte[] n = name.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(2 + n.length + 8).putShort((short) n.length).put(n).putLong(size).array();
    }
  }

  /** The files of {@code checkpoint} in name order, with their sizes. */
  static List<Entry> entries(Path checkpoint) throws IOException {
    List<Entry> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(checkpoint)) {
      for (Path f : files.sorted().toList()) {
        if (Files.isRegularFile(f)) {
          out.add(new Entry(f, f.getFileName().toString(), Files.size(f)));
        }
      }
    }
    return out;
  }

  /** Bytes before the padding: magic, every header and file, the end marker. */
  static long contentBytes(List<Entry> entries) {
    long n = MAGIC.length + 2;
    for (Entry e : entries) {
      n += e.header().length + e.size();
    }
    return n;
  }

  static int padding(long contentBytes) {
    return (int) ((ALIGN - contentBytes % ALIGN) % ALIGN);
  }

  /** The snapshot's bytes before the hash: magic, headers and files, end marker, padding. Files open one at a time. */
  static InputStream content(List<Entry> entries) {
    long padding = padding(contentBytes(entries));
    List<java.util.function.Supplier<InputStream>> parts = new ArrayList<>();
    parts.add(() -> new java.io.ByteArrayInputStream(MAGIC));
    for (Entry e : entries) {
      parts.add(() -> new java.io.ByteArrayInputStream(e.header()));
      parts.add(() -> {
        try {
          return Files.newInputStream(e.file());
        } catch (IOException io) {
          throw new java.io.UncheckedIOException(io);
        }
      });
    }
    parts.add(() -> new java.io.ByteArrayInputStream(new byte[2 + (int) padding]));
    java.util.Iterator<java.util.function.Supplier<InputStream>> it = parts.iterator();
    return new SequenceInputStream(new java.util.Enumeration<InputStream>() {
      @Override
      public boolean hasMoreElements() {
        return it.hasNext();
      }

      @Override
      public InputStream nextElement() {
        return it.next().get();
      }
    });
  }

  /** What {@code snapshot status} prints: the files and their total size, checked against the hash. */
  public record Status(List<String> files, long bytes, String sha256) {}

  /**
   * Unpacks {@code snapshot} into the new directory {@code target} (a RocksDB database), after
   * checking its SHA-256 unless {@code skipHashCheck}. A file cut short or not made by Etcetera
   * fails with a clear message and leaves no directory behind.
   */
  public static Status unpack(Path snapshot, Path target, boolean skipHashCheck) throws IOException {
    if (Files.exists(target)) {
      throw new IOException("data-dir \"" + target + "\" exists");
    }
    Path partial = target.resolveSibling(target.getFileName() + ".part");
    deleteTree(partial);
    Files.createDirectories(partial);
    try {
      Status status = read(snapshot, partial, skipHashCheck);
      Files.move(partial, target);
      return status;
    } finally {
      deleteTree(partial);
    }
  }

  /** Checks {@code snapshot} (its layout and SHA-256) without writing anything. */
  public static Status status(Path snapshot) throws IOException {
    return read(snapshot, null, false);
  }

  private static Status read(Path snapshot, Path into, boolean skipHashCheck) throws IOException {
    long total = Files.size(snapshot);
    if (total % ALIGN != SHA256_BYTES) {
      throw new IOException("snapshot file " + snapshot + " has no SHA-256 at its end (" + total + " bytes)");
    }
    MessageDigest sha = sha256();
    List<String> names = new ArrayList<>();
    long bytes = 0;
    try (InputStream raw = Files.newInputStream(snapshot);
        DigestInputStream digesting = new DigestInputStream(new java.io.BufferedInputStream(raw, 1 << 16), sha);
        DataInputStream in = new DataInputStream(digesting)) {
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!Arrays.equals(magic, MAGIC)) {
        throw new IOException("snapshot file " + snapshot + " was not written by Etcetera (an etcd bbolt snapshot"
            + " must be restored with etcd's tools)");
      }
      long read = MAGIC.length;
      while (true) {
        int nameLength = in.readUnsignedShort();
        read += 2;
        if (nameLength == 0) {
          break;
        }
        byte[] name = new byte[nameLength];
        in.readFully(name);
        long size = in.readLong();
        read += nameLength + 8 + size;
        String fileName = new String(name, StandardCharsets.UTF_8);
        if (fileName.contains("/") || fileName.contains("\\") || fileName.equals("..") || fileName.equals(".")
            || size < 0 || read > total - SHA256_BYTES) {
          throw new IOException("snapshot file " + snapshot + " is damaged (entry " + fileName + ")");
        }
        copy(in, size, into == null ? null : into.resolve(fileName));
        names.add(fileName);
        bytes += size;
      }
      long pad = total - SHA256_BYTES - read;
      if (pad < 0 || pad >= ALIGN) {
        throw new IOException("snapshot file " + snapshot + " is damaged (bad length)");
      }
      in.readFully(new byte[(int) pad]); // read, not skipped: skipping would bypass the digest
      digesting.on(false);
      byte[] expected = new byte[SHA256_BYTES];
      in.readFully(expected);
      byte[] actual = sha.digest();
      if (!skipHashCheck && !Arrays.equals(expected, actual)) {
        throw new IOException("snapshot file " + snapshot + " does not match its SHA-256 (damaged?)");
      }
      return new Status(names, bytes, java.util.HexFormat.of().formatHex(actual));
    } catch (EOFException e) {
      throw new IOException("snapshot file " + snapshot + " is cut short", e);
    }
  }

  private static void copy(InputStream in, long size, Path out) throws IOException {
    byte[] buf = new byte[1 << 16];
    try (java.io.OutputStream o = out == null ? java.io.OutputStream.nullOutputStream() : Files.newOutputStream(out)) {
      long left = size;
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          throw new EOFException();
        }
        o.write(buf, 0, n);
        left -= n;
      }
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Deletes {@code dir} and everything under it, if present. */
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
