package io.etcetera.server.grpc;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.DeleteRangeResponse;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.api.etcdserverpb.WatchCreateRequest;
import io.etcetera.api.etcdserverpb.WatchRequest;
import io.etcetera.api.etcdserverpb.WatchResponse;
import io.etcetera.api.mvccpb.Event;
import io.etcetera.api.v3lockpb.LockGrpc;
import io.etcetera.api.v3lockpb.LockRequest;
import io.etcetera.api.v3lockpb.LockResponse;
import io.etcetera.api.v3lockpb.UnlockRequest;
import io.etcetera.api.v3lockpb.UnlockResponse;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * etcd's v3lock service: a named lock held by a lease, built as etcd builds it (clientv3's
 * concurrency.Mutex on the server's own KV and Watch): the ownership key is {@code name/<lease
 * hex>}, created with the lease in a txn that also reads the prefix's oldest key; the lock is held
 * once no key of the prefix is older (lower create revision), which the call waits for by watching
 * each older key's deletion. A caller that goes away while waiting has its key deleted, as etcd's
 * mutex does. Unlock deletes the ownership key.
 *
 * <p>The steps are calls to this member's own KV and Watch methods ({@link LocalCalls}), made in
 * the caller's gRPC context, so they run with its identity and permissions and go through the log
 * like any client's. Threading: each step continues on the thread that completed the one before.
 */
public final class LockService extends LockGrpc.LockImplBase {
  private final ServerMethodDefinition<TxnRequest, TxnResponse> txn;
  private final ServerMethodDefinition<RangeRequest, RangeResponse> range;
  private final ServerMethodDefinition<DeleteRangeRequest, DeleteRangeResponse> delete;
  private final ServerMethodDefinition<WatchRequest, WatchResponse> watch;

  /** @param kv this member's bound KV service; @param watchService its bound Watch service */
  public LockService(ServerServiceDefinition kv, ServerServiceDefinition watchService) {
    this.txn = LocalCalls.method(kv, "etcdserverpb.KV/Txn");
    this.range = LocalCalls.method(kv, "etcdserverpb.KV/Range");
    this.delete = LocalCalls.method(kv, "etcdserverpb.KV/DeleteRange");
    this.watch = LocalCalls.method(watchService, "etcdserverpb.Watch/Watch");
  }

  /** One Lock call in progress: its context, its key, and the watch it waits on. */
  private final class Attempt {
    final Context context = Context.current();
    final ByteString prefix;
    final ByteString myKey;
    final AtomicBoolean gone = new AtomicBoolean();
    final AtomicReference<LocalCalls.Stream<WatchRequest>> waiting = new AtomicReference<>();

    Attempt(ByteString name, long lease) {
      this.prefix = name.concat(ByteString.copyFromUtf8("/"));
      this.myKey = prefix.concat(ByteString.copyFromUtf8(Long.toHexString(lease)));
    }

    <T> T inContext(java.util.function.Supplier<T> step) {
      Context previous = context.attach();
      try {
        return step.get();
      } finally {
        context.detach(previous);
      }
    }
  }

  @Override
  public void lock(LockRequest request, StreamObserver<LockResponse> out) {
    Attempt a = new Attempt(request.getName(), request.getLease());
    if (out instanceof ServerCallStreamObserver<LockResponse> call) {
      call.setOnCancelHandler(() -> {
        // etcd's Mutex.Lock: a wait that failed releases the key it made
        a.gone.set(true);
        LocalCalls.Stream<WatchRequest> w = a.waiting.getAndSet(null);
        if (w != null) {
          w.cancel();
        }
        a.inContext(() -> LocalCalls.unary(delete, new Metadata(), DeleteRangeRequest.newBuilder().setKey(a.myKey).build()));
      });
    }
    ByteString end = prefixEnd(a.prefix);
    RangeRequest oldest = RangeRequest.newBuilder().setKey(a.prefix).setRangeEnd(end)
        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND).setLimit(1).build();
    TxnRequest t = TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder().setKey(a.myKey).setTarget(Compare.CompareTarget.CREATE)
            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0))
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(a.myKey).setLease(request.getLease())))
        .addSuccess(RequestOp.newBuilder().setRequestRange(oldest))
        .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(a.myKey)))
        .addFailure(RequestOp.newBuilder().setRequestRange(oldest))
        .build();
    a.inContext(() -> LocalCalls.unary(txn, new Metadata(), t)).thenCompose(o -> {
      TxnResponse r = ok(o);
      long myRev = r.getSucceeded() ? r.getHeader().getRevision()
          : r.getResponses(0).getResponseRange().getKvs(0).getCreateRevision();
      RangeResponse owner = r.getResponses(1).getResponseRange();
      if (owner.getKvsCount() == 0 || owner.getKvs(0).getCreateRevision() == myRev) {
        return CompletableFuture.completedFuture(r.getHeader());
      }
      return waitDeletes(a, end, myRev - 1);
    }).whenComplete((header, e) -> {
      if (e == null) {
        Replies.ok(out, LockResponse.newBuilder().setHeader(header).setKey(a.myKey).build());
      } else if (!a.gone.get()) {
        Replies.fail(out, e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
      }
    });
  }

  /** etcd's waitDeletes: until no key of the prefix older than {@code maxCreateRev} is left. */
  private CompletableFuture<ResponseHeader> waitDeletes(Attempt a, ByteString end, long maxCreateRev) {
    if (a.gone.get()) {
      return CompletableFuture.failedFuture(Status.CANCELLED.withDescription("context canceled").asRuntimeException());
    }
    RangeRequest newestOlder = RangeRequest.newBuilder().setKey(a.prefix).setRangeEnd(end)
        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.DESCEND).setLimit(1)
        .setMaxCreateRevision(maxCreateRev).build();
    return a.inContext(() -> LocalCalls.unary(range, new Metadata(), newestOlder)).thenCompose(o -> {
      RangeResponse r = ok(o);
      if (r.getKvsCount() == 0) {
        return CompletableFuture.completedFuture(r.getHeader());
      }
      return waitDelete(a, r.getKvs(0).getKey(), r.getHeader().getRevision())
          .thenCompose(deleted -> waitDeletes(a, end, maxCreateRev));
    });
  }

  /** etcd's waitDelete: watches {@code key} from {@code revision} until it is deleted. */
  private CompletableFuture<Void> waitDelete(Attempt a, ByteString key, long revision) {
    CompletableFuture<Void> deleted = new CompletableFuture<>();
    CompletableFuture<LocalCalls.Outcome<WatchResponse>> ended = new CompletableFuture<>();
    LocalCalls.Stream<WatchRequest> w = a.inContext(() -> LocalCalls.stream(watch, new Metadata(), resp -> {
      if (resp.getCanceled()) {
        deleted.completeExceptionally(Status.UNAVAILABLE.withDescription(resp.getCancelReason()).asRuntimeException());
      }
      for (Event ev : resp.getEventsList()) {
        if (ev.getType() == Event.EventType.DELETE) {
          deleted.complete(null);
        }
      }
    }, ended));
    a.waiting.set(w);
    ended.thenAccept(o -> deleted.completeExceptionally(o.status().asRuntimeException()));
    deleted.whenComplete((v, e) -> {
      a.waiting.compareAndSet(w, null);
      w.cancel();
    });
    a.context.run(() -> w.send(WatchRequest.newBuilder().setCreateRequest(
        WatchCreateRequest.newBuilder().setKey(key).setStartRevision(revision)).build()));
    if (a.gone.get()) {
      deleted.completeExceptionally(Status.CANCELLED.withDescription("context canceled").asRuntimeException());
    }
    return deleted;
  }

  @Override
  public void unlock(UnlockRequest request, StreamObserver<UnlockResponse> out) {
    LocalCalls.unary(delete, new Metadata(), DeleteRangeRequest.newBuilder().setKey(request.getKey()).build())
        .whenComplete((o, e) -> {
          if (e != null) {
            Replies.fail(out, e);
          } else if (!o.status().isOk()) {
            Replies.fail(out, o.status().asRuntimeException());
          } else {
            Replies.ok(out, UnlockResponse.newBuilder().setHeader(o.response().getHeader()).build());
          }
        });
  }

  private static <A> A ok(LocalCalls.Outcome<A> o) {
    if (!o.status().isOk()) {
      throw new CompletionException(o.status().asRuntimeException());
    }
    return o.response();
  }

  /** The end of the range of keys starting with {@code prefix} (etcd's GetPrefixRangeEnd). */
  static ByteString prefixEnd(ByteString prefix) {
    byte[] b = prefix.toByteArray();
    for (int i = b.length - 1; i >= 0; i--) {
      if ((b[i] & 0xff) < 0xff) {
        b[i]++;
        return ByteString.copyFrom(b, 0, i + 1);
      }
    }
    return ByteString.copyFrom(new byte[] {0});
  }
}
