package io.etcetera.server.grpc;

import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.LeaseGrantRequest;
import io.etcetera.api.etcdserverpb.LeaseGrantResponse;
import io.etcetera.api.etcdserverpb.LeaseGrpc;
import io.etcetera.api.etcdserverpb.LeaseKeepAliveRequest;
import io.etcetera.api.etcdserverpb.LeaseKeepAliveResponse;
import io.etcetera.api.etcdserverpb.LeaseLeasesRequest;
import io.etcetera.api.etcdserverpb.LeaseLeasesResponse;
import io.etcetera.api.etcdserverpb.LeaseRevokeRequest;
import io.etcetera.api.etcdserverpb.LeaseRevokeResponse;
import io.etcetera.api.etcdserverpb.LeaseStatus;
import io.etcetera.api.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcetera.api.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcetera.mvcc.lease.Lease;
import io.etcetera.mvcc.lease.Lessor;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's Lease service. Grant and revoke go through the log (a grant without an ID gets a positive
 * one chosen here, before the proposal, as etcd chooses it); keep-alives and time-to-live are
 * answered by the lessor of this member, which counts expiry time (the single member is always
 * the leader).
 *
 * <p>Threading: gRPC threads; keep-alive answers of one stream are sent in order, one at a time.
 */
public final class LeaseService extends LeaseGrpc.LeaseImplBase {
  private final Lessor lessor;
  private final Proposer proposer;
  private final HeaderFiller headers;

  public LeaseService(Lessor lessor, Proposer proposer, HeaderFiller headers) {
    this.lessor = lessor;
    this.proposer = proposer;
    this.headers = headers;
  }

  @Override
  public void leaseGrant(LeaseGrantRequest request, StreamObserver<LeaseGrantResponse> out) {
    LeaseGrantRequest r = request;
    while (r.getID() == 0) {
      r = r.toBuilder().setID(proposer.nextId() & Long.MAX_VALUE).build();
    }
    proposer.propose(InternalRaftRequest.newBuilder().setLeaseGrant(r)).whenComplete((a, t) -> {
      if (t != null) {
        Replies.fail(out, t);
      } else {
        LeaseGrantResponse resp = (LeaseGrantResponse) a.response();
        Replies.ok(out, resp.toBuilder().setHeader(headers.fill(resp.getHeader())).build());
      }
    });
  }

  @Override
  public void leaseRevoke(LeaseRevokeRequest request, StreamObserver<LeaseRevokeResponse> out) {
    proposer.propose(InternalRaftRequest.newBuilder().setLeaseRevoke(request)).whenComplete((a, t) -> {
      if (t != null) {
        Replies.fail(out, t);
      } else {
        LeaseRevokeResponse resp = (LeaseRevokeResponse) a.response();
        Replies.ok(out, resp.toBuilder().setHeader(headers.fill(resp.getHeader())).build());
      }
    });
  }

  @Override
  public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(StreamObserver<LeaseKeepAliveResponse> out) {
    return new StreamObserver<>() {
      private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

      @Override
      public void onNext(LeaseKeepAliveRequest req) {
        // the header is taken before the renewal, as etcd does, so its revision never runs ahead of it
        LeaseKeepAliveResponse.Builder resp = LeaseKeepAliveResponse.newBuilder()
            .setID(req.getID())
            .setHeader(headers.current());
        CompletableFuture<Long> ttl = lessor.renew(req.getID());
        synchronized (this) {
          tail = tail.thenCombine(ttl, (v, t) -> {
            send(resp.setTTL(Math.max(0, t)).build());
            return null;
          });
        }
      }

      private void send(LeaseKeepAliveResponse r) {
        synchronized (out) {
          try {
            out.onNext(r);
          } catch (RuntimeException ignored) {
            // the stream is gone
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        // the client went away
      }

      @Override
      public void onCompleted() {
        synchronized (this) {
          tail = tail.whenComplete((v, t) -> {
            synchronized (out) {
              try {
                out.onCompleted();
              } catch (RuntimeException ignored) {
                // already closed
              }
            }
          });
        }
      }
    };
  }

  @Override
  public void leaseTimeToLive(LeaseTimeToLiveRequest request, StreamObserver<LeaseTimeToLiveResponse> out) {
    Lease l = lessor.lookup(request.getID());
    LeaseTimeToLiveResponse.Builder b = LeaseTimeToLiveResponse.newBuilder()
        .setHeader(headers.current())
        .setID(request.getID());
    if (l == null) {
      Replies.ok(out, b.setTTL(-1).build());
      return;
    }
    b.setTTL(lessor.remainingSeconds(l)).setGrantedTTL(l.ttl());
    if (request.getKeys()) {
      b.addAllKeys(l.keys());
    }
    Replies.ok(out, b.build());
  }

  @Override
  public void leaseLeases(LeaseLeasesRequest request, StreamObserver<LeaseLeasesResponse> out) {
    LeaseLeasesResponse.Builder b = LeaseLeasesResponse.newBuilder().setHeader(headers.current());
    for (Lease l : lessor.leases()) {
      b.addLeases(LeaseStatus.newBuilder().setID(l.id()));
    }
    Replies.ok(out, b.build());
  }

}
