package io.etcetera.raft.ratis;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LogAppender;

/**
 * The leader's log appenders, woken when an entry committed so that each can tell its follower
 * the new commit index ({@link CommitCarryingLogAppender} decides whether a heartbeat is worth
 * sending). Ratis itself wakes its appenders on a commit only when it writes a metadata entry for
 * it, which Etcetera turns off (it would double the log writes and replication rounds).
 *
 * <p>Ratis creates log appenders through its RPC factory; {@link TrackingGrpcFactory} registers
 * them here. One instance per Ratis server, handed over in its {@link Parameters}.
 *
 * <p>Threading: appenders register on Ratis' leader threads; {@link #entryCommitted} runs on the
 * apply thread and only signals; neither blocks nor takes Ratis' locks.
 */
final class CommitHeartbeats {
  static final String PARAMETER = "etcetera.commitHeartbeats";

  private final List<LogAppender> appenders = new CopyOnWriteArrayList<>();

  void register(LogAppender appender) {
    appenders.add(appender);
  }

  /** Apply thread, as the leader starts applying an entry: wakes every running appender; forgets stopped ones. */
  void entryCommitted() {
    for (LogAppender a : appenders) {
      if (a.isRunning()) {
        a.notifyLogAppender();
      } else {
        appenders.remove(a);
      }
    }
  }

  /** The followers this member's running appenders replicate to (none unless it leads). */
  List<FollowerInfo> followers() {
    List<FollowerInfo> out = new ArrayList<>();
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
}
