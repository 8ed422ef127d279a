package io.etcetera.server.lease;

import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.LeaseRevokeRequest;
import io.etcetera.mvcc.lease.Lessor;
import io.etcetera.server.grpc.Proposer;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Revokes expired leases, as etcd's leader does: every 500 ms it asks the lessor (which counts
 * time only where primary) for expired leases and proposes their revocation through the log, so
 * every member deletes their keys at the same revision. At most 500 revocations per round, as
 * etcd's revoke rate limit.
 *
 * <p>Threading: one scheduled daemon thread "lease-expiry".
 */
public final class LeaseExpiry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseExpiry.class);
  private static final int MAX_PER_ROUND = 500;

  private final Lessor lessor;
  private final Proposer proposer;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "lease-expiry");
    t.setDaemon(true);
    return t;
  });

  private final io.etcetera.mvcc.auth.AuthStore auth;

  public LeaseExpiry(Lessor lessor, Proposer proposer, io.etcetera.mvcc.auth.AuthStore auth) {
    this.lessor = lessor;
    this.proposer = proposer;
    this.auth = auth;
  }

  public void start() {
    timer.scheduleWithFixedDelay(this::round, 500, 500, TimeUnit.MILLISECONDS);
  }

  private void round() {
    try {
      List<Long> expired = lessor.expired(MAX_PER_ROUND);
      for (long id : expired) {
        // as etcd, the expiry revokes with root's rights
        proposer.proposeAs(InternalRaftRequest.newBuilder()
                .setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(id)),
                new io.etcetera.mvcc.auth.AuthInfo("root", auth.revision()))
            .whenComplete((a, t) -> {
              if (t != null) {
                log.debug("revoking expired lease {} failed (retried later): {}", Long.toHexString(id), t.toString());
              }
            });
      }
    } catch (RuntimeException e) {
      log.warn("lease expiry round failed", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
