package io.etcetera.mvcc.kv;

import com.google.protobuf.InvalidProtocolBufferException;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.Revision;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.BackendException;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.index.KeyHistory;
import io.etcetera.mvcc.index.KeyIndex;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.rocksdb.RocksIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's multi-version key-value store on RocksDB: every change is a row keyed by its revision,
 * and the {@link KeyIndex} maps user keys to the revisions at which they changed.
 *
 * <p>Threading: exactly one writer, the apply thread, calls {@link #write}, {@link #compact} and
 * {@link #commit}. Any thread may call {@link #range}. The writer's order is: rows and index
 * entries for a batch, then one durable RocksDB write, then {@code currentRev} is published; so a
 * reader that takes {@code currentRev} first sees only durable revisions. A compaction is checked
 * and recorded when applied but takes effect after its batch is durable: {@code currentRev}, then
 * {@code compactRev} (≤ it) are published, then the index is trimmed. Readers re-check
 * {@code compactRev} after reading, so a read racing a compaction never answers from a trimmed
 * history: a read at a given revision fails with etcd's compacted error, a read of the newest
 * revision retries at the new newest one (etcd never refuses those).
 */
public final class MvccStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MvccStore.class);

  private final Backend backend;
  /** Replaced whole only when a snapshot is installed (writer thread); readers take it once per read. */
  private volatile KeyIndex index = new KeyIndex();
  private final Compactor compactor;

  /** Newest durable revision: readers never look past it. Written by the apply thread only. */
  private volatile long currentRev;
  /** Reads below this revision fail with ErrCompacted; -1 before the first compaction, as etcd. */
  private volatile long compactRev = -1;
  /** Writer only: the compacted revision including compactions applied but not yet durable. */
  private long pendingCompactRev = -1;

  /** Writer only: the revision of the last applied write, durable or not yet. */
  private long pendingRev;
  /** Writer only: the applied log index persisted (or about to be) with the state. */
  private long appliedIndex;
  private long appliedTerm;
  private KeyLeases keyLeases = KeyLeases.NONE;
  private java.util.function.Consumer<List<RevisionEvents>> committed = events -> { };

  private MvccStore(Backend backend) {
    this.backend = backend;
    this.compactor = new Compactor(backend);
  }

  /** Opens the store and rebuilds the index from the rows on disk. */
  public static MvccStore open(Backend backend) {
    MvccStore s = new MvccStore(backend);
    s.recover();
    return s;
  }

  /**
   * Writer only: rebuilds the in-memory state from the rows now in the backend, after {@link
   * Backend#replaceContentWith} installed a snapshot. The new index is built aside and published
   * whole; leased keys are attached to the lessor again (reset it first).
   */
  public void reload() {
    compactRev = -1;
    pendingCompactRev = -1;
    recover();
    connectLeases(keyLeases);
  }

  private void recover() {
    KeyIndex idx = new KeyIndex();
    appliedIndex = MetaKeys.decode(backend.getMeta(MetaKeys.CONSISTENT_INDEX));
    appliedTerm = MetaKeys.decode(backend.getMeta(MetaKeys.CONSISTENT_TERM));
    long rev = Math.max(1, MetaKeys.decode(backend.getMeta(MetaKeys.CURRENT_REVISION)));
    byte[] scheduledRaw = backend.getMeta(MetaKeys.SCHEDULED_COMPACT);
    long scheduled = scheduledRaw == null ? -1 : MetaKeys.decode(scheduledRaw);
    long finished = MetaKeys.decode(backend.getMeta(MetaKeys.FINISHED_COMPACT));
    long rows = 0;
    try (RocksIterator it = backend.kvIterator()) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        byte[] k = it.key();
        Revision r = Revision.fromKey(k);
        KeyValue kv = parse(it.value());
        idx.restore(kv.getKey().toByteArray(), r.main(), r.sub(), Revision.isTombstoneKey(k),
            kv.getCreateRevision(), kv.getVersion(), kv.getLease());
        rev = Math.max(rev, r.main());
        rows++;
      }
    }
    index = idx; // published before the revisions that readers take first
    currentRev = rev;
    pendingRev = rev;
    if (scheduled >= 0) {
      compactRev = scheduled;
      pendingCompactRev = scheduled;
      Set<Revision> keep = new HashSet<>();
      idx.compact(scheduled, (key, kept) -> keep.add(kept));
      if (finished < scheduled) {
        log.info("resuming the physical compaction at revision {}", scheduled);
        compactor.schedule(scheduled, keep).join();
      }
    }
    log.info("recovered store: {} rows, {} keys, revision {}, compacted at {}, applied index {}",
        rows, idx.size(), currentRev, compactRev, appliedIndex);
  }

  static KeyValue parse(byte[] row) {
    try {
      return KeyValue.parseFrom(row);
    } catch (InvalidProtocolBufferException e) {
      throw new BackendException("corrupt kv row", e);
    }
  }

  /**
   * Connects the lessor: it is told of every key attached to or detached from a lease, starting
   * with the leased keys already in the store. Call once, before the first write.
   */
  public void connectLeases(KeyLeases leases) {
    this.keyLeases = leases;
    for (Map.Entry<byte[], KeyHistory> e : index.range(new byte[] {0}, new byte[] {0})) {
      KeyHistory h = e.getValue();
      if (!h.isDeleted() && h.lease() != 0) {
        leases.attach(h.lease(), com.google.protobuf.ByteString.copyFrom(e.getKey()));
      }
    }
  }

  /**
   * Connects the watch hub: after each durable batch (and before its proposals are answered) it
   * gets the batch's events, in revision order, on the apply thread. It must not block.
   */
  public void onCommitted(java.util.function.Consumer<List<RevisionEvents>> listener) {
    this.committed = listener;
  }

  KeyLeases keyLeases() {
    return keyLeases;
  }

  /** Writer only: stages a row of another column family (leases, later auth) in {@code batch}. */
  public void stage(ApplyBatch batch, org.rocksdb.ColumnFamilyHandle cf, byte[] key, byte[] value) {
    if (value == null) {
      try {
        batch.writes.delete(cf, key);
      } catch (org.rocksdb.RocksDBException e) {
        throw new BackendException("cannot stage a delete", e);
      }
    } else {
      batch.put(cf, key, value);
    }
    batch.dirty = true;
  }

  /** etcd's HashKV at {@code rev} (0 = current); any thread. */
  public KvHash hashKv(long rev) {
    return KvHash.of(this, rev);
  }

  public long currentRevision() {
    return currentRev;
  }

  public long compactRevision() {
    return compactRev;
  }

  /** The applied log index that the durable state reflects. */
  public long appliedIndex() {
    return appliedIndex;
  }

  public long appliedTerm() {
    return appliedTerm;
  }

  public Backend backend() {
    return backend;
  }

  /**
   * Reads {@code [key, end)} at {@code rev} (0 = newest) from durable state, as etcd's
   * {@code rangeKeys}: at most {@code limit} key-values (0 = all) and the count of all keys.
   */
  public RangeResult range(byte[] key, byte[] end, long rev, long limit, boolean countOnly) {
    while (true) {
      long cur = currentRev;
      try {
        return rangeAt(key, end, rev, limit, countOnly, cur, -1, this::durableRows);
      } catch (io.etcetera.api.errors.EtcdException e) {
        // a read of the newest revision that a compaction overtook is retried at the new newest one
        if (rev > 0 || e.error() != EtcdError.COMPACTED || currentRev == cur) {
          throw e;
        }
      }
    }
  }

  /**
   * etcd's rangeKeys over the index at {@code cur}. {@code floor} is the compacted revision the
   * caller must respect beyond the published one (the writer's pending compaction), or -1.
   */
  RangeResult rangeAt(byte[] key, byte[] end, long rev, long limit, boolean countOnly, long cur, long floor,
      RowSource rows) {
    if (rev > cur) {
      throw EtcdError.FUTURE_REV.exception();
    }
    long at = rev <= 0 ? cur : rev;
    if (at < compactRev || at < floor) {
      throw EtcdError.COMPACTED.exception();
    }
    List<Revision> revs = new ArrayList<>();
    long count = 0;
    for (Map.Entry<byte[], KeyHistory> e : index.range(key, end)) {
      KeyHistory h = e.getValue();
      if (countOnly || (limit > 0 && revs.size() >= limit)) {
        if (h.isLiveAt(at)) {
          count++;
        }
        continue;
      }
      Revision r = h.liveAt(at);
      if (r != null) {
        count++;
        revs.add(r);
      }
    }
    List<KeyValue> kvs = revs.isEmpty() ? List.of() : rows.rows(revs);
    if (at < compactRev) { // a compaction overtook this read: its answer may be trimmed
      throw EtcdError.COMPACTED.exception();
    }
    for (KeyValue kv : kvs) {
      if (kv == null) {
        throw new IllegalStateException("range found no row for a revision at " + at + " (compacted at " + compactRev + ")");
      }
    }
    return new RangeResult(kvs, count, cur);
  }

  private List<KeyValue> durableRows(List<Revision> revs) {
    List<byte[]> keys = new ArrayList<>(revs.size());
    for (Revision r : revs) {
      keys.add(r.toKey(false));
    }
    List<byte[]> values = backend.multiGetKv(keys);
    List<KeyValue> out = new ArrayList<>(values.size());
    for (byte[] v : values) {
      out.add(v == null ? null : parse(v));
    }
    return out;
  }

  /** Writer only: starts the changes of one request (one main revision) inside {@code batch}. */
  public WriteTxn write(ApplyBatch batch) {
    return new WriteTxn(this, batch, pendingRev);
  }

  // --- called by WriteTxn on the apply thread ---

  KeyIndex index() {
    return index;
  }

  void ended(WriteTxn txn, long newRev) {
    pendingRev = newRev;
  }

  /** What an event costs beyond its key and value when watch queues count bytes. */
  public static final int EVENT_OVERHEAD_BYTES = 64;

  /**
   * The events of revisions {@code from..to} read back from the rows, for watchers catching up:
   * whole revisions only, stopping after {@code maxRevisions} revisions or once {@code maxBytes}
   * are read (keys, values and {@link #EVENT_OVERHEAD_BYTES} per event). Rows below the compacted revision may be missing: the caller
   * checks {@link #compactRevision()} afterwards.
   */
  public History history(long from, long to, int maxRevisions, long maxBytes) {
    List<RevisionEvents> out = new ArrayList<>();
    if (from > to) {
      return new History(out, to);
    }
    List<io.etcetera.api.mvccpb.Event> current = new ArrayList<>();
    long currentRev = -1;
    long bytes = 0;
    try (RocksIterator it = backend.kvIterator()) {
      for (it.seek(Revision.startKey(from)); it.isValid(); it.next()) {
        byte[] k = it.key();
        Revision r = Revision.fromKey(k);
        if (r.main() > to) {
          break;
        }
        if (r.main() != currentRev) {
          if (currentRev >= 0) {
            out.add(new RevisionEvents(currentRev, List.copyOf(current)));
            current.clear();
            if (out.size() >= maxRevisions || bytes >= maxBytes) {
              return new History(out, currentRev);
            }
          }
          currentRev = r.main();
        }
        KeyValue kv = parse(it.value());
        bytes += EVENT_OVERHEAD_BYTES + kv.getKey().size() + kv.getValue().size();
        if (Revision.isTombstoneKey(k)) {
          current.add(io.etcetera.api.mvccpb.Event.newBuilder()
              .setType(io.etcetera.api.mvccpb.Event.EventType.DELETE)
              .setKv(kv.toBuilder().setModRevision(r.main()))
              .build());
        } else {
          current.add(io.etcetera.api.mvccpb.Event.newBuilder()
              .setType(io.etcetera.api.mvccpb.Event.EventType.PUT)
              .setKv(kv)
              .build());
        }
      }
    }
    if (currentRev >= 0) {
      out.add(new RevisionEvents(currentRev, List.copyOf(current)));
    }
    return new History(out, to);
  }

  /** Stored events of whole revisions, complete from the first revision asked for up to {@code coveredTo}. */
  public record History(List<RevisionEvents> revisions, long coveredTo) {}

  /** Writer only: the revision of the last applied write (what the next write builds on). */
  public long writeRevision() {
    return pendingRev;
  }

  /** Writer only: the compacted revision as the next applied request must see it. */
  public long writeCompactRevision() {
    return pendingCompactRev;
  }

  /**
   * Writer only: compacts history at {@code rev}, as etcd's Compact. Checked and recorded now;
   * once the batch is durable the index is trimmed and the compactor deletes the rows.
   *
   * @return completes when every row below {@code rev} that nobody can read is deleted
   */
  public CompletableFuture<Void> compact(ApplyBatch batch, long rev) {
    if (rev <= pendingCompactRev) {
      throw EtcdError.COMPACTED.exception();
    }
    if (rev > pendingRev) {
      throw EtcdError.FUTURE_REV.exception();
    }
    pendingCompactRev = rev;
    batch.put(backend.meta(), MetaKeys.SCHEDULED_COMPACT, MetaKeys.encode(rev));
    CompletableFuture<Void> done = new CompletableFuture<>();
    batch.afterCommit(() -> {
      compactRev = rev; // before trimming: racing readers re-check it (see the class comment)
      Set<Revision> keep = new HashSet<>();
      index.compact(rev, (key, kept) -> keep.add(kept));
      compactor.schedule(rev, keep).whenComplete((v, t) -> {
        if (t != null) {
          done.completeExceptionally(t);
        } else {
          done.complete(null);
        }
      });
    });
    batch.dirty = true;
    return done;
  }

  /**
   * Writer only: makes the batch durable in one RocksDB write (with the applied index and the
   * revision), then publishes its revision to readers and runs its after-commit actions.
   */
  public void commit(ApplyBatch batch) {
    if (!batch.isDirty()) {
      appliedIndex = batch.appliedIndex;
      appliedTerm = batch.appliedTerm;
      for (Runnable r : batch.afterCommit) {
        r.run();
      }
      return;
    }
    batch.put(backend.meta(), MetaKeys.CONSISTENT_INDEX, MetaKeys.encode(batch.appliedIndex));
    batch.put(backend.meta(), MetaKeys.CONSISTENT_TERM, MetaKeys.encode(batch.appliedTerm));
    batch.put(backend.meta(), MetaKeys.CURRENT_REVISION, MetaKeys.encode(pendingRev));
    backend.commit(batch.writes, true);
    appliedIndex = batch.appliedIndex;
    appliedTerm = batch.appliedTerm;
    currentRev = pendingRev;
    if (!batch.events.isEmpty()) {
      committed.accept(batch.events);
    }
    for (Runnable r : batch.afterCommit) {
      r.run();
    }
  }

  @Override
  public void close() {
    compactor.close();
  }
}
