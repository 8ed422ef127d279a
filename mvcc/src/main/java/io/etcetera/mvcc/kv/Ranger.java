package io.etcetera.mvcc.kv;

/** A view that answers etcd's low-level range: durable state, or a write txn in progress. */
@FunctionalInterface
public interface Ranger {
  RangeResult range(byte[] key, byte[] end, long rev, long limit, boolean countOnly);
}
