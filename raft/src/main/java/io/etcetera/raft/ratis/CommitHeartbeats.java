package io.etcetera.raft.ratis;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LogAppender;

/**
 * Tells the followers of a new commit index at once. Ratis' followers learn the leader's commit
 * index from the next append or heartbeat; by default Ratis makes sure there is a next append by
 * writing a metadata entry after every commit, which doubles the log writes, fsyncs and
 * replication rounds of each write. Instead (metadata entries off) the leader asks each of its log
 * appenders for a heartbeat once an entry committed (as its apply starts, so that followers apply
 * while the leader does): an empty append that carries the commit index and costs the follower no
 * disk write. A follower takes a commit index only up to what it has flushed, so a heartbeat can
 * arrive too early for a follower still writing the entry; the leader then looks again every
 * millisecond (up to 40 times, until the next entry commits) and sends another heartbeat to any
 * follower that acknowledged more than it knows committed and has nothing in flight (a heartbeat
 * on its way tells it already). Followers apply promptly, so a write forwarded by a follower is
 * answered (by the follower's own apply) without waiting for the next heartbeat tick.
 *
 * <p>Ratis creates log appenders through its RPC factory; {@link TrackingGrpcFactory} registers
 * them here. One instance per Ratis server, handed over in its {@link Parameters}.
 *
 * <p>Threading: appenders register on Ratis' leader threads; {@link #trigger} runs on the apply
 * thread and only sets heartbeat flags; the follow-up looks run on the "raft-heartbeats" thread.
 * Neither blocks nor takes Ratis' locks.
 */
final class CommitHeartbeats implements AutoCloseable {
  static final String PARAMETER = "etcetera.commitHeartbeats";
  /** Follow-up looks, one a millisecond, while a follower has flushed more than it knows committed. */
  private static final int LOOKS = 40;
  /** A follower's request unanswered this long no longer holds back a follow-up heartbeat. */
  private static final long RESEND_MILLIS = 3;

  private final List<LogAppender> appenders = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "raft-heartbeats");
    t.setDaemon(true);
    return t;
  });
  private final AtomicBoolean looking = new AtomicBoolean();
  /** Counts {@link #trigger} calls: a look that sees a newer trigger leaves the looking to it. */
  private final java.util.concurrent.atomic.AtomicLong triggers = new java.util.concurrent.atomic.AtomicLong();
  private volatile LongSupplier commitIndex = () -> 0;

  /** Where the leader's commit index is read (the division exists only after the server started). */
  void commitIndexFrom(LongSupplier commitIndex) {
    this.commitIndex = commitIndex;
  }

  void register(LogAppender appender) {
    appenders.add(appender);
  }

  /** Apply thread: asks every running appender for a heartbeat now; forgets stopped ones. */
  void trigger() {
    triggers.incrementAndGet();
    boolean any = false;
    for (LogAppender a : appenders) {
      if (a.isRunning()) {
        a.triggerHeartbeat();
        any = true;
      } else {
        appenders.remove(a);
      }
    }
    if (any && looking.compareAndSet(false, true)) {
      schedule(0, triggers.get());
    }
  }

  private void schedule(int look, long seen) {
    try {
      timer.schedule(() -> look(look, seen), 1, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      looking.set(false);
    }
  }

  private void look(int look, long seen) {
    long now = triggers.get();
    if (now != seen) {
      // a newer entry was applied and its heartbeats went out: look after that one instead
      schedule(0, now);
      return;
    }
    long commit = commitIndex.getAsLong();
    boolean behind = false;
    for (LogAppender a : appenders) {
      FollowerInfo f = a.getFollower();
      if (a.isRunning() && f.getCommitIndex() < commit) {
        behind = true;
        // flushed more than it knows committed, and answered all it was sent (a heartbeat in
        // flight tells it already; another would only double the messages). Ratis stamps a send
        // after handing the request to gRPC, so a quick answer can carry an older stamp than its
        // request: a request unanswered for RESEND_MILLIS counts as answered
        if (f.getMatchIndex() > f.getCommitIndex()
            && (f.getLastRpcResponseTime().compareTo(f.getLastRpcSendTime()) >= 0
                || f.getLastRpcSendTime().elapsedTimeMs() >= RESEND_MILLIS)) {
          a.triggerHeartbeat();
        }
      }
    }
    if (behind && look + 1 < LOOKS) {
      schedule(look + 1, seen);
    } else {
      looking.set(false);
    }
  }

  /** The followers this member's running appenders replicate to (none unless it leads). */
  List<FollowerInfo> followers() {
    List<FollowerInfo> out = new java.util.ArrayList<>();
    for (LogAppender a : appenders) {
      if (a.isRunning()) {
        out.add(a.getFollower());
      }
    }
    return out;
  }

  static CommitHeartbeats of(Parameters params) {
    return params.get(PARAMETER, CommitHeartbeats.class);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
