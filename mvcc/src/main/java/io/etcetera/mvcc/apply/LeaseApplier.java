package io.etcetera.mvcc.apply;

import com.google.protobuf.ByteString;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.LeaseGrantRequest;
import io.etcetera.api.etcdserverpb.LeaseGrantResponse;
import io.etcetera.api.etcdserverpb.LeaseRevokeRequest;
import io.etcetera.api.etcdserverpb.LeaseRevokeResponse;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.kv.WriteTxn;
import io.etcetera.mvcc.lease.Lease;
import io.etcetera.mvcc.lease.Lessor;

/**
 * Applies LeaseGrant and LeaseRevoke, as etcd's applier and lessor: a grant persists the lease; a
 * revoke deletes its keys in sorted order in one revision (one DELETE event each) and the lease
 * row in the same batch. Deterministic; apply thread only.
 */
public final class LeaseApplier {
  private final MvccStore store;
  private final Lessor lessor;

  public LeaseApplier(MvccStore store, Lessor lessor) {
    this.store = store;
    this.lessor = lessor;
  }

  Applied grant(ApplyBatch batch, LeaseGrantRequest r) {
    Lease l = lessor.grant(writes(batch), r.getID(), r.getTTL());
    return Applied.of(LeaseGrantResponse.newBuilder()
        .setHeader(ResponseHeader.newBuilder().setRevision(store.writeRevision()))
        .setID(l.id())
        .setTTL(l.ttl())
        .build());
  }

  Applied revoke(ApplyBatch batch, LeaseRevokeRequest r) {
    Lease l = lessor.lookup(r.getID());
    if (l == null) {
      throw EtcdError.LEASE_NOT_FOUND.exception();
    }
    WriteTxn txn = store.write(batch);
    try {
      for (ByteString key : l.keys()) {
        txn.deleteRange(key.toByteArray(), new byte[0]);
      }
      lessor.remove(writes(batch), l.id());
      txn.end();
    } catch (RuntimeException e) {
      txn.abort();
      throw e;
    }
    return Applied.of(LeaseRevokeResponse.newBuilder()
        .setHeader(ResponseHeader.newBuilder().setRevision(store.writeRevision()))
        .build());
  }

  private Lessor.LeaseWrites writes(ApplyBatch batch) {
    return new Lessor.LeaseWrites() {
      @Override
      public void put(byte[] key, byte[] value) {
        store.stage(batch, store.backend().lease(), key, value);
      }

      @Override
      public void delete(byte[] key) {
        store.stage(batch, store.backend().lease(), key, null);
      }

      @Override
      public void afterCommit(Runnable r) {
        batch.afterCommit(r);
      }
    };
  }
}
