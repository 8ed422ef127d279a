package io.etcetera.mvcc.lease;

import static io.etcetera.mvcc.testutil.ApplyFixture.putReq;
import static io.etcetera.mvcc.testutil.ApplyFixture.revokeReq;
import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.LeaseRevokeResponse;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.mvccpb.Event;
import io.etcetera.mvcc.kv.RangeQuery;
import io.etcetera.mvcc.testutil.ApplyFixture;
import io.etcetera.mvcc.testutil.Req;
import io.etcetera.mvcc.watch.Outbound;
import io.etcetera.mvcc.watch.WatchOptions;
import io.etcetera.mvcc.watch.WatchStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which keys belong to which lease, and what a revoke deletes. */
class LeaseAttachTest {
  @TempDir
  Path dir;
  ApplyFixture fx;

  @BeforeEach
  void open() {
    fx = ApplyFixture.open(dir);
    fx.grant(1, 100);
    fx.grant(2, 100);
  }

  @AfterEach
  void close() {
    fx.close();
  }

  private List<String> keysOf(long lease) {
    List<String> out = new ArrayList<>();
    for (ByteString k : fx.lessor().lookup(lease).keys()) {
      out.add(Req.str(k));
    }
    return out;
  }

  private RangeResponse get(String key) {
    return RangeQuery.execute(fx.store()::range, Req.range(key).build());
  }

  private long leaseOfKey(String key) {
    return get(key).getKvs(0).getLease();
  }

  @Test
  void aPutWithALeaseAttachesTheKey() {
    fx.put("a", "1", 1);
    fx.put("b", "1", 1);
    fx.put("c", "1");
    assertEquals(List.of("a", "b"), keysOf(1));
    assertEquals(List.of(), keysOf(2));
    assertEquals(1, leaseOfKey("a"));
    assertEquals(0, leaseOfKey("c"));
  }

  @Test
  void aPutWithAnUnknownLeaseFailsAndAttachesNothing() {
    long rev = fx.revision();
    EtcdException e = fx.applyExpectingError(putReq("a", "1", 99));
    assertEquals(EtcdError.LEASE_NOT_FOUND, e.error());
    assertEquals(rev, fx.revision());
    assertEquals(0, get("a").getCount());
  }

  @Test
  void anOverwriteWithAnotherLeaseMovesTheKey() {
    fx.put("a", "1", 1);
    fx.put("a", "2", 2);
    assertEquals(List.of(), keysOf(1));
    assertEquals(List.of("a"), keysOf(2));
    fx.put("a", "3", 2); // same lease again
    assertEquals(List.of("a"), keysOf(2));
    fx.put("a", "4"); // no lease
    assertEquals(List.of(), keysOf(2));
    assertEquals(0, leaseOfKey("a"));
  }

  @Test
  void aDeleteDetachesTheKey() {
    fx.put("a", "1", 1);
    fx.put("b", "1", 1);
    fx.put("c", "1", 2);
    fx.delete("a");
    assertEquals(List.of("b"), keysOf(1));
    fx.deleteRange("b", "d");
    assertEquals(List.of(), keysOf(1));
    assertEquals(List.of(), keysOf(2));
    fx.put("a", "again"); // a new key without a lease
    assertEquals(List.of(), keysOf(1));
  }

  @Test
  void ignoreLeaseKeepsTheKeysLease() {
    fx.put("a", "1", 1);
    fx.put(Req.putBuilder("a").setValue(bs("2")).setIgnoreLease(true).build());
    assertEquals(List.of("a"), keysOf(1));
    assertEquals(1, leaseOfKey("a"));
    assertEquals("2", Req.str(get("a").getKvs(0).getValue()));
    fx.put(Req.putBuilder("a").setIgnoreValue(true).setLease(2).build()); // a new lease, same value
    assertEquals(List.of(), keysOf(1));
    assertEquals(List.of("a"), keysOf(2));
  }

  @Test
  void aTxnAttachesAndDetachesAndAFailedTxnChangesNothing() {
    fx.put("x", "1", 2);
    fx.txn(txn()
        .addSuccess(op(Req.putBuilder("a").setValue(bs("1")).setLease(1).build()))
        .addSuccess(op(Req.putBuilder("b").setValue(bs("1")).setLease(1).build()))
        .addSuccess(op(Req.delete("x")))
        .build());
    assertEquals(List.of("a", "b"), keysOf(1));
    assertEquals(List.of(), keysOf(2));
    long rev = fx.revision();
    // a txn failing part-way (an ignore_value put of a key it deleted) is undone whole: its lease
    // attachments and detachments must not happen either
    EtcdException e = fx.applyExpectingError(Req.raft(txn()
        .addSuccess(op(Req.putBuilder("c").setValue(bs("1")).setLease(2).build()))
        .addSuccess(op(Req.delete("b")))
        .addSuccess(op(Req.delete("a", "a0")))
        .addSuccess(op(Req.putBuilder("a").setIgnoreValue(true).build()))
        .build()));
    assertEquals(EtcdError.KEY_NOT_FOUND, e.error());
    assertEquals(rev, fx.revision());
    assertEquals(List.of("a", "b"), keysOf(1));
    assertEquals(List.of(), keysOf(2));
  }

  @Test
  void aRevokeDeletesEveryAttachedKeyInOneRevisionInKeyOrder() {
    WatchStream s = fx.hub().newStream(() -> { });
    fx.hub().watch(s, 0, bs("\0"), bs("\0"), 0, new WatchOptions(false, false, false, false, false));
    for (String k : List.of("b", "\u00e9", "a", "c/1", "B", "\u00e9\0")) {
      fx.put(k, "v", 1);
    }
    fx.put("keep", "v", 2);
    fx.put("plain", "v");
    long before = fx.revision();
    LeaseRevokeResponse r = fx.revoke(1);
    assertEquals(before + 1, r.getHeader().getRevision());
    assertEquals(before + 1, fx.revision());
    List<Outbound.Events> evs = new ArrayList<>();
    for (Outbound o = s.poll(); o != null; o = s.poll()) {
      if (o instanceof Outbound.Events e && e.revision() == before + 1) {
        evs.add(e);
      }
    }
    assertEquals(1, evs.size());
    List<String> deleted = new ArrayList<>();
    for (Event e : evs.get(0).events()) {
      assertEquals(Event.EventType.DELETE, e.getType());
      assertEquals(before + 1, e.getKv().getModRevision());
      deleted.add(Req.str(e.getKv().getKey()));
    }
    // unsigned byte order, as etcd's sort of the key strings
    assertEquals(List.of("B", "a", "b", "c/1", "\u00e9", "\u00e9\0"), deleted);
    assertFalse(fx.lessor().exists(1));
    assertEquals(0, get("a").getCount());
    assertEquals(1, get("keep").getCount());
    assertEquals(1, get("plain").getCount());
    assertEquals(List.of("keep"), keysOf(2));
    fx.reopen();
    assertFalse(fx.lessor().exists(1), "the lease row is gone");
    assertEquals(0, get("b").getCount());
  }

  @Test
  void aRevokeOfALeaseWithoutKeysWritesNoRevision() {
    long rev = fx.revision();
    LeaseRevokeResponse r = fx.revoke(2);
    assertEquals(rev, r.getHeader().getRevision());
    assertEquals(rev, fx.revision());
    assertFalse(fx.lessor().exists(2));
    fx.reopen();
    assertFalse(fx.lessor().exists(2));
  }

  @Test
  void aRevokeOfAnUnknownLeaseIsLeaseNotFound() {
    EtcdException e = fx.applyExpectingError(revokeReq(42));
    assertEquals(EtcdError.LEASE_NOT_FOUND, e.error());
    fx.revoke(1);
    assertEquals(EtcdError.LEASE_NOT_FOUND, fx.applyExpectingError(revokeReq(1)).error());
  }

  @Test
  void aRevokeCompletesWhenRevokedOnlyOnceItsBatchIsCommitted() {
    fx.put("a", "1", 1);
    Lease l = fx.lessor().lookup(1);
    List<Object> results = new ArrayList<>();
    var batch = fx.applyUncommitted(List.of(revokeReq(1)), results);
    assertFalse(l.whenRevoked().isDone());
    fx.commit(batch);
    assertTrue(l.whenRevoked().isDone());
  }

  @Test
  void aKeyPutWithALeaseEarlierInTheSameBatchIsDeletedByTheRevoke() {
    fx.applyGroup(List.of(putReq("a", "1", 1), putReq("b", "1", 2), revokeReq(1), putReq("c", "1", 2)));
    assertEquals(0, get("a").getCount());
    assertEquals(List.of("b", "c"), keysOf(2));
  }

  @Test
  void attachmentsAreRebuiltAfterAReopen() {
    fx.grant(3, 100);
    fx.put("a", "1", 1);
    fx.put("b", "1", 1);
    fx.put("c", "1", 2);
    fx.put("a", "2", 2); // moved
    fx.put("b", "2"); // detached
    fx.put("d", "1", 3);
    fx.delete("d"); // detached
    fx.put("e", "1", 1);
    fx.compact(fx.revision() - 1);
    fx.reopen();
    assertEquals(List.of("e"), keysOf(1));
    assertEquals(List.of("a", "c"), keysOf(2));
    assertEquals(List.of(), keysOf(3));
    // and a revoke after the reopen deletes exactly those
    long rev = fx.revision();
    fx.revoke(2);
    assertEquals(rev + 1, fx.revision());
    assertEquals(0, get("a").getCount());
    assertEquals(0, get("c").getCount());
    assertEquals(1, get("b").getCount());
    assertEquals(1, get("e").getCount());
  }
}
