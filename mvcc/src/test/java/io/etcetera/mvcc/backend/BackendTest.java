package io.etcetera.mvcc.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.mvcc.Revision;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

class BackendTest {
  @TempDir
  Path dir;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void metaValuesAreEightByteBigEndian() {
    assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 1, 2}, MetaKeys.encode(258));
    assertEquals(258, MetaKeys.decode(MetaKeys.encode(258)));
    assertEquals(Long.MAX_VALUE, MetaKeys.decode(MetaKeys.encode(Long.MAX_VALUE)));
    assertEquals(0, MetaKeys.decode(null));
  }

  @Test
  void metaKeyNamesAreDistinct() {
    List<String> names = List.of(
        new String(MetaKeys.CONSISTENT_INDEX, StandardCharsets.UTF_8),
        new String(MetaKeys.CONSISTENT_TERM, StandardCharsets.UTF_8),
        new String(MetaKeys.CURRENT_REVISION, StandardCharsets.UTF_8),
        new String(MetaKeys.SCHEDULED_COMPACT, StandardCharsets.UTF_8),
        new String(MetaKeys.FINISHED_COMPACT, StandardCharsets.UTF_8));
    assertEquals(5, names.stream().distinct().count());
  }

  @Test
  void freshDatabaseHasNoRowsAndNoMeta() {
    try (Backend be = Backend.open(dir.resolve("db"))) {
      assertNull(be.getMeta(MetaKeys.CONSISTENT_INDEX));
      assertNull(be.getKv(new Revision(1, 0).toKey(false)));
      try (RocksIterator it = be.kvIterator()) {
        it.seekToFirst();
        assertTrue(!it.isValid());
      }
      assertEquals(List.of(), be.multiGetKv(List.of()));
    }
  }

  /** Every row of the kv, meta, lease and auth families, as "family/key=value" lines in key order. */
  private static List<String> dump(Backend be) {
    List<String> out = new ArrayList<>();
    String[] names = {"kv", "meta", "lease", "auth"};
    List<java.util.function.Supplier<RocksIterator>> families =
        List.of(be::kvIterator, be::metaIterator, be::leaseIterator, be::authIterator);
    for (int f = 0; f < names.length; f++) {
      try (RocksIterator it = families.get(f).get()) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          out.add(names[f] + "/" + java.util.HexFormat.of().formatHex(it.key()) + "=" + java.util.HexFormat.of().formatHex(it.value()));
        }
      }
    }
    return out;
  }

  /**
   * A leader's store (200 kv rows, a lease, an auth row, applied index 900 at term 3) checkpointed
   * into {@code snapshot}; returns its rows.
   */
  private List<String> leaderSnapshot(Path snapshot) throws RocksDBException {
    try (Backend leader = Backend.open(dir.resolve("leader")); WriteBatch wb = new WriteBatch()) {
      for (int r = 1; r <= 200; r++) {
        wb.put(leader.kv(), new Revision(r, 0).toKey(false), b("leader-" + r));
      }
      wb.put(leader.lease(), MetaKeys.encode(7), MetaKeys.encode(60));
      wb.put(leader.auth(), b("enabled"), b("1"));
      wb.put(leader.meta(), MetaKeys.CONSISTENT_INDEX, MetaKeys.encode(900));
      wb.put(leader.meta(), MetaKeys.CONSISTENT_TERM, MetaKeys.encode(3));
      wb.put(leader.meta(), MetaKeys.CURRENT_REVISION, MetaKeys.encode(200));
      leader.commit(wb, true);
      leader.checkpoint(snapshot);
      return dump(leader);
    }
  }

  @Test
  void loadingASnapshotInSmallBatchesLeavesExactlyTheSnapshotsRows() throws RocksDBException {
    Path snapshot = dir.resolve("snapshot");
    List<String> expected = leaderSnapshot(snapshot);
    try (Backend follower = Backend.open(dir.resolve("follower")); WriteBatch wb = new WriteBatch()) {
      for (int r = 1; r <= 50; r++) {
        wb.put(follower.kv(), new Revision(r, 0).toKey(false), b("leader-" + r)); // the same rows
      }
      wb.put(follower.kv(), new Revision(300, 0).toKey(false), b("only here")); // not in the snapshot
      wb.put(follower.lease(), MetaKeys.encode(8), MetaKeys.encode(10));
      wb.put(follower.meta(), MetaKeys.CONSISTENT_INDEX, MetaKeys.encode(400));
      wb.put(follower.meta(), MetaKeys.SCHEDULED_COMPACT, MetaKeys.encode(20));
      follower.commit(wb, true);

      follower.replaceContentWith(snapshot, 64); // a batch every row or two

      assertEquals(expected, dump(follower));
      assertEquals(900, MetaKeys.decode(follower.getMeta(MetaKeys.CONSISTENT_INDEX)));
    }
  }

  /**
   * A crash in the middle of a snapshot load (here: the load stops after its third batch and the
   * store is closed, as a dying process leaves it) leaves a store without an applied index, which
   * the state machine takes for "load the snapshot again"; loading it again gives exactly its rows.
   */
  @Test
  void aSnapshotLoadInterruptedMidwayLeavesNoAppliedIndexAndLoadsCompletelyTheNextTime() throws RocksDBException {
    Path snapshot = dir.resolve("snapshot");
    List<String> expected = leaderSnapshot(snapshot);
    Path db = dir.resolve("follower");
    try (Backend follower = Backend.open(db); WriteBatch wb = new WriteBatch()) {
      for (int r = 500; r < 520; r++) {
        wb.put(follower.kv(), new Revision(r, 0).toKey(false), b("only here"));
      }
      wb.put(follower.meta(), MetaKeys.CONSISTENT_INDEX, MetaKeys.encode(400));
      wb.put(follower.meta(), MetaKeys.CONSISTENT_TERM, MetaKeys.encode(2));
      follower.commit(wb, true);
      int[] chunks = {0};
      RuntimeException crash = new RuntimeException("the process dies here");
      RuntimeException thrown = assertThrows(RuntimeException.class, () -> follower.replaceContentWith(snapshot, 64, () -> {
        if (++chunks[0] == 3) {
          throw crash;
        }
      }));
      assertSame(crash, thrown);
    }
    try (Backend restarted = Backend.open(db)) {
      assertNull(restarted.getMeta(MetaKeys.CONSISTENT_INDEX), "an interrupted load must not leave an applied index");
      assertNull(restarted.getMeta(MetaKeys.CONSISTENT_TERM));
      restarted.replaceContentWith(snapshot, 64);
      assertEquals(expected, dump(restarted));
      assertEquals(900, MetaKeys.decode(restarted.getMeta(MetaKeys.CONSISTENT_INDEX)));
    }
  }

  @Test
  void committedBatchIsReadableAndSurvivesReopen() throws RocksDBException {
    Path db = dir.resolve("db");
    try (Backend be = Backend.open(db); WriteBatch wb = new WriteBatch()) {
      wb.put(be.kv(), new Revision(3, 0).toKey(false), b("three"));
      wb.put(be.kv(), new Revision(2, 1).toKey(false), b("two.one"));
      wb.put(be.kv(), new Revision(2, 0).toKey(true), b("tomb"));
      wb.put(be.meta(), MetaKeys.CURRENT_REVISION, MetaKeys.encode(3));
      be.commit(wb, true);
    }
    try (Backend be = Backend.open(db)) {
      assertEquals(3, MetaKeys.decode(be.getMeta(MetaKeys.CURRENT_REVISION)));
      assertArrayEquals(b("three"), be.getKv(new Revision(3, 0).toKey(false)));
      // the column families are separate: a meta key is not a kv row
      assertNull(be.getKv(MetaKeys.CURRENT_REVISION));
      List<byte[]> got = be.multiGetKv(List.of(
          new Revision(2, 1).toKey(false), new Revision(9, 0).toKey(false), new Revision(3, 0).toKey(false)));
      assertArrayEquals(b("two.one"), got.get(0));
      assertNull(got.get(1));
      assertArrayEquals(b("three"), got.get(2));
      // rows iterate in revision order, a tombstone right after the put key of its revision
      List<Revision> order = new ArrayList<>();
      try (RocksIterator it = be.kvIterator()) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          order.add(Revision.fromKey(it.key()));
        }
      }
      assertEquals(List.of(new Revision(2, 0), new Revision(2, 1), new Revision(3, 0)), order);
    }
  }

  @Test
  void compactRangeAndSizesWork() throws RocksDBException {
    try (Backend be = Backend.open(dir.resolve("db")); WriteBatch wb = new WriteBatch()) {
      for (int i = 0; i < 100; i++) {
        wb.put(be.kv(), new Revision(i + 2, 0).toKey(false), new byte[100]);
      }
      be.commit(wb, false);
      be.compactRange();
      assertTrue(be.sizeOnDisk() > 0);
      assertTrue(be.sizeInUse() >= 0);
    }
  }
}
