package io.etcetera.mvcc.testutil;

import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.CompactionRequest;
import io.etcetera.api.etcdserverpb.CompactionResponse;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.DeleteRangeResponse;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.PutResponse;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.apply.KvApplier;
import io.etcetera.mvcc.apply.LeaseLookup;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.kv.RangeQuery;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.rocksdb.RocksIterator;

/**
 * A store on a RocksDB directory driven as the apply thread drives it: one request per batch
 * (new batch, apply, setApplied(++index, term), commit, close). A request that fails with an
 * EtcdException still consumes its log index and its batch is committed, as a server must do
 * with an entry whose outcome is a client error.
 */
public final class KvFixture implements AutoCloseable {
  public static final long TERM = 1;

  private final Path dir;
  private final LeaseLookup leases;
  private final boolean fsync;
  private Backend backend;
  private MvccStore store;
  private KvApplier applier;
  private long index;

  private KvFixture(Path dir, LeaseLookup leases, boolean fsync) {
    this.dir = dir;
    this.leases = leases;
    this.fsync = fsync;
    openStore();
  }

  public static KvFixture open(Path dir) {
    return new KvFixture(dir, LeaseLookup.NONE, true);
  }

  public static KvFixture open(Path dir, LeaseLookup leases) {
    return new KvFixture(dir, leases, true);
  }

  /**
   * Without fsync of each commit (etcd's --unsafe-no-fsync): for long randomized runs. A clean
   * close still flushes everything, so reopening sees every commit.
   */
  public static KvFixture openNoFsync(Path dir) {
    return new KvFixture(dir, LeaseLookup.NONE, false);
  }

  private void openStore() {
    backend = Backend.open(dir, fsync);
    store = MvccStore.open(backend);
    applier = new KvApplier(store, leases);
    index = store.appliedIndex();
  }

  public MvccStore store() {
    return store;
  }

  public Backend backend() {
    return backend;
  }

  public Path dir() {
    return dir;
  }

  public long index() {
    return index;
  }

  /** Closes and reopens the store on the same directory: the index is rebuilt from disk. */
  public void reopen() {
    closeStore();
    openStore();
  }

  private void closeStore() {
    store.close();
    backend.close();
  }

  @Override
  public void close() {
    closeStore();
  }

  // ---- writes, one request per batch

  public Applied apply(InternalRaftRequest req) {
    try (ApplyBatch batch = new ApplyBatch()) {
      try {
        return applier.apply(batch, req);
      } finally {
        batch.setApplied(++index, TERM);
        store.commit(batch);
      }
    }
  }

  public PutResponse put(PutRequest p) {
    return (PutResponse) apply(InternalRaftRequest.newBuilder().setPut(p).build()).response();
  }

  public PutResponse put(String key, String value) {
    return put(Req.put(key, value));
  }

  public DeleteRangeResponse delete(DeleteRangeRequest d) {
    return (DeleteRangeResponse) apply(InternalRaftRequest.newBuilder().setDeleteRange(d).build()).response();
  }

  public DeleteRangeResponse delete(String key) {
    return delete(Req.delete(key));
  }

  public DeleteRangeResponse deleteRange(String key, String end) {
    return delete(Req.delete(key, end));
  }

  public TxnResponse txn(TxnRequest t) {
    return (TxnResponse) apply(InternalRaftRequest.newBuilder().setTxn(t).build()).response();
  }

  public Applied compaction(long rev, boolean physical) {
    return apply(InternalRaftRequest.newBuilder()
        .setCompaction(CompactionRequest.newBuilder().setRevision(rev).setPhysical(physical))
        .build());
  }

  /** A physical compaction; returns once its rows are gone. */
  public CompactionResponse compact(long rev) {
    Applied a = compaction(rev, true);
    try {
      a.physicalDone().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("physical compaction at " + rev + " did not finish", e);
    }
    return (CompactionResponse) a.response();
  }

  /** Applies a request that must fail; returns the exception. */
  public EtcdException applyExpectingError(InternalRaftRequest req) {
    try {
      apply(req);
    } catch (EtcdException e) {
      return e;
    }
    throw new AssertionError("expected an EtcdException for " + req);
  }

  // ---- reads of durable state

  public RangeResponse range(RangeRequest r) {
    return RangeQuery.execute(store::range, r);
  }

  public RangeResponse get(String key) {
    return range(Req.range(key).build());
  }

  public RangeResponse getAt(String key, long rev) {
    return range(Req.range(key).setRevision(rev).build());
  }

  /** Every key at {@code rev} (0 = current). */
  public RangeResponse all(long rev) {
    return range(Req.all().setRevision(rev).build());
  }

  public long currentRevision() {
    return store.currentRevision();
  }

  /** Number of rows in the kv column family. */
  public long rowCount() {
    long n = 0;
    try (RocksIterator it = backend.kvIterator()) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        n++;
      }
    }
    return n;
  }

  /** The keys of the kv rows (revision keys), in order. */
  public List<byte[]> rowKeys() {
    List<byte[]> keys = new ArrayList<>();
    try (RocksIterator it = backend.kvIterator()) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        keys.add(it.key());
      }
    }
    return keys;
  }
}
