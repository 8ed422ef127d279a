package io.etcetera.mvcc.kv;

import static io.etcetera.mvcc.testutil.Req.keys;
import static io.etcetera.mvcc.testutil.Req.kv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.CompactionResponse;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.mvcc.Revision;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.testutil.KvFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompactionTest {
  @TempDir
  Path dir;
  KvFixture kv;

  /** 2 a=1, 3 a=2, 4 b=1, 5 del a, 6 a=3, 7 b=2, 8 c=1, 9 del c. */
  @BeforeEach
  void open() {
    kv = KvFixture.open(dir);
    kv.put("a", "1"); // 2
    kv.put("a", "2"); // 3
    kv.put("b", "1"); // 4
    kv.delete("a"); // 5
    kv.put("a", "3"); // 6
    kv.put("b", "2"); // 7
    kv.put("c", "1"); // 8
    kv.delete("c"); // 9
  }

  @AfterEach
  void close() {
    kv.close();
  }

  private List<String> rows() {
    List<String> out = new ArrayList<>();
    for (byte[] k : kv.rowKeys()) {
      Revision r = Revision.fromKey(k);
      out.add(r.main() + (Revision.isTombstoneKey(k) ? "t" : ""));
    }
    return out;
  }

  private List<RangeResponse> snapshots(long from) {
    List<RangeResponse> out = new ArrayList<>();
    for (long r = from; r <= kv.currentRevision(); r++) {
      out.add(kv.all(r));
    }
    return out;
  }

  @Test
  void compactKeepsTheNewestLiveRevisionOfEachKeyAndEverythingAfter() {
    assertEquals(List.of("2", "3", "4", "5t", "6", "7", "8", "9t"), rows());
    kv.compact(4);
    // a: 3 is its newest at or below 4; b: 4
    assertEquals(List.of("3", "4", "5t", "6", "7", "8", "9t"), rows());
    assertEquals(4, kv.store().compactRevision());
  }

  @Test
  void keyWhoseNewestRevisionAtOrBelowIsATombstoneDisappearsFromHistory() {
    kv.compact(5);
    // a was deleted at 5: its first generation (3 and the tombstone 5) is gone
    assertEquals(List.of("4", "6", "7", "8", "9t"), rows());
    assertEquals(List.of("b"), keys(kv.all(5)));
    kv.compact(9);
    // c was deleted at 9: gone entirely, rows and index
    assertEquals(List.of("6", "7"), rows());
    assertEquals(List.of("a", "b"), keys(kv.all(9)));
    // a later put of c starts from version 1
    kv.put("c", "again");
    assertEquals(kv("c", "again", 10, 10, 1), kv.get("c").getKvs(0));
  }

  @Test
  void compactAtTheCurrentRevisionKeepsOnlyLiveKeys() {
    kv.compact(9);
    assertEquals(2, kv.rowCount());
    assertEquals(List.of(kv("a", "3", 6, 6, 1), kv("b", "2", 4, 7, 2)), kv.all(9).getKvsList());
  }

  @Test
  void readsAtOrAfterTheCompactRevisionAreUnchanged() {
    for (long r : new long[] {3, 5, 6, 8}) {
      List<RangeResponse> before = snapshots(r);
      kv.compact(r);
      assertEquals(before, snapshots(r), "compaction at " + r);
    }
  }

  @Test
  void compactAtOrBelowThePreviousCompactRevisionIsCompacted() {
    kv.compact(5);
    long rows = kv.rowCount();
    assertEquals(EtcdError.COMPACTED, kv.applyExpectingError(compaction(5)).error());
    assertEquals(EtcdError.COMPACTED, kv.applyExpectingError(compaction(3)).error());
    assertEquals(EtcdError.COMPACTED, kv.applyExpectingError(compaction(0)).error());
    assertEquals(5, kv.store().compactRevision());
    assertEquals(rows, kv.rowCount());
    kv.compact(6);
    assertEquals(6, kv.store().compactRevision());
  }

  @Test
  void compactAboveTheCurrentRevisionIsFutureRev() {
    assertEquals(EtcdError.FUTURE_REV, kv.applyExpectingError(compaction(10)).error());
    assertEquals(-1, kv.store().compactRevision());
    assertEquals(8, kv.rowCount());
    // the current revision itself is fine
    CompactionResponse c = kv.compact(9);
    assertEquals(9, c.getHeader().getRevision());
  }

  @Test
  void compactAtRevisionOneOfAFreshStoreSucceeds(@TempDir Path other) {
    try (KvFixture fresh = KvFixture.open(other)) {
      fresh.compact(1);
      assertEquals(1, fresh.store().compactRevision());
      assertEquals(0, fresh.all(1).getCount());
    }
  }

  /**
   * etcd's store starts with compactMainRev = -1, so Compact(0) on a store that was never
   * compacted succeeds (kvstore.go updateCompactRev: 0 <= -1 is false).
   */
  @Test
  void compactAtRevisionZeroOfANeverCompactedStoreSucceedsAsInEtcd(@TempDir Path other) {
    try (KvFixture fresh = KvFixture.open(other)) {
      fresh.put("k", "v");
      Applied a = fresh.compaction(0, false);
      assertEquals(2, ((CompactionResponse) a.response()).getHeader().getRevision());
      assertEquals(1, fresh.getAt("k", 2).getCount());
      // a second compaction at 0 is refused: 0 is now the compacted revision
      assertEquals(EtcdError.COMPACTED, fresh.applyExpectingError(compaction(0)).error());
    }
  }

  @Test
  void physicalCompactionFutureCompletesWithTheRowsGone() throws Exception {
    Applied a = kv.compaction(7, true);
    assertNotNull(a.physicalDone());
    a.physicalDone().get(30, TimeUnit.SECONDS);
    assertEquals(List.of("6", "7", "8", "9t"), rows());
    assertEquals(7, MetaKeys.decode(kv.backend().getMeta(MetaKeys.SCHEDULED_COMPACT)));
    assertEquals(7, MetaKeys.decode(kv.backend().getMeta(MetaKeys.FINISHED_COMPACT)));
  }

  @Test
  void nonPhysicalCompactionAnswersAtOnceAndStillDeletesTheRows() throws Exception {
    Applied a = kv.compaction(7, false);
    assertNull(a.physicalDone());
    assertEquals(9, ((CompactionResponse) a.response()).getHeader().getRevision());
    // the index is trimmed at once
    assertThrows(EtcdException.class, () -> kv.all(6));
    // the rows go in the background; a later physical compaction waits behind it
    kv.put("d", "1"); // 10
    kv.compact(8);
    assertEquals(List.of("6", "7", "8", "9t", "10"), rows());
  }

  @Test
  void physicalCompactionOfManyChunks(@TempDir Path other) {
    // 120 revisions of 100 keys each, then every key overwritten: 12000 rows to delete
    try (KvFixture big = KvFixture.openNoFsync(other)) {
      for (int round = 0; round < 2; round++) {
        for (int t = 0; t < 60; t++) {
          io.etcetera.api.etcdserverpb.TxnRequest.Builder txn = io.etcetera.mvcc.testutil.Req.txn();
          for (int k = 0; k < 100; k++) {
            txn.addSuccess(io.etcetera.mvcc.testutil.Req.op(
                io.etcetera.mvcc.testutil.Req.put(String.format("key-%02d-%03d", t, k), "r" + round)));
          }
          big.txn(txn.build());
        }
      }
      assertEquals(121, big.currentRevision());
      assertEquals(12000, big.rowCount());
      RangeResponse before = big.all(121);
      big.compact(121);
      assertEquals(6000, big.rowCount());
      assertEquals(before, big.all(121));
      assertEquals(121, MetaKeys.decode(big.backend().getMeta(MetaKeys.FINISHED_COMPACT)));
      big.reopen();
      assertEquals(6000, big.rowCount());
      assertEquals(before, big.all(121));
    }
  }

  @Test
  void compactionIsRecordedInMetaWhenApplied() {
    kv.compaction(4, false);
    assertEquals(4, MetaKeys.decode(kv.backend().getMeta(MetaKeys.SCHEDULED_COMPACT)));
  }

  @Test
  void compactionInsideAGroupCommitBatchSeesThatBatchsWrites() {
    MvccStore store = kv.store();
    io.etcetera.mvcc.apply.KvApplier applier =
        new io.etcetera.mvcc.apply.KvApplier(store, io.etcetera.mvcc.apply.LeaseLookup.NONE);
    Applied c;
    try (ApplyBatch batch = new ApplyBatch()) {
      applier.apply(batch, io.etcetera.mvcc.testutil.Req.raft(io.etcetera.mvcc.testutil.Req.put("a", "4"))); // 10
      c = applier.apply(batch, io.etcetera.api.etcdserverpb.InternalRaftRequest.newBuilder()
          .setCompaction(io.etcetera.api.etcdserverpb.CompactionRequest.newBuilder().setRevision(10).setPhysical(true))
          .build());
      assertEquals(10, ((CompactionResponse) c.response()).getHeader().getRevision());
      batch.setApplied(100, 1);
      store.commit(batch);
    }
    c.physicalDone().join();
    assertEquals(List.of("7", "10"), rows());
    assertEquals(List.of(kv("a", "4", 6, 10, 2), kv("b", "2", 4, 7, 2)), kv.all(0).getKvsList());
  }

  private static io.etcetera.api.etcdserverpb.InternalRaftRequest compaction(long rev) {
    return io.etcetera.api.etcdserverpb.InternalRaftRequest.newBuilder()
        .setCompaction(io.etcetera.api.etcdserverpb.CompactionRequest.newBuilder().setRevision(rev))
        .build();
  }

  @Test
  void versionsSurviveCompaction() {
    kv.put("b", "3"); // 10
    kv.compact(10);
    kv.put("b", "4"); // 11
    assertEquals(kv("b", "4", 4, 11, 4), kv.get("b").getKvs(0));
    assertTrue(kv.rowCount() >= 2);
  }

  /**
   * A read of the latest revision never fails with "compacted" in etcd: a compaction at R is
   * applied after R exists, and reads of the latest see at least R. Here a group-commit batch
   * holds a put (revision 10) and a compaction at 10; until the batch is durable readers are at
   * revision 9, so a latest read must answer revision 9 (or wait for the batch and answer 10),
   * not ErrCompacted.
   */
  @Test
  void latestReadWhileACompactionBatchIsPendingIsNotCompacted() throws Exception {
    MvccStore store = kv.store();
    io.etcetera.mvcc.apply.KvApplier applier =
        new io.etcetera.mvcc.apply.KvApplier(store, io.etcetera.mvcc.apply.LeaseLookup.NONE);
    RangeResponse at9 = kv.all(0);
    java.util.concurrent.CompletableFuture<RangeResponse> read;
    try (ApplyBatch batch = new ApplyBatch()) {
      applier.apply(batch, io.etcetera.mvcc.testutil.Req.raft(io.etcetera.mvcc.testutil.Req.put("a", "4"))); // 10
      applier.apply(batch, compaction(10));
      // another thread reads the latest revision before the batch is durable
      read = java.util.concurrent.CompletableFuture.supplyAsync(() -> kv.all(0));
      try {
        read.get(2, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException waiting) {
        // a read that waits for the batch is fine too
      } catch (java.util.concurrent.ExecutionException e) {
        throw new AssertionError("a read of the latest revision failed", e.getCause());
      }
      batch.setApplied(100, 1);
      store.commit(batch);
    }
    RangeResponse latest = read.get(10, TimeUnit.SECONDS);
    if (latest.getHeader().getRevision() == 9) {
      assertEquals(at9, latest);
    } else {
      assertEquals(kv.all(10), latest);
    }
  }
}
