package io.etcetera.mvcc.apply;

/** Whether a lease exists: consulted before a put attaches a key to it. */
@FunctionalInterface
public interface LeaseLookup {
  /** Until the lease service lands, no lease exists, and a put with a lease fails as in etcd. */
  LeaseLookup NONE = id -> false;

  boolean exists(long leaseId);
}
