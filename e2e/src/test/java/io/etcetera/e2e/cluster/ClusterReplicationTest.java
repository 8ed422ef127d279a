package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.etcetera.e2e.harness.Workdirs;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Followers learn that an entry committed as soon as it did, not from the leader's next periodic
 * heartbeat. A write sent to a follower is answered once that follower applied it, so with
 * heartbeats five seconds apart, writes through followers that each complete within a 2.5 s
 * command timeout show it (waiting for the next heartbeat, about half of them would time out).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClusterReplicationTest {

  @Test
  void writesThroughFollowersAreAnsweredWithoutWaitingForTheNextHeartbeat(TestInfo info) {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false, "--heartbeat-interval=5000", "--election-timeout=25000")) {
      int leader = c.awaitLeader(Duration.ofSeconds(120), 1, 2, 3);
      List<Integer> followers = ClusterFaultTest.others(leader, 3);
      for (int k = 0; k < 10; k++) {
        int through = followers.get(k % 2);
        assertEquals("OK\n", c.etcdctlTimeout(through, "2500ms", "put", "prompt/" + k, "v" + k).ok());
        assertEquals(List.of("prompt/" + k, "v" + k),
            c.etcdctlTimeout(through, "2500ms", "get", "prompt/" + k, "--consistency=s").lines());
      }
    }
  }
}
