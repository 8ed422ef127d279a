package io.etcetera.raft.ratis;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;

/**
 * Ratis' gRPC transport, except that its log appenders tell followers of new commit indexes
 * ({@link CommitCarryingLogAppender}) and are registered with the server's
 * {@link CommitHeartbeats}. Ratis loads the RPC type by class name ({@code raft.rpc.type}), see
 * {@link Type}.
 */
final class TrackingGrpcFactory extends GrpcFactory {
  private final CommitHeartbeats heartbeats;

  TrackingGrpcFactory(Parameters parameters) {
    super(parameters);
    this.heartbeats = CommitHeartbeats.of(parameters);
  }

  @Override
  public LogAppender newLogAppender(RaftServer.Division server, LeaderState state, FollowerInfo f) {
    LogAppender appender = new CommitCarryingLogAppender(server, state, f);
    if (heartbeats != null) {
      heartbeats.register(appender);
    }
    return appender;
  }

  /** The RPC type naming this factory; instantiated by Ratis through its public constructor. */
  public static final class Type implements RpcType {
    @Override
    public String name() {
      return Type.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
      return new TrackingGrpcFactory(parameters);
    }
  }
}
