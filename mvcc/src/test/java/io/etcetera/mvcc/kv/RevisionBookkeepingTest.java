package io.etcetera.mvcc.kv;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.kv;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.Revision;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RevisionBookkeepingTest {
  @TempDir
  Path dir;
  KvFixture kv;

  @BeforeEach
  void open() {
    kv = KvFixture.open(dir);
  }

  @AfterEach
  void close() {
    kv.close();
  }

  @Test
  void emptyStoreIsAtRevisionOne() {
    assertEquals(1, kv.currentRevision());
    assertEquals(1, kv.store().writeRevision());
    assertEquals(-1, kv.store().compactRevision(), "never compacted: -1, as etcd");
    assertEquals(0, kv.store().appliedIndex());
    RangeResponse r = kv.all(0);
    assertEquals(1, r.getHeader().getRevision());
    assertEquals(0, r.getCount());
  }

  @Test
  void firstPutIsRevisionTwoWithCreateModTwoAndVersionOne() {
    assertEquals(2, kv.put("foo", "bar").getHeader().getRevision());
    assertEquals(2, kv.currentRevision());
    assertEquals(List.of(kv("foo", "bar", 2, 2, 1)), kv.get("foo").getKvsList());
  }

  @Test
  void overwriteBumpsModAndVersionAndKeepsCreate() {
    kv.put("foo", "v1");
    kv.put("other", "x");
    assertEquals(4, kv.put("foo", "v2").getHeader().getRevision());
    assertEquals(5, kv.put("foo", "v3").getHeader().getRevision());
    assertEquals(List.of(kv("foo", "v3", 2, 5, 3)), kv.get("foo").getKvsList());
  }

  @Test
  void deleteLeavesATombstoneAndALaterPutStartsANewGeneration() {
    kv.put("foo", "v1"); // 2
    kv.put("foo", "v2"); // 3
    assertEquals(4, kv.delete("foo").getHeader().getRevision());
    assertEquals(0, kv.get("foo").getCount());
    // the tombstone is a row of its own, marked 't'
    List<byte[]> rows = kv.rowKeys();
    assertEquals(3, rows.size());
    assertTrue(Revision.isTombstoneKey(rows.get(2)));
    assertEquals(new Revision(4, 0), Revision.fromKey(rows.get(2)));

    assertEquals(5, kv.put("foo", "v3").getHeader().getRevision());
    assertEquals(List.of(kv("foo", "v3", 5, 5, 1)), kv.get("foo").getKvsList());
    // the old generation is still readable at its revisions
    assertEquals(List.of(kv("foo", "v2", 2, 3, 2)), kv.getAt("foo", 3).getKvsList());
    assertEquals(0, kv.getAt("foo", 4).getCount());
  }

  @Test
  void txnWithThreePutsIsOneRevisionWithSubRevisions() {
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(put("a", "1")))
        .addSuccess(op(put("b", "2")))
        .addSuccess(op(put("c", "3")))
        .build());
    assertEquals(2, t.getHeader().getRevision());
    assertEquals(2, kv.currentRevision());
    for (int i = 0; i < 3; i++) {
      assertEquals(2, t.getResponses(i).getResponsePut().getHeader().getRevision());
    }
    List<Revision> rows = kv.rowKeys().stream().map(Revision::fromKey).toList();
    assertEquals(List.of(new Revision(2, 0), new Revision(2, 1), new Revision(2, 2)), rows);
    RangeResponse all = kv.all(0);
    assertEquals(List.of(kv("a", "1", 2, 2, 1), kv("b", "2", 2, 2, 1), kv("c", "3", 2, 2, 1)), all.getKvsList());
  }

  @Test
  void txnDeletingAndRecreatingAKeyUsesConsecutiveSubs() {
    kv.put("a", "1"); // 2
    kv.put("b", "1"); // 3
    // a from-key delete does not conflict with a put in etcd's overlap check: both run at rev 4
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(Req.delete("a", "\0")))
        .addSuccess(op(put("b", "2")))
        .build());
    assertEquals(4, t.getHeader().getRevision());
    assertEquals(2, t.getResponses(0).getResponseDeleteRange().getDeleted());
    assertEquals(List.of(kv("b", "2", 4, 4, 1)), kv.all(0).getKvsList());
    assertEquals(List.of(kv("a", "1", 2, 2, 1), kv("b", "1", 3, 3, 1)), kv.all(3).getKvsList());
    List<byte[]> rows = kv.rowKeys();
    assertEquals(5, rows.size());
    assertEquals(new Revision(4, 0), Revision.fromKey(rows.get(2)));
    assertTrue(Revision.isTombstoneKey(rows.get(2)));
    assertEquals(new Revision(4, 1), Revision.fromKey(rows.get(3)));
    assertTrue(Revision.isTombstoneKey(rows.get(3)));
    assertEquals(new Revision(4, 2), Revision.fromKey(rows.get(4)));
    assertTrue(!Revision.isTombstoneKey(rows.get(4)));
  }

  @Test
  void deleteOfNothingDoesNotBumpTheRevision() {
    kv.put("a", "1");
    var d = kv.delete("missing");
    assertEquals(0, d.getDeleted());
    assertEquals(2, d.getHeader().getRevision());
    assertEquals(2, kv.currentRevision());
    var dr = kv.deleteRange("x", "z");
    assertEquals(0, dr.getDeleted());
    assertEquals(2, dr.getHeader().getRevision());
    assertEquals(2, kv.currentRevision());
    // a deleted key is not deleted again
    kv.delete("a");
    assertEquals(3, kv.currentRevision());
    assertEquals(3, kv.delete("a").getHeader().getRevision());
    assertEquals(3, kv.currentRevision());
    assertEquals(2, kv.rowCount()); // the put row and one tombstone row
  }

  @Test
  void readOnlyTxnDoesNotBumpTheRevision() {
    kv.put("a", "1");
    TxnResponse t = kv.txn(txn()
        .addCompare(Req.version("a", io.etcetera.api.etcdserverpb.Compare.CompareResult.EQUAL, 1))
        .addSuccess(op(Req.range("a")))
        .addFailure(op(put("a", "2")))
        .build());
    assertTrue(t.getSucceeded());
    assertEquals(2, t.getHeader().getRevision());
    assertEquals(2, kv.currentRevision());
    // a txn whose taken branch writes nothing (a delete of nothing) neither
    TxnResponse t2 = kv.txn(txn().addSuccess(op(Req.delete("nope"))).build());
    assertEquals(2, t2.getHeader().getRevision());
    assertEquals(2, kv.currentRevision());
    // an empty txn
    assertEquals(2, kv.txn(txn().build()).getHeader().getRevision());
    assertEquals(2, kv.currentRevision());
  }

  @Test
  void failedRequestDoesNotBumpTheRevisionButConsumesItsIndex() {
    kv.put("a", "1");
    long index = kv.index();
    kv.applyExpectingError(Req.raft(Req.putBuilder("missing").setIgnoreValue(true).build()));
    assertEquals(2, kv.currentRevision());
    assertEquals(index + 1, kv.store().appliedIndex());
  }

  @Test
  void appliedIndexAndTermAreRecordedWithTheBatch() {
    kv.put("a", "1");
    kv.put("b", "1");
    assertEquals(2, kv.store().appliedIndex());
    assertEquals(KvFixture.TERM, kv.store().appliedTerm());
  }

  @Test
  void groupCommitOfSeveralRequestsInOneBatch() {
    MvccStore store = kv.store();
    io.etcetera.mvcc.apply.KvApplier applier =
        new io.etcetera.mvcc.apply.KvApplier(store, io.etcetera.mvcc.apply.LeaseLookup.NONE);
    try (ApplyBatch batch = new ApplyBatch()) {
      var r1 = applier.apply(batch, Req.raft(put("a", "1")));
      var r2 = applier.apply(batch, Req.raft(Req.putBuilder("a").setValue(bs("2")).setPrevKv(true).build()));
      // the second request of the batch saw the first one's row before it is durable
      var p2 = (io.etcetera.api.etcdserverpb.PutResponse) r2.response();
      assertEquals(kv("a", "1", 2, 2, 1), p2.getPrevKv());
      assertEquals(3, p2.getHeader().getRevision());
      assertEquals(2, ((io.etcetera.api.etcdserverpb.PutResponse) r1.response()).getHeader().getRevision());
      // not durable yet: readers still see revision 1
      assertEquals(1, store.currentRevision());
      assertEquals(3, store.writeRevision());
      assertEquals(0, kv.all(0).getCount());
      batch.setApplied(7, 2);
      store.commit(batch);
    }
    assertEquals(3, store.currentRevision());
    assertEquals(7, store.appliedIndex());
    assertEquals(2, store.appliedTerm());
    assertEquals(List.of(kv("a", "2", 2, 3, 2)), kv.get("a").getKvsList());
    KeyValue at2 = kv.getAt("a", 2).getKvs(0);
    assertEquals("1", at2.getValue().toStringUtf8());
  }
}
