package io.etcetera.mvcc.bolt;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The bbolt file layout shared by {@link BoltWriter} and {@link BoltReader}: sizes, flags, the meta
 * page and its checksum. All fields are little-endian.
 *
 * <pre>
 * page header (16 bytes)   id u64 | flags u16 | count u16 | overflow u32
 * leaf element (16 bytes)  flags u32 | pos u32 | ksize u32 | vsize u32   (pos: from the element to its key; the value follows the key)
 * branch element (16)      pos u32 | ksize u32 | pgid u64
 * meta (at page offset 16) magic u32 | version u32 | pageSize u32 | flags u32 | root u64 | sequence u64
 *                          | freelist u64 | pgid u64 | txid u64 | checksum u64 (FNV-1a 64 of the 56 bytes before it)
 * bucket value             root u64 | sequence u64 [| inline leaf page when root == 0]
 * </pre>
 *
 * <p>Stateless; every method is safe to call from any thread.
 */
final class BoltPages {

  static final int PAGE_HEADER_SIZE = 16;
  static final int ELEMENT_SIZE = 16;
  static final int BUCKET_HEADER_SIZE = 16;
  /** Meta bytes covered by the checksum; the checksum follows them. */
  static final int META_CHECKED_SIZE = 56;
  static final int META_SIZE = META_CHECKED_SIZE + 8;

  static final int MAGIC = 0xED0CDAED;
  static final int VERSION = 2;

  static final int FLAG_BRANCH = 0x01;
  static final int FLAG_LEAF = 0x02;
  static final int FLAG_META = 0x04;
  static final int FLAG_FREELIST = 0x10;
  /** Leaf element flag: the value is a bucket header. */
  static final int FLAG_BUCKET = 0x01;

  /** bbolt's limits (bucket.go MaxKeySize, MaxValueSize). */
  static final int MAX_KEY_SIZE = 32768;
  static final long MAX_VALUE_SIZE = (1L << 31) - 2;
  /** A page holds fewer than 0xFFFF elements (the freelist uses 0xFFFF as an escape). */
  static final int MAX_ELEMENTS = 0xFFFE;
  /** Meta freelist value meaning "freelist not synced" (bbolt's pgidNoFreelist). */
  static final long NO_FREELIST = -1L;

  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;

  private BoltPages() {}

  /** The contents of a meta page (without magic, version and checksum). */
  record Meta(int pageSize, int flags, long root, long sequence, long freelist, long pgid, long txid) {}

  /** A little-endian heap buffer of {@code size} zero bytes. */
  static ByteBuffer allocate(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** FNV-1a 64 of {@code len} bytes of {@code buf} from absolute offset {@code off}. */
  static long fnv1a64(ByteBuffer buf, int off, int len) {
    long h = FNV_OFFSET;
    for (int i = 0; i < len; i++) {
      h ^= buf.get(off + i) & 0xFF;
      h *= FNV_PRIME;
    }
    return h;
  }

  /** Writes a page header at absolute offset {@code off}. */
  static void putHeader(ByteBuffer buf, int off, long id, int flags, int count, int overflow) {
    buf.putLong(off, id);
    buf.putShort(off + 8, (short) flags);
    buf.putShort(off + 10, (short) count);
    buf.putInt(off + 12, overflow);
  }

  /** Writes a whole meta page (header, meta, checksum) into {@code page}, which is at least 80 bytes. */
  static void putMetaPage(ByteBuffer page, long pageId, Meta m) {
    putHeader(page, 0, pageId, FLAG_META, 0, 0);
    int o = PAGE_HEADER_SIZE;
    page.putInt(o, MAGIC);
    page.putInt(o + 4, VERSION);
    page.putInt(o + 8, m.pageSize());
    page.putInt(o + 12, m.flags());
    page.putLong(o + 16, m.root());
    page.putLong(o + 24, m.sequence());
    page.putLong(o + 32, m.freelist());
    page.putLong(o + 40, m.pgid());
    page.putLong(o + 48, m.txid());
    page.putLong(o + 56, fnv1a64(page, o, META_CHECKED_SIZE));
  }

  /**
   * Decodes the meta at absolute offset {@code off} (the byte after the page header), or returns why
   * it is not a valid bbolt meta: wrong magic, version or checksum.
   *
   * @return a {@link Meta}, or a {@link String} naming the problem
   */
  static Object readMeta(ByteBuffer buf, int off) {
    if (buf.getInt(off) != MAGIC) {
      return String.format("no bbolt magic (found 0x%08X, expected 0x%08X)", buf.getInt(off), MAGIC);
    }
    if (buf.getInt(off + 4) != VERSION) {
      return "unsupported bbolt version " + Integer.toUnsignedString(buf.getInt(off + 4)) + " (expected " + VERSION + ")";
    }
    long stored = buf.getLong(off + 56);
    long computed = fnv1a64(buf, off, META_CHECKED_SIZE);
    if (stored != computed) {
      return String.format("meta checksum mismatch (stored %016x, computed %016x)", stored, computed);
    }
    return new Meta(buf.getInt(off + 8), buf.getInt(off + 12), buf.getLong(off + 16), buf.getLong(off + 24),
        buf.getLong(off + 32), buf.getLong(off + 40), buf.getLong(off + 48));
  }
}
