package io.etcetera.raft;

import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.mvcc.apply.Applied;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The one way a write reaches the store: proposed as a log entry, replicated, applied by the
 * single apply thread in log order on every member, answered when applied here. Also the read
 * barrier for linearizable reads and the cluster's membership. Implemented on Apache Ratis.
 */
public interface RaftGateway extends AutoCloseable {
  /**
   * Proposes {@code request}. The future completes with the applied result, or exceptionally with
   * an {@link io.etcetera.api.errors.EtcdException} for a client error (nothing was changed) or
   * when the cluster could not commit it in time (etcd's "no leader", "request timed out").
   */
  CompletableFuture<Applied> propose(InternalRaftRequest request);

  /**
   * Completes once this member has applied every entry committed when it was called (a ReadIndex
   * confirmed by the leader): a read of the local store after that is linearizable.
   */
  CompletableFuture<Void> readBarrier();

  /** The current Raft term. */
  long term();

  /** The index of the last log entry applied to the store. */
  long appliedIndex();

  /** The index of the last committed log entry. */
  long committedIndex();

  /** The leader's member ID, 0 when there is none. */
  long leaderId();

  /**
   * How many times this member saw a new leader (etcd's {@code etcd_server_leader_changes_seen_total}:
   * each change to a leader other than the one seen last, the first one included).
   */
  long leaderChangesSeen();

  /** This member's ID. */
  long memberId();

  /** Whether this member is a learner (a Ratis listener: it votes on nothing). */
  boolean isLearner();

  /** The cluster ID from the replicated member table, 0 until this member learned it. */
  long clusterId();

  /** The replicated member table, in ID order. */
  List<Member> members();

  /** Adds a member (not yet started: no name or client URLs); answers the new member. */
  CompletableFuture<Member> addMember(List<String> peerUrls, boolean learner);

  CompletableFuture<Void> removeMember(long id);

  CompletableFuture<Void> updateMember(long id, List<String> peerUrls);

  CompletableFuture<Void> promoteMember(long id);

  /**
   * Transfers leadership from this member (which must lead) to {@code target}: completes once this
   * member sees {@code target} lead, or fails with etcd's leader-transfer timeout after {@code patience}.
   */
  CompletableFuture<Void> moveLeader(long target, java.time.Duration patience);

  /** How long a proposal or read barrier may wait: etcd's request timeout (5 s plus two election timeouts). */
  java.time.Duration requestTimeout();

  /**
   * Sends {@code request} to the leader's {@link LeaderQueries} (this member's own when it leads):
   * for what only the leader knows, such as lease deadlines.
   */
  CompletableFuture<byte[]> askLeader(byte[] request);

  /** Answers requests sent with {@link #askLeader} when this member leads. */
  interface LeaderQueries {
    CompletableFuture<byte[]> answer(byte[] request);
  }

  @Override
  void close();
}
