package io.etcetera.mvcc.bolt;

import static io.etcetera.mvcc.bolt.BoltPages.BUCKET_HEADER_SIZE;
import static io.etcetera.mvcc.bolt.BoltPages.ELEMENT_SIZE;
import static io.etcetera.mvcc.bolt.BoltPages.FLAG_BRANCH;
import static io.etcetera.mvcc.bolt.BoltPages.FLAG_BUCKET;
import static io.etcetera.mvcc.bolt.BoltPages.FLAG_FREELIST;
import static io.etcetera.mvcc.bolt.BoltPages.FLAG_LEAF;
import static io.etcetera.mvcc.bolt.BoltPages.MAX_ELEMENTS;
import static io.etcetera.mvcc.bolt.BoltPages.MAX_KEY_SIZE;
import static io.etcetera.mvcc.bolt.BoltPages.MAX_VALUE_SIZE;
import static io.etcetera.mvcc.bolt.BoltPages.PAGE_HEADER_SIZE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes a new bbolt file, streaming: top-level buckets in strictly increasing (unsigned bytewise)
 * name order, each with rows in strictly increasing key order.
 *
 * <p>Leaf pages are written as rows arrive; per tree level only the branch page being filled (first
 * keys and page ids of finished child pages) stays in memory, so memory use does not grow with the
 * number of rows. Page ids are allocated sequentially from 2 (0 and 1 are the meta pages); every
 * bucket is a regular (non-inline) bucket with sequence 0, an empty bucket is an empty leaf page, a
 * row too big for one page gets a page with overflow pages. {@link #finish()} writes the root bucket,
 * an empty freelist page and both meta pages (page 0 with txid 0, page 1 with txid 1, same content),
 * so every page below the high-water mark is reachable, as bbolt's {@code tx.Check} requires.
 *
 * <pre>{@code
 * try (BoltWriter w = BoltWriter.create(file)) {
 *   w.beginBucket("key".getBytes());
 *   w.put(k1, v1);
 *   w.put(k2, v2);
 *   w.beginBucket("meta".getBytes());
 *   long size = w.finish();
 * }
 * }</pre>
 *
 * <p>Not thread-safe; one writer per file, owned by its caller, who must {@link #close()} it. A
 * writer that failed (an I/O error) or was closed before {@link #finish()} leaves an invalid file
 * that the caller deletes.
 */
public final class BoltWriter implements AutoCloseable {

  private static final int PAGE_SIZE = 4096;

  private final Path file;
  private final FileChannel channel;
  private long nextPgid = 2;
  /** The tree of the root bucket: one leaf element per top-level bucket. */
  private final TreeBuilder rootTree = new TreeBuilder();
  private TreeBuilder bucket;
  private byte[] bucketName;
  private byte[] lastKey;
  private boolean finished;
  private boolean broken;
  private boolean closed;

  private BoltWriter(Path file, FileChannel channel) {
    this.file = file;
    this.channel = channel;
  }

  /** Creates {@code file} (page size 4096); fails if it exists. */
  public static BoltWriter create(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    return new BoltWriter(file, ch);
  }

  /**
   * Ends the current bucket and starts top-level bucket {@code name}.
   *
   * @throws IllegalArgumentException if {@code name} is empty, longer than 32768 bytes or not after
   *     the previous bucket's name
   */
  public void beginBucket(byte[] name) throws IOException {
    checkWritable();
    if (name == null || name.length == 0) throw new IllegalArgumentException("bucket name must not be empty");
    if (name.length > MAX_KEY_SIZE) {
      throw new IllegalArgumentException("bucket name of " + name.length + " bytes exceeds " + MAX_KEY_SIZE);
    }
    if (bucketName != null && Arrays.compareUnsigned(name, bucketName) <= 0) {
      throw new IllegalArgumentException("bucket " + show(name) + " is not after the previous bucket " + show(bucketName));
    }
    guarded(this::endBucket);
    bucketName = name.clone();
    bucket = new TreeBuilder();
    lastKey = null;
  }

  /**
   * Adds a row to the current bucket.
   *
   * @throws IllegalArgumentException if the key is empty, too long (over 32768 bytes) or not after
   *     the previous key of this bucket, or the value is too long
   * @throws IllegalStateException if no bucket was begun
   */
  public void put(byte[] key, byte[] value) throws IOException {
    checkWritable();
    if (bucket == null) throw new IllegalStateException("put before beginBucket");
    if (key == null || key.length == 0) throw new IllegalArgumentException("key must not be empty");
    if (value == null) throw new IllegalArgumentException("value must not be null (use an empty array)");
    if (key.length > MAX_KEY_SIZE) {
      throw new IllegalArgumentException("key of " + key.length + " bytes exceeds " + MAX_KEY_SIZE);
    }
    if (value.length > MAX_VALUE_SIZE) {
      throw new IllegalArgumentException("value of " + value.length + " bytes exceeds " + MAX_VALUE_SIZE);
    }
    if (lastKey != null && Arrays.compareUnsigned(key, lastKey) <= 0) {
      throw new IllegalArgumentException("key " + show(key) + " is not after the previous key " + show(lastKey)
          + " in bucket " + show(bucketName));
    }
    byte[] k = key.clone();
    byte[] v = value.clone();
    guarded(() -> bucket.addRow(0, k, v));
    lastKey = k;
  }

  /**
   * Writes the remaining pages, the root bucket, an empty freelist page and both meta pages, and
   * forces the file to disk.
   *
   * @return the file size in bytes (high-water page id * 4096)
   */
  public long finish() throws IOException {
    checkWritable();
    long[] size = new long[1];
    guarded(() -> {
      endBucket();
      long root = rootTree.finishTree();
      long freelist = writePage(FLAG_FREELIST, List.of(), List.of(), List.of(), List.of());
      long highWater = nextPgid;
      channel.force(true);
      for (int i = 0; i < 2; i++) {
        ByteBuffer page = BoltPages.allocate(PAGE_SIZE);
        BoltPages.putMetaPage(page, i, new BoltPages.Meta(PAGE_SIZE, 0, root, 0, freelist, highWater, i));
        writeFully(page, (long) i * PAGE_SIZE);
      }
      channel.force(true);
      size[0] = highWater * PAGE_SIZE;
    });
    finished = true;
    return size[0];
  }

  /** Closes the file; an unfinished file stays invalid (the caller deletes it). Idempotent. */
  @Override
  public void close() throws IOException {
    if (closed) return;
    closed = true;
    channel.close();
  }

  private void endBucket() throws IOException {
    if (bucket == null) return;
    long root = bucket.finishTree();
    ByteBuffer header = BoltPages.allocate(BUCKET_HEADER_SIZE);
    header.putLong(0, root);
    header.putLong(8, 0);
    rootTree.addRow(FLAG_BUCKET, bucketName, header.array());
    bucket = null;
  }

  private void checkWritable() {
    if (closed) throw new IllegalStateException("BoltWriter for " + file + " is closed");
    if (finished) throw new IllegalStateException("BoltWriter for " + file + " is already finished");
    if (broken) throw new IllegalStateException("BoltWriter for " + file + " failed earlier; the file is invalid");
  }

  private interface IoStep {
    void run() throws IOException;
  }

  /** Runs a step that writes; any failure leaves the writer unusable. */
  private void guarded(IoStep step) throws IOException {
    boolean ok = false;
    try {
      step.run();
      ok = true;
    } finally {
      if (!ok) broken = true;
    }
  }

  /**
   * Writes one leaf, branch or freelist page (with overflow pages if its content needs them) at the
   * next page id and returns that id. For leaf pages {@code values}/{@code flags} are used, for branch
   * pages {@code children}.
   */
  private long writePage(int pageFlags, List<byte[]> keys, List<byte[]> values, List<Integer> flags,
      List<Long> children) throws IOException {
    boolean leaf = pageFlags == FLAG_LEAF;
    int n = keys.size();
    long bytes = PAGE_HEADER_SIZE + (long) n * ELEMENT_SIZE;
    for (int i = 0; i < n; i++) bytes += keys.get(i).length + (leaf ? values.get(i).length : 0);
    long pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
    if (pages * PAGE_SIZE > Integer.MAX_VALUE) throw new IOException("page of " + bytes + " bytes is too large");
    long id = nextPgid;
    ByteBuffer buf = BoltPages.allocate((int) (pages * PAGE_SIZE));
    BoltPages.putHeader(buf, 0, id, pageFlags, n, (int) (pages - 1));
    int data = PAGE_HEADER_SIZE + n * ELEMENT_SIZE;
    for (int i = 0; i < n; i++) {
      int elem = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
      byte[] k = keys.get(i);
      if (leaf) {
        byte[] v = values.get(i);
        buf.putInt(elem, flags.get(i));
        buf.putInt(elem + 4, data - elem);
        buf.putInt(elem + 8, k.length);
        buf.putInt(elem + 12, v.length);
        buf.put(data, k);
        buf.put(data + k.length, v);
        data += k.length + v.length;
      } else {
        buf.putInt(elem, data - elem);
        buf.putInt(elem + 4, k.length);
        buf.putLong(elem + 8, children.get(i));
        buf.put(data, k);
        data += k.length;
      }
    }
    writeFully(buf, id * PAGE_SIZE);
    nextPgid += pages;
    return id;
  }

  private void writeFully(ByteBuffer buf, long position) throws IOException {
    buf.clear();
    long pos = position;
    while (buf.hasRemaining()) pos += channel.write(buf, pos);
  }

  private static String show(byte[] b) {
    StringBuilder s = new StringBuilder("\"");
    for (int i = 0; i < Math.min(b.length, 64); i++) {
      int c = b[i] & 0xFF;
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') s.append((char) c);
      else s.append(String.format("\\x%02x", c));
    }
    if (b.length > 64) s.append("...");
    return s.append('"').toString();
  }

  /**
   * One B+tree being written bottom-up: the leaf page being filled and, per branch level, the
   * children collected for the branch page being filled. Full pages are written at once.
   */
  private final class TreeBuilder {
    private final List<byte[]> leafKeys = new ArrayList<>();
    private final List<byte[]> leafValues = new ArrayList<>();
    private final List<Integer> leafFlags = new ArrayList<>();
    private long leafBytes = PAGE_HEADER_SIZE;
    private boolean leafWritten;
    /** levels.get(0) collects leaf pages, levels.get(1) the branch pages above them, ... */
    private final List<Level> levels = new ArrayList<>();

    void addRow(int flags, byte[] key, byte[] value) throws IOException {
      long need = ELEMENT_SIZE + (long) key.length + value.length;
      if (!leafKeys.isEmpty() && (leafBytes + need > PAGE_SIZE || leafKeys.size() >= MAX_ELEMENTS)) flushLeaf();
      leafKeys.add(key);
      leafValues.add(value);
      leafFlags.add(flags);
      leafBytes += need;
      // a row that alone fills more than a page gets a page (with overflow pages) of its own
      if (leafBytes > PAGE_SIZE) flushLeaf();
    }

    /** Writes what is left and returns the root page id. */
    long finishTree() throws IOException {
      if (!leafKeys.isEmpty() || !leafWritten) flushLeaf();
      for (int i = 0; ; i++) {
        Level level = levels.get(i);
        boolean top = i == levels.size() - 1;
        if (top && level.pagesWritten == 0 && level.keys.size() == 1) return level.children.get(0);
        level.flush(i);
      }
    }

    private void flushLeaf() throws IOException {
      long id = writePage(FLAG_LEAF, leafKeys, leafValues, leafFlags, null);
      byte[] first = leafKeys.isEmpty() ? new byte[0] : leafKeys.get(0);
      leafKeys.clear();
      leafValues.clear();
      leafFlags.clear();
      leafBytes = PAGE_HEADER_SIZE;
      leafWritten = true;
      addChild(0, first, id);
    }

    private void addChild(int levelIndex, byte[] firstKey, long pgid) throws IOException {
      if (levels.size() == levelIndex) levels.add(new Level());
      Level level = levels.get(levelIndex);
      long need = ELEMENT_SIZE + (long) firstKey.length;
      // at least two children per branch page, so every level is smaller than the one below it
      if (level.keys.size() >= 2 && (level.bytes + need > PAGE_SIZE || level.keys.size() >= MAX_ELEMENTS)) {
        level.flush(levelIndex);
      }
      level.keys.add(firstKey);
      level.children.add(pgid);
      level.bytes += need;
    }

    /** The branch page being filled at one level. */
    private final class Level {
      final List<byte[]> keys = new ArrayList<>();
      final List<Long> children = new ArrayList<>();
      long bytes = PAGE_HEADER_SIZE;
      long pagesWritten;

      void flush(int levelIndex) throws IOException {
        long id = writePage(FLAG_BRANCH, keys, null, null, children);
        byte[] first = keys.get(0);
        keys.clear();
        children.clear();
        bytes = PAGE_HEADER_SIZE;
        pagesWritten++;
        addChild(levelIndex + 1, first, id);
      }
    }
  }
}
