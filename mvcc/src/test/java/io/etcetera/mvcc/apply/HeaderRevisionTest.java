package io.etcetera.mvcc.apply;

import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.etcdserverpb.CompactionResponse;
import io.etcetera.api.etcdserverpb.ResponseOp;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Header revisions of responses and of txn sub-responses, as etcd's apply.go sets them. */
class HeaderRevisionTest {
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

  @Test
  void putAndDeleteAnswerTheNewRevision() {
    assertEquals(4, kv.put("c", "1").getHeader().getRevision());
    assertEquals(5, kv.delete("c").getHeader().getRevision());
  }

  @Test
  void deleteOfNothingAnswersTheCurrentRevision() {
    assertEquals(3, kv.delete("zzz").getHeader().getRevision());
  }

  @Test
  void rangeBeforeAnyWriteInATxnSeesTheOldRevisionAndAfterAWriteTheNewOne() {
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(Req.range("a")))
        .addSuccess(op(Req.delete("nothing")))
        .addSuccess(op(put("c", "1")))
        .addSuccess(op(Req.range("c")))
        .addSuccess(op(Req.delete("nothing-either")))
        .addSuccess(op(Req.range("a", "\0")))
        .build());
    assertEquals(4, t.getHeader().getRevision());
    assertEquals(3, t.getResponses(0).getResponseRange().getHeader().getRevision());
    assertEquals(3, t.getResponses(1).getResponseDeleteRange().getHeader().getRevision());
    assertEquals(4, t.getResponses(2).getResponsePut().getHeader().getRevision());
    assertEquals(4, t.getResponses(3).getResponseRange().getHeader().getRevision());
    // the range after the put sees the txn's own write
    assertEquals("1", t.getResponses(3).getResponseRange().getKvs(0).getValue().toStringUtf8());
    assertEquals(4, t.getResponses(3).getResponseRange().getKvs(0).getModRevision());
    // a delete of nothing after a write answers the new revision (etcd: len(changes) > 0)
    assertEquals(0, t.getResponses(4).getResponseDeleteRange().getDeleted());
    assertEquals(4, t.getResponses(4).getResponseDeleteRange().getHeader().getRevision());
    assertEquals(3, t.getResponses(5).getResponseRange().getCount());
  }

  @Test
  void nestedTxnResponseHasHeaderRevisionZero() {
    TxnResponse t = kv.txn(txn()
        .addSuccess(op(txn()
            .addSuccess(op(put("c", "1")))
            .addSuccess(op(Req.range("c")))
            .addSuccess(op(txn().addSuccess(op(Req.range("a"))).build()))
            .build()))
        .build());
    assertEquals(4, t.getHeader().getRevision());
    TxnResponse nested = t.getResponses(0).getResponseTxn();
    assertTrue(t.getResponses(0).hasResponseTxn());
    assertTrue(nested.hasHeader());
    assertEquals(0, nested.getHeader().getRevision());
    assertTrue(nested.getSucceeded());
    assertEquals(4, nested.getResponses(0).getResponsePut().getHeader().getRevision());
    assertEquals(4, nested.getResponses(1).getResponseRange().getHeader().getRevision());
    TxnResponse inner = nested.getResponses(2).getResponseTxn();
    assertEquals(0, inner.getHeader().getRevision());
    assertEquals(4, inner.getResponses(0).getResponseRange().getHeader().getRevision());
  }

  @Test
  void readOnlyTxnAnswersTheCurrentRevision() {
    TxnResponse t = kv.txn(txn().addSuccess(op(Req.range("a"))).build());
    assertEquals(3, t.getHeader().getRevision());
    assertEquals(3, t.getResponses(0).getResponseRange().getHeader().getRevision());
  }

  @Test
  void failureBranchResponsesAreThoseOfTheFailureOps() {
    TxnResponse t = kv.txn(txn()
        .addCompare(Req.value("a", io.etcetera.api.etcdserverpb.Compare.CompareResult.EQUAL, "no"))
        .addSuccess(op(put("s", "1")))
        .addFailure(op(Req.range("a")))
        .addFailure(op(Req.delete("b")))
        .build());
    assertEquals(false, t.getSucceeded());
    assertEquals(2, t.getResponsesCount());
    assertEquals(ResponseOp.ResponseCase.RESPONSE_RANGE, t.getResponses(0).getResponseCase());
    assertEquals(ResponseOp.ResponseCase.RESPONSE_DELETE_RANGE, t.getResponses(1).getResponseCase());
    assertEquals(1, t.getResponses(1).getResponseDeleteRange().getDeleted());
    assertEquals(4, t.getHeader().getRevision());
  }

  @Test
  void compactionAnswersTheCurrentRevision() {
    CompactionResponse c = (CompactionResponse) kv.compaction(2, false).response();
    assertEquals(3, c.getHeader().getRevision());
    assertEquals(3, kv.currentRevision());
  }
}
