package io.etcetera.mvcc.kv;

import com.google.protobuf.ByteString;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.Revision;
import io.etcetera.mvcc.index.KeyHistory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The changes of one write request: all its puts and deletes share one main revision
 * ({@code beginRev + 1}) and take sub revisions in order, as etcd's {@code storeTxnWrite}.
 * Reads inside it see its own earlier changes. Nothing changes the revision unless something
 * is written.
 *
 * <p>A txn is all or nothing: if applying it fails part-way ({@link #abort}), its rows leave the
 * batch and the index gets back the views it had, as if the txn had never started.
 *
 * <p>Threading: apply thread only.
 */
public final class WriteTxn {
  private final MvccStore store;
  private final ApplyBatch batch;
  private final long beginRev;
  private final List<KeyValue> changes = new ArrayList<>();
  /** The index view of every key this txn changed, as it was before (null: absent); for abort. */
  private final java.util.TreeMap<byte[], KeyHistory> before = new java.util.TreeMap<>(io.etcetera.mvcc.index.KeyIndex.KEY_ORDER);
  /** Lease attachments to report when the txn ends: +lease attach, -lease detach (key alongside). */
  private final List<long[]> leaseOps = new ArrayList<>();
  private final List<ByteString> leaseKeys = new ArrayList<>();
  private boolean ended;

  WriteTxn(MvccStore store, ApplyBatch batch, long beginRev) {
    this.store = store;
    this.batch = batch;
    this.beginRev = beginRev;
    batch.setSavePoint();
  }

  private void remember(byte[] key, KeyHistory view) {
    if (!before.containsKey(key)) {
      before.put(key, view);
    }
  }

  /** The revision reads inside this txn see: the new one once something was written. */
  public long readRevision() {
    return changes.isEmpty() ? beginRev : beginRev + 1;
  }

  /** The revision of the store before this txn. */
  public long beginRevision() {
    return beginRev;
  }

  public RangeResult range(byte[] key, byte[] end, long rev, long limit, boolean countOnly) {
    return store.rangeAt(key, end, rev, limit, countOnly, readRevision(), store.writeCompactRevision(), this::rows);
  }

  private List<KeyValue> rows(List<Revision> revs) {
    List<KeyValue> out = new ArrayList<>(revs.size());
    List<Integer> missing = new ArrayList<>();
    List<Revision> toRead = new ArrayList<>();
    for (Revision r : revs) {
      KeyValue kv = batch.pendingRows.get(r);
      out.add(kv);
      if (kv == null) {
        missing.add(out.size() - 1);
        toRead.add(r);
      }
    }
    if (!toRead.isEmpty()) {
      List<byte[]> keys = new ArrayList<>(toRead.size());
      for (Revision r : toRead) {
        keys.add(r.toKey(false));
      }
      List<byte[]> values = store.backend().multiGetKv(keys);
      for (int i = 0; i < values.size(); i++) {
        byte[] v = values.get(i);
        out.set(missing.get(i), v == null ? null : MvccStore.parse(v));
      }
    }
    return out;
  }

  /** Writes {@code key = value} with {@code lease}; returns the new revision. */
  public long put(ByteString key, ByteString value, long lease) {
    long rev = beginRev + 1;
    byte[] k = key.toByteArray();
    KeyHistory old = store.index().get(k);
    remember(k, old);
    boolean exists = old != null && !old.isDeleted();
    long create = exists ? old.createMain() : rev;
    long version = exists ? old.version() + 1 : 1;
    Revision r = new Revision(rev, changes.size());
    KeyValue kv = KeyValue.newBuilder()
        .setKey(key)
        .setValue(value)
        .setCreateRevision(create)
        .setModRevision(rev)
        .setVersion(version)
        .setLease(lease)
        .build();
    batch.put(store.backend().kv(), r.toKey(false), kv.toByteArray());
    batch.pendingRows.put(r, kv);
    store.index().put(k, r.main(), r.sub(), lease);
    changes.add(kv);
    if (exists && old.lease() != 0) {
      leaseOp(false, old.lease(), key);
    }
    if (lease != 0) {
      leaseOp(true, lease, key);
    }
    return rev;
  }

  /** Deletes the live keys in {@code [key, end)}; returns how many were deleted. */
  public long deleteRange(byte[] key, byte[] end) {
    long at = readRevision();
    List<byte[]> keys = new ArrayList<>();
    for (Map.Entry<byte[], KeyHistory> e : store.index().range(key, end)) {
      if (e.getValue().isLiveAt(at)) {
        keys.add(e.getKey());
      }
    }
    for (byte[] k : keys) {
      delete(k);
    }
    return keys.size();
  }

  private void delete(byte[] key) {
    long rev = beginRev + 1;
    Revision r = new Revision(rev, changes.size());
    KeyValue tomb = KeyValue.newBuilder().setKey(ByteString.copyFrom(key)).build();
    batch.put(store.backend().kv(), r.toKey(true), tomb.toByteArray());
    KeyHistory old = store.index().get(key);
    remember(key, old);
    store.index().tombstone(key, r.main(), r.sub());
    changes.add(tomb);
    if (old != null && old.lease() != 0) {
      leaseOp(false, old.lease(), tomb.getKey());
    }
  }

  /**
   * Undoes everything this txn did: used when applying it failed part-way. The store is then as if
   * the txn had never started, and its revision is not used.
   */
  public void abort() {
    if (ended) {
      throw new IllegalStateException("abort after end");
    }
    ended = true;
    batch.rollbackToSavePoint();
    for (var e : before.entrySet()) {
      store.index().reset(e.getKey(), e.getValue());
    }
    batch.pendingRows.keySet().removeIf(r -> r.main() == beginRev + 1);
    changes.clear();
    leaseOps.clear();
    leaseKeys.clear();
  }

  private void leaseOp(boolean attach, long lease, ByteString key) {
    leaseOps.add(new long[] {attach ? 1 : 0, lease});
    leaseKeys.add(key);
  }

  /** The changes so far: puts carry their full key-value, deletes only the key. */
  public List<KeyValue> changes() {
    return changes;
  }

  /** Closes the txn; returns the revision it produced (the old one when nothing changed). */
  public long end() {
    if (ended) {
      throw new IllegalStateException("txn ended twice");
    }
    ended = true;
    batch.popSavePoint();
    KeyLeases leases = store.keyLeases();
    for (int i = 0; i < leaseOps.size(); i++) {
      long[] op = leaseOps.get(i);
      if (op[0] == 1) {
        leases.attach(op[1], leaseKeys.get(i));
      } else {
        leases.detach(op[1], leaseKeys.get(i));
      }
    }
    if (changes.isEmpty()) {
      return beginRev;
    }
    long rev = beginRev + 1;
    List<io.etcetera.api.mvccpb.Event> events = new ArrayList<>(changes.size());
    for (KeyValue kv : changes) {
      if (kv.getCreateRevision() == 0) {
        events.add(io.etcetera.api.mvccpb.Event.newBuilder()
            .setType(io.etcetera.api.mvccpb.Event.EventType.DELETE)
            .setKv(kv.toBuilder().setModRevision(rev))
            .build());
      } else {
        events.add(io.etcetera.api.mvccpb.Event.newBuilder()
            .setType(io.etcetera.api.mvccpb.Event.EventType.PUT)
            .setKv(kv)
            .build());
      }
    }
    batch.events.add(new RevisionEvents(rev, List.copyOf(events)));
    store.ended(this, beginRev + 1);
    batch.dirty = true;
    return beginRev + 1;
  }
}
