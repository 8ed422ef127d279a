package io.etcetera.mvcc.kv;

import static io.etcetera.mvcc.testutil.Req.bs;
import static io.etcetera.mvcc.testutil.Req.kv;
import static io.etcetera.mvcc.testutil.Req.op;
import static io.etcetera.mvcc.testutil.Req.put;
import static io.etcetera.mvcc.testutil.Req.txn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.mvcc.Revision;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.testutil.KvFixture;
import io.etcetera.mvcc.testutil.Req;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

class RecoveryTest {
  static final long LEASE = 99;

  @TempDir
  Path dir;
  KvFixture kv;

  @BeforeEach
  void open() {
    kv = KvFixture.open(dir, id -> id == LEASE);
  }

  @AfterEach
  void close() {
    kv.close();
  }

  /** Revisions 2..13 over a few keys, with deletes, a txn and a lease. */
  private void history() {
    kv.put("a", "1"); // 2
    kv.put("b", "1"); // 3
    kv.put("a", "2"); // 4
    kv.delete("b"); // 5
    kv.txn(txn().addSuccess(op(put("c", "1"))).addSuccess(op(put("d", "1"))).addSuccess(op(Req.delete("a"))).build()); // 6
    kv.put(Req.putBuilder("b").setValue(bs("2")).setLease(LEASE).build()); // 7
    kv.put("c", "2"); // 8
    kv.deleteRange("c", "e"); // 9
    kv.put("a", "3"); // 10
    kv.put("c", "3"); // 11
    kv.put("a", "4"); // 12
    kv.delete("d"); // 13: nothing to delete, no revision
    kv.put("e", "1"); // 13
  }

  private List<RangeResponse> snapshots(long from) {
    List<RangeResponse> out = new ArrayList<>();
    for (long r = from; r <= kv.currentRevision(); r++) {
      out.add(kv.all(r));
    }
    return out;
  }

  @Test
  void reopenKeepsRevisionAppliedIndexAndEveryHistoricalRead() {
    history();
    assertEquals(13, kv.currentRevision());
    long index = kv.store().appliedIndex();
    List<RangeResponse> before = snapshots(1);
    kv.reopen();
    assertEquals(13, kv.currentRevision());
    assertEquals(13, kv.store().writeRevision());
    assertEquals(index, kv.store().appliedIndex());
    assertEquals(KvFixture.TERM, kv.store().appliedTerm());
    assertEquals(-1, kv.store().compactRevision(), "never compacted: -1, as etcd");
    assertEquals(before, snapshots(1));
  }

  @Test
  void writesAfterReopenContinueVersionsCreateRevisionsAndLeases() {
    history();
    kv.reopen();
    assertEquals(14, kv.put("a", "5").getHeader().getRevision());
    assertEquals(kv("a", "5", 10, 14, 3), kv.get("a").getKvs(0));
    kv.put(Req.putBuilder("b").setValue(bs("3")).setIgnoreLease(true).build()); // 15
    assertEquals(LEASE, kv.get("b").getKvs(0).getLease());
    assertEquals(2, kv.get("b").getKvs(0).getVersion());
    kv.delete("e"); // 16
    kv.put("e", "2"); // 17
    assertEquals(kv("e", "2", 17, 17, 1), kv.get("e").getKvs(0));
  }

  @Test
  void compactRevisionIsRememberedAcrossReopen() {
    history();
    kv.compact(8);
    List<RangeResponse> before = snapshots(8);
    kv.reopen();
    assertEquals(8, kv.store().compactRevision());
    assertEquals(EtcdError.COMPACTED, assertThrows(EtcdException.class, () -> kv.all(7)).error());
    assertEquals(before, snapshots(8));
    assertEquals(EtcdError.COMPACTED, kv.applyExpectingError(compaction(8)).error());
    kv.compact(9);
    assertEquals(9, kv.store().compactRevision());
  }

  @Test
  void reopenAfterCompactingAwayATrailingTombstoneKeepsTheRevision() {
    kv.put("a", "1"); // 2
    kv.put("b", "1"); // 3
    kv.delete("b"); // 4
    kv.compact(4);
    // the newest row left is revision 2; the store is still at 4
    assertEquals(List.of(new Revision(2, 0)), kv.rowKeys().stream().map(Revision::fromKey).toList());
    kv.reopen();
    assertEquals(4, kv.currentRevision());
    assertEquals(5, kv.put("b", "2").getHeader().getRevision());
    assertEquals(kv("b", "2", 5, 5, 1), kv.get("b").getKvs(0));
  }

  @Test
  void reopenOfAnEmptyStore() {
    kv.reopen();
    assertEquals(1, kv.currentRevision());
    assertEquals(0, kv.store().appliedIndex());
    assertEquals(2, kv.put("a", "1").getHeader().getRevision());
  }

  private void writeMeta(byte[] key, long value) throws RocksDBException {
    kv.close();
    try (Backend be = Backend.open(dir); WriteBatch wb = new WriteBatch()) {
      wb.put(be.meta(), key, MetaKeys.encode(value));
      be.commit(wb, true);
    }
  }

  @Test
  void unfinishedPhysicalCompactionIsFinishedOnReopen() throws RocksDBException {
    history();
    List<RangeResponse> before = snapshots(9);
    long rowsBefore = kv.rowCount();
    // as if the member stopped right after applying a compaction at 9: scheduled, never run
    writeMeta(MetaKeys.SCHEDULED_COMPACT, 9);
    kv = KvFixture.open(dir, id -> id == LEASE);
    assertEquals(9, kv.store().compactRevision());
    assertEquals(9, MetaKeys.decode(kv.backend().getMeta(MetaKeys.FINISHED_COMPACT)));
    assertEquals(EtcdError.COMPACTED, assertThrows(EtcdException.class, () -> kv.all(8)).error());
    assertEquals(before, snapshots(9));
    // rows at or below 9 left: the newest live one of each key at 9 (a@6 deleted, b@7, c/d deleted at 9)
    List<String> rows = new ArrayList<>();
    for (byte[] k : kv.rowKeys()) {
      rows.add(Revision.fromKey(k).main() + (Revision.isTombstoneKey(k) ? "t" : ""));
    }
    assertEquals(List.of("7", "10", "11", "12", "13"), rows);
    assertEquals(true, kv.rowCount() < rowsBefore);
  }

  @Test
  void compactionScheduledAfterAFinishedOneIsFinishedOnReopen() throws RocksDBException {
    history();
    kv.compact(4);
    List<RangeResponse> before = snapshots(11);
    writeMeta(MetaKeys.SCHEDULED_COMPACT, 11);
    kv = KvFixture.open(dir, id -> id == LEASE);
    assertEquals(11, kv.store().compactRevision());
    assertEquals(11, MetaKeys.decode(kv.backend().getMeta(MetaKeys.FINISHED_COMPACT)));
    assertEquals(before, snapshots(11));
    // a@10, b@7, c@11 kept; e@13 and a@12 after
    assertEquals(List.of(new Revision(7, 0), new Revision(10, 0), new Revision(11, 0), new Revision(12, 0),
        new Revision(13, 0)), kv.rowKeys().stream().map(Revision::fromKey).toList());
    // and a reopen after that has nothing left to do
    kv.reopen();
    assertEquals(11, kv.store().compactRevision());
    assertEquals(before, snapshots(11));
  }

  private static io.etcetera.api.etcdserverpb.InternalRaftRequest compaction(long rev) {
    return io.etcetera.api.etcdserverpb.InternalRaftRequest.newBuilder()
        .setCompaction(io.etcetera.api.etcdserverpb.CompactionRequest.newBuilder().setRevision(rev))
        .build();
  }
}
