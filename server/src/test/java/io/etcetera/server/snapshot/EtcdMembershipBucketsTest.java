package io.etcetera.server.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.mvcc.snapshot.EtcdDbExport.Row;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EtcdMembershipBucketsTest {

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void membersAreEtcdsJsonUnderTheirHexIdsInIdOrder() {
    Member started = Member.newBuilder().setID(0x8e9e05c52164694dL).setName("infra1")
        .addPeerURLs("http://127.0.0.1:2380").addClientURLs("http://127.0.0.1:2379").build();
    Member learner = Member.newBuilder().setID(0x10).setIsLearner(true).addPeerURLs("http://127.0.0.1:2382").build();
    Map<String, List<Row>> b = new EtcdMembershipBuckets(() -> List.of(started, learner)).get();

    List<Row> members = b.get("members");
    assertEquals("10", text(members.get(0).key()), "etcd's types.ID.String(): hex without padding");
    assertEquals("{\"id\":16,\"peerURLs\":[\"http://127.0.0.1:2382\"],\"isLearner\":true}", text(members.get(0).value()));
    assertEquals("8e9e05c52164694d", text(members.get(1).key()));
    assertEquals("{\"id\":10276657743932975437,\"peerURLs\":[\"http://127.0.0.1:2380\"],\"name\":\"infra1\","
        + "\"clientURLs\":[\"http://127.0.0.1:2379\"]}", text(members.get(1).value()));
    assertEquals(List.of(), b.get("members_removed"));
    assertEquals("clusterVersion=3.5.0", text(b.get("cluster").get(0).key()) + "=" + text(b.get("cluster").get(0).value()));
  }
}
