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
import io.etcetera.server.lease.LeaseLeaderQueries;
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

  private final io.etcetera.raft.RaftGateway raft;
  private final io.etcetera.server.lease.LeaseLeaderQueries leaderQueries;
  private final LeaderLossMonitor leaderLoss;

  private final SpaceQuota quota;

  public LeaseService(Lessor lessor, Proposer proposer, HeaderFiller headers, io.etcetera.raft.RaftGateway raft,
      io.etcetera.server.lease.LeaseLeaderQueries leaderQueries, LeaderLossMonitor leaderLoss, SpaceQuota quota) {
    this.quota = quota;
    this.raft = raft;
    this.leaderLoss = leaderLoss;
    this.leaderQueries = leaderQueries;
    this.lessor = lessor;
    this.proposer = proposer;
    this.headers = headers;
  }

  @Override
  public void leaseGrant(LeaseGrantRequest request, StreamObserver<LeaseGrantResponse> out) {
    try {
      quota.check(io.etcetera.mvcc.apply.QuotaCost.leaseGrant());
    } catch (RuntimeException e) {
      Replies.fail(out, e);
      return;
    }
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
    // a stream that requires a leader (etcd's WithRequireLeader) ends when this member lost it
    Runnable leave = Boolean.TRUE.equals(ClusterGate.REQUIRES_LEADER.get())
        ? leaderLoss.register(() -> {
          synchronized (out) {
            Replies.fail(out, io.etcetera.api.errors.EtcdError.NO_LEADER.exception());
          }
        })
        : () -> { };
    if (out instanceof io.grpc.stub.ServerCallStreamObserver<LeaseKeepAliveResponse> call) {
      call.setOnCancelHandler(leave);
    }
    return new StreamObserver<>() {
      private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

      @Override
      public void onNext(LeaseKeepAliveRequest req) {
        // the header is taken before the renewal, as etcd does, so its revision never runs ahead of it
        LeaseKeepAliveResponse.Builder resp = LeaseKeepAliveResponse.newBuilder()
            .setID(req.getID())
            .setHeader(headers.current());
        CompletableFuture<Long> ttl = renew(req.getID());
        synchronized (this) {
          tail = tail.<Long, Void>thenCombine(ttl, (v, t) -> {
            send(resp.setTTL(Math.max(0, t)).build());
            return null;
          }).exceptionally(e -> {
            // no leader to renew with: end the stream with etcd's error; the client opens another
            synchronized (out) {
              Replies.fail(out, e);
            }
            return (Void) null;
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
        leave.run(); // the client went away
      }

      @Override
      public void onCompleted() {
        leave.run();
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
    io.etcetera.api.etcdserverpb.ResponseHeader header = headers.current();
    if (lessor.isPrimary() || lessor.lookup(request.getID()) == null) {
      Replies.ok(out, leaderQueries.localTimeToLive(request).toBuilder().setHeader(header).build());
      return;
    }
    // only the leader counts the time left: ask it, as etcd's followers do
    raft.askLeader(LeaseLeaderQueries.timeToLive(request)).whenComplete((answer, e) -> {
      if (e != null) {
        Replies.fail(out, e);
        return;
      }
      try {
        Replies.ok(out, LeaseLeaderQueries.timeToLiveAnswer(answer).toBuilder().setHeader(header).build());
      } catch (com.google.protobuf.InvalidProtocolBufferException x) {
        Replies.fail(out, x);
      }
    });
  }

  /** Renews here when this member leads, else with the leader (a follower's lessor counts no time). */
  private CompletableFuture<Long> renew(long id) {
    return lessor.renew(id).exceptionallyCompose(e -> {
      Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      if (c instanceof io.etcetera.api.errors.EtcdException ee && ee.error() == io.etcetera.api.errors.EtcdError.NOT_LEADER) {
        return raft.askLeader(LeaseLeaderQueries.keepAlive(id)).thenApply(LeaseLeaderQueries::keepAliveAnswer);
      }
      return CompletableFuture.failedFuture(c);
    });
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
