package io.etcetera.mvcc.apply;

import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.mvcc.kv.ApplyBatch;

/**
 * The apply step of the replicated state machine: one log entry ({@link InternalRaftRequest}) in,
 * its response (or an {@link io.etcetera.api.errors.EtcdException}, with nothing changed) out.
 * Dispatches to the key-value and lease appliers. Deterministic; apply thread only.
 */
public final class Applier {
  private final KvApplier kv;
  private final LeaseApplier leases;

  public Applier(KvApplier kv, LeaseApplier leases) {
    this.kv = kv;
    this.leases = leases;
  }

  public Applied apply(ApplyBatch batch, InternalRaftRequest req) {
    if (req.hasLeaseGrant()) {
      return leases.grant(batch, req.getLeaseGrant());
    }
    if (req.hasLeaseRevoke()) {
      return leases.revoke(batch, req.getLeaseRevoke());
    }
    return kv.apply(batch, req);
  }
}
