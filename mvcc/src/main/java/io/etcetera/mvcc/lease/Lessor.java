package io.etcetera.mvcc.lease;

import com.google.protobuf.ByteString;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.mvcc.backend.Backend;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.rocksdb.RocksIterator;

/**
 * The leases of the store, as etcd's lessor: grant and revoke are replicated (applied by the
 * apply thread, persisted in the {@code lease} column family in the request's write batch); the
 * expiry deadlines are local time, counted only where {@link #isPrimary() primary} (the leader),
 * moved by keep-alives, and extended to a full TTL when a member becomes primary (after a
 * restart or a leader change) so that no lease expires en masse.
 *
 * <p>Threading: the apply thread is the only one to grant, revoke, attach and detach; gRPC
 * threads renew and read; the expiry loop reads {@link #expired}. The lease map is concurrent,
 * and each {@link Lease} documents its own fields.
 */
public final class Lessor {
  /** etcd's largest TTL, in seconds. */
  public static final long MAX_TTL = 9_000_000_000L;
  /** How long the expiry loop waits before proposing the revocation of the same lease again. */
  private static final long RETRY_NANOS = 3_000_000_000L;

  private final Map<Long, Lease> leases = new ConcurrentHashMap<>();
  private final Ticker ticker;
  private final long minTtl;
  private volatile boolean primary;
  /** Completes when this member stops being primary; replaced at each promotion. */
  private volatile CompletableFuture<Void> demotion = new CompletableFuture<>();

  /**
   * @param minTtl the smallest TTL granted, in seconds (etcd: 1.5 election timeouts, rounded up)
   */
  public Lessor(Ticker ticker, long minTtl) {
    this.ticker = ticker;
    this.minTtl = minTtl;
  }

  /**
   * Apply thread, after a snapshot was installed: forgets every lease and loads those of the new
   * state (the store then attaches their keys again). A primary gives each a full TTL.
   */
  public void reload(Backend backend) {
    leases.clear();
    recover(backend);
    if (primary) {
      long now = ticker.nanos();
      for (Lease l : leases.values()) {
        l.refresh(now);
      }
    }
  }

  /** Loads the persisted leases; their deadlines start when the member becomes primary. */
  public void recover(Backend backend) {
    try (RocksIterator it = backend.leaseIterator()) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        long id = ByteBuffer.wrap(it.key()).getLong();
        long ttl = ByteBuffer.wrap(it.value()).getLong();
        leases.put(id, new Lease(id, ttl, Long.MAX_VALUE));
      }
    }
  }

  public boolean exists(long id) {
    return leases.containsKey(id);
  }

  public Lease lookup(long id) {
    return leases.get(id);
  }

  // --- apply thread ---

  /** Grants lease {@code id}; its row goes into {@code writes}. */
  public Lease grant(LeaseWrites writes, long id, long requestedTtl) {
    if (id == 0) {
      throw EtcdError.LEASE_NOT_FOUND.exception();
    }
    if (requestedTtl > MAX_TTL) {
      throw EtcdError.LEASE_TTL_TOO_LARGE.exception();
    }
    if (leases.containsKey(id)) {
      throw EtcdError.LEASE_EXIST.exception();
    }
    long ttl = Math.max(requestedTtl, minTtl);
    Lease l = new Lease(id, ttl, Long.MAX_VALUE);
    if (primary) {
      l.refresh(ticker.nanos());
    }
    writes.put(key(id), rowValue(ttl));
    leases.put(id, l);
    return l;
  }

  /**
   * Removes lease {@code id} (its keys must already be deleted by the caller, in the same batch);
   * {@link Lease#whenRevoked()} completes once the batch is durable.
   */
  public Lease remove(LeaseWrites writes, long id) {
    Lease l = leases.remove(id);
    if (l == null) {
      throw EtcdError.LEASE_NOT_FOUND.exception();
    }
    writes.delete(key(id));
    writes.afterCommit(() -> l.revoked.complete(null));
    return l;
  }

  public void attach(long id, ByteString key) {
    Lease l = leases.get(id);
    if (l != null) {
      l.attach(key);
    }
  }

  public void detach(long id, ByteString key) {
    Lease l = leases.get(id);
    if (l != null) {
      l.detach(key);
    }
  }

  // --- any thread ---

  /**
   * Keep-alive: restarts the lease's countdown and returns its TTL; -1 when the lease does not
   * exist. An expired lease is being revoked: the answer waits for that, then says -1, as etcd's.
   */
  public CompletableFuture<Long> renew(long id) {
    Lease l = leases.get(id);
    if (l == null) {
      return CompletableFuture.completedFuture(-1L);
    }
    if (!primary) {
      // only the primary counts time; etcd answers ErrNotPrimary and the keep-alive goes to the leader
      return CompletableFuture.failedFuture(EtcdError.NOT_LEADER.exception());
    }
    long now = ticker.nanos();
    if (l.deadline() <= now) {
      // being revoked: answer once it is gone, or once this member is no longer primary
      CompletableFuture<Long> r = new CompletableFuture<>();
      l.revoked.thenRun(() -> r.complete(-1L));
      demotion.thenRun(() -> r.completeExceptionally(EtcdError.NOT_LEADER.exception()));
      return r;
    }
    l.refresh(now);
    return CompletableFuture.completedFuture(l.ttl());
  }

  /** Seconds left before {@code l} expires, truncated as etcd's; its full TTL where not primary. */
  public long remainingSeconds(Lease l) {
    long d = l.deadline();
    if (d == Long.MAX_VALUE) {
      return l.ttl();
    }
    return Math.max(0, (d - ticker.nanos()) / 1_000_000_000L);
  }

  /** Every lease, soonest expiry first. */
  public List<Lease> leases() {
    List<Lease> out = new ArrayList<>(leases.values());
    out.sort(Comparator.comparingLong(Lease::deadline).thenComparingLong(Lease::id));
    return out;
  }

  /**
   * The leases whose time is up and whose revocation is not already being proposed, at most
   * {@code max}; each is then left alone for a few seconds while its revocation goes through.
   */
  public List<Long> expired(int max) {
    if (!primary) {
      return List.of();
    }
    long now = ticker.nanos();
    List<Long> out = new ArrayList<>();
    for (Lease l : leases.values()) {
      if (l.deadline() <= now && l.retryAfter <= now) {
        l.retryAfter = now + RETRY_NANOS;
        out.add(l.id());
        if (out.size() >= max) {
          break;
        }
      }
    }
    out.sort(null);
    return out;
  }

  /** This member now counts expiry: every lease gets a full TTL from now, as etcd's Promote. */
  public void promote() {
    long now = ticker.nanos();
    for (Lease l : leases.values()) {
      l.refresh(now);
    }
    demotion = new CompletableFuture<>();
    primary = true;
  }

  /** This member no longer counts expiry (a follower): deadlines are suspended. */
  public void demote() {
    primary = false;
    for (Lease l : leases.values()) {
      l.forever();
      l.retryAfter = 0;
    }
    demotion.complete(null);
  }

  public boolean isPrimary() {
    return primary;
  }

  /** The lease row key of lease {@code id}: its ID, 8 bytes big-endian (etcd's key too). */
  public static byte[] key(long id) {
    return ByteBuffer.allocate(8).putLong(id).array();
  }

  /** The lease row value: the granted TTL in seconds, 8 bytes big-endian. */
  public static byte[] rowValue(long ttl) {
    return ByteBuffer.allocate(8).putLong(ttl).array();
  }

  /** Where the lessor stages its rows: the apply batch of the request being applied. */
  public interface LeaseWrites {
    void put(byte[] key, byte[] value);

    void delete(byte[] key);

    void afterCommit(Runnable r);
  }
}
