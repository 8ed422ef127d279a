package io.etcetera.mvcc.apply;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.mvcc.testutil.Req;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The pre-propose checks of etcd's v3rpc key.go, with etcd's exact errors. */
class RequestChecksTest {
  static final int MAX = 128;

  private static void assertError(EtcdError expected, Executable check) {
    EtcdException e = assertThrows(EtcdException.class, check);
    assertEquals(expected, e.error());
    assertEquals(expected.message(), e.getMessage());
  }

  private static void checkTxn(TxnRequest.Builder t) {
    RequestChecks.checkTxn(t.build(), MAX);
  }

  // ---- single requests

  @Test
  void emptyKeyIsRefusedByRangePutAndDelete() {
    assertError(EtcdError.EMPTY_KEY, () -> RequestChecks.checkRange(RangeRequest.getDefaultInstance()));
    assertError(EtcdError.EMPTY_KEY, () -> RequestChecks.checkPut(PutRequest.newBuilder().setValue(bs("v")).build()));
    assertError(EtcdError.EMPTY_KEY, () -> RequestChecks.checkDelete(DeleteRangeRequest.getDefaultInstance()));
    // a range end without a key is still an empty key
    assertError(EtcdError.EMPTY_KEY, () -> RequestChecks.checkRange(RangeRequest.newBuilder().setRangeEnd(bs("\0")).build()));
    assertDoesNotThrow(() -> RequestChecks.checkRange(Req.range("\0", "\0").build()));
    assertDoesNotThrow(() -> RequestChecks.checkPut(put("k", "")));
  }

  @Test
  void ignoreValueWithAValueIsValueProvided() {
    assertError(EtcdError.VALUE_PROVIDED,
        () -> RequestChecks.checkPut(Req.putBuilder("k").setValue(bs("v")).setIgnoreValue(true).build()));
    assertDoesNotThrow(() -> RequestChecks.checkPut(Req.putBuilder("k").setIgnoreValue(true).build()));
  }

  @Test
  void ignoreLeaseWithALeaseIsLeaseProvided() {
    assertError(EtcdError.LEASE_PROVIDED,
        () -> RequestChecks.checkPut(Req.putBuilder("k").setLease(5).setIgnoreLease(true).build()));
    assertDoesNotThrow(() -> RequestChecks.checkPut(Req.putBuilder("k").setIgnoreLease(true).build()));
  }

  @Test
  void emptyKeyCheckComesBeforeTheFlagChecks() {
    assertError(EtcdError.EMPTY_KEY,
        () -> RequestChecks.checkPut(PutRequest.newBuilder().setValue(bs("v")).setIgnoreValue(true).build()));
    assertError(EtcdError.VALUE_PROVIDED, () -> RequestChecks.checkPut(
        Req.putBuilder("k").setValue(bs("v")).setIgnoreValue(true).setLease(3).setIgnoreLease(true).build()));
  }

  // ---- txn: op counts

  private static TxnRequest.Builder puts(int n, boolean success) {
    TxnRequest.Builder t = txn();
    for (int i = 0; i < n; i++) {
      RequestOp o = op(put("k" + i, "v"));
      if (success) {
        t.addSuccess(o);
      } else {
        t.addFailure(o);
      }
    }
    return t;
  }

  @Test
  void tooManyOpsAtMaxPlusOneButNotAtMax() {
    assertDoesNotThrow(() -> checkTxn(puts(MAX, true)));
    assertError(EtcdError.TOO_MANY_TXN_OPS, () -> checkTxn(puts(MAX + 1, true)));
    assertDoesNotThrow(() -> checkTxn(puts(MAX, false)));
    assertError(EtcdError.TOO_MANY_TXN_OPS, () -> checkTxn(puts(MAX + 1, false)));
  }

  @Test
  void comparesCountTowardTheLimit() {
    TxnRequest.Builder t = txn();
    for (int i = 0; i <= MAX; i++) {
      t.addCompare(Req.version("k" + i, Compare.CompareResult.EQUAL, 0));
    }
    assertError(EtcdError.TOO_MANY_TXN_OPS, () -> checkTxn(t));
    t.removeCompare(0);
    assertDoesNotThrow(() -> checkTxn(t));
  }

  @Test
  void theLimitIsTheLargestOfComparesSuccessAndFailureNotTheirSum() {
    TxnRequest.Builder t = puts(3, true);
    for (int i = 0; i < 3; i++) {
      t.addFailure(op(put("f" + i, "v")));
      t.addCompare(Req.version("c" + i, Compare.CompareResult.EQUAL, 0));
    }
    assertDoesNotThrow(() -> RequestChecks.checkTxn(t.build(), 3));
    assertError(EtcdError.TOO_MANY_TXN_OPS, () -> RequestChecks.checkTxn(t.build(), 2));
  }

  @Test
  void nestedTxnGetsWhatTheOuterLevelLeaves() {
    // max 4: the outer level uses 2, so the nested txn may have 2 but not 3
    TxnRequest.Builder okNested = txn().addSuccess(op(txn()
        .addSuccess(op(put("a", "1"))).addSuccess(op(put("b", "1"))).build()))
        .addSuccess(op(put("c", "1")));
    assertDoesNotThrow(() -> RequestChecks.checkTxn(okNested.build(), 4));
    TxnRequest.Builder tooMany = txn().addSuccess(op(txn()
        .addSuccess(op(put("a", "1"))).addSuccess(op(put("b", "1"))).addSuccess(op(put("d", "1"))).build()))
        .addSuccess(op(put("c", "1")));
    assertError(EtcdError.TOO_MANY_TXN_OPS, () -> RequestChecks.checkTxn(tooMany.build(), 4));
  }

  // ---- txn: contents of ops

  @Test
  void emptyKeysInsideATxn() {
    assertError(EtcdError.EMPTY_KEY, () -> checkTxn(txn().addCompare(Compare.newBuilder().setVersion(1))));
    assertError(EtcdError.EMPTY_KEY, () -> checkTxn(txn().addSuccess(op(RangeRequest.getDefaultInstance()))));
    assertError(EtcdError.EMPTY_KEY, () -> checkTxn(txn().addFailure(op(PutRequest.getDefaultInstance()))));
    assertError(EtcdError.EMPTY_KEY, () -> checkTxn(txn().addSuccess(op(DeleteRangeRequest.getDefaultInstance()))));
    assertError(EtcdError.EMPTY_KEY,
        () -> checkTxn(txn().addSuccess(op(txn().addFailure(op(PutRequest.getDefaultInstance())).build()))));
  }

  @Test
  void putFlagConflictsInsideATxn() {
    assertError(EtcdError.VALUE_PROVIDED,
        () -> checkTxn(txn().addSuccess(op(Req.putBuilder("k").setValue(bs("v")).setIgnoreValue(true).build()))));
    assertError(EtcdError.LEASE_PROVIDED,
        () -> checkTxn(txn().addSuccess(op(txn().addSuccess(
            op(Req.putBuilder("k").setLease(1).setIgnoreLease(true).build())).build()))));
  }

  @Test
  void emptyRequestOpIsKeyNotFoundAsInEtcd() {
    assertError(EtcdError.KEY_NOT_FOUND, () -> checkTxn(txn().addSuccess(RequestOp.getDefaultInstance())));
  }

  // ---- txn: overlapping writes

  @Test
  void twoPutsOfOneKeyAreDuplicateKey() {
    assertError(EtcdError.DUPLICATE_KEY,
        () -> checkTxn(txn().addSuccess(op(put("k", "1"))).addSuccess(op(put("k", "2")))));
    assertError(EtcdError.DUPLICATE_KEY,
        () -> checkTxn(txn().addFailure(op(put("k", "1"))).addFailure(op(put("k", "2")))));
  }

  @Test
  void successAndFailureAreCheckedSeparately() {
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(put("k", "1"))).addFailure(op(put("k", "2")))));
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(Req.delete("k"))).addFailure(op(put("k", "2")))));
  }

  @Test
  void putInsideADeleteOfTheSameLevelIsDuplicateKey() {
    assertError(EtcdError.DUPLICATE_KEY,
        () -> checkTxn(txn().addSuccess(op(Req.delete("k"))).addSuccess(op(put("k", "2")))));
    // order does not matter at one level
    assertError(EtcdError.DUPLICATE_KEY,
        () -> checkTxn(txn().addSuccess(op(put("k", "2"))).addSuccess(op(Req.delete("k")))));
    assertError(EtcdError.DUPLICATE_KEY,
        () -> checkTxn(txn().addSuccess(op(Req.delete("a", "c"))).addSuccess(op(put("b", "2")))));
    assertError(EtcdError.DUPLICATE_KEY,
        () -> checkTxn(txn().addSuccess(op(Req.delete("a", "c"))).addSuccess(op(put("a", "2")))));
    // the range end is exclusive
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(Req.delete("a", "c"))).addSuccess(op(put("c", "2")))));
    // a point delete of another key
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(Req.delete("a"))).addSuccess(op(put("ab", "2")))));
  }

  @Test
  void twoDeletesOfTheSameRangeAreAllowed() {
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(Req.delete("a", "z"))).addSuccess(op(Req.delete("a", "z")))));
  }

  @Test
  void fromKeyDeleteDoesNotOverlapPutsAsInEtcd() {
    // etcd builds the interval [key, "\0"), which its interval tree finds empty
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(Req.delete("a", "\0"))).addSuccess(op(put("b", "2")))));
  }

  @Test
  void nestedPutOverlappingAnOuterPutIsDuplicateKey() {
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(put("k", "outer")))
        .addSuccess(op(txn().addSuccess(op(put("k", "inner"))).build()))));
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(txn().addFailure(op(put("k", "inner"))).build()))
        .addSuccess(op(put("k", "outer")))));
    // deeper nesting too
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(put("k", "outer")))
        .addSuccess(op(txn().addSuccess(op(txn().addSuccess(op(put("k", "deep"))).build())).build()))));
  }

  @Test
  void nestedPutInsideAnOuterDeleteIsDuplicateKey() {
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(Req.delete("a", "z")))
        .addSuccess(op(txn().addSuccess(op(put("k", "inner"))).build()))));
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(Req.delete("a", "z")))
        .addSuccess(op(txn().addFailure(op(put("k", "inner"))).build()))));
  }

  @Test
  void outerPutInsideANestedDeleteIsDuplicateKey() {
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(put("k", "outer")))
        .addSuccess(op(txn().addSuccess(op(Req.delete("k"))).build()))));
  }

  @Test
  void sameKeyInTheThenAndElseOfOneNestedTxnIsAllowed() {
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(txn()
        .addCompare(Req.version("x", Compare.CompareResult.EQUAL, 0))
        .addSuccess(op(put("k", "then")))
        .addFailure(op(put("k", "else")))
        .build()))));
  }

  @Test
  void sameKeyInTwoSiblingNestedTxnsIsDuplicateKey() {
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(txn().addSuccess(op(put("k", "1"))).build()))
        .addSuccess(op(txn().addFailure(op(put("k", "2"))).build()))));
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(txn().addSuccess(op(put("k", "1"))).build()))
        .addSuccess(op(txn().addSuccess(op(put("k", "2"))).addFailure(op(put("k", "3"))).build()))));
  }

  @Test
  void putInANestedTxnAfterASiblingsDeleteIsDuplicateKey() {
    assertError(EtcdError.DUPLICATE_KEY, () -> checkTxn(txn()
        .addSuccess(op(txn().addSuccess(op(Req.delete("k"))).build()))
        .addSuccess(op(txn().addSuccess(op(put("k", "2"))).build()))));
  }

  @Test
  void putInANestedTxnBeforeASiblingsDeleteIsAllowedAsInEtcd() {
    // etcd merges a nested txn's deletes only after it checked that txn's puts; the earlier
    // sibling's puts are never checked against them
    assertDoesNotThrow(() -> checkTxn(txn()
        .addSuccess(op(txn().addSuccess(op(put("k", "2"))).build()))
        .addSuccess(op(txn().addSuccess(op(Req.delete("k"))).build()))));
  }

  @Test
  void deleteInThenAndPutInElseOfOneNestedTxnIsAllowed() {
    assertDoesNotThrow(() -> checkTxn(txn().addSuccess(op(txn()
        .addSuccess(op(Req.delete("k")))
        .addFailure(op(put("k", "else")))
        .build()))));
  }

  @Test
  void rangesNeverConflict() {
    assertDoesNotThrow(() -> checkTxn(txn()
        .addSuccess(op(Req.range("k")))
        .addSuccess(op(put("k", "1")))
        .addSuccess(op(Req.range("a", "z")))));
  }
}
