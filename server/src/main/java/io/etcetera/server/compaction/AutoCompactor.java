package io.etcetera.server.compaction;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.server.config.AutoCompactionPolicy;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's automatic compaction ({@code --auto-compaction-mode}, {@code --auto-compaction-retention}),
 * run by the leader only (followers pause, as etcd's), compacting through the log like a client's
 * Compact:
 *
 * <ul>
 *   <li><b>periodic</b> (retention a duration): the current revision is sampled every tenth of the
 *       retention (of an hour at most); once a whole retention has passed since the start (then an
 *       hour at most since the last success), the store is compacted to the oldest sample, the
 *       revision of one retention ago. A failure is retried at the next sample.
 *   <li><b>revision</b> (retention a number of revisions): every 5 minutes the store is compacted
 *       to the current revision minus the retention, unless that is not positive or was already
 *       done.
 * </ul>
 * An already compacted revision counts as success, as in etcd.
 *
 * <p>Threading: {@link #tick(long)} runs on one daemon thread "auto-compaction" (and is called
 * directly by tests with a made-up clock); it blocks that thread while a compaction is proposed, for
 * at most the request timeout. All fields are confined to that thread.
 */
public final class AutoCompactor implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AutoCompactor.class);
  /** etcd's revision-mode interval. */
  static final Duration REVISION_INTERVAL = Duration.ofMinutes(5);
  private static final Duration HOUR = Duration.ofHours(1);

  /** How often {@link #tick(long)} runs: a tenth of the retention (of an hour at most), or etcd's 5 minutes. */
  static Duration interval(AutoCompactionPolicy policy) {
    if (!policy.periodic()) {
      return REVISION_INTERVAL;
    }
    return (policy.period().compareTo(HOUR) > 0 ? HOUR : policy.period()).dividedBy(10);
  }

  private final AutoCompactionPolicy policy;
  private final LongSupplier currentRevision;
  private final BooleanSupplier leading;
  private final LongFunction<CompletableFuture<?>> compact;
  private final Duration timeout;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "auto-compaction");
    t.setDaemon(true);
    return t;
  });

  // periodic mode
  private final ArrayDeque<Long> samples = new ArrayDeque<>();
  private long lastSuccessMillis;
  private Duration wait;
  // revision mode
  private long lastCompacted;

  /**
   * @param compact proposes a compaction to the given revision; completes when applied
   * @param timeout how long one compaction may take before it counts as failed
   */
  public AutoCompactor(AutoCompactionPolicy policy, LongSupplier currentRevision, BooleanSupplier leading,
      LongFunction<CompletableFuture<?>> compact, Duration timeout, long startMillis) {
    this.policy = policy;
    this.currentRevision = currentRevision;
    this.leading = leading;
    this.compact = compact;
    this.timeout = timeout;
    this.lastSuccessMillis = startMillis;
    this.wait = policy.period();
    if (policy.periodic()) {
      samples.add(currentRevision.getAsLong());
    }
  }

  public void start() {
    long every = interval(policy).toMillis();
    timer.scheduleWithFixedDelay(() -> {
      try {
        tick(System.currentTimeMillis());
      } catch (RuntimeException e) {
        log.warn("auto compaction round failed", e);
      }
    }, every, every, TimeUnit.MILLISECONDS);
  }

  /** One round at {@code nowMillis}: compact if due and leading, then (periodic) take a sample. */
  void tick(long nowMillis) {
    if (policy.periodic()) {
      periodicRound(nowMillis);
    } else {
      revisionRound();
    }
  }

  private void periodicRound(long nowMillis) {
    if (leading.getAsBoolean() && nowMillis - lastSuccessMillis >= wait.toMillis()) {
      wait = policy.period().compareTo(HOUR) > 0 ? HOUR : policy.period();
      long rev = samples.peekFirst();
      if (compactTo(rev)) {
        lastSuccessMillis = nowMillis;
      }
    }
    samples.addLast(currentRevision.getAsLong());
    long keep = policy.period().toMillis() / interval(policy).toMillis() + 1;
    while (samples.size() > keep) {
      samples.removeFirst();
    }
  }

  private void revisionRound() {
    if (!leading.getAsBoolean()) {
      return;
    }
    long rev = currentRevision.getAsLong() - policy.revisions();
    if (rev <= 0 || rev == lastCompacted) {
      return;
    }
    if (compactTo(rev)) {
      lastCompacted = rev;
    }
  }

  /** Proposes a compaction and waits for it; true when done or already done. */
  private boolean compactTo(long rev) {
    if (rev <= 0) {
      return true; // nothing written yet when the sample was taken
    }
    log.info("starting auto {} compaction at revision {}", policy.periodic() ? "periodic" : "revision", rev);
    try {
      compact.apply(rev).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      log.info("completed auto compaction at revision {}", rev);
      return true;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
        cause = cause.getCause();
      }
      if (cause instanceof EtcdException etcd && etcd.error() == EtcdError.COMPACTED) {
        return true;
      }
      log.warn("failed auto compaction at revision {} (retried later): {}", rev, String.valueOf(cause));
      return false;
    } catch (TimeoutException e) {
      log.warn("auto compaction at revision {} timed out (retried later)", rev);
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
