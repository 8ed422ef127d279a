package io.etcetera.raft.ratis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.ratis.metrics.LongCounter;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.junit.jupiter.api.Test;

class UncountedRatisMetricsTest {
  private final MetricRegistryInfo info = new MetricRegistryInfo("peer", "ratis", "server", "test registry");

  @Test
  void ratisFindsTheseRegistriesThroughTheServiceLoader() {
    assertInstanceOf(UncountedRatisMetrics.class, MetricRegistries.global());
  }

  @Test
  void countersCountAndTimersCostNothing() {
    MetricRegistries registries = new UncountedRatisMetrics();
    RatisMetricRegistry registry = registries.create(info);
    assertSame(registry, registries.create(info), "one registry per component");
    LongCounter c = registry.counter("hits");
    c.inc();
    c.inc(4);
    c.dec();
    assertEquals(4, registry.counter("hits").getCount());
    assertEquals(0, registry.timer("latency").time().stop());
    registry.gauge("size", () -> () -> 1); // accepted, not kept
    assertTrue(registries.remove(info));
    assertTrue(registries.get(info).isEmpty());
  }
}
