package io.etcetera.raft.ratis;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.ClusterBootstrap;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.api.etcdserverpb.MemberPromoteRequest;
import io.etcetera.api.etcdserverpb.MemberRemoveRequest;
import io.etcetera.api.etcdserverpb.MemberUpdateRequest;
import io.etcetera.raft.membership.MemberIds;
import io.etcetera.raft.membership.MemberTable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the etcd member table and Ratis' configuration in step, as etcd's membership code does
 * with raft ConfChanges:
 *
 * <ul>
 *   <li>the first leader of a new cluster proposes the founding members ({@code cluster_bootstrap});
 *   <li>every member publishes its name and client URLs once the table knows it ({@code member_publish});
 *   <li>member add/remove/update/promote are table entries first; the leader then moves Ratis'
 *       configuration towards the table (voters = members, listeners = learners). A new member
 *       enters Ratis' configuration once it runs and caught up (Ratis stages it), so adding a
 *       member never costs the cluster its quorum while the new process is not yet started.
 * </ul>
 *
 * <p>Threading: {@link #tick} runs on "raft-duties"; configuration changes block, so they run on a
 * thread of their own, one at a time; the other methods on any thread.
 */
final class MembershipDuties {
  private static final Logger log = LoggerFactory.getLogger(MembershipDuties.class);

  private final RatisSettings settings;
  private final MemberTable table;
  private final RatisGateway gateway;
  private final RaftServer.Division division;
  private final RaftClient client;
  private final AtomicBoolean proposing = new AtomicBoolean();
  private final AtomicBoolean reconfiguring = new AtomicBoolean();
  private final Runnable removed;
  /** Completes once the table holds this member's name and client URLs (etcd's publish). */
  final CompletableFuture<Void> published = new CompletableFuture<>();
  /** Whether the table ever listed this member (raft-duties thread only). */
  private boolean listed;
  /** etcd's HealthInterval: every voter must have been connected this long before a member is added. */
  private static final long CONNECTED_MILLIS = 5000;
  private final java.util.function.Supplier<List<org.apache.ratis.server.leader.FollowerInfo>> followers;
  /** Leader: since when (monotonic ms) each follower has answered without a gap of an election timeout. */
  private final java.util.Map<Long, Long> connectedSince = new java.util.concurrent.ConcurrentHashMap<>();

  MembershipDuties(RatisSettings settings, MemberTable table, RatisGateway gateway, RaftServer.Division division,
      RaftClient client, Runnable removed,
      java.util.function.Supplier<List<org.apache.ratis.server.leader.FollowerInfo>> followers) {
    this.removed = removed;
    this.followers = followers;
    this.settings = settings;
    this.table = table;
    this.gateway = gateway;
    this.division = division;
    this.client = client;
  }

  void tick() {
    var info = division.getInfo();
    trackConnections(info.isLeader());
    if (info.isLeader() && info.isLeaderReady()) {
      if (table.isEmpty()) {
        if (settings.newCluster()) {
          proposeOnce(InternalRaftRequest.newBuilder().setClusterBootstrap(ClusterBootstrap.newBuilder()
              .setClusterId(settings.clusterId())
              .addAllMembers(settings.initialMembers())));
        }
        return;
      }
      reconcile();
    }
    Member me = table.member(settings.memberId());
    if (me != null) {
      listed = true;
    } else if (listed) {
      // removed from the cluster: like etcd, this member stops serving
      log.warn("member {} was removed from the cluster; stopping", Long.toHexString(settings.memberId()));
      listed = false;
      removed.run();
      return;
    }
    boolean current = me != null && me.getName().equals(settings.name())
        && me.getClientURLsList().equals(settings.clientUrls());
    if (current) {
      published.complete(null);
    } else if (me != null && info.getLeaderId() != null) {
      proposeOnce(InternalRaftRequest.newBuilder().setMemberPublish(Member.newBuilder()
          .setID(settings.memberId()).setName(settings.name()).addAllClientURLs(settings.clientUrls())));
    }
  }

  private void proposeOnce(InternalRaftRequest.Builder entry) {
    if (proposing.compareAndSet(false, true)) {
      gateway.proposeInternal(entry).whenComplete((a, e) -> {
        proposing.set(false);
        if (e != null) {
          log.debug("membership entry not applied yet: {}", e.toString());
        }
      });
    }
  }

  /** Leader: moves Ratis' configuration one step towards the member table. */
  private void reconcile() {
    RaftConfiguration conf = division.getRaftConf();
    if (!conf.getPreviousPeers().isEmpty() || reconfiguring.get()) {
      return; // a change is under way
    }
    List<RaftPeer> voters = new ArrayList<>();
    List<RaftPeer> listeners = new ArrayList<>();
    for (Member m : table.members()) {
      (m.getIsLearner() ? listeners : voters).add(RaftPeers.peer(m));
    }
    if (voters.isEmpty()
        || (ids(conf.getCurrentPeers(RaftPeerRole.FOLLOWER)).equals(ids(voters))
            && ids(conf.getCurrentPeers(RaftPeerRole.LISTENER)).equals(ids(listeners)))) {
      return;
    }
    reconfiguring.set(true);
    Thread t = new Thread(() -> {
      try {
        log.info("changing the raft configuration to voters {} listeners {}", ids(voters), ids(listeners));
        RaftClientReply reply = client.admin().setConfiguration(SetConfigurationRequest.Arguments.newBuilder()
            .setServersInNewConf(voters)
            .setListenersInNewConf(listeners)
            .build());
        if (!reply.isSuccess()) {
          log.info("raft configuration change not done yet: {}", reply.getException() == null ? "?" : reply.getException().getMessage());
        }
      } catch (Exception e) {
        log.info("raft configuration change not done yet: {}", e.toString());
      } finally {
        reconfiguring.set(false);
      }
    }, "raft-reconfigure");
    t.setDaemon(true);
    t.start();
  }

  private static Set<String> ids(java.util.Collection<RaftPeer> peers) {
    Set<String> s = new HashSet<>();
    for (RaftPeer p : peers) {
      s.add(p.getId().toString());
    }
    return s;
  }

  /** The member {@code member add} creates (its ID derived from its peer URLs and the token). */
  Member newMember(List<String> peerUrls, boolean learner) {
    long id = MemberIds.memberId(peerUrls, settings.groupKey());
    return Member.newBuilder().setID(id).addAllPeerURLs(peerUrls).setIsLearner(learner).build();
  }

  /** Leader only: adds a member once {@link #checkAdd} allows it. */
  CompletableFuture<Member> add(List<String> peerUrls, boolean learner) {
    return checkAdd(learner).thenCompose(ok -> propose(newMember(peerUrls, learner)));
  }

  /** Proposes the addition of {@code m}; completes once this member applied it. */
  CompletableFuture<Member> propose(Member m) {
    return gateway.proposeInternal(InternalRaftRequest.newBuilder().setMemberAdd(m)).thenApply(a -> m);
  }

  /**
   * Leader only: etcd's strict reconfiguration check before a member add. For a voter, enough
   * voters must have started that the larger cluster still has a quorum of them; for any member,
   * every voter must have been connected for 5 s (else "unhealthy cluster", as etcd answers right
   * after a start or while a voter is down or was added but not started).
   */
  CompletableFuture<Void> checkAdd(boolean learner) {
    if (!division.getInfo().isLeader()) {
      return CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
    }
    if (!learner) {
      int members = 1;
      int started = 0;
      for (Member x : table.members()) {
        if (!x.getIsLearner()) {
          members++;
          if (isStarted(x)) {
            started++;
          }
        }
      }
      boolean restoring = started == 1 && members == 2; // etcd: growing a restored one-member cluster
      if (!restoring && started < members / 2 + 1) {
        return CompletableFuture.failedFuture(EtcdError.MEMBER_NOT_ENOUGH_STARTED.exception());
      }
    }
    long now = System.nanoTime() / 1_000_000;
    for (Member x : table.members()) {
      if (x.getIsLearner() || x.getID() == settings.memberId()) {
        continue;
      }
      Long since = connectedSince.get(x.getID());
      if (since == null || now - since < CONNECTED_MILLIS) {
        return CompletableFuture.failedFuture(EtcdError.UNHEALTHY.exception());
      }
    }
    return CompletableFuture.completedFuture(null);
  }

  /** raft-duties: which followers have answered the leader recently, and since when without a gap. */
  private void trackConnections(boolean leader) {
    if (!leader) {
      connectedSince.clear();
      return;
    }
    long now = System.nanoTime() / 1_000_000;
    Set<Long> answering = new HashSet<>();
    for (org.apache.ratis.server.leader.FollowerInfo f : followers.get()) {
      if (f.getLastRpcResponseTime().elapsedTimeMs() < settings.electionMillis()) {
        answering.add(RaftPeers.memberId(f.getId()));
      }
    }
    connectedSince.keySet().retainAll(answering);
    for (long id : answering) {
      connectedSince.putIfAbsent(id, now);
    }
  }

  CompletableFuture<Void> remove(long id) {
    Member m = table.member(id);
    if (m == null) {
      return CompletableFuture.failedFuture(EtcdError.MEMBER_NOT_FOUND.exception());
    }
    if (!m.getIsLearner()) {
      // etcd's strict reconfiguration check: the voters left must still make a quorum of started members
      int voters = 0;
      int started = 0;
      for (Member x : table.members()) {
        if (!x.getIsLearner() && x.getID() != id) {
          voters++;
          if (isStarted(x)) {
            started++;
          }
        }
      }
      if (voters > 0 && started < voters / 2 + 1) {
        return CompletableFuture.failedFuture(EtcdError.MEMBER_NOT_ENOUGH_STARTED.exception());
      }
    }
    return gateway.proposeInternal(InternalRaftRequest.newBuilder()
        .setMemberRemove(MemberRemoveRequest.newBuilder().setID(id))).thenApply(a -> null);
  }

  CompletableFuture<Void> update(long id, List<String> peerUrls) {
    return gateway.proposeInternal(InternalRaftRequest.newBuilder()
        .setMemberUpdate(MemberUpdateRequest.newBuilder().setID(id).addAllPeerURLs(peerUrls))).thenApply(a -> null);
  }

  /** Leader only: promotes a learner that has caught up (etcd: within 90% of the leader's log). */
  CompletableFuture<Void> promote(long id) {
    Member m = table.member(id);
    if (m == null) {
      return CompletableFuture.failedFuture(EtcdError.MEMBER_NOT_FOUND.exception());
    }
    if (!m.getIsLearner()) {
      return CompletableFuture.failedFuture(EtcdError.MEMBER_NOT_LEARNER.exception());
    }
    long leaderCommit = division.getRaftLog().getLastCommittedIndex();
    long learnerCommit = -1;
    String peer = RaftPeers.peerId(id).toString();
    for (CommitInfoProto c : division.getCommitInfos()) {
      if (c.getServer().getId().toStringUtf8().equals(peer)) {
        learnerCommit = c.getCommitIndex();
      }
    }
    boolean inConf = division.getRaftConf().getPeer(RaftPeers.peerId(id), RaftPeerRole.LISTENER) != null;
    if (!inConf || learnerCommit < 0 || learnerCommit < leaderCommit * 9 / 10) {
      return CompletableFuture.failedFuture(EtcdError.LEARNER_NOT_READY.exception());
    }
    return gateway.proposeInternal(InternalRaftRequest.newBuilder()
        .setMemberPromote(MemberPromoteRequest.newBuilder().setID(id))).thenApply(a -> null);
  }

  /**
   * Leader only: hands leadership to the voter {@code target}. As etcd's MoveLeader, the move is
   * done when this member sees {@code target} lead, and fails with etcd's leader-transfer timeout
   * when that has not happened within {@code patience} (etcd waits as long as the caller's
   * deadline allows). Ratis' answer to a transfer request does not decide it: Ratis 3.3 completes a
   * pending transfer from the timer of an earlier one (a second transfer started within the first's
   * timeout can be answered "timed out" while it succeeds), so an early failed answer is followed
   * by another request while this member still leads; a transfer that used its whole time is not
   * repeated (the leader refuses writes while it transfers), and the leader is watched until the
   * patience ends.
   *
   * <p>Threading: waits on a thread of its own (a move takes up to {@code patience}).
   */
  CompletableFuture<Void> moveLeader(long target, java.time.Duration patience) {
    if (!division.getInfo().isLeader()) {
      return CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
    }
    Member m = table.member(target);
    if (m == null || m.getIsLearner()) {
      return CompletableFuture.failedFuture(EtcdError.BAD_LEADER_TRANSFEREE.exception());
    }
    if (target == settings.memberId()) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> moved = new CompletableFuture<>();
    Thread mover = new Thread(() -> {
      try {
        awaitLeadershipMoved(target, System.nanoTime() + patience.toNanos());
        moved.complete(null);
      } catch (RuntimeException e) {
        moved.completeExceptionally(e);
      }
    }, "raft-move-leader");
    mover.setDaemon(true);
    mover.start();
    return moved;
  }

  private void awaitLeadershipMoved(long target, long deadline) {
    RaftPeerId transferee = RaftPeers.peerId(target);
    long pause = Math.max(10, settings.heartbeatMillis());
    // a transfer that ran its whole time without moving leadership is not asked again (the leader
    // refuses writes while it transfers); as etcd, the leader is then only watched
    boolean gaveUp = false;
    while (true) {
      RaftPeerId leader = division.getInfo().getLeaderId();
      if (transferee.equals(leader)) {
        return;
      }
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        throw EtcdError.TIMEOUT_LEADER_TRANSFER.exception();
      }
      if (!gaveUp && division.getInfo().isLeader()) {
        long attempt = Math.min(left, 2 * settings.electionMillis() + 1000);
        long began = System.nanoTime();
        String failure;
        try {
          RaftClientReply r = client.admin().transferLeadership(transferee, division.getId(), attempt);
          failure = r.isSuccess() ? null
              : r.getException() == null ? "a failure" : String.valueOf(r.getException().getMessage());
        } catch (java.io.IOException e) {
          failure = String.valueOf(e);
        }
        if (failure != null) {
          gaveUp = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began) >= attempt;
          // an early failure can leave Ratis refusing writes for as long as this member leads
          boolean released = !gaveUp && org.apache.ratis.server.impl.StuckTransferRelease.releaseAfterFailedTransfer(division);
          log.info("leadership transfer to {} answered {}; {}{}", Long.toHexString(target), failure,
              released ? "released Ratis' stuck transfer; " : "",
              gaveUp ? "watching the leader" : "asking again unless it moved");
          sleep(pause);
        }
      } else {
        sleep(pause);
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw EtcdError.STOPPED.exception();
    }
  }

  /** A member has started once it published its name (etcd: it has client URLs). */
  private static boolean isStarted(Member m) {
    return !m.getName().isEmpty() || m.getClientURLsCount() > 0;
  }
}
