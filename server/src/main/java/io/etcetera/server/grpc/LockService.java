package io.etcetera.server.grpc;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.api.v3lockpb.LockGrpc;
import io.etcetera.api.v3lockpb.LockRequest;
import io.etcetera.api.v3lockpb.LockResponse;
import io.etcetera.api.v3lockpb.UnlockRequest;
import io.etcetera.api.v3lockpb.UnlockResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's v3lock service: a named lock held by a lease, built as etcd builds it (clientv3's
 * concurrency.Mutex on the server's own KV and Watch, {@link KeyWaits}): the ownership key is
 * {@code name/<lease hex>}, created with the lease in a txn that also reads the prefix's oldest
 * key; the lock is held once no key of the prefix is older (lower create revision), which the call
 * waits for by watching each older key's deletion. A caller that goes away while waiting has its
 * key deleted, as etcd's mutex does. Unlock deletes the ownership key.
 *
 * <p>Threading: each step continues on the thread that completed the one before.
 */
public final class LockService extends LockGrpc.LockImplBase {
  private final KeyWaits keys;

  /** @param kv this member's bound KV service; @param watch its bound Watch service */
  public LockService(io.grpc.ServerServiceDefinition kv, io.grpc.ServerServiceDefinition watch) {
    this.keys = new KeyWaits(kv, watch);
  }

  @Override
  public void lock(LockRequest request, StreamObserver<LockResponse> out) {
    KeyWaits.Session s = new KeyWaits.Session();
    ByteString prefix = request.getName().concat(ByteString.copyFromUtf8("/"));
    ByteString myKey = prefix.concat(ByteString.copyFromUtf8(Long.toHexString(request.getLease())));
    if (out instanceof ServerCallStreamObserver<LockResponse> call) {
      call.setOnCancelHandler(() -> {
        // etcd's Mutex.Lock: a wait that failed releases the key it made
        s.leave();
        keys.delete(s, myKey);
      });
    }
    RangeRequest oldest = KeyWaits.firstCreated(prefix);
    TxnRequest t = TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder().setKey(myKey).setTarget(Compare.CompareTarget.CREATE)
            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(myKey).setLease(request.getLease())))
        .addSuccess(RequestOp.newBuilder().setRequestRange(oldest))
        .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(myKey)))
        .addFailure(RequestOp.newBuilder().setRequestRange(oldest))
        .build();
    keys.txn(s, t).thenCompose(r -> {
      long myRev = r.getSucceeded() ? r.getHeader().getRevision()
          : r.getResponses(0).getResponseRange().getKvs(0).getCreateRevision();
      RangeResponse owner = r.getResponses(1).getResponseRange();
      if (owner.getKvsCount() == 0 || owner.getKvs(0).getCreateRevision() == myRev) {
        return CompletableFuture.completedFuture(r.getHeader());
      }
      return keys.waitDeletes(s, prefix, myRev - 1);
    }).whenComplete((header, e) -> {
      if (e == null) {
        Replies.ok(out, LockResponse.newBuilder().setHeader(header).setKey(myKey).build());
      } else if (!s.gone.get()) {
        Replies.fail(out, KeyWaits.cause(e));
      }
    });
  }

  @Override
  public void unlock(UnlockRequest request, StreamObserver<UnlockResponse> out) {
    keys.delete(new KeyWaits.Session(), request.getKey()).whenComplete((r, e) -> {
      if (e != null) {
        Replies.fail(out, KeyWaits.cause(e));
      } else {
        Replies.ok(out, UnlockResponse.newBuilder().setHeader(r.getHeader()).build());
      }
    });
  }
}
