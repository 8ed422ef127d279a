package io.etcetera.server.http;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.RaftGateway;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The checks behind etcd's HTTP health endpoints, as etcd 3.5 runs them for {@code /health}: an
 * active alarm that is not excluded makes the member unhealthy ({@code ALARM <name>}); so does
 * having no leader ({@code RAFT NO LEADER}), unless the caller asked for a serializable check; and
 * finally a read must succeed within the request timeout, linearizable (a ReadIndex round through
 * the leader) unless serializable ({@code RANGE ERROR:<error>}). {@code /livez} and {@code /readyz}
 * run the named checks of etcd's newer endpoints ({@code serializable_read}, {@code
 * linearizable_read}, {@code data_corruption}).
 *
 * <p>Threading: called concurrently by the HTTP server's threads; the linearizable read blocks the
 * calling thread for at most the request timeout. Counters are atomic.
 */
public final class HealthChecks {

  /** The outcome of {@code /health}: etcd's JSON fields. */
  public record Health(boolean healthy, String reason) {}

  /** The key etcd's health check reads (a single key: empty range end). */
  private static final byte[] HEALTH_KEY = "health".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  private final RaftGateway raft;
  private final MvccStore store;
  private final Supplier<List<String>> activeAlarms;
  private final AtomicLong successes = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();

  /**
   * @param activeAlarms names of the alarms raised on this cluster ({@code NOSPACE}, {@code CORRUPT})
   */
  public HealthChecks(RaftGateway raft, MvccStore store, Supplier<List<String>> activeAlarms) {
    this.raft = raft;
    this.store = store;
    this.activeAlarms = activeAlarms;
  }

  /** etcd's {@code /health?exclude=…&serializable=…}; counted in the health success/failure metrics. */
  public Health health(Set<String> excludedAlarms, boolean serializable) {
    Health h = check(excludedAlarms, serializable);
    (h.healthy() ? successes : failures).incrementAndGet();
    return h;
  }

  private Health check(Set<String> excludedAlarms, boolean serializable) {
    for (String alarm : activeAlarms.get()) {
      if (!excludedAlarms.contains(alarm)) {
        return new Health(false, "ALARM " + alarm);
      }
    }
    if (!serializable && raft.leaderId() == 0) {
      return new Health(false, "RAFT NO LEADER");
    }
    String error = serializable ? serializableRead() : linearizableRead();
    return error == null ? new Health(true, "") : new Health(false, "RANGE ERROR:" + error);
  }

  /** A local read of the store; null when it works, else the error text. */
  public String serializableRead() {
    try {
      store.currentRevision();
      store.range(HEALTH_KEY, new byte[0], 0, 1, true);
      return null;
    } catch (RuntimeException e) {
      return describe(e);
    }
  }

  /** A read that waits for a ReadIndex round; null when it works, else the error text. */
  public String linearizableRead() {
    try {
      raft.readBarrier().get(raft.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
      return serializableRead();
    } catch (TimeoutException e) {
      return EtcdError.TIMEOUT.message();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    } catch (ExecutionException | CompletionException e) {
      return describe(e.getCause() != null ? e.getCause() : e);
    }
  }

  /** etcd's {@code data_corruption} check: ready unless a CORRUPT alarm is raised. */
  public String dataCorruption() {
    return activeAlarms.get().contains("CORRUPT") ? "alarm activated: CORRUPT" : null;
  }

  public long successes() {
    return successes.get();
  }

  public long failures() {
    return failures.get();
  }

  private static String describe(Throwable e) {
    if (e instanceof EtcdException etcd) {
      return etcd.error().message();
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }
}
