package io.etcetera.mvcc.testutil;

import com.google.protobuf.ByteString;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.CompactionRequest;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.LeaseGrantRequest;
import io.etcetera.api.etcdserverpb.LeaseGrantResponse;
import io.etcetera.api.etcdserverpb.LeaseRevokeRequest;
import io.etcetera.api.etcdserverpb.LeaseRevokeResponse;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.PutResponse;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.apply.Applier;
import io.etcetera.mvcc.apply.KvApplier;
import io.etcetera.mvcc.apply.LeaseApplier;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.KeyLeases;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.lease.Lessor;
import io.etcetera.mvcc.lease.Ticker;
import io.etcetera.mvcc.watch.WatchHub;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A member's state machine as the server wires it: store, lessor (with a fake ticker), watch hub
 * and applier. The calling thread is the apply thread: {@link #apply} applies one request per
 * batch, {@link #applyGroup} several in one batch (group commit). A request that fails with an
 * EtcdException still consumes its log index and its batch is committed, as the server does.
 */
public final class ApplyFixture implements AutoCloseable {
  public static final long TERM = 1;
  public static final long MIN_TTL = 2;
  /** The simple-token TTL in seconds (etcd's --auth-token-ttl default). */
  public static final long TOKEN_TTL = 300;

  /** A ticker the test moves by hand. */
  public static final class FakeTicker implements Ticker {
    private final AtomicLong now;

    public FakeTicker(long start) {
      this.now = new AtomicLong(start);
    }

    @Override
    public long nanos() {
      return now.get();
    }

    public void advanceMillis(long ms) {
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
    }

    public void advanceSeconds(long s) {
      now.addAndGet(TimeUnit.SECONDS.toNanos(s));
    }

    public void advanceNanos(long n) {
      now.addAndGet(n);
    }
  }

  private final Path dir;
  private final boolean fsync;
  private final boolean withHub;
  public final FakeTicker ticker = new FakeTicker(1_000_000_000L);
  private Backend backend;
  private MvccStore store;
  private Lessor lessor;
  private io.etcetera.mvcc.auth.AuthStore auth;
  private io.etcetera.mvcc.auth.SimpleTokens tokens;
  private WatchHub hub;
  private Applier applier;
  private io.etcetera.mvcc.alarm.AlarmStore alarms;
  private long index;

  private ApplyFixture(Path dir, boolean fsync, boolean withHub) {
    this.dir = dir;
    this.fsync = fsync;
    this.withHub = withHub;
    openAll();
  }

  /** Store, lessor and watch hub; commits without fsync (a clean close still flushes). */
  public static ApplyFixture open(Path dir) {
    return new ApplyFixture(dir, false, true);
  }

  /** Store and lessor, no watch hub. */
  public static ApplyFixture openWithoutHub(Path dir) {
    return new ApplyFixture(dir, false, false);
  }

  private void openAll() {
    backend = Backend.open(dir, fsync);
    store = MvccStore.open(backend);
    lessor = new Lessor(ticker, MIN_TTL);
    lessor.recover(backend);
    Lessor l = lessor;
    store.connectLeases(new KeyLeases() {
      @Override
      public void attach(long lease, ByteString key) {
        l.attach(lease, key);
      }

      @Override
      public void detach(long lease, ByteString key) {
        l.detach(lease, key);
      }
    });
    if (withHub) {
      hub = new WatchHub(store);
      store.onCommitted(hub);
    }
    auth = new io.etcetera.mvcc.auth.AuthStore();
    auth.recover(backend);
    tokens = new io.etcetera.mvcc.auth.SimpleTokens(ticker::nanos, TOKEN_TTL);
    alarms = new io.etcetera.mvcc.alarm.AlarmStore(store);
    applier = new Applier(store, lessor, auth, tokens, alarms);
    index = store.appliedIndex();
  }

  private void closeAll() {
    if (hub != null) {
      hub.close();
      hub = null;
    }
    store.close();
    backend.close();
  }

  /** Closes everything and reopens on the same directory: new store, lessor (recovered) and hub. */
  public void reopen() {
    closeAll();
    openAll();
  }

  @Override
  public void close() {
    closeAll();
  }

  public MvccStore store() {
    return store;
  }

  public Backend backend() {
    return backend;
  }

  public Lessor lessor() {
    return lessor;
  }

  public WatchHub hub() {
    return hub;
  }

  /** The alarm store the applier caps writes by (recovered again by {@link #reopen}). */
  public io.etcetera.mvcc.alarm.AlarmStore alarms() {
    return alarms;
  }

  /** The auth store the applier checks against (recovered again by {@link #reopen}). */
  public io.etcetera.mvcc.auth.AuthStore auth() {
    return auth;
  }

  /** The applier's simple tokens (in memory only: empty again after {@link #reopen}). */
  public io.etcetera.mvcc.auth.SimpleTokens tokens() {
    return tokens;
  }

  /** The log index of the last applied entry. */
  public long lastIndex() {
    return index;
  }

  /** {@code req} with a header carrying {@code username} and {@code authRevision}, as the API layer proposes it. */
  public static InternalRaftRequest as(String username, long authRevision, InternalRaftRequest req) {
    return req.toBuilder().setHeader(io.etcetera.api.etcdserverpb.RequestHeader.newBuilder()
        .setUsername(username).setAuthRevision(authRevision)).build();
  }

  public long revision() {
    return store.currentRevision();
  }

  // ---- writes

  /** Applies {@code req} in a batch of its own; throws its EtcdException (after committing the batch). */
  public Applied apply(InternalRaftRequest req) {
    Object r = applyGroup(List.of(req)).get(0);
    if (r instanceof EtcdException e) {
      throw e;
    }
    return (Applied) r;
  }

  /**
   * Applies {@code reqs} in one batch (group commit): each entry of the result is the request's
   * {@link Applied} or its {@link EtcdException}.
   */
  public List<Object> applyGroup(List<InternalRaftRequest> reqs) {
    List<Object> out = new ArrayList<>();
    try (ApplyBatch batch = new ApplyBatch()) {
      for (InternalRaftRequest req : reqs) {
        try {
          out.add(applier.apply(batch, req, index + 1));
        } catch (EtcdException e) {
          out.add(e);
        }
        batch.setApplied(++index, TERM);
      }
      store.commit(batch);
    }
    return out;
  }

  /** Applies {@code reqs} into a batch without committing it: the caller commits with {@link #commit}. */
  public ApplyBatch applyUncommitted(List<InternalRaftRequest> reqs, List<Object> results) {
    ApplyBatch batch = new ApplyBatch();
    for (InternalRaftRequest req : reqs) {
      try {
        results.add(applier.apply(batch, req, index + 1));
      } catch (EtcdException e) {
        results.add(e);
      }
      batch.setApplied(++index, TERM);
    }
    return batch;
  }

  public void commit(ApplyBatch batch) {
    try (batch) {
      store.commit(batch);
    }
  }

  public static InternalRaftRequest putReq(String key, String value) {
    return Req.raft(Req.put(key, value));
  }

  public static InternalRaftRequest putReq(String key, String value, long lease) {
    return Req.raft(Req.putBuilder(key).setValue(Req.bs(value)).setLease(lease).build());
  }

  public static InternalRaftRequest deleteReq(String key) {
    return Req.raft(Req.delete(key));
  }

  public static InternalRaftRequest deleteReq(String key, String end) {
    return Req.raft(Req.delete(key, end));
  }

  public static InternalRaftRequest grantReq(long id, long ttl) {
    return InternalRaftRequest.newBuilder().setLeaseGrant(LeaseGrantRequest.newBuilder().setID(id).setTTL(ttl)).build();
  }

  public static InternalRaftRequest revokeReq(long id) {
    return InternalRaftRequest.newBuilder().setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(id)).build();
  }

  public static InternalRaftRequest compactReq(long rev) {
    return InternalRaftRequest.newBuilder()
        .setCompaction(CompactionRequest.newBuilder().setRevision(rev).setPhysical(true)).build();
  }

  public PutResponse put(String key, String value) {
    return (PutResponse) apply(putReq(key, value)).response();
  }

  public PutResponse put(String key, String value, long lease) {
    return (PutResponse) apply(putReq(key, value, lease)).response();
  }

  public PutResponse put(PutRequest p) {
    return (PutResponse) apply(Req.raft(p)).response();
  }

  public long delete(String key) {
    return ((io.etcetera.api.etcdserverpb.DeleteRangeResponse) apply(deleteReq(key)).response()).getDeleted();
  }

  public long deleteRange(String key, String end) {
    DeleteRangeRequest d = Req.delete(key, end);
    return ((io.etcetera.api.etcdserverpb.DeleteRangeResponse) apply(Req.raft(d)).response()).getDeleted();
  }

  public TxnResponse txn(TxnRequest t) {
    return (TxnResponse) apply(Req.raft(t)).response();
  }

  public LeaseGrantResponse grant(long id, long ttl) {
    return (LeaseGrantResponse) apply(grantReq(id, ttl)).response();
  }

  public LeaseRevokeResponse revoke(long id) {
    return (LeaseRevokeResponse) apply(revokeReq(id)).response();
  }

  /** A physical compaction at {@code rev}; returns once its rows are gone. */
  public void compact(long rev) {
    Applied a = apply(compactReq(rev));
    try {
      a.physicalDone().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("physical compaction at " + rev + " did not finish", e);
    }
  }

  /** Applies {@code req}, which must fail; returns its exception. */
  public EtcdException applyExpectingError(InternalRaftRequest req) {
    Object r = applyGroup(List.of(req)).get(0);
    if (r instanceof EtcdException e) {
      return e;
    }
    throw new AssertionError("expected an EtcdException for " + req + ", got " + r);
  }
}
