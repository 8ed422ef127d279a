package io.etcetera.server.compaction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.server.config.AutoCompactionPolicy;
import io.etcetera.server.config.FlagException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AutoCompactorTest {

  private final AtomicLong revision = new AtomicLong(1);
  private final AtomicBoolean leading = new AtomicBoolean(true);
  private final List<Long> compacted = new ArrayList<>();
  private EtcdError failWith;

  private AutoCompactor compactor(String mode, String retention) {
    return new AutoCompactor(AutoCompactionPolicy.parse(mode, retention), revision::get, leading::get, rev -> {
      compacted.add(rev);
      return failWith == null ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(new EtcdException(failWith));
    }, Duration.ofSeconds(1), 0);
  }

  @Test
  void retentionIsParsedAsEtcdParsesIt() {
    assertEquals(Duration.ofHours(8), AutoCompactionPolicy.parse("periodic", "8").period());
    assertEquals(Duration.ofMinutes(30), AutoCompactionPolicy.parse("periodic", "30m").period());
    assertEquals(1000, AutoCompactionPolicy.parse("revision", "1000").revisions());
    assertTrue(!AutoCompactionPolicy.parse("periodic", "0").enabled(), "0 turns it off");
    FlagException e = assertThrows(FlagException.class, () -> AutoCompactionPolicy.parse("hourly", "1"));
    assertEquals("unknown auto-compaction-mode \"hourly\"", e.getMessage());
    assertThrows(FlagException.class, () -> AutoCompactionPolicy.parse("periodic", "soon"));
  }

  @Test
  void periodicCompactsToTheRevisionOfOneRetentionAgoEveryTenthOfTheRetentionOnceARetentionPassed() {
    AutoCompactor c = compactor("periodic", "10s"); // samples every 1 s
    // revision r at second r (the sample at start is revision 1)
    for (long s = 1; s < 10; s++) {
      revision.set(s + 1);
      c.tick(s * 1000);
    }
    assertEquals(List.of(), compacted, "nothing before one retention passed");
    revision.set(11);
    c.tick(10_000);
    assertEquals(List.of(1L), compacted, "at 10 s, the revision sampled at 0 s");
    for (long s = 11; s <= 13; s++) {
      revision.set(s + 1);
      c.tick(s * 1000);
    }
    assertEquals(List.of(1L), compacted, "then again a retention after the last success");
    for (long s = 14; s <= 20; s++) {
      revision.set(s + 1);
      c.tick(s * 1000);
    }
    // etcd keeps retention/interval + 1 samples and samples after compacting: the oldest is 11 s old
    assertEquals(List.of(1L, 10L), compacted, "at 20 s, the revision sampled at 9 s");
  }

  @Test
  void periodicRetriesAFailedCompactionAtTheNextSampleAndCountsAnAlreadyCompactedRevisionAsDone() {
    AutoCompactor c = compactor("periodic", "10s");
    for (long s = 1; s < 10; s++) c.tick(s * 1000);
    failWith = EtcdError.TIMEOUT;
    c.tick(10_000);
    c.tick(11_000);
    assertEquals(2, compacted.size(), "a failure is retried a tenth of the retention later");
    failWith = EtcdError.COMPACTED;
    c.tick(12_000);
    c.tick(13_000);
    assertEquals(3, compacted.size(), "an already compacted revision counts as success");
  }

  @Test
  void onlyTheLeaderCompactsAndAFollowerThatBecomesLeaderUsesTheSamplesItTook() {
    leading.set(false);
    AutoCompactor c = compactor("periodic", "10s");
    for (long s = 1; s <= 15; s++) {
      revision.set(100 + s);
      c.tick(s * 1000);
    }
    assertEquals(List.of(), compacted);
    leading.set(true);
    c.tick(16_000);
    assertEquals(List.of(105L), compacted, "the oldest sample kept, of 11 s ago");
  }

  @Test
  void revisionModeKeepsTheLastRetentionRevisionsAndSkipsWhatIsDone() {
    AutoCompactor c = compactor("revision", "100");
    revision.set(50);
    c.tick(0);
    assertEquals(List.of(), compacted, "nothing while fewer revisions than the retention exist");
    revision.set(250);
    c.tick(0);
    c.tick(0);
    assertEquals(List.of(150L), compacted, "the same revision is not compacted twice");
    leading.set(false);
    revision.set(400);
    c.tick(0);
    assertEquals(List.of(150L), compacted, "followers pause");
    leading.set(true);
    c.tick(0);
    assertEquals(List.of(150L, 300L), compacted);
  }
}
