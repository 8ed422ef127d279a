package io.etcetera.raft.membership;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.ClusterBootstrap;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.backend.MetaKeys;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The replicated member table: etcd's view of the cluster (member ID, name, peer and client URLs,
 * learner or voter) and the cluster ID. It changes only by applying log entries ({@code
 * cluster_bootstrap}, {@code member_*}), persisted in the {@code meta} column family in the same
 * write batch as the entry's applied index. Who actually votes is Ratis' configuration; the
 * membership reconciler moves Ratis towards this table.
 *
 * <p>Threading: the apply thread is the only writer; readers on any thread see an immutable
 * snapshot ({@link #members()}), replaced after each committed change.
 */
public final class MemberTable {
  private static final byte[] PREFIX = "member/".getBytes(StandardCharsets.UTF_8);
  private static final byte[] CLUSTER_ID = "cluster_id".getBytes(StandardCharsets.UTF_8);

  private final MvccStore store;
  /** Member ID (unsigned order) → member; immutable, replaced whole. */
  private volatile Map<Long, Member> members;
  private volatile long clusterId;

  private MemberTable(MvccStore store, Map<Long, Member> members, long clusterId) {
    this.store = store;
    this.members = members;
    this.clusterId = clusterId;
  }

  /** Apply thread, after a snapshot was installed: takes the table of the new state. */
  public void reload() {
    MemberTable fresh = load(store);
    members = fresh.members;
    clusterId = fresh.clusterId;
  }

  /** Loads the table persisted in {@code store}'s backend (empty for a member never bootstrapped). */
  public static MemberTable load(MvccStore store) {
    Backend backend = store.backend();
    Map<Long, Member> m = new TreeMap<>(Long::compareUnsigned);
    backend.forEachMeta(PREFIX, (key, value) -> {
      try {
        Member member = Member.parseFrom(value);
        m.put(member.getID(), member);
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new IllegalStateException("corrupt member row", e);
      }
    });
    byte[] cid = backend.getMeta(CLUSTER_ID);
    return new MemberTable(store, Collections.unmodifiableMap(m), cid == null ? 0 : MetaKeys.decode(cid));
  }

  /** The members, in ID order. */
  public List<Member> members() {
    return new ArrayList<>(members.values());
  }

  public Member member(long id) {
    return members.get(id);
  }

  /** The cluster ID, 0 until the bootstrap entry was applied. */
  public long clusterId() {
    return clusterId;
  }

  public boolean isEmpty() {
    return members.isEmpty();
  }

  /** Whether {@code entry} is a member-table entry (applied here, not by the store's applier). */
  public static boolean isMembershipEntry(InternalRaftRequest entry) {
    return entry.hasClusterBootstrap() || entry.hasMemberAdd() || entry.hasMemberRemove()
        || entry.hasMemberUpdate() || entry.hasMemberPromote() || entry.hasMemberPublish();
  }

  /**
   * Apply thread: applies one member-table entry into {@code batch}; the new table is visible once
   * the batch commits. A refused change throws {@link io.etcetera.api.errors.EtcdException} and
   * stages nothing. It starts from the committed table, so a membership entry must be the only
   * request of its batch (the ProposalBatcher keeps it alone, also when a follower forwards it).
   */
  public void apply(ApplyBatch batch, InternalRaftRequest entry) {
    Map<Long, Member> next = new TreeMap<>(Long::compareUnsigned);
    next.putAll(members);
    long nextClusterId = clusterId;
    if (entry.hasClusterBootstrap()) {
      if (!members.isEmpty()) {
        return; // a later leader proposed it again: the first one won
      }
      ClusterBootstrap b = entry.getClusterBootstrap();
      for (Member m : b.getMembersList()) {
        next.put(m.getID(), m);
      }
      nextClusterId = b.getClusterId();
      store.stage(batch, store.backend().meta(), CLUSTER_ID, MetaKeys.encode(nextClusterId));
    } else if (entry.hasMemberAdd()) {
      Member m = entry.getMemberAdd();
      if (next.containsKey(m.getID())) {
        throw EtcdError.MEMBER_EXIST.exception();
      }
      for (Member other : next.values()) {
        for (String u : other.getPeerURLsList()) {
          if (m.getPeerURLsList().contains(u)) {
            throw EtcdError.PEER_URL_EXIST.exception();
          }
        }
      }
      next.put(m.getID(), m);
    } else if (entry.hasMemberRemove()) {
      long id = entry.getMemberRemove().getID();
      if (next.remove(id) == null) {
        throw EtcdError.MEMBER_NOT_FOUND.exception();
      }
      store.stage(batch, store.backend().meta(), key(id), null);
    } else if (entry.hasMemberUpdate()) {
      Member old = existing(next, entry.getMemberUpdate().getID());
      next.put(old.getID(), old.toBuilder().clearPeerURLs().addAllPeerURLs(entry.getMemberUpdate().getPeerURLsList()).build());
    } else if (entry.hasMemberPromote()) {
      Member old = existing(next, entry.getMemberPromote().getID());
      if (!old.getIsLearner()) {
        throw EtcdError.MEMBER_NOT_LEARNER.exception();
      }
      next.put(old.getID(), old.toBuilder().setIsLearner(false).build());
    } else if (entry.hasMemberPublish()) {
      Member p = entry.getMemberPublish();
      Member old = next.get(p.getID());
      if (old == null) {
        return; // published by a member removed meanwhile
      }
      next.put(old.getID(), old.toBuilder().setName(p.getName()).clearClientURLs().addAllClientURLs(p.getClientURLsList()).build());
    }
    for (Map.Entry<Long, Member> e : next.entrySet()) {
      if (!e.getValue().equals(members.get(e.getKey()))) {
        store.stage(batch, store.backend().meta(), key(e.getKey()), e.getValue().toByteArray());
      }
    }
    Map<Long, Member> published = Collections.unmodifiableMap(next);
    long publishedClusterId = nextClusterId;
    batch.afterCommit(() -> {
      members = published;
      clusterId = publishedClusterId;
    });
  }

  /**
   * etcd's {@code --force-new-cluster}, before Raft starts: the table keeps only member {@code id}, as a
   * voter (the cluster ID stays). A local rewrite of this member's own state, not a log entry: the
   * member starts a new Raft group of one afterwards.
   */
  public void keepOnly(ApplyBatch batch, long id) {
    Member self = members.get(id);
    if (self == null) {
      throw new IllegalStateException("member " + Long.toHexString(id) + " is not in its own member table");
    }
    for (long other : members.keySet()) {
      if (other != id) {
        store.stage(batch, store.backend().meta(), key(other), null);
      }
    }
    Member voter = self.toBuilder().setIsLearner(false).build();
    store.stage(batch, store.backend().meta(), key(id), voter.toByteArray());
    batch.afterCommit(() -> members = Map.of(id, voter));
  }

  private static Member existing(Map<Long, Member> m, long id) {
    Member old = m.get(id);
    if (old == null) {
      throw EtcdError.MEMBER_NOT_FOUND.exception();
    }
    return old;
  }

  private static byte[] key(long id) {
    byte[] k = new byte[PREFIX.length + 16];
    System.arraycopy(PREFIX, 0, k, 0, PREFIX.length);
    byte[] hex = String.format("%016x", id).getBytes(StandardCharsets.UTF_8);
    System.arraycopy(hex, 0, k, PREFIX.length, 16);
    return k;
  }
}
