package io.etcetera.mvcc.lease;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One granted lease: its ID and TTL (replicated state), the keys attached to it (replicated,
 * changed only by the apply thread), and its expiry deadline (local to this member, moved by
 * keep-alives; not replicated, as in etcd).
 *
 * <p>Threading: {@code keys} is a concurrent set written by the apply thread and read by any;
 * {@code deadline} is volatile; {@code revoked} completes on the apply thread.
 */
public final class Lease {
  private final long id;
  private final long ttl;
  private final Set<ByteString> keys = ConcurrentHashMap.newKeySet();
  private volatile long deadline;
  /** Nanos before which the expiry loop does not propose this lease's revocation again. */
  volatile long retryAfter;
  final CompletableFuture<Void> revoked = new CompletableFuture<>();

  Lease(long id, long ttl, long deadline) {
    this.id = id;
    this.ttl = ttl;
    this.deadline = deadline;
  }

  public long id() {
    return id;
  }

  /** The granted TTL in seconds. */
  public long ttl() {
    return ttl;
  }

  long deadline() {
    return deadline;
  }

  void refresh(long now) {
    deadline = now + ttl * 1_000_000_000L;
  }

  void forever() {
    deadline = Long.MAX_VALUE;
  }

  void attach(ByteString key) {
    keys.add(key);
  }

  void detach(ByteString key) {
    keys.remove(key);
  }

  /** The attached keys, sorted (etcd deletes them in this order on revoke). */
  public List<ByteString> keys() {
    List<ByteString> out = new ArrayList<>(keys);
    out.sort(ByteString.unsignedLexicographicalComparator());
    return out;
  }

  /** Completes when the lease has been revoked (by a client or by expiry). */
  public CompletableFuture<Void> whenRevoked() {
    return revoked;
  }
}
