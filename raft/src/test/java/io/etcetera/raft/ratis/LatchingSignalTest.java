package io.etcetera.raft.ratis;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LatchingSignalTest {

  @Test
  void aSignalGivenBeforeTheWaitIsKeptAndTakenOnce() throws Exception {
    LatchingSignal s = new LatchingSignal("test");
    s.signal();
    s.signal(); // two signals before a wait are one wake-up
    assertTrue(s.await(1, TimeUnit.HOURS), "the earlier signal wakes the waiter at once");
    assertFalse(s.await(10, TimeUnit.MILLISECONDS), "the signal was taken");
  }

  @Test
  void aSignalWakesAThreadAlreadyWaiting() throws Exception {
    LatchingSignal s = new LatchingSignal("test");
    CompletableFuture<Boolean> woke = CompletableFuture.supplyAsync(() -> {
      try {
        return s.await(1, TimeUnit.HOURS);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    while (!s.hasQueuedWaiterForTest()) {
      Thread.onSpinWait();
    }
    s.signal();
    assertTrue(woke.get(1, TimeUnit.MINUTES));
  }

  @Test
  void aWaitWithNothingSignalledEndsUnsignalledAfterItsTime() throws Exception {
    assertFalse(new LatchingSignal("test").await(5, TimeUnit.MILLISECONDS));
    assertFalse(new LatchingSignal("test").await(0, TimeUnit.MILLISECONDS));
  }
}
