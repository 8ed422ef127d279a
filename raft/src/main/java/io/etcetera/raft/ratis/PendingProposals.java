package io.etcetera.raft.ratis;

import io.etcetera.api.errors.EtcdException;
import io.etcetera.mvcc.apply.Applied;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The proposals made on this member that are waiting for their entry to be applied here, by
 * request ID. An entry proposed elsewhere (or replayed) finds no waiter and is simply applied.
 *
 * <p>Threading: registered on gRPC threads, completed by the apply thread or failed by the
 * proposal's transport or timeout on other threads; the first completion wins.
 */
final class PendingProposals {
  private final Map<Long, CompletableFuture<Applied>> waiting = new ConcurrentHashMap<>();

  CompletableFuture<Applied> register(long id) {
    CompletableFuture<Applied> f = new CompletableFuture<>();
    waiting.put(id, f);
    f.whenComplete((a, e) -> waiting.remove(id, f));
    return f;
  }

  /** Apply thread: the entry with {@code id} was applied with {@code result}. */
  void applied(long id, Object result) {
    CompletableFuture<Applied> f = waiting.get(id);
    if (f == null) {
      return;
    }
    if (result instanceof Applied a) {
      f.complete(a);
    } else {
      f.completeExceptionally((EtcdException) result);
    }
  }

  /** Whether the proposal {@code id} still waits for its outcome. */
  boolean isWaiting(long id) {
    return waiting.containsKey(id);
  }

  void fail(long id, Throwable error) {
    CompletableFuture<Applied> f = waiting.get(id);
    if (f != null) {
      f.completeExceptionally(error);
    }
  }

  void failAll(Throwable error) {
    for (CompletableFuture<Applied> f : waiting.values()) {
      f.completeExceptionally(error);
    }
  }
}
