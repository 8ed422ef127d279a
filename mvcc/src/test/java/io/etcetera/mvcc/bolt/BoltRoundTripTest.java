package io.etcetera.mvcc.bolt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BoltWriter} then {@link BoltReader}: the same buckets and rows come back (empty buckets,
 * empty values, tens of thousands of rows in a multi-level tree, overflow pages for big values and
 * big keys); ordering violations are refused; truncated, damaged and foreign files are refused with
 * an {@link IOException}; a hand-made file with inline buckets, a nested bucket and 1024-byte pages
 * is read too. The page layout is checked by reading raw pages.
 */
class BoltRoundTripTest {

  private static final int PAGE = 4096;

  @TempDir Path dir;

  /** bucket name -> rows, in the order written. */
  private final Map<String, List<byte[][]>> content = new LinkedHashMap<>();

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] rev(long main, long sub) {
    return ByteBuffer.allocate(17).putLong(main).put((byte) '_').putLong(sub).array();
  }

  private static byte[] filled(int size, long seed) {
    byte[] v = new byte[size];
    new Random(seed).nextBytes(v);
    return v;
  }

  @BeforeEach
  void buildContent() {
    List<byte[][]> alpha = new ArrayList<>();
    // keys of 1..300 bytes, distinct by a 2-byte prefix, some values empty
    for (int i = 0; i < 300; i++) {
      byte[] key = new byte[1 + (i * 7) % 300];
      Arrays.fill(key, (byte) 'x');
      key[0] = (byte) (i / 256 + 1);
      if (key.length > 1) key[1] = (byte) (i % 256);
      alpha.add(new byte[][] {key, i % 3 == 0 ? new byte[0] : filled(i % 50, i)});
    }
    alpha.sort((x, y) -> Arrays.compareUnsigned(x[0], y[0]));
    content.put("alpha", alpha);

    List<byte[][]> big = new ArrayList<>();
    big.add(new byte[][] {b("a"), b("small")});
    big.add(new byte[][] {b("b-10k"), filled(10 * 1024, 1)});
    big.add(new byte[][] {b("c"), new byte[0]});
    big.add(new byte[][] {b("d-1.5m"), filled(1_500_000, 2)});
    big.add(new byte[][] {b("e-exactly-a-page"), filled(PAGE - 16 - 16 - "e-exactly-a-page".length(), 3)});
    big.add(new byte[][] {b("f"), b("after")});
    content.put("big", big);

    content.put("empty", new ArrayList<>());

    List<byte[][]> key = new ArrayList<>();
    for (int i = 1; i <= 25_000; i++) key.add(new byte[][] {rev(i, 0), b("value-" + i)});
    content.put("key", key);

    // 20,000-byte keys: every leaf page overflows and branch pages (two keys each) overflow too
    List<byte[][]> longKeys = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      byte[] k = new byte[i == 11 ? 32768 : 20_000];
      Arrays.fill(k, (byte) ('a' + i));
      longKeys.add(new byte[][] {k, b("v" + i)});
    }
    content.put("long-keys", longKeys);

    List<byte[][]> meta = new ArrayList<>();
    meta.add(new byte[][] {b("consistent_index"), ByteBuffer.allocate(8).putLong(42).array()});
    content.put("meta", meta);
  }

  private Path writeAll(Path file) throws IOException {
    try (BoltWriter w = BoltWriter.create(file)) {
      for (Map.Entry<String, List<byte[][]>> e : content.entrySet()) {
        w.beginBucket(b(e.getKey()));
        for (byte[][] row : e.getValue()) w.put(row[0], row[1]);
      }
      long size = w.finish();
      assertEquals(Files.size(file), size);
      assertEquals(0, size % PAGE);
    }
    return file;
  }

  private static List<byte[][]> rows(BoltReader r, String bucket) throws IOException {
    List<byte[][]> out = new ArrayList<>();
    r.forEach(b(bucket), (k, v) -> out.add(new byte[][] {k, v}));
    return out;
  }

  private static void assertRows(List<byte[][]> expected, List<byte[][]> actual, String bucket) {
    assertEquals(expected.size(), actual.size(), "rows of " + bucket);
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i)[0], actual.get(i)[0], bucket + " key #" + i);
      assertArrayEquals(expected.get(i)[1], actual.get(i)[1], bucket + " value #" + i);
    }
  }

  @Test
  void everythingWrittenIsReadBack() throws IOException {
    Path file = writeAll(dir.resolve("db"));
    try (BoltReader r = BoltReader.open(file)) {
      assertEquals(PAGE, r.pageSize());
      assertEquals(1, r.txid());
      assertEquals(Files.size(file), r.size());
      List<String> names = new ArrayList<>();
      for (byte[] n : r.bucketNames()) names.add(new String(n, StandardCharsets.UTF_8));
      assertEquals(List.copyOf(content.keySet()), names);
      for (String bucket : content.keySet()) {
        assertTrue(r.hasBucket(b(bucket)), bucket);
        assertRows(content.get(bucket), rows(r, bucket), bucket);
      }
      assertFalse(r.hasBucket(b("missing")));
      assertFalse(r.hasBucket(b("ke")));
      assertFalse(r.hasBucket(b("keyz")));
      assertTrue(rows(r, "missing").isEmpty());
    }
  }

  @Test
  void pagesHaveBboltsLayout() throws IOException {
    Path file = writeAll(dir.resolve("db"));
    try (FileChannel ch = FileChannel.open(file)) {
      ByteBuffer meta0 = page(ch, 0);
      ByteBuffer meta1 = page(ch, 1);
      assertEquals(BoltPages.FLAG_META, meta0.getShort(8));
      assertEquals(1, meta1.getLong(0));
      assertEquals(0xED0CDAED, meta0.getInt(16));
      assertEquals(2, meta0.getInt(20));
      assertEquals(PAGE, meta0.getInt(24));
      assertEquals(0, meta0.getLong(64)); // txid of page 0
      assertEquals(1, meta1.getLong(64)); // txid of page 1
      long pgid = meta0.getLong(56);
      assertEquals(Files.size(file), pgid * PAGE);
      // the freelist: the last page, empty
      long freelist = meta0.getLong(48);
      assertEquals(pgid - 1, freelist);
      ByteBuffer fl = page(ch, freelist);
      assertEquals(BoltPages.FLAG_FREELIST, fl.getShort(8));
      assertEquals(0, fl.getShort(10));

      // every page below the high-water mark belongs to exactly one tree, a meta or the freelist
      boolean[] used = new boolean[(int) pgid];
      used[0] = used[1] = used[(int) freelist] = true;
      long root = meta0.getLong(32);
      int[] depth = new int[1];
      mark(ch, root, used, 0, depth);
      ByteBuffer rootPage = page(ch, root);
      assertEquals(BoltPages.FLAG_LEAF, rootPage.getShort(8));
      Map<String, Long> bucketRoots = new LinkedHashMap<>();
      for (int i = 0; i < rootPage.getShort(10); i++) {
        int e = 16 + i * 16;
        assertEquals(BoltPages.FLAG_BUCKET, rootPage.getInt(e));
        int k = e + rootPage.getInt(e + 4);
        byte[] name = new byte[rootPage.getInt(e + 8)];
        rootPage.get(k, name);
        assertEquals(16, rootPage.getInt(e + 12));
        assertEquals(0, rootPage.getLong(k + name.length + 8), "sequence");
        bucketRoots.put(new String(name, StandardCharsets.UTF_8), rootPage.getLong(k + name.length));
      }
      assertEquals(List.copyOf(content.keySet()), List.copyOf(bucketRoots.keySet()));
      for (Map.Entry<String, Long> e : bucketRoots.entrySet()) {
        depth[0] = 0;
        mark(ch, e.getValue(), used, 0, depth);
        if (e.getKey().equals("key")) assertTrue(depth[0] >= 2, "branch levels of \"key\": " + depth[0]);
        if (e.getKey().equals("long-keys")) assertTrue(depth[0] >= 2, "branch levels of \"long-keys\": " + depth[0]);
      }
      ByteBuffer empty = page(ch, bucketRoots.get("empty"));
      assertEquals(BoltPages.FLAG_LEAF, empty.getShort(8));
      assertEquals(0, empty.getShort(10));
      for (int i = 0; i < used.length; i++) assertTrue(used[i], "page " + i + " is unreachable");
    }
  }

  /** Marks the pages of a tree; depth[0] = the number of branch levels seen. */
  private static void mark(FileChannel ch, long pgid, boolean[] used, int level, int[] depth) throws IOException {
    ByteBuffer p = page(ch, pgid);
    assertEquals(pgid, p.getLong(0), "page id in header");
    int overflow = p.getInt(12);
    for (int i = 0; i <= overflow; i++) {
      assertFalse(used[(int) pgid + i], "page " + (pgid + i) + " used twice");
      used[(int) pgid + i] = true;
    }
    if (p.getShort(8) == BoltPages.FLAG_BRANCH) {
      depth[0] = Math.max(depth[0], level + 1);
      ByteBuffer whole = pages(ch, pgid, overflow + 1);
      for (int i = 0; i < whole.getShort(10); i++) mark(ch, whole.getLong(16 + i * 16 + 8), used, level + 1, depth);
    } else {
      assertEquals(BoltPages.FLAG_LEAF, p.getShort(8), "page " + pgid + " type");
    }
  }

  private static ByteBuffer page(FileChannel ch, long pgid) throws IOException {
    return pages(ch, pgid, 1);
  }

  private static ByteBuffer pages(FileChannel ch, long pgid, int n) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(n * PAGE).order(ByteOrder.LITTLE_ENDIAN);
    ch.read(buf, pgid * PAGE);
    return buf;
  }

  @Test
  void orderingViolationsAndMisuseAreRefused() throws IOException {
    Path file = dir.resolve("db");
    try (BoltWriter w = BoltWriter.create(file)) {
      assertThrows(IllegalStateException.class, () -> w.put(b("k"), b("v")));
      assertThrows(IllegalArgumentException.class, () -> w.beginBucket(new byte[0]));
      w.beginBucket(b("b"));
      assertThrows(IllegalArgumentException.class, () -> w.beginBucket(b("b")));
      assertThrows(IllegalArgumentException.class, () -> w.beginBucket(b("a")));
      w.put(b("k2"), b("v"));
      assertThrows(IllegalArgumentException.class, () -> w.put(b("k2"), b("again")));
      assertThrows(IllegalArgumentException.class, () -> w.put(b("k1"), b("before")));
      assertThrows(IllegalArgumentException.class, () -> w.put(new byte[0], b("empty key")));
      assertThrows(IllegalArgumentException.class, () -> w.put(new byte[32769], b("key too long")));
      // unsigned order: 0x80 sorts after 0x7f
      w.put(new byte[] {'k', '2', 0x7f}, b("v"));
      w.put(new byte[] {'k', '2', (byte) 0x80}, b("v"));
      assertThrows(IllegalArgumentException.class, () -> w.put(new byte[] {'k', '2', 0x01}, b("v")));
      w.beginBucket(new byte[] {(byte) 0xff});
      w.put(b("a"), b("same key as in another bucket is fine"));
      w.finish();
      assertThrows(IllegalStateException.class, () -> w.put(b("z"), b("v")));
      assertThrows(IllegalStateException.class, w::finish);
    }
    assertThrows(FileAlreadyExistsException.class, () -> BoltWriter.create(file));
    try (BoltReader r = BoltReader.open(file)) {
      assertEquals(2, r.bucketNames().size());
      List<byte[][]> rows = rows(r, "b");
      assertEquals(3, rows.size());
      assertArrayEquals(new byte[] {'k', '2', (byte) 0x80}, rows.get(2)[0]);
    }
  }

  @Test
  void aFileWithoutBucketsIsValid() throws IOException {
    Path file = dir.resolve("db");
    try (BoltWriter w = BoltWriter.create(file)) {
      assertEquals(4 * PAGE, w.finish()); // metas, empty root leaf, freelist
    }
    try (BoltReader r = BoltReader.open(file)) {
      assertTrue(r.bucketNames().isEmpty());
      assertEquals(4 * PAGE, r.size());
    }
  }

  @Test
  void trailingBytesAreIgnored() throws IOException {
    Path file = writeAll(dir.resolve("db"));
    long size = Files.size(file);
    Files.write(file, new byte[32], StandardOpenOption.APPEND); // like the sha256 of a snapshot
    try (BoltReader r = BoltReader.open(file)) {
      assertEquals(size, r.size());
      assertRows(content.get("key"), rows(r, "key"), "key");
    }
  }

  @Test
  void truncatedFilesAreRefused() throws IOException {
    Path file = writeAll(dir.resolve("db"));
    long size = Files.size(file);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(size - PAGE);
    }
    IOException e = assertThrows(IOException.class, () -> BoltReader.open(file));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());

    // meta page 0 is complete, the rest is gone
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(100);
    }
    e = assertThrows(IOException.class, () -> BoltReader.open(file));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());

    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(50);
    }
    e = assertThrows(IOException.class, () -> BoltReader.open(file));
    assertTrue(e.getMessage().contains("not a valid bbolt file"), e.getMessage());

    Files.write(file, new byte[0]);
    assertThrows(IOException.class, () -> BoltReader.open(file));
  }

  @Test
  void aFlippedMetaByteFallsBackToTheOtherMetaAndTwoAreRefused() throws IOException {
    Path file = writeAll(dir.resolve("db"));
    flip(file, PAGE + 16 + 40); // meta 1's pgid
    try (BoltReader r = BoltReader.open(file)) {
      assertEquals(0, r.txid(), "meta page 1 is damaged: meta page 0 is used");
      assertRows(content.get("big"), rows(r, "big"), "big");
    }
    flip(file, 16 + 20); // meta 0's root
    IOException e = assertThrows(IOException.class, () -> BoltReader.open(file));
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
  }

  @Test
  void aFlippedChecksumByteInMetaZeroIsRefusedWhenMetaOneIsGone() throws IOException {
    Path file = writeAll(dir.resolve("db"));
    flip(file, 16 + 56); // meta 0's checksum
    flip(file, PAGE + 16 + 1); // meta 1's magic
    IOException e = assertThrows(IOException.class, () -> BoltReader.open(file));
    assertTrue(e.getMessage().contains("meta checksum mismatch") && e.getMessage().contains("magic"), e.getMessage());
  }

  @Test
  void foreignFilesAreRefused() throws IOException {
    Path file = dir.resolve("random");
    Files.write(file, filled(64 * 1024, 7));
    IOException e = assertThrows(IOException.class, () -> BoltReader.open(file));
    assertTrue(e.getMessage().contains("not a valid bbolt file"), e.getMessage());
  }

  @Test
  void damagedPagesAreRefused() throws IOException {
    Path file = writeAll(dir.resolve("db"));
    long keyRoot;
    try (FileChannel ch = FileChannel.open(file)) {
      keyRoot = bucketRoot(ch, "key");
    }
    // the "key" bucket's root is a branch page: point its first child out of range, then at itself
    writeLong(file, keyRoot * PAGE + 16 + 8, 1_000_000);
    try (BoltReader r = BoltReader.open(file)) {
      IOException e = assertThrows(IOException.class, () -> rows(r, "key"));
      assertTrue(e.getMessage().contains("damaged") && e.getMessage().contains("1000000"), e.getMessage());
      assertRows(content.get("alpha"), rows(r, "alpha"), "alpha");
    }
    writeLong(file, keyRoot * PAGE + 16 + 8, keyRoot);
    try (BoltReader r = BoltReader.open(file)) {
      IOException e = assertThrows(IOException.class, () -> rows(r, "key"));
      assertTrue(e.getMessage().contains("damaged") && e.getMessage().contains("twice"), e.getMessage());
    }
    // a meta page as a tree page
    writeLong(file, keyRoot * PAGE + 16 + 8, 1);
    try (BoltReader r = BoltReader.open(file)) {
      IOException e = assertThrows(IOException.class, () -> rows(r, "key"));
      assertTrue(e.getMessage().contains("damaged"), e.getMessage());
    }
  }

  private static long bucketRoot(FileChannel ch, String name) throws IOException {
    ByteBuffer meta = page(ch, 0);
    ByteBuffer root = page(ch, meta.getLong(32));
    for (int i = 0; i < root.getShort(10); i++) {
      int e = 16 + i * 16;
      int k = e + root.getInt(e + 4);
      byte[] n = new byte[root.getInt(e + 8)];
      root.get(k, n);
      if (Arrays.equals(n, b(name))) return root.getLong(k + n.length);
    }
    throw new AssertionError("no bucket " + name);
  }

  private static void flip(Path file, long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, offset);
      one.put(0, (byte) (one.get(0) ^ 0x01));
      one.clear();
      ch.write(one, offset);
    }
  }

  private static void writeLong(Path file, long offset, long value) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value), offset);
    }
  }

  /**
   * A file made by hand with 1024-byte pages: bucket "inl" is inline (root 0, its leaf page inside
   * the bucket value), bucket "reg" is a regular bucket whose leaf holds a nested bucket between two
   * rows (skipped when reading).
   */
  @Test
  void inlineBucketsNestedBucketsAndOtherPageSizesAreRead() throws IOException {
    int ps = 1024;
    ByteBuffer file = ByteBuffer.allocate(5 * ps).order(ByteOrder.LITTLE_ENDIAN);
    // page 2: an empty freelist
    BoltPages.putHeader(file, 2 * ps, 2, BoltPages.FLAG_FREELIST, 0, 0);
    // inline page of "inl": rows x=1, y=""
    ByteBuffer inline = BoltPages.allocate(16 + 2 * 16 + 3);
    BoltPages.putHeader(inline, 0, 0, BoltPages.FLAG_LEAF, 2, 0);
    leaf(inline, 0, 0, 16 + 32, b("x"), b("1"));
    leaf(inline, 1, 0, 16 + 32 + 2, b("y"), new byte[0]);
    ByteBuffer inlValue = BoltPages.allocate(16 + inline.capacity());
    inlValue.put(16, inline.array());
    ByteBuffer regValue = BoltPages.allocate(16).putLong(0, 4);
    // page 3: root leaf: "inl" -> inline, "reg" -> page 4
    BoltPages.putHeader(file, 3 * ps, 3, BoltPages.FLAG_LEAF, 2, 0);
    ByteBuffer root = file.slice(3 * ps, ps).order(ByteOrder.LITTLE_ENDIAN);
    int data = 16 + 32;
    leaf(root, 0, BoltPages.FLAG_BUCKET, data, b("inl"), inlValue.array());
    data += 3 + inlValue.capacity();
    leaf(root, 1, BoltPages.FLAG_BUCKET, data, b("reg"), regValue.array());
    // page 4: leaf of "reg": a=A, n=<nested inline bucket, empty>, z=Z
    ByteBuffer nested = BoltPages.allocate(16 + 16);
    BoltPages.putHeader(nested, 16, 0, BoltPages.FLAG_LEAF, 0, 0);
    BoltPages.putHeader(file, 4 * ps, 4, BoltPages.FLAG_LEAF, 3, 0);
    ByteBuffer reg = file.slice(4 * ps, ps).order(ByteOrder.LITTLE_ENDIAN);
    data = 16 + 48;
    leaf(reg, 0, 0, data, b("a"), b("A"));
    data += 2;
    leaf(reg, 1, BoltPages.FLAG_BUCKET, data, b("n"), nested.array());
    data += 1 + 32;
    leaf(reg, 2, 0, data, b("z"), b("Z"));
    // metas: page 0 txid 8 (newer), page 1 txid 7
    BoltPages.putMetaPage(file.slice(0, ps).order(ByteOrder.LITTLE_ENDIAN), 0,
        new BoltPages.Meta(ps, 0, 3, 0, 2, 5, 8));
    BoltPages.putMetaPage(file.slice(ps, ps).order(ByteOrder.LITTLE_ENDIAN), 1,
        new BoltPages.Meta(ps, 0, 3, 0, 2, 5, 7));
    Path path = dir.resolve("handmade");
    Files.write(path, file.array());

    try (BoltReader r = BoltReader.open(path)) {
      assertEquals(ps, r.pageSize());
      assertEquals(8, r.txid());
      assertEquals(5L * ps, r.size());
      assertEquals(List.of("inl", "reg"), r.bucketNames().stream().map(n -> new String(n, StandardCharsets.UTF_8)).toList());
      assertRows(List.of(new byte[][] {b("x"), b("1")}, new byte[][] {b("y"), new byte[0]}), rows(r, "inl"), "inl");
      assertRows(List.of(new byte[][] {b("a"), b("A")}, new byte[][] {b("z"), b("Z")}), rows(r, "reg"), "reg");
    }
    // meta page 0 damaged: its page size is unknown, meta page 1 is found at offset 1024
    flip(path, 16 + 3);
    try (BoltReader r = BoltReader.open(path)) {
      assertEquals(7, r.txid());
      assertRows(List.of(new byte[][] {b("a"), b("A")}, new byte[][] {b("z"), b("Z")}), rows(r, "reg"), "reg");
    }
  }

  /** Writes leaf element {@code i} of {@code page} with its key and value at {@code data}. */
  private static void leaf(ByteBuffer page, int i, int flags, int data, byte[] key, byte[] value) {
    int e = 16 + i * 16;
    page.putInt(e, flags);
    page.putInt(e + 4, data - e);
    page.putInt(e + 8, key.length);
    page.putInt(e + 12, value.length);
    page.put(data, key);
    page.put(data + key.length, value);
  }
}
