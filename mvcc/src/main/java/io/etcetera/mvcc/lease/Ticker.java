package io.etcetera.mvcc.lease;

/** Monotonic time in nanoseconds, injected so that tests drive lease expiry. */
@FunctionalInterface
public interface Ticker {
  Ticker SYSTEM = System::nanoTime;

  long nanos();
}
