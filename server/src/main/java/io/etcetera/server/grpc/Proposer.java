package io.etcetera.server.grpc;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.RequestHeader;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.raft.RaftGateway;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a client request into a log entry ({@link InternalRaftRequest} with a unique ID), refuses
 * it with etcd's "request is too large" when the entry exceeds {@code --max-request-bytes} (etcd
 * measures the marshalled entry), and proposes it. Thread-safe.
 */
public final class Proposer {
  private final RaftGateway raft;
  private final long maxRequestBytes;
  private final AtomicLong nextId;

  private final io.etcetera.server.auth.Authenticator authenticator;

  public Proposer(RaftGateway raft, long maxRequestBytes, long memberId, io.etcetera.server.auth.Authenticator authenticator) {
    this.raft = raft;
    this.authenticator = authenticator;
    this.maxRequestBytes = maxRequestBytes;
    // like etcd's idutil: member bits on top, a time-seeded counter below, unique across restarts
    this.nextId = new AtomicLong(((memberId & 0xffff) << 48) | ((System.currentTimeMillis() & 0xffff_ffffffL) << 8));
  }

  /** A fresh request ID (also etcd's source of server-chosen lease IDs). */
  public long nextId() {
    return nextId.incrementAndGet();
  }

  /**
   * Proposes {@code entry} on behalf of the caller of the current gRPC call, whose identity and
   * auth revision go in the entry header for the checks made at apply.
   */
  public CompletableFuture<Applied> propose(InternalRaftRequest.Builder entry) {
    io.etcetera.mvcc.auth.AuthInfo who;
    try {
      who = authenticator.current();
    } catch (io.etcetera.api.errors.EtcdException e) {
      return CompletableFuture.failedFuture(e);
    }
    return proposeAs(entry, who);
  }

  /** Proposes {@code entry} on behalf of {@code who} (the lease expiry proposes as root). */
  public CompletableFuture<Applied> proposeAs(InternalRaftRequest.Builder entry, io.etcetera.mvcc.auth.AuthInfo who) {
    InternalRaftRequest req = entry.setHeader(RequestHeader.newBuilder()
        .setID(nextId())
        .setUsername(who.username())
        .setAuthRevision(who.revision())).build();
    if (req.getSerializedSize() > maxRequestBytes) {
      return CompletableFuture.failedFuture(EtcdError.REQUEST_TOO_LARGE.exception());
    }
    return raft.propose(req);
  }
}
