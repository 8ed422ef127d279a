package io.etcetera.server.grpc;

import io.etcetera.api.etcdserverpb.AlarmRequest;
import io.etcetera.api.etcdserverpb.AlarmType;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.mvcc.auth.AuthInfo;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's backend space quota ({@code --quota-backend-bytes}), checked before a put, a transaction
 * or a lease grant is proposed: when the store's size on disk plus the request's cost
 * ({@link io.etcetera.mvcc.apply.QuotaCost}) would reach the quota, the request fails with
 * "etcdserver: mvcc: database space exceeded" and this member raises a NOSPACE alarm through the
 * log, which caps every member until an operator disarms it ({@code etcdctl alarm disarm}), as
 * etcd does. A quota of 0 means etcd's default of 2 GiB; a negative one turns the check off.
 *
 * <p>Threading: called on gRPC transport and executor threads. The size is read from the disk at
 * most every 100 ms (a directory listing; volatile cache), so a check costs a comparison.
 */
public final class SpaceQuota {
  private static final Logger log = LoggerFactory.getLogger(SpaceQuota.class);
  /** etcd's DefaultQuotaBytes. */
  public static final long DEFAULT_BYTES = 2L * 1024 * 1024 * 1024;
  private static final long REFRESH_NANOS = 100_000_000L;

  private final long quotaBytes;
  private final LongSupplier sizeOnDisk;
  private final Proposer proposer;
  private final long memberId;
  private volatile long cachedSize = -1;
  private volatile long cachedAt;

  public SpaceQuota(long configuredBytes, LongSupplier sizeOnDisk, Proposer proposer, long memberId) {
    this.quotaBytes = configuredBytes == 0 ? DEFAULT_BYTES : configuredBytes;
    this.sizeOnDisk = sizeOnDisk;
    this.proposer = proposer;
    this.memberId = memberId;
  }

  /** The quota in force, as etcd's {@code etcd_server_quota_backend_bytes} shows it (0 when disabled). */
  public long quotaBytes() {
    return Math.max(0, quotaBytes);
  }

  /** Throws etcd's NO_SPACE (after raising the alarm) when a request of {@code cost} does not fit. */
  public void check(long cost) {
    if (quotaBytes < 0 || cost == 0 || size() + cost < quotaBytes) {
      return;
    }
    proposer.proposeAs(InternalRaftRequest.newBuilder().setAlarm(AlarmRequest.newBuilder()
            .setAction(AlarmRequest.AlarmAction.ACTIVATE).setMemberID(memberId).setAlarm(AlarmType.NOSPACE)),
        AuthInfo.NONE).whenComplete((a, t) -> {
          if (t != null) {
            log.warn("raising the NOSPACE alarm failed: {}", t.toString());
          }
        });
    throw EtcdError.NO_SPACE.exception();
  }

  private long size() {
    long now = System.nanoTime();
    if (cachedSize < 0 || now - cachedAt > REFRESH_NANOS) {
      cachedSize = sizeOnDisk.getAsLong();
      cachedAt = now;
    }
    return cachedSize;
  }
}
