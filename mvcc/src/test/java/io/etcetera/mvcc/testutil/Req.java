package io.etcetera.mvcc.testutil;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.Compare;
import io.etcetera.api.etcdserverpb.DeleteRangeRequest;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.PutRequest;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.RequestOp;
import io.etcetera.api.etcdserverpb.TxnRequest;
import io.etcetera.api.mvccpb.KeyValue;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Short builders for etcd requests in tests. */
public final class Req {
  private Req() {}

  public static ByteString bs(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  public static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  public static String str(ByteString b) {
    return b.toString(StandardCharsets.UTF_8);
  }

  /** etcd's prefix end: the prefix with its last byte incremented. */
  public static String prefixEnd(String prefix) {
    char[] c = prefix.toCharArray();
    c[c.length - 1]++;
    return new String(c);
  }

  public static PutRequest put(String key, String value) {
    return PutRequest.newBuilder().setKey(bs(key)).setValue(bs(value)).build();
  }

  public static PutRequest.Builder putBuilder(String key) {
    return PutRequest.newBuilder().setKey(bs(key));
  }

  public static DeleteRangeRequest delete(String key) {
    return DeleteRangeRequest.newBuilder().setKey(bs(key)).build();
  }

  public static DeleteRangeRequest delete(String key, String end) {
    return DeleteRangeRequest.newBuilder().setKey(bs(key)).setRangeEnd(bs(end)).build();
  }

  public static RangeRequest.Builder range(String key) {
    return RangeRequest.newBuilder().setKey(bs(key));
  }

  public static RangeRequest.Builder range(String key, String end) {
    return RangeRequest.newBuilder().setKey(bs(key)).setRangeEnd(bs(end));
  }

  /** Every key: key "\0", range_end "\0". */
  public static RangeRequest.Builder all() {
    return range("\0", "\0");
  }

  public static RequestOp op(PutRequest p) {
    return RequestOp.newBuilder().setRequestPut(p).build();
  }

  public static RequestOp op(DeleteRangeRequest d) {
    return RequestOp.newBuilder().setRequestDeleteRange(d).build();
  }

  public static RequestOp op(RangeRequest r) {
    return RequestOp.newBuilder().setRequestRange(r).build();
  }

  public static RequestOp op(RangeRequest.Builder r) {
    return op(r.build());
  }

  public static RequestOp op(TxnRequest t) {
    return RequestOp.newBuilder().setRequestTxn(t).build();
  }

  public static TxnRequest.Builder txn() {
    return TxnRequest.newBuilder();
  }

  public static InternalRaftRequest raft(PutRequest p) {
    return InternalRaftRequest.newBuilder().setPut(p).build();
  }

  public static InternalRaftRequest raft(DeleteRangeRequest d) {
    return InternalRaftRequest.newBuilder().setDeleteRange(d).build();
  }

  public static InternalRaftRequest raft(TxnRequest t) {
    return InternalRaftRequest.newBuilder().setTxn(t).build();
  }

  public static Compare.Builder cmp(String key, Compare.CompareTarget target, Compare.CompareResult result) {
    return Compare.newBuilder().setKey(bs(key)).setTarget(target).setResult(result);
  }

  public static Compare version(String key, Compare.CompareResult result, long v) {
    return cmp(key, Compare.CompareTarget.VERSION, result).setVersion(v).build();
  }

  public static Compare value(String key, Compare.CompareResult result, String v) {
    return cmp(key, Compare.CompareTarget.VALUE, result).setValue(bs(v)).build();
  }

  public static Compare mod(String key, Compare.CompareResult result, long rev) {
    return cmp(key, Compare.CompareTarget.MOD, result).setModRevision(rev).build();
  }

  public static Compare create(String key, Compare.CompareResult result, long rev) {
    return cmp(key, Compare.CompareTarget.CREATE, result).setCreateRevision(rev).build();
  }

  /** The keys of a range response, in order, as strings. */
  public static List<String> keys(RangeResponse r) {
    List<String> out = new ArrayList<>();
    for (KeyValue kv : r.getKvsList()) {
      out.add(str(kv.getKey()));
    }
    return out;
  }

  public static KeyValue kv(String key, String value, long create, long mod, long version) {
    return KeyValue.newBuilder().setKey(bs(key)).setValue(bs(value))
        .setCreateRevision(create).setModRevision(mod).setVersion(version).build();
  }
}
