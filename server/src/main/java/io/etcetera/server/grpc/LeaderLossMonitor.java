package io.etcetera.server.grpc;

import io.etcetera.raft.RaftGateway;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * etcd's monitorLeader: Watch and LeaseKeepAlive streams opened with the metadata {@code hasleader:
 * true} (etcd clients' WithRequireLeader; kube-apiserver opens its watches so) end with
 * "etcdserver: no leader" once this member has known no leader for three checks in a row, one
 * election timeout apart, so that the client moves to a member that has one instead of waiting on
 * a partitioned member forever.
 *
 * <p>Threading: streams register and leave from gRPC threads; the checks and the endings run on
 * the "leader-loss" thread.
 */
public final class LeaderLossMonitor implements AutoCloseable {
  /** etcd's maxNoLeaderCnt. */
  private static final int CHECKS = 3;

  private final RaftGateway raft;
  private final Set<Runnable> streams = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "leader-loss");
    t.setDaemon(true);
    return t;
  });
  private int failedChecks; // leader-loss thread only

  public LeaderLossMonitor(RaftGateway raft, long electionMillis) {
    this.raft = raft;
    long every = Math.max(10, electionMillis);
    timer.scheduleWithFixedDelay(this::check, every, every, TimeUnit.MILLISECONDS);
  }

  /** Runs {@code end} if the leader is lost while the stream is registered; the returned action unregisters. */
  public Runnable register(Runnable end) {
    streams.add(end);
    return () -> streams.remove(end);
  }

  private void check() {
    if (raft.leaderId() != 0) {
      failedChecks = 0;
      return;
    }
    if (++failedChecks < CHECKS) {
      return;
    }
    for (Runnable end : streams) {
      streams.remove(end);
      end.run();
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
