package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Workdirs;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Every member applies the same history into the same rows: after writes, deletes and a compaction
 * sent through different members, {@code etcdctl endpoint hashkv} answers the same hash on each
 * member at the same revision (the check operators run for divergence). Passes on etcd 3.4.23.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterHashKvTest {

  @Test
  void everyMemberHashesTheSameHistoryAlike(TestInfo info) {
    try (Cluster c = Cluster.builder(Workdirs.of(info)).size(3).binary(Binary.fromSystemProperty()).start()) {
      for (int k = 0; k < 30; k++) {
        int through = 1 + k % 3;
        c.etcdctl(through, "put", "h/" + (k % 7), "v" + k).ok();
        if (k % 5 == 4) c.etcdctl(through, "del", "h/" + (k % 7)).ok();
      }
      c.etcdctl(2, "compact", "12").ok();
      c.etcdctl(3, "put", "h/last", "v").ok();
      long rev = c.status(1).get("header").get("revision").asLong();

      List<String> hashes = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        // a linearizable read first: the member has applied everything up to rev
        c.etcdctl(i, "get", "h/last").ok();
        JsonNode h = c.etcdctl(i, "endpoint", "hashkv", "--rev=" + rev, "-w", "json").json().get(0).get("HashKV");
        assertEquals(12, h.get("compact_revision").asLong(), "member " + i);
        hashes.add(h.get("hash").asText());
      }
      assertTrue(!hashes.get(0).equals("0"), "a hash was computed: " + hashes);
      assertEquals(List.of(hashes.get(0), hashes.get(0), hashes.get(0)), hashes);
    }
  }
}
