package io.etcetera.mvcc.apply;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.keys;
import static io.etcetera.mvcc.testutil.Req.kv;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.Compare.CompareResult;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Txn branches, nesting, and the checks that make a txn fail before it changes anything. */
class TxnTest {
  @TempDir
  Path dir;
  KvFixture kv;

  @BeforeEach
  void open() {
    kv = KvFixture.open(dir);
    kv.put("a", "1"); // 2
    kv.put("b", "1"); // 3
  }

  @AfterEach
  void close() {
    kv.close();
  }

  private void assertUnchanged(long rev, long rows, RangeResponse before) {
    assertEquals(rev, kv.currentRevision());
    assertEquals(rev, kv.store().writeRevision());
    assertEquals(rows, kv.rowCount());
    assertEquals(before.getKvsList(), kv.all(0).getKvsList());
  }

  @Test
  void successBranchRunsWhenComparesHold() {
    TxnResponse t = kv.txn(txn()
        .addCompare(Req.value("a", CompareResult.EQUAL, "1"))
        .addSuccess(op(put("s", "yes")))
        .addFailure(op(put("f", "no")))
        .build());
    assertTrue(t.getSucceeded());
    assertEquals(List.of("a", "b", "s"), keys(kv.all(0)));
  }

  @Test
  void failureBranchRunsWhenACompareFails() {
    TxnResponse t = kv.txn(txn()
        .addCompare(Req.value("a", CompareResult.EQUAL, "1"))
        .addCompare(Req.value("b", CompareResult.EQUAL, "2"))
        .addSuccess(op(put("s", "yes")))
        .addFailure(op(put("f", "no")))
        .addFailure(op(Req.range("f")))
        .build());
    assertFalse(t.getSucceeded());
    assertEquals(List.of("a", "b", "f"), keys(kv.all(0)));
    assertEquals(List.of(kv("f", "no", 4, 4, 1)), t.getResponses(1).getResponseRange().getKvsList());
  }

  @Test
  void nestedTxnTakesItsOwnBranch() {
    TxnResponse t = kv.txn(txn()
        .addCompare(Req.version("a", CompareResult.EQUAL, 1))
        .addSuccess(op(put("outer", "1")))
        .addSuccess(op(txn()
            .addCompare(Req.version("b", CompareResult.EQUAL, 7))
            .addSuccess(op(put("inner-then", "1")))
            .addFailure(op(put("inner-else", "1")))
            .addFailure(op(txn()
                .addCompare(Req.version("a", CompareResult.EQUAL, 1))
                .addSuccess(op(Req.delete("b")))
                .build()))
            .build()))
        .addSuccess(op(put("outer2", "1")))
        .build());
    assertTrue(t.getSucceeded());
    TxnResponse nested = t.getResponses(1).getResponseTxn();
    assertFalse(nested.getSucceeded());
    assertEquals(2, nested.getResponsesCount());
    TxnResponse innermost = nested.getResponses(1).getResponseTxn();
    assertTrue(innermost.getSucceeded());
    assertEquals(1, innermost.getResponses(0).getResponseDeleteRange().getDeleted());
    assertEquals(List.of("a", "inner-else", "outer", "outer2"), keys(kv.all(0)));
    // all of it is one revision
    assertEquals(4, t.getHeader().getRevision());
    assertEquals(4, kv.currentRevision());
    assertTrue(kv.all(0).getKvsList().stream().filter(x -> !x.getKey().equals(bs("a")))
        .allMatch(x -> x.getModRevision() == 4));
  }

  @Test
  void siblingNestedTxnsEachTakeTheirBranch() {
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(txn().addCompare(Req.version("a", CompareResult.EQUAL, 0))
            .addSuccess(op(put("x", "then"))).addFailure(op(put("x", "else"))).build()))
        .addSuccess(op(txn().addCompare(Req.version("b", CompareResult.EQUAL, 1))
            .addSuccess(op(put("y", "then"))).addFailure(op(put("y", "else"))).build()))
        .build());
    assertFalse(t.getResponses(0).getResponseTxn().getSucceeded());
    assertTrue(t.getResponses(1).getResponseTxn().getSucceeded());
    assertEquals("else", kv.get("x").getKvs(0).getValue().toStringUtf8());
    assertEquals("then", kv.get("y").getKvs(0).getValue().toStringUtf8());
  }

  @Test
  void nestedComparesSeeTheStateBeforeTheTxnsWrites() {
    // etcd evaluates every compare on the path before applying any op
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(put("a", "2")))
        .addSuccess(op(txn()
            .addCompare(Req.value("a", CompareResult.EQUAL, "2"))
            .addSuccess(op(put("seen", "new")))
            .addFailure(op(put("seen", "old")))
            .build()))
        .build());
    assertFalse(t.getResponses(1).getResponseTxn().getSucceeded());
    assertEquals("old", kv.get("seen").getKvs(0).getValue().toStringUtf8());
  }

  @Test
  void opsOfATxnSeeEarlierOpsOfTheSameTxn() {
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(Req.delete("a")))
        .addSuccess(op(Req.range("a")))
        .addSuccess(op(put("c", "1")))
        .addSuccess(op(Req.range("\0", "\0").setCountOnly(true)))
        .addSuccess(op(Req.delete("\0", "\0").toBuilder().setPrevKv(true).build()))
        .build());
    assertEquals(0, t.getResponses(1).getResponseRange().getCount());
    assertEquals(2, t.getResponses(3).getResponseRange().getCount());
    assertEquals(List.of(kv("b", "1", 3, 3, 1), kv("c", "1", 4, 4, 1)),
        t.getResponses(4).getResponseDeleteRange().getPrevKvsList());
    assertEquals(0, kv.all(0).getCount());
    assertEquals(4, kv.currentRevision());
  }

  @Test
  void putWithIgnoreValueOnAMissingKeyInTheTakenBranchFailsTheWholeTxn() {
    long rows = kv.rowCount();
    RangeResponse before = kv.all(0);
    var e = kv.applyExpectingError(Req.raft(txn()
        .addSuccess(op(put("x", "1")))
        .addSuccess(op(Req.delete("a")))
        .addSuccess(op(Req.putBuilder("missing").setIgnoreValue(true).build()))
        .build()));
    assertEquals(EtcdError.KEY_NOT_FOUND, e.error());
    assertUnchanged(3, rows, before);
  }

  @Test
  void putWithIgnoreLeaseOnAMissingKeyInANestedTakenBranchFailsTheWholeTxn() {
    long rows = kv.rowCount();
    RangeResponse before = kv.all(0);
    var e = kv.applyExpectingError(Req.raft(txn()
        .addSuccess(op(put("x", "1")))
        .addSuccess(op(txn()
            .addCompare(Req.version("a", CompareResult.EQUAL, 1))
            .addSuccess(op(Req.putBuilder("missing").setIgnoreLease(true).build()))
            .build()))
        .build()));
    assertEquals(EtcdError.KEY_NOT_FOUND, e.error());
    assertUnchanged(3, rows, before);
  }

  @Test
  void checksOfTheUntakenBranchDoNotApply() {
    TxnResponse t = kv.txn(txn()
        .addCompare(Req.version("a", CompareResult.EQUAL, 1))
        .addSuccess(op(put("x", "1")))
        .addFailure(op(Req.putBuilder("missing").setIgnoreValue(true).build()))
        .addFailure(op(Req.range("a").setRevision(1000)))
        .addFailure(op(Req.putBuilder("l").setValue(bs("v")).setLease(5).build()))
        .build());
    assertTrue(t.getSucceeded());
    assertEquals(4, kv.currentRevision());
  }

  @Test
  void rangeAtAFutureRevisionInTheTakenBranchFailsTheWholeTxn() {
    long rows = kv.rowCount();
    RangeResponse before = kv.all(0);
    var e = kv.applyExpectingError(Req.raft(txn()
        .addSuccess(op(put("x", "1")))
        .addSuccess(op(Req.range("a").setRevision(4)))
        .build()));
    // 4 is the revision this txn would write, but etcd checks against the revision before it
    assertEquals(EtcdError.FUTURE_REV, e.error());
    assertUnchanged(3, rows, before);
  }

  @Test
  void rangeAtACompactedRevisionInTheTakenBranchFailsTheWholeTxn() {
    kv.put("a", "2"); // 4
    kv.compact(4);
    long rows = kv.rowCount();
    RangeResponse before = kv.all(0);
    var e = kv.applyExpectingError(Req.raft(txn()
        .addSuccess(op(txn().addSuccess(op(put("x", "1"))).addSuccess(op(Req.range("a").setRevision(3))).build()))
        .build()));
    assertEquals(EtcdError.COMPACTED, e.error());
    assertUnchanged(4, rows, before);
    // at the compact revision itself the read works
    TxnResponse ok = kv.txn(txn().addSuccess(op(Req.range("a").setRevision(4))).build());
    assertEquals("2", ok.getResponses(0).getResponseRange().getKvs(0).getValue().toStringUtf8());
  }

  /**
   * etcd's checkRange refuses a revision below FirstRev(), its compactMainRev, which is -1 until
   * the first compaction: a negative revision in a txn range reads the latest state on a store
   * that was never compacted (and is ErrCompacted once anything was compacted).
   */
  @Test
  void negativeRangeRevisionInATxnOnANeverCompactedStoreReadsTheLatestAsInEtcd() {
    TxnResponse t = kv.txn(txn().addSuccess(op(Req.range("a").setRevision(-1))).build());
    assertEquals(List.of(kv("a", "1", 2, 2, 1)), t.getResponses(0).getResponseRange().getKvsList());
    kv.compact(2);
    var e = kv.applyExpectingError(Req.raft(txn().addSuccess(op(Req.range("a").setRevision(-1))).build()));
    assertEquals(EtcdError.COMPACTED, e.error());
  }

  @Test
  void readOnlyTxnWithAFutureRangeFails() {
    var e = kv.applyExpectingError(Req.raft(txn().addSuccess(op(Req.range("a").setRevision(99))).build()));
    assertEquals(EtcdError.FUTURE_REV, e.error());
    assertEquals(3, kv.currentRevision());
  }

  @Test
  void historicalRangeInsideATxn() {
    kv.put("a", "2"); // 4
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(put("a", "3")))
        .addSuccess(op(Req.range("a").setRevision(2)))
        .addSuccess(op(Req.range("a").setRevision(4)))
        .addSuccess(op(Req.range("a")))
        .build());
    assertEquals("1", t.getResponses(1).getResponseRange().getKvs(0).getValue().toStringUtf8());
    assertEquals("2", t.getResponses(2).getResponseRange().getKvs(0).getValue().toStringUtf8());
    assertEquals("3", t.getResponses(3).getResponseRange().getKvs(0).getValue().toStringUtf8());
    assertEquals(5, t.getResponses(1).getResponseRange().getHeader().getRevision());
  }

  @Test
  void putWithAnUnknownLeaseInTheTakenBranchFailsTheWholeTxn() {
    long rows = kv.rowCount();
    RangeResponse before = kv.all(0);
    var e = kv.applyExpectingError(Req.raft(txn()
        .addSuccess(op(put("x", "1")))
        .addSuccess(op(Req.putBuilder("y").setValue(bs("v")).setLease(42).build()))
        .build()));
    assertEquals(EtcdError.LEASE_NOT_FOUND, e.error());
    assertUnchanged(3, rows, before);
  }

  /**
   * etcd's overlap check lets a from-key delete and a put of a key inside it share a txn (the
   * interval [key, "\0") is empty to its interval tree), so the pre-propose checks pass this txn.
   * Applying it, the put with ignore_value finds its key deleted by the earlier op. Whatever the
   * outcome, a failed request must leave the store untouched (KvApplier's contract), and the
   * store must go on working.
   */
  @Test
  void txnFailingAfterAnEarlierOpChangedStateLeavesTheStoreUntouched() {
    TxnRequest t = txn()
        .addSuccess(op(Req.delete("a", "\0")))
        .addSuccess(op(Req.putBuilder("b").setIgnoreValue(true).build()))
        .build();
    RequestChecks.checkTxn(t, 128); // passes, as in etcd
    long rows = kv.rowCount();
    RangeResponse before = kv.all(0);
    try {
      kv.txn(t);
    } catch (io.etcetera.api.errors.EtcdException e) {
      assertEquals(EtcdError.KEY_NOT_FOUND, e.error());
      assertUnchanged(3, rows, before);
    }
    // either way the store goes on: the next write works and its result survives a reopen
    kv.put("a", "after");
    RangeResponse now = kv.all(0);
    kv.reopen();
    assertEquals(now.getKvsList(), kv.all(0).getKvsList());
    assertEquals(kv.currentRevision(), now.getHeader().getRevision());
  }

  /** Same txn: the deletes of the failed txn must not show up when the next write publishes its revision. */
  @Test
  void failedTxnDoesNotLeakItsEarlierDeletesIntoLaterRevisions() {
    TxnRequest t = txn()
        .addSuccess(op(Req.delete("a", "\0")))
        .addSuccess(op(Req.putBuilder("b").setIgnoreLease(true).build()))
        .build();
    try {
      kv.txn(t);
    } catch (io.etcetera.api.errors.EtcdException e) {
      assertEquals(EtcdError.KEY_NOT_FOUND, e.error());
    }
    kv.put("c", "1");
    List<String> seen = keys(kv.all(0));
    kv.reopen();
    assertEquals(keys(kv.all(0)), seen, "the index and the disk disagree after the failed txn");
    assertEquals(List.of("a", "b", "c"), seen);
  }
}
