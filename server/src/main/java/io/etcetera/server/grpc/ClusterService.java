package io.etcetera.server.grpc;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.ClusterGrpc;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.api.etcdserverpb.MemberAddRequest;
import io.etcetera.api.etcdserverpb.MemberAddResponse;
import io.etcetera.api.etcdserverpb.MemberListRequest;
import io.etcetera.api.etcdserverpb.MemberListResponse;
import io.etcetera.api.etcdserverpb.MemberPromoteRequest;
import io.etcetera.api.etcdserverpb.MemberPromoteResponse;
import io.etcetera.api.etcdserverpb.MemberRemoveRequest;
import io.etcetera.api.etcdserverpb.MemberRemoveResponse;
import io.etcetera.api.etcdserverpb.MemberUpdateRequest;
import io.etcetera.api.etcdserverpb.MemberUpdateResponse;
import io.etcetera.raft.RaftGateway;
import io.etcetera.server.auth.Authenticator;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's Cluster service over the replicated member table: list, add (voter or learner), remove,
 * update peer URLs, promote. Changes are admin-only and checked as etcd's v3rpc checks them (peer
 * URLs must parse); the table entries go through the log, and the leader then changes Ratis'
 * configuration to match. Answers once the change is applied on this member.
 *
 * <p>Threading: gRPC threads; replies on the apply thread or a failure thread.
 */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private final RaftGateway raft;
  private final HeaderFiller headers;
  private final Authenticator authenticator;

  public ClusterService(RaftGateway raft, HeaderFiller headers, Authenticator authenticator) {
    this.raft = raft;
    this.headers = headers;
    this.authenticator = authenticator;
  }

  @Override
  public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> out) {
    Replies.ok(out, MemberListResponse.newBuilder()
        .setHeader(headers.withoutRevision())
        .addAllMembers(raft.members())
        .build());
  }

  @Override
  public void memberAdd(MemberAddRequest request, StreamObserver<MemberAddResponse> out) {
    if (!admin(out) || !validUrls(request.getPeerURLsList(), out)) {
      return;
    }
    answer(raft.addMember(request.getPeerURLsList(), request.getIsLearner()), out,
        m -> MemberAddResponse.newBuilder().setHeader(headers.withoutRevision()).setMember(m)
            .addAllMembers(raft.members()).build());
  }

  @Override
  public void memberRemove(MemberRemoveRequest request, StreamObserver<MemberRemoveResponse> out) {
    if (!admin(out)) {
      return;
    }
    answer(raft.removeMember(request.getID()), out,
        v -> MemberRemoveResponse.newBuilder().setHeader(headers.withoutRevision()).addAllMembers(raft.members()).build());
  }

  @Override
  public void memberUpdate(MemberUpdateRequest request, StreamObserver<MemberUpdateResponse> out) {
    if (!admin(out) || !validUrls(request.getPeerURLsList(), out)) {
      return;
    }
    answer(raft.updateMember(request.getID(), request.getPeerURLsList()), out,
        v -> MemberUpdateResponse.newBuilder().setHeader(headers.withoutRevision()).addAllMembers(raft.members()).build());
  }

  @Override
  public void memberPromote(MemberPromoteRequest request, StreamObserver<MemberPromoteResponse> out) {
    if (!admin(out)) {
      return;
    }
    answer(raft.promoteMember(request.getID()), out,
        v -> MemberPromoteResponse.newBuilder().setHeader(headers.withoutRevision()).addAllMembers(raft.members()).build());
  }

  private boolean admin(StreamObserver<?> out) {
    try {
      authenticator.store().checkAdmin(authenticator.current());
      return true;
    } catch (RuntimeException e) {
      Replies.fail(out, e);
      return false;
    }
  }

  /** etcd's MemberAdd/MemberUpdate: each peer URL must be a valid http(s) URL. */
  private static boolean validUrls(List<String> urls, StreamObserver<?> out) {
    try {
      if (urls.isEmpty()) {
        throw new IllegalArgumentException("no URL");
      }
      for (String u : urls) {
        URI uri = new URI(u);
        if (uri.getHost() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))) {
          throw new IllegalArgumentException(u);
        }
      }
      return true;
    } catch (Exception e) {
      Replies.fail(out, EtcdError.MEMBER_BAD_URLS.exception());
      return false;
    }
  }

  private static <T, R> void answer(CompletableFuture<T> change, StreamObserver<R> out,
      java.util.function.Function<T, R> reply) {
    change.whenComplete((v, e) -> {
      if (e != null) {
        Replies.fail(out, e);
      } else {
        Replies.ok(out, reply.apply(v));
      }
    });
  }
}
