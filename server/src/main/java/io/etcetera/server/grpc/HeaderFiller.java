package io.etcetera.server.grpc;

import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.RaftGateway;
import io.etcetera.server.cluster.MemberIdentity;

/**
 * Completes a response header as etcd's v3rpc does: cluster and member ID, the Raft term, and the
 * store's current revision when the applier left none. Stateless apart from its immutable wiring.
 */
public final class HeaderFiller {
  private final MemberIdentity id;
  private final RaftGateway raft;
  private final MvccStore store;

  public HeaderFiller(MemberIdentity id, RaftGateway raft, MvccStore store) {
    this.id = id;
    this.raft = raft;
    this.store = store;
  }

  /** The replicated cluster ID; the one from the data dir until this member learned it. */
  private long clusterId() {
    long c = raft.clusterId();
    return c != 0 ? c : id.clusterId();
  }

  public ResponseHeader fill(ResponseHeader h) {
    ResponseHeader.Builder b = h.toBuilder()
        .setClusterId(clusterId())
        .setMemberId(id.memberId())
        .setRaftTerm(raft.term());
    if (h.getRevision() == 0) {
      b.setRevision(store.currentRevision());
    }
    return b.build();
  }

  /** A header carrying exactly {@code revision} (0 stays 0: etcd's compacted watch cancel has none). */
  public ResponseHeader withRevision(long revision) {
    return ResponseHeader.newBuilder()
        .setClusterId(clusterId())
        .setMemberId(id.memberId())
        .setRevision(revision)
        .setRaftTerm(raft.term())
        .build();
  }

  /** A header with the IDs and term but no revision, as etcd's Cluster service answers. */
  public ResponseHeader withoutRevision() {
    return ResponseHeader.newBuilder()
        .setClusterId(clusterId())
        .setMemberId(id.memberId())
        .setRaftTerm(raft.term())
        .build();
  }

  /** A header for a response that carries no revision of its own. */
  public ResponseHeader current() {
    return fill(ResponseHeader.getDefaultInstance());
  }
}
