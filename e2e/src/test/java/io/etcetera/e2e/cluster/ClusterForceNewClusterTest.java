package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Workdirs;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * etcd's disaster recovery without a snapshot file: after a cluster lost its quorum for good, one
 * survivor restarted with {@code --force-new-cluster} serves alone with its data, its member ID
 * and the cluster ID; later restarts (without the flag) stay a one-member cluster.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClusterForceNewClusterTest {

  @Test
  void aSurvivorRestartedWithForceNewClusterServesAloneWithItsData(TestInfo info) {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false)) {
      c.etcdctl(1, "put", "force/a", "1").ok(); // answered by member 1: it applied the write
      String id1 = c.member(1).id();
      String clusterId = c.status(1).get("header").get("cluster_id").asText();
      c.kill9(2);
      c.kill9(3); // the quorum is lost for good

      c.restartWith(1, "--force-new-cluster");

      JsonNode members = c.etcdctl(1, "member", "list", "-w", "json").json().get("members");
      assertEquals(1, members.size(), members.toString());
      assertEquals(id1, Cluster.hexId(members.get(0).get("ID")));
      assertFalse(members.get(0).path("isLearner").asBoolean(false));
      assertEquals(clusterId, c.status(1).get("header").get("cluster_id").asText());
      assertEquals(List.of("force/a", "1"), c.etcdctl(1, "get", "force/a").lines());
      assertEquals("OK\n", c.etcdctl(1, "put", "force/b", "2").ok());

      c.restart(1);
      assertEquals(List.of("force/b", "2"), c.etcdctl(1, "get", "force/b").lines());
      assertEquals(1, c.etcdctl(1, "member", "list", "-w", "json").json().get("members").size());
      assertEquals(List.of("force/a", "1"), c.etcdctl(1, "get", "force/a").lines());
    }
  }
}
