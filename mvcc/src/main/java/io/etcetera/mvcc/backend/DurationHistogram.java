package io.etcetera.mvcc.backend;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Prometheus-style histogram of durations: cumulative counts per upper bound (seconds), the
 * count and the sum, as etcd's {@code prometheus.NewHistogram} keeps them. The bounds are etcd's
 * {@code ExponentialBuckets(start, factor, count)}.
 *
 * <p>Threading: any thread records and reads; counts are atomic, a reader may see a recording
 * half done (count before sum), as Prometheus clients allow.
 */
public final class DurationHistogram {
  private final double[] bounds;
  private final AtomicLongArray buckets;
  private final LongAdder count = new LongAdder();
  private final LongAdder sumNanos = new LongAdder();

  /** etcd's {@code prometheus.ExponentialBuckets(start, factor, count)} bounds, in seconds. */
  public static DurationHistogram exponential(double startSeconds, double factor, int count) {
    double[] b = new double[count];
    for (int i = 0; i < count; i++) {
      b[i] = startSeconds * Math.pow(factor, i);
    }
    return new DurationHistogram(b);
  }

  private DurationHistogram(double[] bounds) {
    this.bounds = bounds;
    this.buckets = new AtomicLongArray(bounds.length);
  }

  public void record(long nanos) {
    double seconds = nanos / 1e9;
    for (int i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        buckets.incrementAndGet(i);
        break;
      }
    }
    count.increment();
    sumNanos.add(nanos);
  }

  /** A copy of the state: per-bound counts (not cumulative), count, sum in seconds. */
  public record Snapshot(double[] bounds, long[] perBucket, long count, double sumSeconds) {
    /** The cumulative count at bound {@code i} (Prometheus' {@code le} buckets). */
    public long cumulative(int i) {
      long c = 0;
      for (int j = 0; j <= i; j++) {
        c += perBucket[j];
      }
      return c;
    }
  }

  public Snapshot snapshot() {
    long[] per = new long[bounds.length];
    for (int i = 0; i < per.length; i++) {
      per[i] = buckets.get(i);
    }
    return new Snapshot(bounds.clone(), per, count.sum(), sumNanos.sum() / 1e9);
  }
}
