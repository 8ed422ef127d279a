package io.etcetera.mvcc.index;

import io.etcetera.mvcc.Revision;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BiConsumer;

/**
 * The in-memory index from user key to its {@link KeyHistory}, ordered by unsigned bytes as etcd
 * orders keys. Rebuilt from the {@code kv} rows at start.
 *
 * <p>Threading: one writer (the apply thread) calls the mutators; readers on any thread iterate
 * concurrently without locks. Readers must only trust revisions at or below the store's published
 * current revision: the writer adds entries for a batch before that batch is durable.
 */
public final class KeyIndex {
  public static final Comparator<byte[]> KEY_ORDER = Arrays::compareUnsigned;

  private final ConcurrentSkipListMap<byte[], KeyHistory> keys = new ConcurrentSkipListMap<>(KEY_ORDER);

  public KeyHistory get(byte[] key) {
    return keys.get(key);
  }

  /** Writer only: records a put of {@code key} at {@code main.sub}. */
  public KeyHistory put(byte[] key, long main, long sub, long lease) {
    KeyHistory h = keys.get(key);
    KeyHistory next = h == null ? KeyHistory.firstPut(main, sub, lease) : h.put(main, sub, lease);
    keys.put(key, next);
    return next;
  }

  /** Writer only: records a delete of a live {@code key} at {@code main.sub}. */
  public void tombstone(byte[] key, long main, long sub) {
    KeyHistory h = keys.get(key);
    if (h == null) {
      throw new IllegalStateException("tombstone for unknown key");
    }
    keys.put(key, h.tombstone(main, sub));
  }

  /** Writer only: puts back a view taken before an aborted change ({@code null}: the key was absent). */
  public void reset(byte[] key, KeyHistory view) {
    if (view == null) {
      keys.remove(key);
    } else {
      keys.put(key, view);
    }
  }

  /** Writer only, at start: replays one row read from disk. */
  public void restore(byte[] key, long main, long sub, boolean tombstone, long createRevision, long version, long lease) {
    KeyHistory h = keys.get(key);
    if (tombstone) {
      if (h != null && !h.isDeleted()) {
        keys.put(key, h.tombstone(main, sub));
      }
      // a tombstone with no live history before it (compacted away) leaves nothing to record
      return;
    }
    keys.put(key, h == null
        ? KeyHistory.restored(main, sub, createRevision, version, lease)
        : h.putRestored(main, sub, createRevision, version, lease));
  }

  /**
   * The keys in {@code [key, end)}: a single key when {@code end} is empty, every key from
   * {@code key} on when {@code end} is the single byte 0 (etcd's "from key").
   */
  public Iterable<Map.Entry<byte[], KeyHistory>> range(byte[] key, byte[] end) {
    if (end.length == 0) {
      KeyHistory h = keys.get(key);
      return h == null ? List.of() : List.of(Map.entry(key, h));
    }
    if (end.length == 1 && end[0] == 0) {
      return keys.tailMap(key, true).entrySet();
    }
    if (KEY_ORDER.compare(key, end) >= 0) {
      return List.of();
    }
    return keys.subMap(key, true, end, false).entrySet();
  }

  /**
   * Writer only: compacts every history at {@code atRev} and reports, per key, the revision whose
   * row must survive the physical compaction.
   */
  public void compact(long atRev, BiConsumer<byte[], Revision> kept) {
    for (Map.Entry<byte[], KeyHistory> e : keys.entrySet()) {
      KeyHistory h = e.getValue();
      Revision k = h.keptAt(atRev);
      if (k != null) {
        kept.accept(e.getKey(), k);
      }
      KeyHistory c = h.compact(atRev);
      if (c == null) {
        keys.remove(e.getKey());
      } else if (c != h) {
        keys.put(e.getKey(), c);
      }
    }
  }

  public int size() {
    return keys.size();
  }
}
