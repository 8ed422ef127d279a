package io.etcetera.mvcc.apply;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.keys;
import static io.etcetera.mvcc.testutil.Req.kv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.DeleteRangeResponse;
import io.etcetera.api.etcdserverpb.PutResponse;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PutDeleteTest {
  static final long LEASE = 0x1234;

  @TempDir
  Path dir;
  KvFixture kv;

  @AfterEach
  void close() {
    if (kv != null) {
      kv.close();
    }
  }

  private KvFixture withLease() {
    kv = KvFixture.open(dir, id -> id == LEASE);
    return kv;
  }

  private KvFixture noLeases() {
    kv = KvFixture.open(dir);
    return kv;
  }

  @Test
  void prevKvReturnsThePreviousValue() {
    noLeases();
    PutResponse first = kv.put(Req.putBuilder("k").setValue(bs("1")).setPrevKv(true).build());
    assertFalse(first.hasPrevKv());
    PutResponse second = kv.put(Req.putBuilder("k").setValue(bs("2")).setPrevKv(true).build());
    assertEquals(kv("k", "1", 2, 2, 1), second.getPrevKv());
    PutResponse plain = kv.put("k", "3");
    assertFalse(plain.hasPrevKv());
    kv.delete("k");
    assertFalse(kv.put(Req.putBuilder("k").setValue(bs("4")).setPrevKv(true).build()).hasPrevKv());
  }

  @Test
  void ignoreValueKeepsTheValueAndBumpsTheRevision() {
    noLeases();
    kv.put("k", "keep");
    PutResponse r = kv.put(Req.putBuilder("k").setIgnoreValue(true).setPrevKv(true).build());
    assertEquals(3, r.getHeader().getRevision());
    assertEquals(kv("k", "keep", 2, 2, 1), r.getPrevKv());
    assertEquals(List.of(kv("k", "keep", 2, 3, 2)), kv.get("k").getKvsList());
  }

  @Test
  void ignoreLeaseKeepsTheLeaseAndTakesTheNewValue() {
    withLease();
    kv.put(Req.putBuilder("k").setValue(bs("1")).setLease(LEASE).build());
    kv.put(Req.putBuilder("k").setValue(bs("2")).setIgnoreLease(true).build());
    KeyValue got = kv.get("k").getKvs(0);
    assertEquals("2", got.getValue().toStringUtf8());
    assertEquals(LEASE, got.getLease());
    assertEquals(2, got.getVersion());
    // both flags: same value, same lease
    kv.put(Req.putBuilder("k").setIgnoreLease(true).setIgnoreValue(true).build());
    got = kv.get("k").getKvs(0);
    assertEquals("2", got.getValue().toStringUtf8());
    assertEquals(LEASE, got.getLease());
    assertEquals(3, got.getVersion());
  }

  @Test
  void putWithoutALeaseDetachesTheKeyFromItsLease() {
    withLease();
    kv.put(Req.putBuilder("k").setValue(bs("1")).setLease(LEASE).build());
    assertEquals(LEASE, kv.get("k").getKvs(0).getLease());
    kv.put("k", "2");
    assertEquals(0, kv.get("k").getKvs(0).getLease());
  }

  @Test
  void ignoreValueOrLeaseOnAMissingKeyIsKeyNotFound() {
    noLeases();
    assertEquals(EtcdError.KEY_NOT_FOUND,
        kv.applyExpectingError(Req.raft(Req.putBuilder("k").setIgnoreValue(true).build())).error());
    assertEquals(EtcdError.KEY_NOT_FOUND,
        kv.applyExpectingError(Req.raft(Req.putBuilder("k").setIgnoreLease(true).build())).error());
    kv.put("k", "1");
    kv.delete("k");
    assertEquals(EtcdError.KEY_NOT_FOUND,
        kv.applyExpectingError(Req.raft(Req.putBuilder("k").setIgnoreValue(true).build())).error());
    assertEquals(3, kv.currentRevision());
    assertEquals(2, kv.rowCount());
  }

  @Test
  void putWithAnUnknownLeaseIsLeaseNotFoundAndChangesNothing() {
    noLeases();
    kv.put("k", "1");
    long rows = kv.rowCount();
    var e = kv.applyExpectingError(Req.raft(Req.putBuilder("k").setValue(bs("2")).setLease(7).build()));
    assertEquals(EtcdError.LEASE_NOT_FOUND, e.error());
    e = kv.applyExpectingError(Req.raft(Req.putBuilder("new").setValue(bs("2")).setLease(7).build()));
    assertEquals(EtcdError.LEASE_NOT_FOUND, e.error());
    assertEquals(2, kv.currentRevision());
    assertEquals(2, kv.store().writeRevision());
    assertEquals(rows, kv.rowCount());
    assertEquals(List.of(kv("k", "1", 2, 2, 1)), kv.all(0).getKvsList());
    // the index did not learn the key either: a later put is its first version
    kv.put("new", "x");
    assertEquals(kv("new", "x", 3, 3, 1), kv.get("new").getKvs(0));
  }

  @Test
  void leaseNoneKnowsNoLease() {
    assertFalse(LeaseLookup.NONE.exists(1));
    assertFalse(LeaseLookup.NONE.exists(0));
  }

  @Test
  void deleteRangeReportsDeletedCountAndPrevKvs() {
    noLeases();
    kv.put("p/a", "1"); // 2
    kv.put("p/b", "2"); // 3
    kv.put("p/b", "3"); // 4
    kv.put("q", "4"); // 5
    DeleteRangeResponse d = kv.delete(Req.delete("p/", Req.prefixEnd("p/")).toBuilder().setPrevKv(true).build());
    assertEquals(2, d.getDeleted());
    assertEquals(List.of(kv("p/a", "1", 2, 2, 1), kv("p/b", "3", 3, 4, 2)), d.getPrevKvsList());
    assertEquals(6, d.getHeader().getRevision());
    assertEquals(List.of("q"), keys(kv.all(0)));
    // without prev_kv no kvs are returned
    DeleteRangeResponse d2 = kv.delete("q");
    assertEquals(1, d2.getDeleted());
    assertEquals(0, d2.getPrevKvsCount());
  }

  @Test
  void deleteRangeFromKeyAndAll() {
    noLeases();
    for (String k : List.of("a", "b", "c", "d")) {
      kv.put(k, k);
    }
    assertEquals(2, kv.deleteRange("c", "\0").getDeleted());
    assertEquals(List.of("a", "b"), keys(kv.all(0)));
    assertEquals(0, kv.deleteRange("c", "a").getDeleted()); // key after end
    assertEquals(0, kv.deleteRange("b", "b").getDeleted()); // empty range
    assertEquals(2, kv.deleteRange("\0", "\0").getDeleted());
    assertEquals(0, kv.all(0).getCount());
  }

  @Test
  void deleteWithPrevKvOfAMissingKeyReturnsNothing() {
    noLeases();
    DeleteRangeResponse d = kv.delete(Req.delete("nope").toBuilder().setPrevKv(true).build());
    assertEquals(0, d.getDeleted());
    assertEquals(0, d.getPrevKvsCount());
  }

  @Test
  void deletedKeyIsVisibleOnlyBeforeItsDelete() {
    noLeases();
    kv.put("k", "1");
    kv.delete("k");
    RangeResponse r = kv.getAt("k", 2);
    assertEquals(1, r.getCount());
    assertEquals(0, kv.getAt("k", 3).getCount());
  }
}
