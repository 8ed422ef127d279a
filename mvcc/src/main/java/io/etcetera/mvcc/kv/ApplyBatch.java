package io.etcetera.mvcc.kv;

import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.Revision;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.rocksdb.WriteBatch;

/**
 * The changes of one or more applied requests that will reach disk in one atomic RocksDB write
 * (group commit): their rows, the meta keys, and the rows kept in memory so that later requests
 * of the same batch read what earlier ones wrote.
 *
 * <p>Threading: confined to the apply thread.
 */
public final class ApplyBatch implements AutoCloseable {
  final WriteBatch writes = new WriteBatch();
  final Map<Revision, KeyValue> pendingRows = new HashMap<>();
  final List<Runnable> afterCommit = new ArrayList<>();
  final List<RevisionEvents> events = new ArrayList<>();
  long appliedIndex;
  long appliedTerm;
  boolean dirty;

  void put(org.rocksdb.ColumnFamilyHandle cf, byte[] key, byte[] value) {
    try {
      writes.put(cf, key, value);
    } catch (org.rocksdb.RocksDBException e) {
      throw new io.etcetera.mvcc.backend.BackendException("cannot stage a write", e);
    }
  }

  void setSavePoint() {
    writes.setSavePoint();
  }

  void popSavePoint() {
    try {
      writes.popSavePoint();
    } catch (org.rocksdb.RocksDBException e) {
      throw new io.etcetera.mvcc.backend.BackendException("cannot drop a save point", e);
    }
  }

  void rollbackToSavePoint() {
    try {
      writes.rollbackToSavePoint();
    } catch (org.rocksdb.RocksDBException e) {
      throw new io.etcetera.mvcc.backend.BackendException("cannot roll back a write batch", e);
    }
  }

  /**
   * Records the log position that this batch brings the store to. Entries that changed nothing
   * (reads, refused requests) need no disk write of their own: their index is persisted with the
   * next change, and re-applying them after a restart changes nothing either.
   */
  public void setApplied(long index, long term) {
    this.appliedIndex = index;
    this.appliedTerm = term;
  }

  /** Whether the batch changed state that must reach disk. */
  public boolean isDirty() {
    return dirty;
  }

  /** Runs {@code r} on the apply thread once the batch is durable and published. */
  public void afterCommit(Runnable r) {
    afterCommit.add(r);
  }

  @Override
  public void close() {
    writes.close();
  }
}
