package io.etcetera.raft.ratis;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Batches linearizable reads as etcd's linearizableReadLoop: at most one ReadIndex round is in
 * flight; every read arriving meanwhile waits for the next round, which starts when the current
 * one ends, so one confirmation from the leader frees many reads.
 *
 * <p>Threading: any thread; the state is guarded by {@code this}, and futures are completed
 * outside the lock.
 */
final class ReadBarrier {
  private final Supplier<CompletableFuture<Void>> round;
  private CompletableFuture<Void> next;
  private boolean inFlight;

  /** @param round starts one ReadIndex round: completes once this member applied up to it */
  ReadBarrier(Supplier<CompletableFuture<Void>> round) {
    this.round = round;
  }

  CompletableFuture<Void> await() {
    CompletableFuture<Void> waiter;
    boolean start = false;
    synchronized (this) {
      if (next == null) {
        next = new CompletableFuture<>();
      }
      waiter = next;
      if (!inFlight) {
        inFlight = true;
        start = true;
      }
    }
    if (start) {
      launch();
    }
    return waiter;
  }

  private void launch() {
    CompletableFuture<Void> current;
    synchronized (this) {
      current = next;
      next = null;
    }
    CompletableFuture<Void> r;
    try {
      r = round.get();
    } catch (RuntimeException e) {
      r = CompletableFuture.failedFuture(e);
    }
    r.whenComplete((v, e) -> {
      if (e != null) {
        current.completeExceptionally(e);
      } else {
        current.complete(null);
      }
      boolean again;
      synchronized (this) {
        again = next != null;
        inFlight = again;
      }
      if (again) {
        launch();
      }
    });
  }
}
