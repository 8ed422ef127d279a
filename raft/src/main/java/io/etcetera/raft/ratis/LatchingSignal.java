package io.etcetera.raft.ratis;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.ratis.util.AwaitForSignal;

/**
 * A wake-up signal that is not lost: a {@link #signal} given while nobody waits is kept until the
 * next {@link #await} takes it (which then returns at once). Ratis' {@link AwaitForSignal} only
 * wakes a thread already waiting, so a signal given just before the thread waits is forgotten and
 * the thread sleeps out its timeout. Used by one waiting thread; any thread may signal.
 */
final class LatchingSignal extends AwaitForSignal {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition signalled = lock.newCondition();
  /** Guarded by {@code lock}: a signal not yet taken by a waiter. */
  private boolean pending;

  LatchingSignal(Object name) {
    super(name);
  }

  /** Waits until signalled; takes the signal. */
  @Override
  public void await() throws InterruptedException {
    lock.lock();
    try {
      while (!pending) {
        signalled.await();
      }
      pending = false;
    } finally {
      lock.unlock();
    }
  }

  /** Waits until signalled or {@code time} passed; takes the signal. @return whether it was signalled */
  @Override
  public boolean await(long time, TimeUnit unit) throws InterruptedException {
    lock.lock();
    try {
      long left = unit.toNanos(time);
      while (!pending && left > 0) {
        left = signalled.awaitNanos(left);
      }
      boolean was = pending;
      pending = false;
      return was;
    } finally {
      lock.unlock();
    }
  }

  /** Tests: whether a thread waits now. */
  boolean hasQueuedWaiterForTest() {
    lock.lock();
    try {
      return lock.hasWaiters(signalled);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void signal() {
    lock.lock();
    try {
      pending = true;
      signalled.signalAll();
    } finally {
      lock.unlock();
    }
  }
}
