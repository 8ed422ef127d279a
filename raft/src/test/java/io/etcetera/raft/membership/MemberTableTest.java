package io.etcetera.raft.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.ClusterBootstrap;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.api.etcdserverpb.MemberPromoteRequest;
import io.etcetera.api.etcdserverpb.MemberRemoveRequest;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemberTableTest {
  @TempDir Path dir;
  private Backend backend;
  private MvccStore store;
  private MemberTable table;
  private long index;

  private static final Member A = Member.newBuilder().setID(1).setName("a").addPeerURLs("http://127.0.0.1:2380").build();
  private static final Member B = Member.newBuilder().setID(2).setName("b").addPeerURLs("http://127.0.0.2:2380").build();

  @BeforeEach
  void open() {
    backend = Backend.open(dir.resolve("kv"), false);
    store = MvccStore.open(backend);
    table = MemberTable.load(store);
  }

  @AfterEach
  void close() {
    store.close();
    backend.close();
  }

  private void apply(InternalRaftRequest.Builder entry) {
    try (ApplyBatch batch = new ApplyBatch()) {
      table.apply(batch, entry.build());
      batch.setApplied(++index, 1);
      store.commit(batch);
    }
  }

  private void bootstrap() {
    apply(InternalRaftRequest.newBuilder().setClusterBootstrap(
        ClusterBootstrap.newBuilder().setClusterId(42).addMembers(A).addMembers(B)));
  }

  @Test
  void bootstrapSetsMembersAndClusterIdOnceAndSurvivesReopening() {
    bootstrap();
    apply(InternalRaftRequest.newBuilder().setClusterBootstrap(
        ClusterBootstrap.newBuilder().setClusterId(7).addMembers(A)));
    assertEquals(List.of(A, B), table.members());
    assertEquals(42, table.clusterId());
    MemberTable reopened = MemberTable.load(store);
    assertEquals(List.of(A, B), reopened.members());
    assertEquals(42, reopened.clusterId());
  }

  @Test
  void addRefusesAnIdOrPeerUrlAlreadyInTheCluster() {
    bootstrap();
    EtcdException sameId = assertThrows(EtcdException.class, () -> apply(InternalRaftRequest.newBuilder()
        .setMemberAdd(Member.newBuilder().setID(1).addPeerURLs("http://127.0.0.9:2380"))));
    assertEquals(EtcdError.MEMBER_EXIST, sameId.error());
    EtcdException sameUrl = assertThrows(EtcdException.class, () -> apply(InternalRaftRequest.newBuilder()
        .setMemberAdd(Member.newBuilder().setID(9).addPeerURLs("http://127.0.0.2:2380"))));
    assertEquals(EtcdError.PEER_URL_EXIST, sameUrl.error());
    assertEquals(2, table.members().size());
  }

  @Test
  void aLearnerIsAddedUnstartedPublishedThenPromoted() {
    bootstrap();
    apply(InternalRaftRequest.newBuilder().setMemberAdd(
        Member.newBuilder().setID(3).addPeerURLs("http://127.0.0.3:2380").setIsLearner(true)));
    assertEquals("", table.member(3).getName());
    apply(InternalRaftRequest.newBuilder().setMemberPublish(
        Member.newBuilder().setID(3).setName("c").addClientURLs("http://127.0.0.3:2379")));
    assertEquals("c", table.member(3).getName());
    assertEquals(List.of("http://127.0.0.3:2379"), table.member(3).getClientURLsList());
    assertTrue(table.member(3).getIsLearner());
    apply(InternalRaftRequest.newBuilder().setMemberPromote(MemberPromoteRequest.newBuilder().setID(3)));
    assertEquals(false, table.member(3).getIsLearner());
    EtcdException again = assertThrows(EtcdException.class, () ->
        apply(InternalRaftRequest.newBuilder().setMemberPromote(MemberPromoteRequest.newBuilder().setID(3))));
    assertEquals(EtcdError.MEMBER_NOT_LEARNER, again.error());
  }

  @Test
  void removeDeletesTheRowAndUnknownIdsAreNotFound() {
    bootstrap();
    apply(InternalRaftRequest.newBuilder().setMemberRemove(MemberRemoveRequest.newBuilder().setID(2)));
    assertEquals(List.of(A), table.members());
    assertEquals(List.of(A), MemberTable.load(store).members());
    EtcdException missing = assertThrows(EtcdException.class, () ->
        apply(InternalRaftRequest.newBuilder().setMemberRemove(MemberRemoveRequest.newBuilder().setID(2))));
    assertEquals(EtcdError.MEMBER_NOT_FOUND, missing.error());
    // a member removed before its publish entry applies is simply not brought back
    apply(InternalRaftRequest.newBuilder().setMemberPublish(Member.newBuilder().setID(2).setName("b")));
    assertEquals(List.of(A), table.members());
  }
}
