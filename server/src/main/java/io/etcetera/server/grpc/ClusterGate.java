package io.etcetera.server.grpc;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.KVGrpc;
import io.etcetera.api.etcdserverpb.MaintenanceGrpc;
import io.etcetera.raft.RaftGateway;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * etcd's cluster checks made before a call reaches its service (v3rpc's interceptors): a learner
 * serves only Status and serializable Range ("rpc not supported for learner"; KvService checks the
 * serializable flag), and a call carrying the metadata {@code hasleader: true} (etcd clients'
 * WithRequireLeader, used by kube-apiserver's watches) fails with "no leader" when the member
 * knows no leader (and is marked, so that a watch stream can end once the leader is lost, see
 * {@link LeaderLossMonitor}). Stateless.
 */
public final class ClusterGate implements ServerInterceptor {
  private static final Metadata.Key<String> REQUIRE_LEADER = Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER);
  /** Set for calls that carry {@code hasleader: true}: their streams end when the leader is lost. */
  static final io.grpc.Context.Key<Boolean> REQUIRES_LEADER = io.grpc.Context.key("etcetera-requires-leader");

  private final RaftGateway raft;

  public ClusterGate(RaftGateway raft) {
    this.raft = raft;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    if (raft.isLearner() && !method.equals(KVGrpc.getRangeMethod().getFullMethodName())
        && !method.equals(MaintenanceGrpc.getStatusMethod().getFullMethodName())) {
      call.close(EtcdError.NOT_SUPPORTED_FOR_LEARNER.exception().toStatusException().getStatus(), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    if ("true".equals(headers.get(REQUIRE_LEADER))) {
      if (raft.leaderId() == 0) {
        call.close(EtcdError.NO_LEADER.exception().toStatusException().getStatus(), new Metadata());
        return new ServerCall.Listener<>() {};
      }
      return io.grpc.Contexts.interceptCall(io.grpc.Context.current().withValue(REQUIRES_LEADER, true), call, headers, next);
    }
    return next.startCall(call, headers);
  }
}
