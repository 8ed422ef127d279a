package io.etcetera.mvcc.apply;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.mvcc.auth.AuthInfo;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.lease.Lease;
import io.etcetera.mvcc.lease.Lessor;

/**
 * etcd's auth applier checks on key-value and lease entries, made at apply against the identity
 * and auth revision in the entry's header: a put needs write on its key (and read with prev_kv,
 * and write on every key of the lease it attaches to); a delete needs write on its range; a txn
 * needs read on its compares and the rights of every op of both branches (nested txns included);
 * a lease revoke needs write on every key attached. Stateless apart from its wiring.
 */
final class PermissionChecks {
  private static final ByteString NONE = ByteString.EMPTY;

  private final AuthStore auth;
  private final Lessor lessor;

  PermissionChecks(AuthStore auth, Lessor lessor) {
    this.auth = auth;
    this.lessor = lessor;
  }

  void check(InternalRaftRequest r, AuthInfo who) {
    if (!auth.isEnabled()) {
      return;
    }
    if (r.hasPut()) {
      put(r.getPut(), who);
    } else if (r.hasDeleteRange()) {
      delete(r.getDeleteRange(), who);
    } else if (r.hasTxn()) {
      txn(r.getTxn(), who);
    } else if (r.hasLeaseRevoke()) {
      leaseKeys(r.getLeaseRevoke().getID(), who);
    }
  }

  private void put(PutRequest p, AuthInfo who) {
    auth.checkWrite(who, p.getKey(), NONE);
    leaseKeys(p.getLease(), who);
    if (p.getPrevKv()) {
      auth.checkRead(who, p.getKey(), NONE);
    }
  }

  private void delete(DeleteRangeRequest d, AuthInfo who) {
    auth.checkWrite(who, d.getKey(), d.getRangeEnd());
    if (d.getPrevKv()) {
      auth.checkRead(who, d.getKey(), d.getRangeEnd());
    }
  }

  private void txn(TxnRequest t, AuthInfo who) {
    for (Compare c : t.getCompareList()) {
      auth.checkRead(who, c.getKey(), c.getRangeEnd());
    }
    ops(t.getSuccessList(), who);
    ops(t.getFailureList(), who);
  }

  private void ops(java.util.List<RequestOp> ops, AuthInfo who) {
    for (RequestOp op : ops) {
      switch (op.getRequestCase()) {
        case REQUEST_RANGE -> auth.checkRead(who, op.getRequestRange().getKey(), op.getRequestRange().getRangeEnd());
        case REQUEST_PUT -> put(op.getRequestPut(), who);
        case REQUEST_DELETE_RANGE -> delete(op.getRequestDeleteRange(), who);
        case REQUEST_TXN -> txn(op.getRequestTxn(), who);
        default -> { }
      }
    }
  }

  private void leaseKeys(long leaseId, AuthInfo who) {
    if (leaseId == 0) {
      return;
    }
    Lease l = lessor.lookup(leaseId);
    if (l != null) {
      for (ByteString k : l.keys()) {
        auth.checkWrite(who, k, NONE);
      }
    }
  }
}
