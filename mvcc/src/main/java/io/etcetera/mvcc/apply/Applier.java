package io.etcetera.mvcc.apply;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.mvcc.alarm.AlarmStore;
import io.etcetera.mvcc.auth.AuthInfo;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.auth.TokenProvider;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.lease.Lessor;

/**
 * The apply step of the replicated state machine: one log entry ({@link InternalRaftRequest}) in,
 * its response (or an {@link io.etcetera.api.errors.EtcdException}, with nothing changed) out.
 * With auth enabled, every entry is checked first against the identity and auth revision its
 * header carries (as etcd's auth applier does), then dispatched to the auth, alarm, lease or
 * key-value applier; while a NOSPACE alarm is raised, requests that grow the store are refused.
 * Deterministic; apply thread only.
 */
public final class Applier {
  private final KvApplier kv;
  private final LeaseApplier leases;
  private final AuthApplier auth;
  private final PermissionChecks permissions;
  private final AlarmStore alarms;

  public Applier(MvccStore store, Lessor lessor, AuthStore authStore, TokenProvider tokens, AlarmStore alarms) {
    this.kv = new KvApplier(store, lessor::exists);
    this.leases = new LeaseApplier(store, lessor);
    this.auth = new AuthApplier(store, authStore, tokens);
    this.permissions = new PermissionChecks(authStore, lessor);
    this.alarms = alarms;
  }

  /** Applies the entry at log position {@code index}. */
  public Applied apply(ApplyBatch batch, InternalRaftRequest req, long index) {
    AuthInfo who = new AuthInfo(req.getHeader().getUsername(), req.getHeader().getAuthRevision());
    if (AuthApplier.isAuthRequest(req)) {
      return auth.apply(batch, req, who, index);
    }
    if (req.hasAlarm()) {
      return Applied.of(alarms.apply(batch, req.getAlarm()));
    }
    permissions.check(req, who);
    if (alarms.capped() && QuotaCost.of(req) > 0) {
      // etcd's capped applier while NOSPACE is raised: nothing that grows the store
      throw EtcdError.NO_SPACE.exception();
    }
    if (req.hasLeaseGrant()) {
      return leases.grant(batch, req.getLeaseGrant());
    }
    if (req.hasLeaseRevoke()) {
      return leases.revoke(batch, req.getLeaseRevoke());
    }
    return kv.apply(batch, req);
  }
}
