package io.etcetera.raft.ratis;

import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.raftlog.RaftLogIOException;
import org.apache.ratis.util.AwaitForSignal;

/**
 * Ratis' gRPC log appender that also sends a heartbeat when it would move a follower's commit
 * index, so that followers apply a committed entry at once.
 *
 * <p>A follower learns the commit index from the next append or heartbeat. Ratis' own way to make
 * sure there is a next one is a metadata entry after every commit, which doubles the log writes,
 * fsyncs and replication rounds of each write; Etcetera turns it off. Instead, whenever this
 * appender wakes (an entry committed: {@link CommitHeartbeats#entryCommitted}; or the follower
 * answered), and it has no entries to send, it sends a heartbeat if that would raise what the
 * follower knows committed. A follower takes a commit index only up to what it has flushed, which
 * it reports as its match index in the answer to each append; so the useful commit for it is
 * {@code min(leader commit, match index)}. The heartbeat goes only when that is above the
 * follower's commit index and above what the last request to it could have told it, and when no
 * append is unanswered (a heartbeat sent behind one carries no previous entry, which makes the
 * follower ignore its commit index; the append's answer wakes this appender again). Each new fact
 * (a commit, a flush the follower reports) therefore costs at most one heartbeat.
 *
 * <p>Threading: {@link #newAppendEntriesRequest} runs on this appender's own thread, under its
 * lock; {@code toldUpTo} is only touched there. Any thread may signal {@link #getEventAwaitForSignal}.
 */
final class CommitCarryingLogAppender extends GrpcLogAppender {
  /** The highest commit index a request to this follower could have let it take. */
  private long toldUpTo = -1;
  private final AwaitForSignal events;

  CommitCarryingLogAppender(RaftServer.Division server, LeaderState leaderState, FollowerInfo follower) {
    super(server, leaderState, follower);
    this.events = new LatchingSignal(this);
  }

  /**
   * What wakes this appender: Ratis' own signal forgets a signal given while the appender is not
   * yet waiting (between deciding how long to wait and waiting), and then the appender sleeps for a
   * whole heartbeat period; a commit or an answer arriving just then is exactly when it is busy.
   */
  @Override
  public AwaitForSignal getEventAwaitForSignal() {
    return events;
  }

  @Override
  public AppendEntriesRequestProto newAppendEntriesRequest(long callId, boolean heartbeat) throws RaftLogIOException {
    AppendEntriesRequestProto request = super.newAppendEntriesRequest(callId, heartbeat);
    FollowerInfo f = getFollower();
    long useful = Math.min(getRaftLog().getLastCommittedIndex(), f.getMatchIndex());
    if (request == null && useful > f.getCommitIndex() && useful > toldUpTo && !hasPendingDataRequests()) {
      request = super.newAppendEntriesRequest(callId, true);
    }
    if (request != null) {
      toldUpTo = Math.max(toldUpTo, Math.min(request.getLeaderCommit(), f.getMatchIndex()));
    }
    return request;
  }
}
