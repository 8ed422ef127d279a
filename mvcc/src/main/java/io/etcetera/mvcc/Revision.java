package io.etcetera.mvcc;

/**
 * A point in the store's history: the main revision of a write request and the sub revision of
 * one change inside it (a txn's ops are subs 0, 1, 2, ... of one main revision).
 *
 * <p>On disk a revision is the 17-byte big-endian key {@code main '_' sub} of the {@code kv}
 * column family, so that RocksDB orders rows by revision; a tombstone row carries one more byte,
 * {@code 't'}. Immutable.
 */
public record Revision(long main, long sub) implements Comparable<Revision> {
  public static final int KEY_LENGTH = 17;
  public static final byte TOMBSTONE_MARK = 't';

  public byte[] toKey(boolean tombstone) {
    byte[] b = new byte[tombstone ? KEY_LENGTH + 1 : KEY_LENGTH];
    putLong(b, 0, main);
    b[8] = '_';
    putLong(b, 9, sub);
    if (tombstone) {
      b[KEY_LENGTH] = TOMBSTONE_MARK;
    }
    return b;
  }

  /** The smallest row key of this main revision: a scan bound. */
  public static byte[] startKey(long main) {
    return new Revision(main, 0).toKey(false);
  }

  public static Revision fromKey(byte[] key) {
    if (key.length != KEY_LENGTH && key.length != KEY_LENGTH + 1) {
      throw new IllegalArgumentException("not a revision key: length " + key.length);
    }
    return new Revision(getLong(key, 0), getLong(key, 9));
  }

  public static boolean isTombstoneKey(byte[] key) {
    return key.length == KEY_LENGTH + 1 && key[KEY_LENGTH] == TOMBSTONE_MARK;
  }

  @Override
  public int compareTo(Revision o) {
    int c = Long.compare(main, o.main);
    return c != 0 ? c : Long.compare(sub, o.sub);
  }

  static void putLong(byte[] b, int off, long v) {
    for (int i = 7; i >= 0; i--) {
      b[off + i] = (byte) v;
      v >>>= 8;
    }
  }

  static long getLong(byte[] b, int off) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (b[off + i] & 0xff);
    }
    return v;
  }
}
