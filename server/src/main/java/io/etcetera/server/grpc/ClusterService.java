package io.etcetera.server.grpc;

import io.etcetera.api.etcdserverpb.ClusterGrpc;
import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.api.etcdserverpb.MemberListRequest;
import io.etcetera.api.etcdserverpb.MemberListResponse;
import io.etcetera.server.cluster.MemberIdentity;
import io.grpc.stub.StreamObserver;
import java.util.List;

/**
 * etcd's Cluster service for a one-member cluster: MemberList answers this member. Adding,
 * removing and promoting members arrive with the Raft issue and answer UNIMPLEMENTED until then.
 * Immutable.
 */
public final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private final MemberIdentity id;
  private final List<String> peerUrls;
  private final List<String> clientUrls;
  private final HeaderFiller headers;

  public ClusterService(MemberIdentity id, List<String> peerUrls, List<String> clientUrls, HeaderFiller headers) {
    this.id = id;
    this.peerUrls = List.copyOf(peerUrls);
    this.clientUrls = List.copyOf(clientUrls);
    this.headers = headers;
  }

  @Override
  public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> out) {
    Replies.ok(out, MemberListResponse.newBuilder()
        .setHeader(headers.withoutRevision())
        .addMembers(Member.newBuilder()
            .setID(id.memberId())
            .setName(id.name())
            .addAllPeerURLs(peerUrls)
            .addAllClientURLs(clientUrls))
        .build());
  }
}
