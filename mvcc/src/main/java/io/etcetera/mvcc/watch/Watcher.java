package io.etcetera.mvcc.watch;

import com.google.protobuf.ByteString;
import io.etcetera.api.mvccpb.Event;

/**
 * One watch: a key or key range of one stream, the revision it started from and its options.
 *
 * <p>Threading: the identity and options are immutable. {@code nextRev}, {@code synced} and
 * {@code canceled} are guarded by the hub's lock, except that {@code nextRev} of an unsynced
 * watcher belongs to the hub's sync thread. {@code eventsSinceTick} is written by the sender.
 */
public final class Watcher {
  private static final java.util.Comparator<ByteString> ORDER = ByteString.unsignedLexicographicalComparator();

  final WatchStream stream;
  final long id;
  final ByteString key;
  /** Empty: the single key; {@code [0]}: every key from {@code key} on; else the exclusive end. */
  final ByteString end;
  final long startRev;
  final boolean noPut;
  final boolean noDelete;
  final boolean prevKv;
  final boolean progressNotify;
  final boolean fragment;

  long nextRev;
  boolean synced;
  boolean canceled;
  volatile boolean eventsSinceTick;

  Watcher(WatchStream stream, long id, ByteString key, ByteString end, long startRev, WatchOptions o) {
    this.stream = stream;
    this.id = id;
    this.key = key;
    this.end = end;
    this.startRev = startRev;
    this.noPut = o.noPut();
    this.noDelete = o.noDelete();
    this.prevKv = o.prevKv();
    this.progressNotify = o.progressNotify();
    this.fragment = o.fragment();
    this.nextRev = startRev;
  }

  public long id() {
    return id;
  }

  public boolean prevKv() {
    return prevKv;
  }

  public boolean fragment() {
    return fragment;
  }

  boolean isSingleKey() {
    return end.isEmpty();
  }

  boolean covers(ByteString k) {
    if (end.isEmpty()) {
      return key.equals(k);
    }
    if (ORDER.compare(k, key) < 0) {
      return false;
    }
    return (end.size() == 1 && end.byteAt(0) == 0) || ORDER.compare(k, end) < 0;
  }

  /** Whether this watcher wants {@code e}: its key is covered and no filter drops it. */
  boolean wants(Event e) {
    if (e.getType() == Event.EventType.PUT ? noPut : noDelete) {
      return false;
    }
    return covers(e.getKv().getKey());
  }
}
