package io.etcetera.server.snapshot;

import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.mvcc.snapshot.EtcdDbExport.Row;
import io.etcetera.server.json.GoJson;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The membership buckets of etcd's backend database, for a snapshot: {@code members} (the member
 * ID in hex to etcd's JSON of the member), an empty {@code members_removed}, and {@code cluster}
 * with the cluster version. etcd's restore replaces them by the new cluster's; they are there so
 * that the file looks like etcd's to its tools. Stateless apart from the member source.
 */
public final class EtcdMembershipBuckets implements Supplier<Map<String, List<Row>>> {
  /** The cluster version a snapshot records (the minor version Etcetera advertises). */
  static final String CLUSTER_VERSION = "3.5.0";

  private final Supplier<List<Member>> members;

  public EtcdMembershipBuckets(Supplier<List<Member>> members) {
    this.members = members;
  }

  @Override
  public Map<String, List<Row>> get() {
    List<Row> rows = new ArrayList<>();
    for (Member m : members.get()) {
      rows.add(new Row(bytes(Long.toHexString(m.getID())), bytes(json(m))));
    }
    rows.sort((a, b) -> Arrays.compareUnsigned(a.key(), b.key()));
    Map<String, List<Row>> buckets = new TreeMap<>();
    buckets.put("members", rows);
    buckets.put("members_removed", List.of());
    buckets.put("cluster", List.of(new Row(bytes("clusterVersion"), bytes(CLUSTER_VERSION))));
    return buckets;
  }

  /** etcd's membership.Member as encoding/json writes it (ID as a number, empty parts left out). */
  static String json(Member m) {
    StringBuilder b = new StringBuilder("{\"id\":").append(Long.toUnsignedString(m.getID()));
    b.append(",\"peerURLs\":").append(array(m.getPeerURLsList()));
    if (m.getIsLearner()) {
      b.append(",\"isLearner\":true");
    }
    if (!m.getName().isEmpty()) {
      b.append(",\"name\":").append(GoJson.quote(m.getName()));
    }
    if (m.getClientURLsCount() > 0) {
      b.append(",\"clientURLs\":").append(array(m.getClientURLsList()));
    }
    return b.append('}').toString();
  }

  private static String array(List<String> values) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < values.size(); i++) {
      b.append(i == 0 ? "" : ",").append(GoJson.quote(values.get(i)));
    }
    return b.append(']').toString();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
