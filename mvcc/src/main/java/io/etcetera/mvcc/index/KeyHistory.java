package io.etcetera.mvcc.index;

import java.util.Arrays;

/**
 * The revisions at which one key changed, oldest first: puts, and tombstones that end a
 * generation. Example (etcd's key_index.go, worked the same way): put@1.0, put@2.0, del@3.0,
 * put@4.0 gives two generations, {1.0, 2.0, 3.0(t)} and {4.0}; reading at revision 2 finds 2.0,
 * at 3 finds the tombstone (the key is absent), at 4 finds 4.0. Compacting at 2 keeps 2.0 (the
 * newest revision at or below 2, live) and everything after; compacting at 3 drops 1.0, 2.0 and
 * the tombstone 3.0 too, since nobody can read the deleted key at or after revision 3.
 *
 * <p>Threading: an instance is an immutable view. The single writer (the apply thread) makes a
 * new view per change; appends share the backing arrays with older views, which is safe because
 * a view never reads past its own {@code size} and the writer only writes past every published
 * size. Readers on any thread see a consistent view through the index's concurrent map.
 */
public final class KeyHistory {
  private static final int TOMBSTONE = 0x8000_0000;

  private final long[] mains;
  private final int[] subs; // sub revision, high bit set for a tombstone
  private final int size;
  /** Create revision (main) of the current generation; 0 when the key is deleted. */
  private final long createMain;
  /** Version of the key in the current generation (1 after its first put); 0 when deleted. */
  private final long version;
  /** Lease of the current value; 0 for none or when deleted. */
  private final long lease;

  private KeyHistory(long[] mains, int[] subs, int size, long createMain, long version, long lease) {
    this.mains = mains;
    this.subs = subs;
    this.size = size;
    this.createMain = createMain;
    this.version = version;
    this.lease = lease;
  }

  public static KeyHistory firstPut(long main, long sub, long lease) {
    long[] m = new long[2];
    int[] s = new int[2];
    m[0] = main;
    s[0] = (int) sub;
    return new KeyHistory(m, s, 1, main, 1, lease);
  }

  /** Used when rebuilding from disk: a history whose first known entry is a put at a given version. */
  static KeyHistory restored(long main, long sub, long createMain, long version, long lease) {
    long[] m = new long[2];
    int[] s = new int[2];
    m[0] = main;
    s[0] = (int) sub;
    return new KeyHistory(m, s, 1, createMain, version, lease);
  }

  public KeyHistory put(long main, long sub, long newLease) {
    checkAfterLast(main, sub);
    if (isDeleted()) {
      return append(main, (int) sub, main, 1, newLease);
    }
    return append(main, (int) sub, createMain, version + 1, newLease);
  }

  /** Restores a put read from disk, keeping the version and create revision it was written with. */
  KeyHistory putRestored(long main, long sub, long createRevision, long ver, long newLease) {
    checkAfterLast(main, sub);
    return append(main, (int) sub, createRevision, ver, newLease);
  }

  public KeyHistory tombstone(long main, long sub) {
    if (isDeleted()) {
      throw new IllegalStateException("tombstone on a deleted key at " + main + "." + sub);
    }
    checkAfterLast(main, sub);
    return append(main, (int) sub | TOMBSTONE, 0, 0, 0);
  }

  private void checkAfterLast(long main, long sub) {
    if (size > 0) {
      long lm = mains[size - 1];
      long ls = subs[size - 1] & ~TOMBSTONE;
      if (main < lm || (main == lm && sub <= ls)) {
        throw new IllegalStateException(
            "revision " + main + "." + sub + " not after " + lm + "." + ls + ": the store went back in time");
      }
    }
  }

  private KeyHistory append(long main, int subWord, long create, long ver, long newLease) {
    long[] m = mains;
    int[] s = subs;
    if (size == m.length) {
      m = Arrays.copyOf(m, Math.max(2, size * 2));
      s = Arrays.copyOf(s, m.length);
    }
    m[size] = main;
    s[size] = subWord;
    return new KeyHistory(m, s, size + 1, create, ver, newLease);
  }

  /** True when the newest entry is a tombstone (the key does not exist now). */
  public boolean isDeleted() {
    return size == 0 || (subs[size - 1] & TOMBSTONE) != 0;
  }

  public long createMain() {
    return createMain;
  }

  public long version() {
    return version;
  }

  public long lease() {
    return lease;
  }

  public int size() {
    return size;
  }

  /** Index of the newest entry with main revision ≤ atRev, or -1. */
  private int floor(long atRev) {
    int lo = 0;
    int hi = size - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (mains[mid] <= atRev) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /**
   * The revision at which the key's value visible at {@code atRev} was written, or null when the
   * key does not exist at {@code atRev} (never written yet, deleted, or compacted away).
   */
  public io.etcetera.mvcc.Revision liveAt(long atRev) {
    int i = floor(atRev);
    if (i < 0 || (subs[i] & TOMBSTONE) != 0) {
      return null;
    }
    return new io.etcetera.mvcc.Revision(mains[i], subs[i]);
  }

  /** Whether the key exists at {@code atRev}; allocation-free form of {@link #liveAt}. */
  public boolean isLiveAt(long atRev) {
    int i = floor(atRev);
    return i >= 0 && (subs[i] & TOMBSTONE) == 0;
  }

  /**
   * Drops what nobody can read after a compaction at {@code atRev}: every entry below the newest
   * one at or below {@code atRev}, and that one too when it is a tombstone.
   *
   * @return the compacted history, or null when nothing is left
   */
  public KeyHistory compact(long atRev) {
    int i = floor(atRev);
    if (i < 0) {
      return this;
    }
    int from = (subs[i] & TOMBSTONE) != 0 ? i + 1 : i;
    if (from == 0) {
      return this;
    }
    int n = size - from;
    if (n == 0) {
      return null;
    }
    long[] m = Arrays.copyOfRange(mains, from, from + Math.max(n, 2));
    int[] s = Arrays.copyOfRange(subs, from, from + Math.max(n, 2));
    return new KeyHistory(m, s, n, createMain, version, lease);
  }

  /** The revision kept by a compaction at {@code atRev} at or below it (its row must stay), or null. */
  public io.etcetera.mvcc.Revision keptAt(long atRev) {
    int i = floor(atRev);
    if (i < 0 || (subs[i] & TOMBSTONE) != 0) {
      return null;
    }
    return new io.etcetera.mvcc.Revision(mains[i], subs[i]);
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("KeyHistory[");
    for (int i = 0; i < size; i++) {
      if (i > 0) {
        b.append(' ');
      }
      b.append(mains[i]).append('.').append(subs[i] & ~TOMBSTONE);
      if ((subs[i] & TOMBSTONE) != 0) {
        b.append('t');
      }
    }
    return b.append(']').toString();
  }
}
