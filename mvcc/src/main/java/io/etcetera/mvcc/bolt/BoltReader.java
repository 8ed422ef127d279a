package io.etcetera.mvcc.bolt;

import static io.etcetera.mvcc.bolt.BoltPages.BUCKET_HEADER_SIZE;
import static io.etcetera.mvcc.bolt.BoltPages.ELEMENT_SIZE;
import static io.etcetera.mvcc.bolt.BoltPages.FLAG_BRANCH;
import static io.etcetera.mvcc.bolt.BoltPages.FLAG_BUCKET;
import static io.etcetera.mvcc.bolt.BoltPages.FLAG_LEAF;
import static io.etcetera.mvcc.bolt.BoltPages.META_SIZE;
import static io.etcetera.mvcc.bolt.BoltPages.NO_FREELIST;
import static io.etcetera.mvcc.bolt.BoltPages.PAGE_HEADER_SIZE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * Reads a bbolt file (any page size given in its meta), e.g. one written by etcd 3.4/3.5 or by
 * {@link BoltWriter}: the top-level buckets and the rows of each.
 *
 * <p>{@link #open} validates both meta pages (magic 0xED0CDAED, version 2, FNV-1a 64 checksum) and
 * uses the valid one with the higher txid, like bbolt. Pages are read on demand with positional
 * reads (a page plus its overflow pages at a time), never the whole file; the B+tree is walked
 * recursively through branch pages, inline buckets (bucket header root 0) are read from the value
 * that holds them. Bytes after the high-water mark (such as the sha256 that {@code etcdctl snapshot
 * save} appends) are ignored. A page id out of range, a page visited twice, a page of the wrong type
 * or an element outside its page fails with an {@link IOException} saying the file is damaged.
 *
 * <p>The reader owns its file channel until {@link #close()}. Its state is fixed at open and reads
 * are positional, so one reader may be used from several threads at once.
 */
public final class BoltReader implements AutoCloseable {

  /** Page sizes tried for meta page 1 when meta page 0 is unreadable (bbolt falls back to the OS's). */
  private static final int[] CANDIDATE_PAGE_SIZES = {4096, 8192, 16384, 32768, 65536, 1024, 2048, 512};
  private static final int MIN_PAGE_SIZE = 512;
  private static final int MAX_PAGE_SIZE = 1 << 24;
  private static final int MAX_DEPTH = 64;

  private final Path file;
  private final FileChannel channel;
  private final int pageSize;
  private final long rootPgid;
  private final long highWater;
  private final long txid;

  /** Receives the rows of a bucket, in key order. */
  @FunctionalInterface
  public interface Row {
    void accept(byte[] key, byte[] value) throws IOException;
  }

  private BoltReader(Path file, FileChannel channel, BoltPages.Meta meta) {
    this.file = file;
    this.channel = channel;
    this.pageSize = meta.pageSize();
    this.rootPgid = meta.root();
    this.highWater = meta.pgid();
    this.txid = meta.txid();
  }

  /**
   * Opens {@code file} and validates its meta pages.
   *
   * @throws IOException if the file cannot be read, is not a bbolt file, or is damaged or truncated
   */
  public static BoltReader open(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      return new BoltReader(file, ch, chooseMeta(file, ch));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private static BoltPages.Meta chooseMeta(Path file, FileChannel ch) throws IOException {
    long fileSize = ch.size();
    Object m0 = readMetaAt(ch, 0);
    Object m1 = null;
    if (m0 instanceof BoltPages.Meta meta0) {
      if (meta0.pageSize() >= MIN_PAGE_SIZE && meta0.pageSize() <= MAX_PAGE_SIZE) {
        m1 = samePageSize(readMetaAt(ch, meta0.pageSize()), meta0.pageSize());
      } else {
        m1 = "not looked for (meta page 0 gives page size " + Integer.toUnsignedString(meta0.pageSize()) + ")";
      }
    } else {
      // meta page 0 does not say the page size: look for a valid meta page 1 at the usual sizes
      m1 = "not found at offsets " + Arrays.toString(CANDIDATE_PAGE_SIZES);
      for (int size : CANDIDATE_PAGE_SIZES) {
        Object candidate = samePageSize(readMetaAt(ch, size), size);
        if (candidate instanceof BoltPages.Meta) {
          m1 = candidate;
          break;
        }
        if (size == 4096) m1 = candidate + " (looked at offset 4096, and other page sizes)";
      }
    }
    BoltPages.Meta chosen = null;
    if (m0 instanceof BoltPages.Meta a) chosen = a;
    if (m1 instanceof BoltPages.Meta b && (chosen == null || Long.compareUnsigned(b.txid(), chosen.txid()) > 0)) {
      chosen = b;
    }
    if (chosen == null) {
      throw new IOException("not a valid bbolt file: " + file + " (meta page 0: " + m0 + "; meta page 1: " + m1 + ")");
    }
    int ps = chosen.pageSize();
    if (ps < MIN_PAGE_SIZE || ps > MAX_PAGE_SIZE) {
      throw new IOException("damaged bbolt file " + file + ": meta page size " + Integer.toUnsignedString(ps)
          + " is out of range");
    }
    long pgid = chosen.pgid();
    if (pgid < 3 || pgid > Integer.MAX_VALUE) {
      throw new IOException("damaged bbolt file " + file + ": high-water mark " + Long.toUnsignedString(pgid)
          + " is out of range");
    }
    if (chosen.root() < 2 || chosen.root() >= pgid) {
      throw new IOException("damaged bbolt file " + file + ": root page " + Long.toUnsignedString(chosen.root())
          + " is outside [2, " + pgid + ")");
    }
    if (chosen.freelist() != NO_FREELIST && (chosen.freelist() < 2 || chosen.freelist() >= pgid)) {
      throw new IOException("damaged bbolt file " + file + ": freelist page " + Long.toUnsignedString(chosen.freelist())
          + " is outside [2, " + pgid + ")");
    }
    long needed = pgid * ps;
    if (fileSize < needed) {
      throw new IOException("truncated bbolt file " + file + ": " + fileSize + " bytes, but its meta page (txid "
          + chosen.txid() + ") needs " + needed + " (" + pgid + " pages of " + ps + ")");
    }
    return chosen;
  }

  /** {@code meta} if it is a meta for page size {@code size}, else why not. */
  private static Object samePageSize(Object meta, int size) {
    if (meta instanceof BoltPages.Meta m && m.pageSize() != size) {
      return "page size " + Integer.toUnsignedString(m.pageSize()) + " does not match its offset " + size;
    }
    return meta;
  }

  /** The meta at page offset {@code pageOffset}, or a String saying why there is none. */
  private static Object readMetaAt(FileChannel ch, long pageOffset) throws IOException {
    ByteBuffer buf = BoltPages.allocate(PAGE_HEADER_SIZE + META_SIZE);
    readFully(ch, buf, pageOffset);
    if (buf.position() < buf.capacity()) return "file too short (" + ch.size() + " bytes)";
    return BoltPages.readMeta(buf, PAGE_HEADER_SIZE);
  }

  /** The top-level bucket names, in order. */
  public List<byte[]> bucketNames() throws IOException {
    List<byte[]> names = new ArrayList<>();
    walk(rootPgid, new BitSet(), 0, (flags, buf, k, ks, v, vs) -> {
      if ((flags & FLAG_BUCKET) != 0) names.add(slice(buf, k, ks));
    });
    return names;
  }

  /** Whether a top-level bucket named {@code name} exists. */
  public boolean hasBucket(byte[] name) throws IOException {
    return findBucket(name) != null;
  }

  /**
   * Calls {@code row} for every row of top-level bucket {@code bucket}, in key order; nested buckets
   * inside it are skipped, a missing bucket has no rows. The arrays passed are fresh copies.
   */
  public void forEach(byte[] bucket, Row row) throws IOException {
    byte[] header = findBucket(bucket);
    if (header == null) return;
    ElementVisitor visitor = (flags, buf, k, ks, v, vs) -> {
      if ((flags & FLAG_BUCKET) == 0) row.accept(slice(buf, k, ks), slice(buf, v, vs));
    };
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    long root = h.getLong(0);
    if (root == 0) {
      ByteBuffer inline = ByteBuffer.wrap(header, BUCKET_HEADER_SIZE, header.length - BUCKET_HEADER_SIZE)
          .slice().order(ByteOrder.LITTLE_ENDIAN);
      if (inline.capacity() < PAGE_HEADER_SIZE) throw damaged("inline bucket " + show(bucket) + " is too short");
      int flags = inline.getShort(8) & 0xFFFF;
      if ((flags & FLAG_LEAF) == 0) throw damaged("inline bucket " + show(bucket) + " is not a leaf page");
      visitLeaf(inline, "inline bucket " + show(bucket), visitor);
    } else {
      walk(root, new BitSet(), 0, visitor);
    }
  }

  /** The database size bbolt reports ({@code tx.Size()}): high-water page id * page size. */
  public long size() {
    return highWater * pageSize;
  }

  /** The txid of the meta page in use. */
  public long txid() {
    return txid;
  }

  public int pageSize() {
    return pageSize;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  /** The bucket header (and inline page) of top-level bucket {@code name}, or null. */
  private byte[] findBucket(byte[] name) throws IOException {
    long pgid = rootPgid;
    BitSet seen = new BitSet();
    for (int depth = 0; ; depth++) {
      if (depth > MAX_DEPTH) throw damaged("the root bucket's tree is deeper than " + MAX_DEPTH + " levels");
      ByteBuffer page = readPage(pgid, seen);
      int flags = page.getShort(8) & 0xFFFF;
      int count = page.getShort(10) & 0xFFFF;
      if ((flags & FLAG_BRANCH) != 0) {
        if (count == 0) throw damaged("branch page " + pgid + " has no elements");
        // bbolt's search: the last child whose first key is <= name (or the first child)
        int chosen = 0;
        for (int i = 0; i < count; i++) {
          int e = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
          int k = elementOffset(page, e, page.getInt(e), page.getInt(e + 4), pgid);
          if (compare(page, k, page.getInt(e + 4), name) > 0) break;
          chosen = i;
        }
        pgid = page.getLong(PAGE_HEADER_SIZE + chosen * ELEMENT_SIZE + 8);
      } else if ((flags & FLAG_LEAF) != 0) {
        byte[][] found = new byte[1][];
        visitLeaf(page, "page " + pgid, (f, buf, k, ks, v, vs) -> {
          if (found[0] == null && (f & FLAG_BUCKET) != 0 && compare(buf, k, ks, name) == 0) {
            if (vs < BUCKET_HEADER_SIZE) throw damaged("bucket " + show(name) + " has a value of " + vs + " bytes");
            found[0] = slice(buf, v, vs);
          }
        });
        return found[0];
      } else {
        throw damaged("page " + pgid + " of the root bucket is neither a branch nor a leaf (flags 0x"
            + Integer.toHexString(flags) + ")");
      }
    }
  }

  /** Element callback: flags, the page buffer and absolute key/value offsets and sizes. */
  private interface ElementVisitor {
    void visit(int flags, ByteBuffer page, int key, int keySize, int value, int valueSize) throws IOException;
  }

  /** Visits the leaf elements of the tree rooted at {@code pgid}, in order. */
  private void walk(long pgid, BitSet seen, int depth, ElementVisitor visitor) throws IOException {
    if (depth > MAX_DEPTH) throw damaged("tree deeper than " + MAX_DEPTH + " levels at page " + pgid);
    ByteBuffer page = readPage(pgid, seen);
    int flags = page.getShort(8) & 0xFFFF;
    int count = page.getShort(10) & 0xFFFF;
    if ((flags & FLAG_BRANCH) != 0) {
      if (count == 0) throw damaged("branch page " + pgid + " has no elements");
      checkElementsFit(page, count, "page " + pgid);
      long[] children = new long[count];
      for (int i = 0; i < count; i++) children[i] = page.getLong(PAGE_HEADER_SIZE + i * ELEMENT_SIZE + 8);
      for (long child : children) walk(child, seen, depth + 1, visitor);
    } else if ((flags & FLAG_LEAF) != 0) {
      visitLeaf(page, "page " + pgid, visitor);
    } else {
      throw damaged("page " + pgid + " is neither a branch nor a leaf page (flags 0x" + Integer.toHexString(flags) + ")");
    }
  }

  private void visitLeaf(ByteBuffer page, String where, ElementVisitor visitor) throws IOException {
    int count = page.getShort(10) & 0xFFFF;
    checkElementsFit(page, count, where);
    for (int i = 0; i < count; i++) {
      int e = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
      int flags = page.getInt(e);
      int ks = page.getInt(e + 8);
      int vs = page.getInt(e + 12);
      long pos = Integer.toUnsignedLong(page.getInt(e + 4));
      long end = e + pos + Integer.toUnsignedLong(ks) + Integer.toUnsignedLong(vs);
      if (ks < 0 || vs < 0 || end > page.capacity()) {
        throw damaged(where + ": element " + i + " lies outside its page");
      }
      int k = (int) (e + pos);
      visitor.visit(flags, page, k, ks, k + ks, vs);
    }
  }

  private void checkElementsFit(ByteBuffer page, int count, String where) throws IOException {
    if ((long) PAGE_HEADER_SIZE + (long) count * ELEMENT_SIZE > page.capacity()) {
      throw damaged(where + ": " + count + " elements do not fit in the page");
    }
  }

  /** The absolute offset of a branch element's key, checked to lie inside the page. */
  private int elementOffset(ByteBuffer page, int elem, int pos, int size, long pgid) throws IOException {
    long end = elem + Integer.toUnsignedLong(pos) + Integer.toUnsignedLong(size);
    if (size < 0 || end > page.capacity()) throw damaged("page " + pgid + ": an element lies outside its page");
    return (int) (elem + Integer.toUnsignedLong(pos));
  }

  /** Reads page {@code pgid} with its overflow pages, checking range, type-independent header and reuse. */
  private ByteBuffer readPage(long pgid, BitSet seen) throws IOException {
    if (pgid < 2 || pgid >= highWater) {
      throw damaged("page id " + Long.toUnsignedString(pgid) + " is outside [2, " + highWater + ")");
    }
    if (seen.get((int) pgid)) throw damaged("page " + pgid + " is referenced twice (cycle)");
    seen.set((int) pgid);
    ByteBuffer first = BoltPages.allocate(pageSize);
    readFully(channel, first, pgid * pageSize);
    if (first.hasRemaining()) throw damaged("page " + pgid + " lies beyond the end of the file");
    long id = first.getLong(0);
    if (id != pgid) throw damaged("page " + pgid + " has id " + Long.toUnsignedString(id) + " in its header");
    long overflow = Integer.toUnsignedLong(first.getInt(12));
    if (overflow == 0) return first;
    if (pgid + overflow >= highWater) {
      throw damaged("page " + pgid + " with " + overflow + " overflow pages runs past the high-water mark " + highWater);
    }
    long total = (overflow + 1) * pageSize;
    if (total > Integer.MAX_VALUE - 8) throw damaged("page " + pgid + " has " + overflow + " overflow pages");
    ByteBuffer whole = BoltPages.allocate((int) total);
    whole.put(first.flip());
    readFully(channel, whole, pgid * pageSize + pageSize);
    if (whole.hasRemaining()) throw damaged("page " + pgid + "'s overflow pages lie beyond the end of the file");
    for (long o = 1; o <= overflow; o++) {
      if (seen.get((int) (pgid + o))) throw damaged("overflow page " + (pgid + o) + " is also used elsewhere");
      seen.set((int) (pgid + o));
    }
    return whole;
  }

  /** Reads from {@code position} until {@code buf} is full or the file ends. */
  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) return;
      pos += n;
    }
  }

  private IOException damaged(String what) {
    return new IOException("damaged bbolt file " + file + ": " + what);
  }

  private static int compare(ByteBuffer buf, int off, int len, byte[] b) {
    int n = Math.min(len, b.length);
    for (int i = 0; i < n; i++) {
      int c = Integer.compare(buf.get(off + i) & 0xFF, b[i] & 0xFF);
      if (c != 0) return c;
    }
    return Integer.compare(len, b.length);
  }

  private static byte[] slice(ByteBuffer buf, int off, int len) {
    byte[] out = new byte[len];
    buf.get(off, out);
    return out;
  }

  private static String show(byte[] b) {
    return "\"" + new String(b, 0, Math.min(b.length, 64), StandardCharsets.ISO_8859_1)
        .replaceAll("[^\\x20-\\x7e]", "?") + (b.length > 64 ? "...\"" : "\"");
  }
}
