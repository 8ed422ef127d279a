package io.etcetera.server.snapshot;

import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.bolt.BoltWriter;
import io.etcetera.mvcc.snapshot.EtcdDbExport;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A member's state seen as etcd's backend database: the store's buckets and the membership
 * buckets, from one consistent point each time. What Maintenance.Snapshot sends and
 * Maintenance.Hash hashes. Any thread.
 */
public final class EtcdDbView {
  private final Backend backend;
  private final Supplier<Map<String, List<EtcdDbExport.Row>>> membership;

  public EtcdDbView(Backend backend, Supplier<Map<String, List<EtcdDbExport.Row>>> membership) {
    this.backend = backend;
    this.membership = membership;
  }

  /** Writes the database to {@code out} and finishes it; returns its size. */
  long writeTo(BoltWriter out) throws IOException {
    return EtcdDbExport.write(backend, out, membership.get());
  }

  /** etcd's Maintenance.Hash of the database, with the revision it was taken at. */
  public EtcdDbExport.Hash hash() throws IOException {
    return EtcdDbExport.hash(backend, membership.get());
  }
}
