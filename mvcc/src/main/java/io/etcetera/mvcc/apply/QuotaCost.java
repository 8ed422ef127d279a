package io.etcetera.mvcc.apply;

import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import java.util.List;

/**
 * etcd's quota cost of a request, the bytes it may add to the store: a put costs its key and value
 * plus 256 bytes of overhead; a transaction the larger of its branches' top-level puts (nested
 * transactions are not counted, as in etcd); a lease grant 64 bytes; everything else nothing.
 * Used before proposing (the space quota) and at apply (the NOSPACE cap). Stateless.
 */
public final class QuotaCost {
  private static final int KV_OVERHEAD = 256;
  private static final int LEASE_OVERHEAD = 64;

  private QuotaCost() {}

  public static long of(InternalRaftRequest req) {
    if (req.hasPut()) {
      return of(req.getPut());
    }
    if (req.hasTxn()) {
      return of(req.getTxn());
    }
    return req.hasLeaseGrant() ? LEASE_OVERHEAD : 0;
  }

  public static long of(PutRequest p) {
    return KV_OVERHEAD + p.getKey().size() + p.getValue().size();
  }

  public static long of(TxnRequest t) {
    return Math.max(puts(t.getSuccessList()), puts(t.getFailureList()));
  }

  public static long leaseGrant() {
    return LEASE_OVERHEAD;
  }

  private static long puts(List<RequestOp> ops) {
    long sum = 0;
    for (RequestOp op : ops) {
      if (op.hasRequestPut()) {
        sum += of(op.getRequestPut());
      }
    }
    return sum;
  }
}
