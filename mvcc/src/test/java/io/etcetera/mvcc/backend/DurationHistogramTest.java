package io.etcetera.mvcc.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class DurationHistogramTest {
  @Test
  void durationsFallInEtcdsExponentialBucketsCumulatively() {
    DurationHistogram h = DurationHistogram.exponential(0.001, 2, 14);
    h.record(500_000);        // 0.5 ms  -> le 0.001
    h.record(1_000_000);      // 1 ms    -> le 0.001 (inclusive)
    h.record(3_000_000);      // 3 ms    -> le 0.004
    h.record(20_000_000_000L); // 20 s   -> only +Inf
    DurationHistogram.Snapshot s = h.snapshot();
    assertEquals(0.001, s.bounds()[0]);
    assertEquals(8.192, s.bounds()[13], 1e-12);
    assertArrayEquals(new long[] {2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, s.perBucket());
    assertEquals(2, s.cumulative(0));
    assertEquals(3, s.cumulative(2));
    assertEquals(3, s.cumulative(13));
    assertEquals(4, s.count());
    assertEquals(20.0045, s.sumSeconds(), 1e-9);
  }
}
