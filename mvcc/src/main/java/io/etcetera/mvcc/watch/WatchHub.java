package io.etcetera.mvcc.watch;

import com.google.protobuf.ByteString;
import io.etcetera.api.mvccpb.Event;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.kv.RevisionEvents;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes committed events to watchers, as etcd's watchable store, with its two groups:
 *
 * <ul>
 *   <li><b>synced</b> watchers have been sent everything up to {@code lastNotified}; the apply
 *       thread hands them each batch's events ({@link #accept}) without blocking: a stream whose
 *       queue is full refuses, and its watcher becomes unsynced (a "victim") from the first
 *       revision it missed;
 *   <li><b>unsynced</b> watchers (created at a past revision, or victims) are caught up by the
 *       {@code watch-sync} thread from the stored history, in batches of whole revisions, whenever
 *       their stream has room; once level with {@code lastNotified} they join the synced group.
 * </ul>
 *
 * Every watcher therefore sees each revision of its range exactly once and in order, and no slow
 * client holds memory beyond its stream's bound or delays anyone else. A watcher whose next
 * revision is compacted away gets etcd's compacted cancel.
 *
 * <p>Threading: one lock guards the groups, {@code lastNotified} and every stream's watcher map;
 * queues have their own monitor and offers never block, so holding the lock while offering is
 * safe. Storage reads for catch-up happen outside the lock. The apply thread calls
 * {@link #accept}; gRPC threads call {@link #watch}, {@link #cancel}, {@link #requestProgress},
 * {@link #close}; a timer calls {@link #progressTick}.
 */
public final class WatchHub implements Consumer<List<RevisionEvents>>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WatchHub.class);
  /** A catch-up response holds at most this many revisions (etcd's watchBatchMaxRevs). */
  static final int CATCH_UP_REVISIONS = 1000;
  static final long CATCH_UP_BYTES = 2L << 20;

  private final MvccStore store;
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<ByteString, Set<Watcher>> syncedKeys = new HashMap<>();
  private final Set<Watcher> syncedRanges = new LinkedHashSetOfIdentity();
  private final Set<Watcher> unsynced = new LinkedHashSetOfIdentity();
  private final Set<WatchStream> progressPending = new LinkedHashSetOfIdentity();
  private final Set<WatchStream> streams = new LinkedHashSetOfIdentity();
  private long lastNotified;
  private final Thread syncThread;
  private volatile boolean running = true;

  public WatchHub(MvccStore store) {
    this.store = store;
    this.lastNotified = store.currentRevision();
    this.syncThread = new Thread(this::syncLoop, "watch-sync");
    this.syncThread.setDaemon(true);
    this.syncThread.start();
  }

  /** A set with identity semantics and insertion order. */
  private static final class LinkedHashSetOfIdentity<T> extends java.util.AbstractSet<T> {
    private final Map<T, Boolean> map = new LinkedHashMap<>();

    @Override
    public boolean add(T t) {
      return map.put(t, Boolean.TRUE) == null;
    }

    @Override
    public boolean remove(Object o) {
      return map.remove(o) != null;
    }

    @Override
    public boolean contains(Object o) {
      return map.containsKey(o);
    }

    @Override
    public java.util.Iterator<T> iterator() {
      return map.keySet().iterator();
    }

    @Override
    public int size() {
      return map.size();
    }
  }

  /** Opens a stream; {@code wakeup} schedules its sender (called whenever something is queued). */
  public WatchStream newStream(Runnable wakeup) {
    WatchStream s = new WatchStream(wakeup);
    lock.lock();
    try {
      streams.add(s);
    } finally {
      lock.unlock();
    }
    return s;
  }

  /**
   * Creates a watcher on {@code stream}, as etcd's watch create: queues the created response,
   * then its events. {@code requestedId} 0 lets the stream choose; {@code startRev} 0 means from
   * the next revision.
   *
   * @throws WatchException with etcd's reason when refused (duplicate ID, empty range)
   */
  public Watcher watch(WatchStream stream, long requestedId, ByteString key, ByteString end, long startRev,
      WatchOptions options) {
    if (key.isEmpty()) {
      key = ByteString.copyFrom(new byte[] {0}); // the smallest key, as etcd
    }
    boolean fromKey = end.size() == 1 && end.byteAt(0) == 0;
    if (!end.isEmpty() && !fromKey && ByteString.unsignedLexicographicalComparator().compare(key, end) >= 0) {
      throw new WatchException(WatchException.EMPTY_RANGE);
    }
    lock.lock();
    try {
      long id = requestedId;
      if (id == 0) {
        while (stream.watchers.containsKey(stream.nextId)) {
          stream.nextId++;
        }
        id = stream.nextId++;
      } else if (stream.watchers.containsKey(id)) {
        throw new WatchException(WatchException.DUPLICATE_ID);
      }
      long rev = startRev == 0 ? lastNotified + 1 : startRev;
      Watcher w = new Watcher(stream, id, key, end, rev, options);
      stream.watchers.put(id, w);
      stream.offerControl(new Outbound.Created(id, lastNotified, false, ""));
      if (rev > lastNotified) {
        addSynced(w);
      } else {
        unsynced.add(w);
        LockSupport.unpark(syncThread);
      }
      return w;
    } finally {
      lock.unlock();
    }
  }

  /** The created-and-canceled answer to a refused create request, as etcd sends it. */
  public void refuse(WatchStream stream, String reason) {
    lock.lock();
    try {
      stream.offerControl(new Outbound.Created(-1, lastNotified, true, reason));
    } finally {
      lock.unlock();
    }
  }

  /** Cancels watcher {@code id} of {@code stream} and queues etcd's canceled response; unknown IDs are ignored. */
  public void cancel(WatchStream stream, long id) {
    lock.lock();
    try {
      Watcher w = stream.watchers.remove(id);
      if (w == null) {
        return;
      }
      drop(w);
      stream.offerControl(new Outbound.Canceled(id, lastNotified, 0, ""));
    } finally {
      lock.unlock();
    }
  }

  /**
   * etcd 3.5.13's RequestProgress: a progress response (watch ID -1) at the current revision once
   * every watcher of the stream has been sent everything up to it. Deferred while any is behind.
   */
  public void requestProgress(WatchStream stream) {
    lock.lock();
    try {
      if (!progressIfSynced(stream)) {
        stream.progressPending = true;
        progressPending.add(stream);
      }
    } finally {
      lock.unlock();
    }
  }

  private boolean progressIfSynced(WatchStream stream) {
    for (Watcher w : stream.watchers.values()) {
      if (!w.synced || lastNotified < w.startRev) {
        return false;
      }
    }
    if (!stream.watchers.isEmpty()) {
      stream.offerControl(new Outbound.Progress(-1, lastNotified));
    }
    return true;
  }

  private void retryPendingProgress() {
    if (progressPending.isEmpty()) {
      return;
    }
    for (var it = progressPending.iterator(); it.hasNext(); ) {
      WatchStream s = it.next();
      if (progressIfSynced(s)) {
        s.progressPending = false;
        it.remove();
      }
    }
  }

  /**
   * Periodic progress (etcd's progress_notify): each synced watcher that asked for it and was sent
   * no events since the last tick gets a progress response at the current revision.
   */
  public void progressTick() {
    lock.lock();
    try {
      for (WatchStream s : streams) {
        List<Outbound.Progress> due = new ArrayList<>();
        for (Watcher w : s.watchers.values()) {
          if (!w.progressNotify) {
            continue;
          }
          if (!w.eventsSinceTick && w.synced && lastNotified >= w.startRev) {
            due.add(new Outbound.Progress(w.id, lastNotified));
          }
          w.eventsSinceTick = false;
        }
        s.offerTick(due);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Closes {@code stream}: its watchers stop, its queue is dropped. */
  public void close(WatchStream stream) {
    lock.lock();
    try {
      for (Watcher w : stream.watchers.values()) {
        drop(w);
      }
      stream.watchers.clear();
      progressPending.remove(stream);
      streams.remove(stream);
      stream.close();
    } finally {
      lock.unlock();
    }
  }

  private void drop(Watcher w) {
    w.canceled = true;
    if (w.synced) {
      removeSynced(w);
    } else {
      unsynced.remove(w);
    }
  }

  private void addSynced(Watcher w) {
    w.synced = true;
    if (w.isSingleKey()) {
      syncedKeys.computeIfAbsent(w.key, k -> new LinkedHashSetOfIdentity<>()).add(w);
    } else {
      syncedRanges.add(w);
    }
  }

  private void removeSynced(Watcher w) {
    w.synced = false;
    if (w.isSingleKey()) {
      Set<Watcher> set = syncedKeys.get(w.key);
      if (set != null) {
        set.remove(w);
        if (set.isEmpty()) {
          syncedKeys.remove(w.key);
        }
      }
    } else {
      syncedRanges.remove(w);
    }
  }

  /**
   * Apply thread, after a snapshot install moved the store to {@code rev} without events: every
   * synced watcher missed the revisions after {@code lastNotified}, so each is caught up from
   * storage like a victim (or cancelled as compacted, when the snapshot no longer has them).
   */
  public void jumpedTo(long rev) {
    lock.lock();
    try {
      List<Watcher> synced = new ArrayList<>(syncedRanges);
      for (Set<Watcher> s : syncedKeys.values()) {
        synced.addAll(s);
      }
      for (Watcher w : synced) {
        removeSynced(w);
        w.nextRev = Math.max(w.startRev, lastNotified + 1);
        unsynced.add(w);
      }
      lastNotified = Math.max(lastNotified, rev);
    } finally {
      lock.unlock();
    }
    LockSupport.unpark(syncThread);
  }

  /** Apply thread, after a batch is durable: hands its events to the synced watchers. Never blocks. */
  @Override
  public void accept(List<RevisionEvents> batch) {
    long first = batch.get(0).revision();
    long last = batch.get(batch.size() - 1).revision();
    lock.lock();
    try {
      Map<Watcher, List<Event>> out = new IdentityHashMap<>();
      for (RevisionEvents re : batch) {
        for (Event e : re.events()) {
          Set<Watcher> exact = syncedKeys.get(e.getKv().getKey());
          if (exact != null) {
            for (Watcher w : exact) {
              route(out, w, e, re.revision());
            }
          }
          for (Watcher w : syncedRanges) {
            route(out, w, e, re.revision());
          }
        }
      }
      lastNotified = last;
      for (Map.Entry<Watcher, List<Event>> en : out.entrySet()) {
        Watcher w = en.getKey();
        List<Event> evs = en.getValue();
        if (!w.stream.offerEvents(new Outbound.Events(w, evs, last, bytes(evs)))) {
          // the client is not reading: catch it up from storage later, from the first revision it missed
          removeSynced(w);
          w.nextRev = Math.max(w.startRev, first);
          unsynced.add(w);
        } else {
          w.eventsSinceTick = true;
        }
      }
      retryPendingProgress();
    } finally {
      lock.unlock();
    }
  }

  private static void route(Map<Watcher, List<Event>> out, Watcher w, Event e, long rev) {
    if (rev >= w.startRev && w.wants(e)) {
      out.computeIfAbsent(w, k -> new ArrayList<>()).add(e);
    }
  }

  static long bytes(List<Event> evs) {
    long n = 0;
    for (Event e : evs) {
      n += MvccStore.EVENT_OVERHEAD_BYTES + e.getKv().getKey().size() + e.getKv().getValue().size();
    }
    return n;
  }

  // --- catch-up (watch-sync thread) ---

  private void syncLoop() {
    while (running) {
      try {
        if (!syncOnce()) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
      } catch (RuntimeException e) {
        log.error("watch catch-up failed; retrying", e);
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
    }
  }

  /** One catch-up round; returns whether it did anything (then another round follows at once). */
  boolean syncOnce() {
    List<Watcher> ready = new ArrayList<>();
    long upTo;
    lock.lock();
    try {
      upTo = lastNotified;
      for (Watcher w : unsynced) {
        if (w.stream.hasRoom()) {
          ready.add(w);
        }
      }
    } finally {
      lock.unlock();
    }
    if (ready.isEmpty()) {
      return false;
    }
    long compactedBefore = store.compactRevision();
    long from = Long.MAX_VALUE;
    for (Watcher w : ready) {
      if (w.nextRev >= compactedBefore) {
        from = Math.min(from, w.nextRev);
      }
    }
    MvccStore.History h = from <= upTo
        ? store.history(from, upTo, CATCH_UP_REVISIONS, CATCH_UP_BYTES)
        : new MvccStore.History(List.of(), upTo);
    long coveredTo = h.coveredTo();
    long compacted = store.compactRevision(); // rows may have gone while reading
    boolean progressed = false;
    lock.lock();
    try {
      for (Watcher w : ready) {
        if (w.canceled || w.synced) {
          continue;
        }
        if (w.nextRev < compacted) {
          progressed = true;
          unsynced.remove(w);
          w.stream.watchers.remove(w.id);
          w.canceled = true;
          // etcd's compacted cancel carries the compact revision and no header revision
          w.stream.offerControl(new Outbound.Canceled(w.id, 0, compacted, ""));
          continue;
        }
        if (w.nextRev >= from && w.nextRev <= coveredTo) {
          List<Event> evs = new ArrayList<>();
          for (RevisionEvents re : h.revisions()) {
            if (re.revision() < w.nextRev) {
              continue;
            }
            for (Event e : re.events()) {
              if (w.wants(e)) {
                evs.add(e);
              }
            }
          }
          if (!evs.isEmpty()) {
            if (!w.stream.offerEvents(new Outbound.Events(w, evs, upTo, bytes(evs)))) {
              continue; // no room after all: retried once the client has read more
            }
            w.eventsSinceTick = true;
          }
          w.nextRev = coveredTo + 1;
          progressed = true;
        }
        if (w.nextRev > lastNotified) {
          unsynced.remove(w);
          addSynced(w);
          progressed = true;
        }
      }
      retryPendingProgress();
    } finally {
      lock.unlock();
    }
    return progressed;
  }

  /** Number of watchers in each group, for tests and metrics: [synced, unsynced]. */
  public int[] groupSizes() {
    lock.lock();
    try {
      int synced = syncedRanges.size();
      for (Set<Watcher> s : syncedKeys.values()) {
        synced += s.size();
      }
      return new int[] {synced, unsynced.size()};
    } finally {
      lock.unlock();
    }
  }

  /** Stops the catch-up thread and waits for it, so that nothing reads the store after this returns. */
  @Override
  public void close() {
    running = false;
    LockSupport.unpark(syncThread);
    try {
      syncThread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
