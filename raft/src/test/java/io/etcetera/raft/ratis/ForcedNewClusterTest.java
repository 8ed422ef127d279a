package io.etcetera.raft.ratis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.etcdserverpb.ClusterBootstrap;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.membership.MemberTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.WriteBatch;

class ForcedNewClusterTest {
  @TempDir Path dir;

  private static final Member A = Member.newBuilder().setID(1).setName("a").addPeerURLs("http://127.0.0.1:2380").build();
  private static final Member B = Member.newBuilder().setID(2).setName("b").addPeerURLs("http://127.0.0.2:2380").build();

  private RatisSettings settings() {
    return new RatisSettings(1, "a", List.of(), "token", 42, List.of(A, B), false, true, dir, "127.0.0.1", 2380,
        100, 1000, Duration.ofSeconds(7), 10000, null, null, true);
  }

  /** A store of two members that applied their bootstrap at index 5, and a Raft group directory. */
  private Path bootstrapped(MvccStore store) throws IOException {
    MemberTable table = MemberTable.load(store);
    try (ApplyBatch batch = new ApplyBatch()) {
      table.apply(batch, InternalRaftRequest.newBuilder()
          .setClusterBootstrap(ClusterBootstrap.newBuilder().setClusterId(42).addMembers(A).addMembers(B)).build());
      batch.setApplied(5, 1);
      store.commit(batch);
    }
    Path group = Files.createDirectories(dir.resolve("group").resolve("current"));
    Files.writeString(group.resolve("log_0-4"), "entries");
    return dir.resolve("group");
  }

  @Test
  void aMemberWithDataKeepsItAndBecomesTheOnlyMember() throws Exception {
    try (Backend backend = Backend.open(dir.resolve("kv"), false); MvccStore store = MvccStore.open(backend)) {
      Path group = bootstrapped(store);
      MemberTable table = MemberTable.load(store);
      assertTrue(ForcedNewCluster.applies(settings(), table));
      ForcedNewCluster.prepare(settings(), store, table, group);
      assertEquals(List.of(A), table.members());
      assertEquals(5, store.appliedIndex());
      assertFalse(Files.exists(group), "the Raft storage is dropped");
    }
  }

  @Test
  void aStoreWhoseSnapshotLoadWasInterruptedIsRefusedAndKeepsTheRaftStorage() throws Exception {
    Path group;
    try (Backend backend = Backend.open(dir.resolve("kv"), false); MvccStore store = MvccStore.open(backend)) {
      group = bootstrapped(store);
      try (WriteBatch forget = new WriteBatch()) { // what Backend#replaceContentWith writes first
        forget.delete(backend.meta(), MetaKeys.CONSISTENT_INDEX);
        forget.delete(backend.meta(), MetaKeys.CONSISTENT_TERM);
        backend.commit(forget, true);
      }
    }
    try (Backend backend = Backend.open(dir.resolve("kv"), false); MvccStore store = MvccStore.open(backend)) {
      MemberTable table = MemberTable.load(store);
      IOException e = assertThrows(IOException.class, () -> ForcedNewCluster.prepare(settings(), store, table, group));
      assertTrue(e.getMessage().contains("was being loaded from a snapshot"), e.getMessage());
      assertEquals(List.of(A, B), MemberTable.load(store).members(), "the member table is untouched");
      assertTrue(Files.exists(group.resolve("current").resolve("log_0-4")), "the Raft storage with the snapshot stays");
    }
  }
}
