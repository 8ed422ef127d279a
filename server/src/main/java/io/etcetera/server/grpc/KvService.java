package io.etcetera.server.grpc;

import com.google.protobuf.Message;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.api.etcdserverpb.CompactionRequest;
import io.etcetera.api.etcdserverpb.CompactionResponse;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.DeleteRangeResponse;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.KVGrpc;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.PutResponse;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.mvcc.apply.Applied;
import io.etcetera.mvcc.apply.RequestChecks;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.kv.RangeQuery;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * etcd's KV service. Writes are checked as etcd's v3rpc checks them, then proposed to the log;
 * their answer is sent when the write is durable. Ranges read the store directly: on a single
 * member every applied write is committed, so a local read is linearizable.
 *
 * <p>Threading: gRPC executor threads; write answers are sent from the apply thread when the
 * proposal completes (sending only serializes and enqueues, it never blocks).
 */
public final class KvService extends KVGrpc.KVImplBase {
  private final MvccStore store;
  private final Proposer proposer;
  private final HeaderFiller headers;
  private final int maxTxnOps;
  private final SpaceQuota quota;

  private final io.etcetera.server.auth.Authenticator authenticator;

  private final io.etcetera.raft.RaftGateway raft;
  private final java.util.concurrent.Executor reads;

  /** @param reads runs linearizable reads once their barrier passed */
  public KvService(MvccStore store, Proposer proposer, HeaderFiller headers, int maxTxnOps,
      io.etcetera.server.auth.Authenticator authenticator, io.etcetera.raft.RaftGateway raft,
      java.util.concurrent.Executor reads, SpaceQuota quota) {
    this.quota = quota;
    this.raft = raft;
    this.reads = reads;
    this.authenticator = authenticator;
    this.store = store;
    this.proposer = proposer;
    this.headers = headers;
    this.maxTxnOps = maxTxnOps;
  }

  /** Whether {@code method} is a KV write: it only validates and proposes, never blocks. */
  public static boolean isWrite(io.grpc.MethodDescriptor<?, ?> method) {
    return method == KVGrpc.getPutMethod() || method == KVGrpc.getDeleteRangeMethod()
        || method == KVGrpc.getTxnMethod() || method == KVGrpc.getCompactMethod();
  }

  /**
   * A serializable range reads this member's store at once; a linearizable one (the default)
   * first waits for the read barrier (ReadIndex: everything committed when it arrived is applied
   * here), then reads on the read executor, never on a Raft thread.
   */
  @Override
  public void range(RangeRequest request, StreamObserver<RangeResponse> out) {
    io.etcetera.mvcc.auth.AuthInfo who;
    try {
      RequestChecks.checkRange(request);
      who = authenticator.current();
      if (request.getSerializable()) {
        serveRange(request, who, out);
        return;
      }
      if (raft.isLearner()) {
        throw io.etcetera.api.errors.EtcdError.NOT_SUPPORTED_FOR_LEARNER.exception();
      }
    } catch (RuntimeException e) {
      Replies.fail(out, e);
      return;
    }
    raft.readBarrier().whenCompleteAsync((v, e) -> {
      if (e != null) {
        Replies.fail(out, e);
      } else {
        serveRange(request, who, out);
      }
    }, reads);
  }

  private void serveRange(RangeRequest request, io.etcetera.mvcc.auth.AuthInfo who, StreamObserver<RangeResponse> out) {
    try {
      // etcd's doSerialize: check the caller's read permission, read, then make sure the auth
      // store did not change under the read
      authenticator.store().checkRead(who, request.getKey(), request.getRangeEnd());
      RangeResponse r = RangeQuery.execute(store::range, request);
      if (who.revision() != 0 && who.revision() != authenticator.store().revision()) {
        throw io.etcetera.api.errors.EtcdError.AUTH_OLD_REVISION.exception();
      }
      Replies.ok(out, r.toBuilder().setHeader(headers.fill(r.getHeader())).build());
    } catch (RuntimeException e) {
      Replies.fail(out, e);
    }
  }

  @Override
  public void put(PutRequest request, StreamObserver<PutResponse> out) {
    try {
      quota.check(io.etcetera.mvcc.apply.QuotaCost.of(request)); // etcd checks the quota first
      RequestChecks.checkPut(request);
    } catch (EtcdException e) {
      Replies.fail(out, e);
      return;
    }
    answer(proposer.propose(InternalRaftRequest.newBuilder().setPut(request)), out,
        (PutResponse r) -> r.toBuilder().setHeader(headers.fill(r.getHeader())).build());
  }

  @Override
  public void deleteRange(DeleteRangeRequest request, StreamObserver<DeleteRangeResponse> out) {
    try {
      RequestChecks.checkDelete(request);
    } catch (EtcdException e) {
      Replies.fail(out, e);
      return;
    }
    answer(proposer.propose(InternalRaftRequest.newBuilder().setDeleteRange(request)), out,
        (DeleteRangeResponse r) -> r.toBuilder().setHeader(headers.fill(r.getHeader())).build());
  }

  @Override
  public void txn(TxnRequest request, StreamObserver<TxnResponse> out) {
    try {
      quota.check(io.etcetera.mvcc.apply.QuotaCost.of(request));
      RequestChecks.checkTxn(request, maxTxnOps);
    } catch (EtcdException e) {
      Replies.fail(out, e);
      return;
    }
    answer(proposer.propose(InternalRaftRequest.newBuilder().setTxn(request)), out,
        (TxnResponse r) -> r.toBuilder().setHeader(headers.fill(r.getHeader())).build());
  }

  @Override
  public void compact(CompactionRequest request, StreamObserver<CompactionResponse> out) {
    CompletableFuture<Applied> applied = proposer.propose(InternalRaftRequest.newBuilder().setCompaction(request))
        .thenCompose(a -> a.physicalDone() == null
            ? CompletableFuture.completedFuture(a)
            : a.physicalDone().thenApply(v -> a));
    answer(applied, out,
        (CompactionResponse r) -> r.toBuilder().setHeader(headers.fill(r.getHeader())).build());
  }

  @SuppressWarnings("unchecked")
  private static <T extends Message> void answer(CompletableFuture<Applied> f, StreamObserver<T> out,
      Function<T, T> finish) {
    f.whenComplete((a, t) -> {
      if (t != null) {
        Replies.fail(out, t);
      } else {
        try {
          Replies.ok(out, finish.apply((T) a.response()));
        } catch (RuntimeException e) {
          Replies.fail(out, e);
        }
      }
    });
  }
}
