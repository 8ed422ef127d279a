package io.etcetera.mvcc.kv;

import com.google.protobuf.ByteString;
import io.etcetera.api.etcdserverpb.RangeRequest;
import io.etcetera.api.etcdserverpb.RangeResponse;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.mvccpb.KeyValue;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A {@link RangeRequest} answered over a {@link Ranger}, with etcd's rules: the limit is pushed
 * down to the index only when nothing has to be sorted or filtered afterwards (one extra key is
 * read to set {@code more}); {@code count} is every key of the range at the revision; filters on
 * create/mod revisions, then sorting (a non-key target sorts ascending by default), then the limit.
 * Stateless.
 */
public final class RangeQuery {
  private static final Comparator<ByteString> BYTES = ByteString.unsignedLexicographicalComparator();

  private RangeQuery() {}

  public static RangeResponse execute(Ranger ranger, RangeRequest r) {
    long limit = r.getLimit();
    boolean postProcess = r.getSortOrder() != RangeRequest.SortOrder.NONE
        || r.getMinModRevision() != 0 || r.getMaxModRevision() != 0
        || r.getMinCreateRevision() != 0 || r.getMaxCreateRevision() != 0;
    if (postProcess) {
      limit = 0;
    }
    if (limit > 0) {
      limit++;
    }
    RangeResult rr = ranger.range(r.getKey().toByteArray(), r.getRangeEnd().toByteArray(),
        r.getRevision(), limit, r.getCountOnly());
    List<KeyValue> kvs = rr.kvs();
    if (postProcess) {
      kvs = new ArrayList<>(kvs);
      if (r.getMaxModRevision() != 0) {
        kvs.removeIf(kv -> kv.getModRevision() > r.getMaxModRevision());
      }
      if (r.getMinModRevision() != 0) {
        kvs.removeIf(kv -> kv.getModRevision() < r.getMinModRevision());
      }
      if (r.getMaxCreateRevision() != 0) {
        kvs.removeIf(kv -> kv.getCreateRevision() > r.getMaxCreateRevision());
      }
      if (r.getMinCreateRevision() != 0) {
        kvs.removeIf(kv -> kv.getCreateRevision() < r.getMinCreateRevision());
      }
    }
    RangeRequest.SortOrder order = r.getSortOrder();
    if (r.getSortTarget() != RangeRequest.SortTarget.KEY && order == RangeRequest.SortOrder.NONE) {
      order = RangeRequest.SortOrder.ASCEND;
    }
    if (order == RangeRequest.SortOrder.ASCEND || order == RangeRequest.SortOrder.DESCEND) {
      Comparator<KeyValue> c = comparator(r.getSortTarget());
      if (order == RangeRequest.SortOrder.DESCEND) {
        c = c.reversed();
      }
      if (!(kvs instanceof ArrayList)) {
        kvs = new ArrayList<>(kvs);
      }
      kvs.sort(c);
    }
    boolean more = false;
    if (r.getLimit() > 0 && kvs.size() > r.getLimit()) {
      kvs = kvs.subList(0, (int) r.getLimit());
      more = true;
    }
    RangeResponse.Builder b = RangeResponse.newBuilder()
        .setHeader(ResponseHeader.newBuilder().setRevision(rr.headerRevision()))
        .setMore(more)
        .setCount(rr.count());
    if (r.getKeysOnly()) {
      for (KeyValue kv : kvs) {
        b.addKvs(kv.toBuilder().clearValue());
      }
    } else {
      b.addAllKvs(kvs);
    }
    return b.build();
  }

  private static Comparator<KeyValue> comparator(RangeRequest.SortTarget target) {
    return switch (target) {
      case VERSION -> Comparator.comparingLong(KeyValue::getVersion);
      case CREATE -> Comparator.comparingLong(KeyValue::getCreateRevision);
      case MOD -> Comparator.comparingLong(KeyValue::getModRevision);
      case VALUE -> (a, b) -> BYTES.compare(a.getValue(), b.getValue());
      default -> (a, b) -> BYTES.compare(a.getKey(), b.getKey());
    };
  }
}
