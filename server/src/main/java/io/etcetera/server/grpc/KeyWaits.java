package io.etcetera.server.grpc;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.DeleteRangeResponse;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.api.etcdserverpb.WatchCreateRequest;
import io.etcetera.api.etcdserverpb.WatchRequest;
import io.etcetera.api.etcdserverpb.WatchResponse;
import io.etcetera.api.mvccpb.Event;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The steps of clientv3's concurrency package (Mutex, Election) on this member's own KV and Watch
 * methods, called in memory ({@link LocalCalls}) in one caller's gRPC context, so they run with its
 * identity and permissions: txn, range, delete, and etcd's {@code waitDeletes} (until a prefix has
 * no key older than a revision, watching each for its deletion). Used by {@link LockService} and
 * {@link ElectionService}.
 *
 * <p>Threading: each step completes on the thread that answered the one before; a
 * {@link Session}'s state is atomic.
 */
final class KeyWaits {
  private final ServerMethodDefinition<TxnRequest, TxnResponse> txn;
  private final ServerMethodDefinition<RangeRequest, RangeResponse> range;
  private final ServerMethodDefinition<DeleteRangeRequest, DeleteRangeResponse> delete;
  private final ServerMethodDefinition<WatchRequest, WatchResponse> watch;

  KeyWaits(ServerServiceDefinition kv, ServerServiceDefinition watchService) {
    this.txn = LocalCalls.method(kv, "etcdserverpb.KV/Txn");
    this.range = LocalCalls.method(kv, "etcdserverpb.KV/Range");
    this.delete = LocalCalls.method(kv, "etcdserverpb.KV/DeleteRange");
    this.watch = LocalCalls.method(watchService, "etcdserverpb.Watch/Watch");
  }

  /** One caller's call: its context, whether it went away, and the watch it waits on. */
  static final class Session {
    final Context context = Context.current();
    final AtomicBoolean gone = new AtomicBoolean();
    final AtomicReference<LocalCalls.Stream<WatchRequest>> waiting = new AtomicReference<>();

    <T> T in(Supplier<T> step) {
      Context previous = context.attach();
      try {
        return step.get();
      } finally {
        context.detach(previous);
      }
    }

    /** The caller went away: stops the watch it waited on. */
    void leave() {
      gone.set(true);
      LocalCalls.Stream<WatchRequest> w = waiting.getAndSet(null);
      if (w != null) {
        w.cancel();
      }
    }
  }

  CompletableFuture<TxnResponse> txn(Session s, TxnRequest t) {
    return s.in(() -> LocalCalls.unary(txn, new Metadata(), t)).thenApply(KeyWaits::ok);
  }

  CompletableFuture<RangeResponse> range(Session s, RangeRequest r) {
    return s.in(() -> LocalCalls.unary(range, new Metadata(), r)).thenApply(KeyWaits::ok);
  }

  CompletableFuture<DeleteRangeResponse> delete(Session s, ByteString key) {
    return s.in(() -> LocalCalls.unary(delete, new Metadata(), DeleteRangeRequest.newBuilder().setKey(key).build()))
        .thenApply(KeyWaits::ok);
  }

  /** The oldest (first created) key of {@code prefix}: clientv3's WithFirstCreate. */
  static RangeRequest firstCreated(ByteString prefix) {
    return RangeRequest.newBuilder().setKey(prefix).setRangeEnd(prefixEnd(prefix))
        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND).setLimit(1).build();
  }

  /** etcd's waitDeletes: until no key of {@code prefix} created at or before {@code maxCreateRev} is left. */
  CompletableFuture<ResponseHeader> waitDeletes(Session s, ByteString prefix, long maxCreateRev) {
    if (s.gone.get()) {
      return CompletableFuture.failedFuture(cancelled());
    }
    RangeRequest newestOlder = RangeRequest.newBuilder().setKey(prefix).setRangeEnd(prefixEnd(prefix))
        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.DESCEND).setLimit(1)
        .setMaxCreateRevision(maxCreateRev).build();
    return range(s, newestOlder).thenCompose(r -> r.getKvsCount() == 0
        ? CompletableFuture.completedFuture(r.getHeader())
        : waitDelete(s, r.getKvs(0).getKey(), r.getHeader().getRevision())
            .thenCompose(deleted -> waitDeletes(s, prefix, maxCreateRev)));
  }

  /** etcd's waitDelete: watches {@code key} from {@code revision} until it is deleted. */
  private CompletableFuture<Void> waitDelete(Session s, ByteString key, long revision) {
    CompletableFuture<Void> deleted = new CompletableFuture<>();
    LocalCalls.Stream<WatchRequest> w = open(s, WatchCreateRequest.newBuilder().setKey(key).setStartRevision(revision)
        .build(), resp -> {
          for (Event ev : resp.getEventsList()) {
            if (ev.getType() == Event.EventType.DELETE) {
              deleted.complete(null);
            }
          }
        }, deleted);
    deleted.whenComplete((v, e) -> {
      s.waiting.compareAndSet(w, null);
      w.cancel();
    });
    return deleted;
  }

  /**
   * Opens a watch in the session's context; {@code events} receives its responses, {@code failed}
   * completes exceptionally when the watch is canceled or ends. The session waits on it.
   */
  LocalCalls.Stream<WatchRequest> open(Session s, WatchCreateRequest create, Consumer<WatchResponse> events,
      CompletableFuture<?> failed) {
    CompletableFuture<LocalCalls.Outcome<WatchResponse>> ended = new CompletableFuture<>();
    LocalCalls.Stream<WatchRequest> w = s.in(() -> LocalCalls.stream(watch, new Metadata(), resp -> {
      if (resp.getCanceled()) {
        failed.completeExceptionally(Status.UNAVAILABLE.withDescription(resp.getCancelReason()).asRuntimeException());
      } else {
        events.accept(resp);
      }
    }, ended));
    ended.thenAccept(o -> failed.completeExceptionally(o.status().asRuntimeException()));
    s.waiting.set(w);
    s.context.run(() -> w.send(WatchRequest.newBuilder().setCreateRequest(create).build()));
    if (s.gone.get()) {
      failed.completeExceptionally(cancelled());
    }
    return w;
  }

  static RuntimeException cancelled() {
    return Status.CANCELLED.withDescription("context canceled").asRuntimeException();
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

  /** A future's failure without CompletableFuture's wrapper. */
  static Throwable cause(Throwable e) {
    return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
  }
}
