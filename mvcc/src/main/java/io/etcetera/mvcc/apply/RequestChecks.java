package io.etcetera.mvcc.apply;

import com.google.protobuf.ByteString;
import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The checks etcd makes on a request before it is proposed (etcd's v3rpc {@code key.go}): empty
 * keys, put flags that contradict each other, too many txn ops, and puts that overlap other puts
 * or deletes of the same txn. Stateless; each check throws an EtcdException.
 */
public final class RequestChecks {
  private static final java.util.Comparator<ByteString> ORDER = ByteString.unsignedLexicographicalComparator();

  private RequestChecks() {}

  public static void checkRange(RangeRequest r) {
    if (r.getKey().isEmpty()) {
      throw EtcdError.EMPTY_KEY.exception();
    }
  }

  public static void checkPut(PutRequest r) {
    if (r.getKey().isEmpty()) {
      throw EtcdError.EMPTY_KEY.exception();
    }
    if (r.getIgnoreValue() && !r.getValue().isEmpty()) {
      throw EtcdError.VALUE_PROVIDED.exception();
    }
    if (r.getIgnoreLease() && r.getLease() != 0) {
      throw EtcdError.LEASE_PROVIDED.exception();
    }
  }

  public static void checkDelete(DeleteRangeRequest r) {
    if (r.getKey().isEmpty()) {
      throw EtcdError.EMPTY_KEY.exception();
    }
  }

  /** etcd's checkTxnRequest followed by its overlap check of both branches. */
  public static void checkTxn(TxnRequest r, int maxTxnOps) {
    checkTxnOps(r, maxTxnOps);
    checkIntervals(r.getSuccessList());
    checkIntervals(r.getFailureList());
  }

  private static void checkTxnOps(TxnRequest r, int maxTxnOps) {
    int opc = Math.max(r.getCompareCount(), Math.max(r.getSuccessCount(), r.getFailureCount()));
    if (opc > maxTxnOps) {
      throw EtcdError.TOO_MANY_TXN_OPS.exception();
    }
    for (Compare c : r.getCompareList()) {
      if (c.getKey().isEmpty()) {
        throw EtcdError.EMPTY_KEY.exception();
      }
    }
    for (RequestOp op : r.getSuccessList()) {
      checkOp(op, maxTxnOps - opc);
    }
    for (RequestOp op : r.getFailureList()) {
      checkOp(op, maxTxnOps - opc);
    }
  }

  private static void checkOp(RequestOp op, int maxTxnOps) {
    switch (op.getRequestCase()) {
      case REQUEST_RANGE -> checkRange(op.getRequestRange());
      case REQUEST_PUT -> checkPut(op.getRequestPut());
      case REQUEST_DELETE_RANGE -> checkDelete(op.getRequestDeleteRange());
      case REQUEST_TXN -> checkTxnOps(op.getRequestTxn(), maxTxnOps);
      default -> throw EtcdError.KEY_NOT_FOUND.exception(); // an empty op, as etcd answers it
    }
  }

  /** A delete's key interval [begin, end), or the single key begin when end is empty. */
  private record Interval(ByteString begin, ByteString end) {
    boolean contains(ByteString k) {
      if (end.isEmpty()) {
        return begin.equals(k);
      }
      return ORDER.compare(begin, k) <= 0 && ORDER.compare(k, end) < 0;
    }
  }

  private record Writes(Set<ByteString> puts, List<Interval> dels) {
    boolean deletes(ByteString k) {
      for (Interval i : dels) {
        if (i.contains(k)) {
          return true;
        }
      }
      return false;
    }
  }

  /** Puts of one level must not repeat a key nor fall in a delete of the same level or below. */
  private static Writes checkIntervals(List<RequestOp> ops) {
    List<Interval> dels = new ArrayList<>();
    for (RequestOp op : ops) {
      if (op.hasRequestDeleteRange()) {
        DeleteRangeRequest d = op.getRequestDeleteRange();
        dels.add(new Interval(d.getKey(), d.getRangeEnd()));
      }
    }
    Writes w = new Writes(new HashSet<>(), dels);
    for (RequestOp op : ops) {
      if (!op.hasRequestTxn()) {
        continue;
      }
      Writes then = checkIntervals(op.getRequestTxn().getSuccessList());
      Writes otherwise = checkIntervals(op.getRequestTxn().getFailureList());
      for (ByteString k : then.puts()) {
        if (w.puts().contains(k) || w.deletes(k)) {
          throw EtcdError.DUPLICATE_KEY.exception();
        }
        w.puts().add(k);
      }
      for (ByteString k : otherwise.puts()) {
        if (w.puts().contains(k) && !then.puts().contains(k)) {
          throw EtcdError.DUPLICATE_KEY.exception();
        }
        if (w.deletes(k)) {
          throw EtcdError.DUPLICATE_KEY.exception();
        }
        w.puts().add(k);
      }
      dels.addAll(then.dels());
      dels.addAll(otherwise.dels());
    }
    for (RequestOp op : ops) {
      if (!op.hasRequestPut()) {
        continue;
      }
      ByteString k = op.getRequestPut().getKey();
      if (w.puts().contains(k) || w.deletes(k)) {
        throw EtcdError.DUPLICATE_KEY.exception();
      }
      w.puts().add(k);
    }
    return w;
  }
}
