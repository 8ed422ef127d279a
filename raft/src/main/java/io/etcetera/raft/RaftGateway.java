package io.etcetera.raft;

import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.mvcc.apply.Applied;
import java.util.concurrent.CompletableFuture;

/**
 * The one way a write reaches the store: proposed as a log entry, applied by the single apply
 * thread in log order, answered when durable. The single-member log implements it now; the Ratis
 * cluster replaces it without changing the callers.
 */
public interface RaftGateway extends AutoCloseable {
  /**
   * Proposes {@code request}. The future completes with the applied result, or exceptionally with
   * an {@link io.etcetera.api.errors.EtcdException} for a client error (nothing was changed).
   */
  CompletableFuture<Applied> propose(InternalRaftRequest request);

  /** The current Raft term. */
  long term();

  /** The index of the last log entry applied to the store. */
  long appliedIndex();

  /** The index of the last committed log entry. */
  long committedIndex();

  @Override
  void close();
}
