package io.etcetera.mvcc.apply;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.CompactionRequest;
import io.etcetera.api.etcdserverpb.CompactionResponse;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.DeleteRangeResponse;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.PutResponse;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.etcdserverpb.ResponseOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.etcdserverpb.TxnResponse;
import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.mvcc.kv.RangeQuery;
import io.etcetera.mvcc.kv.RangeResult;
import io.etcetera.mvcc.kv.WriteTxn;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Applies the key-value requests of the log (Put, DeleteRange, Txn, Compaction) to the store, as
 * etcd's {@code applierV3backend}. Deterministic: the result depends only on the request and the
 * store. Every precondition is checked before the first change, so a request that fails (an
 * {@link io.etcetera.api.errors.EtcdException}) leaves the store untouched.
 *
 * <p>Threading: apply thread only.
 */
public final class KvApplier {
  private final MvccStore store;
  private final LeaseLookup leases;

  public KvApplier(MvccStore store, LeaseLookup leases) {
    this.store = store;
    this.leases = leases;
  }

  /** Applies one request into {@code batch}; throws an EtcdException for a client error. */
  public Applied apply(ApplyBatch batch, InternalRaftRequest req) {
    if (req.hasPut()) {
      return Applied.of(put(batch, req.getPut()));
    } else if (req.hasDeleteRange()) {
      return Applied.of(deleteRange(batch, req.getDeleteRange()));
    } else if (req.hasTxn()) {
      return Applied.of(txn(batch, req.getTxn()));
    } else if (req.hasCompaction()) {
      return compaction(batch, req.getCompaction());
    }
    throw new IllegalArgumentException("not a key-value request: " + req);
  }

  private PutResponse put(ApplyBatch batch, PutRequest p) {
    if (p.getLease() != 0 && !leases.exists(p.getLease())) {
      throw EtcdError.LEASE_NOT_FOUND.exception();
    }
    WriteTxn txn = store.write(batch);
    try {
      PutResponse r = put(txn, p);
      txn.end();
      return r;
    } catch (RuntimeException e) {
      txn.abort();
      throw e;
    }
  }

  private static PutResponse put(WriteTxn txn, PutRequest p) {
    PutResponse.Builder resp = PutResponse.newBuilder();
    var value = p.getValue();
    long lease = p.getLease();
    if (p.getIgnoreValue() || p.getIgnoreLease() || p.getPrevKv()) {
      RangeResult prev = txn.range(p.getKey().toByteArray(), new byte[0], 0, 0, false);
      KeyValue prevKv = prev.kvs().isEmpty() ? null : prev.kvs().get(0);
      if ((p.getIgnoreValue() || p.getIgnoreLease()) && prevKv == null) {
        throw EtcdError.KEY_NOT_FOUND.exception();
      }
      if (p.getIgnoreValue()) {
        value = prevKv.getValue();
      }
      if (p.getIgnoreLease()) {
        lease = prevKv.getLease();
      }
      if (p.getPrevKv() && prevKv != null) {
        resp.setPrevKv(prevKv);
      }
    }
    long rev = txn.put(p.getKey(), value, lease);
    return resp.setHeader(ResponseHeader.newBuilder().setRevision(rev)).build();
  }

  private DeleteRangeResponse deleteRange(ApplyBatch batch, DeleteRangeRequest d) {
    WriteTxn txn = store.write(batch);
    try {
      DeleteRangeResponse r = deleteRange(txn, d);
      txn.end();
      return r;
    } catch (RuntimeException e) {
      txn.abort();
      throw e;
    }
  }

  private static DeleteRangeResponse deleteRange(WriteTxn txn, DeleteRangeRequest d) {
    DeleteRangeResponse.Builder resp = DeleteRangeResponse.newBuilder();
    byte[] key = d.getKey().toByteArray();
    byte[] end = d.getRangeEnd().toByteArray();
    if (d.getPrevKv()) {
      resp.addAllPrevKvs(txn.range(key, end, 0, 0, false).kvs());
    }
    long n = txn.deleteRange(key, end);
    long rev = (n != 0 || !txn.changes().isEmpty()) ? txn.beginRevision() + 1 : txn.beginRevision();
    return resp.setDeleted(n).setHeader(ResponseHeader.newBuilder().setRevision(rev)).build();
  }

  private TxnResponse txn(ApplyBatch batch, TxnRequest rt) {
    WriteTxn txn = store.write(batch);
    try {
      List<Boolean> path = new ArrayList<>();
      compareToPath(txn, rt, path);
      if (!isReadOnly(rt)) {
        checkPuts(txn, rt, path, 0);
      }
      checkRanges(txn, rt, path, 0);
      TxnResponse.Builder resp = TxnResponse.newBuilder();
      // etcd checks the taken branches against the state before the txn and panics if an op still
      // fails (an ignore_value put after a delete of its key in the same txn); Etcetera refuses
      // the whole txn instead and leaves no trace of it
      applyTxn(txn, rt, path, new int[] {0}, resp);
      long rev = txn.end();
      return resp.setHeader(ResponseHeader.newBuilder().setRevision(rev)).build();
    } catch (RuntimeException e) {
      txn.abort();
      throw e;
    }
  }

  /** Evaluates the compares of {@code rt} and of every txn nested in its taken branch, depth first. */
  private static void compareToPath(WriteTxn txn, TxnRequest rt, List<Boolean> path) {
    boolean ok = true;
    for (Compare c : rt.getCompareList()) {
      if (!compare(txn, c)) {
        ok = false;
        break;
      }
    }
    path.add(ok);
    for (RequestOp op : ok ? rt.getSuccessList() : rt.getFailureList()) {
      if (op.hasRequestTxn()) {
        compareToPath(txn, op.getRequestTxn(), path);
      }
    }
  }

  private static boolean compare(WriteTxn txn, Compare c) {
    RangeResult rr;
    try {
      rr = txn.range(c.getKey().toByteArray(), c.getRangeEnd().toByteArray(), 0, 0, false);
    } catch (io.etcetera.api.errors.EtcdException e) {
      return false;
    }
    if (rr.kvs().isEmpty()) {
      if (c.getTarget() == Compare.CompareTarget.VALUE) {
        return false; // a missing key has no value to compare, not even an empty one
      }
      return compareKv(c, KeyValue.getDefaultInstance());
    }
    for (KeyValue kv : rr.kvs()) {
      if (!compareKv(c, kv)) {
        return false;
      }
    }
    return true;
  }

  static boolean compareKv(Compare c, KeyValue kv) {
    int result = switch (c.getTarget()) {
      case VALUE -> com.google.protobuf.ByteString.unsignedLexicographicalComparator()
          .compare(kv.getValue(), c.getValue());
      case CREATE -> Long.compare(kv.getCreateRevision(), c.getCreateRevision());
      case MOD -> Long.compare(kv.getModRevision(), c.getModRevision());
      case VERSION -> Long.compare(kv.getVersion(), c.getVersion());
      case LEASE -> Long.compare(kv.getLease(), c.getLease());
      default -> 0;
    };
    return switch (c.getResult()) {
      case EQUAL -> result == 0;
      case NOT_EQUAL -> result != 0;
      case GREATER -> result > 0;
      case LESS -> result < 0;
      default -> true;
    };
  }

  static boolean isReadOnly(TxnRequest rt) {
    for (List<RequestOp> ops : List.of(rt.getSuccessList(), rt.getFailureList())) {
      for (RequestOp op : ops) {
        if (op.hasRequestPut() || op.hasRequestDeleteRange()) {
          return false;
        }
        if (op.hasRequestTxn() && !isReadOnly(op.getRequestTxn())) {
          return false;
        }
      }
    }
    return true;
  }

  /** etcd's checkPut over the taken branches; returns how many path entries it consumed. */
  private int checkPuts(WriteTxn txn, TxnRequest rt, List<Boolean> path, int at) {
    int used = 1;
    for (RequestOp op : path.get(at) ? rt.getSuccessList() : rt.getFailureList()) {
      if (op.hasRequestPut()) {
        PutRequest p = op.getRequestPut();
        if (p.getIgnoreValue() || p.getIgnoreLease()) {
          if (txn.range(p.getKey().toByteArray(), new byte[0], 0, 0, false).kvs().isEmpty()) {
            throw EtcdError.KEY_NOT_FOUND.exception();
          }
        }
        if (p.getLease() != 0 && !leases.exists(p.getLease())) {
          throw EtcdError.LEASE_NOT_FOUND.exception();
        }
      } else if (op.hasRequestTxn()) {
        used += checkPuts(txn, op.getRequestTxn(), path, at + used);
      }
    }
    return used;
  }

  /** etcd's checkRange: a range at a future or compacted revision fails the whole txn. */
  private int checkRanges(WriteTxn txn, TxnRequest rt, List<Boolean> path, int at) {
    int used = 1;
    for (RequestOp op : path.get(at) ? rt.getSuccessList() : rt.getFailureList()) {
      if (op.hasRequestRange()) {
        long rev = op.getRequestRange().getRevision();
        if (rev == 0) {
          continue;
        }
        if (rev > txn.readRevision()) {
          throw EtcdError.FUTURE_REV.exception();
        }
        if (rev < store.writeCompactRevision()) {
          throw EtcdError.COMPACTED.exception();
        }
      } else if (op.hasRequestTxn()) {
        used += checkRanges(txn, op.getRequestTxn(), path, at + used);
      }
    }
    return used;
  }

  private void applyTxn(WriteTxn txn, TxnRequest rt, List<Boolean> path, int[] at, TxnResponse.Builder resp) {
    boolean ok = path.get(at[0]++);
    resp.setSucceeded(ok);
    for (RequestOp op : ok ? rt.getSuccessList() : rt.getFailureList()) {
      ResponseOp.Builder r = ResponseOp.newBuilder();
      switch (op.getRequestCase()) {
        case REQUEST_RANGE -> r.setResponseRange(RangeQuery.execute(txn::range, op.getRequestRange()));
        case REQUEST_PUT -> r.setResponsePut(put(txn, op.getRequestPut()));
        case REQUEST_DELETE_RANGE -> r.setResponseDeleteRange(deleteRange(txn, op.getRequestDeleteRange()));
        case REQUEST_TXN -> {
          TxnResponse.Builder nested = TxnResponse.newBuilder().setHeader(ResponseHeader.getDefaultInstance());
          applyTxn(txn, op.getRequestTxn(), path, at, nested);
          r.setResponseTxn(nested);
        }
        default -> { } // an empty op: etcd answers an empty response in its place
      }
      resp.addResponses(r);
    }
  }

  private Applied compaction(ApplyBatch batch, CompactionRequest c) {
    CompletableFuture<Void> done = store.compact(batch, c.getRevision());
    CompactionResponse resp = CompactionResponse.newBuilder()
        .setHeader(ResponseHeader.newBuilder().setRevision(store.writeRevision()))
        .build();
    return new Applied(resp, c.getPhysical() ? done : null);
  }
}
