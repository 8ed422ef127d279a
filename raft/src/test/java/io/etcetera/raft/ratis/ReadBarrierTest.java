package io.etcetera.raft.ratis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class ReadBarrierTest {
  private final List<CompletableFuture<Void>> rounds = new ArrayList<>();
  private final ReadBarrier barrier = new ReadBarrier(() -> {
    CompletableFuture<Void> r = new CompletableFuture<>();
    rounds.add(r);
    return r;
  });

  @Test
  void readsArrivingDuringARoundShareTheNextRound() {
    CompletableFuture<Void> first = barrier.await();
    CompletableFuture<Void> second = barrier.await();
    CompletableFuture<Void> third = barrier.await();
    assertEquals(1, rounds.size(), "one round in flight at a time");
    rounds.get(0).complete(null);
    assertTrue(first.isDone());
    assertFalse(second.isDone(), "a read that arrived after the round started needs a later index");
    assertEquals(2, rounds.size(), "the waiting reads start the next round together");
    rounds.get(1).complete(null);
    assertTrue(second.isDone() && third.isDone());
    assertEquals(2, rounds.size());
  }

  @Test
  void aFailedRoundFailsItsReadsAndTheNextRoundStillRuns() {
    CompletableFuture<Void> first = barrier.await();
    CompletableFuture<Void> second = barrier.await();
    rounds.get(0).completeExceptionally(new IllegalStateException("no leader"));
    assertTrue(first.isCompletedExceptionally());
    rounds.get(1).complete(null);
    assertTrue(second.isDone() && !second.isCompletedExceptionally());
    CompletableFuture<Void> later = barrier.await();
    assertEquals(3, rounds.size());
    rounds.get(2).complete(null);
    assertTrue(later.isDone());
  }
}
