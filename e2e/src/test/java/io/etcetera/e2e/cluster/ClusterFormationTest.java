package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Tools;
import io.etcetera.e2e.harness.Workdirs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A 3-member cluster forms from etcd's static-bootstrap flags ({@code --initial-cluster=etcd1=...,
 * etcd2=...,etcd3=... --initial-cluster-state=new}), plain and with mTLS on client and peer
 * listeners (kubeadm's layout), and behaves as one etcd cluster to etcdctl: membership, health,
 * status, replication of writes, watches across members, and a member restart on its data dir.
 * One cluster per variant, shared by its tests (each test uses its own keys and leaves the cluster
 * as it found it: three healthy members). Reference: etcd 3.4.23 ({@code -De2e.binary=etcd}).
 */
class ClusterFormationTest {

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class Plain extends Formation {
    Plain() {
      super(false);
    }
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class MutualTls extends Formation {
    MutualTls() {
      super(true);
    }
  }

  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  abstract static class Formation {
    private final boolean tls;
    Cluster cluster;

    Formation(boolean tls) {
      this.tls = tls;
    }

    String scheme() {
      return tls ? "https" : "http";
    }

    @BeforeAll
    void startCluster() {
      cluster = Cluster.start(Workdirs.fresh(Tools.root().resolve("e2e/target/e2e-work/ClusterFormationTest")
          .resolve(tls ? "mtls" : "plain")), 3, tls);
    }

    @AfterAll
    void closeCluster() {
      if (cluster != null) cluster.close();
    }

    @Test
    void memberListShowsThreeStartedMembersWithTheirNamesAndUrls() {
      JsonNode list = cluster.etcdctlAll("member", "list", "-w", "json").json();
      JsonNode members = list.get("members");
      assertEquals(3, members.size(), list.toString());
      Set<String> ids = new HashSet<>();
      for (int i = 1; i <= 3; i++) {
        JsonNode m = byName(members, "etcd" + i);
        assertEquals(List.of(scheme() + "://127.0.1." + i + ":2380"), texts(m.get("peerURLs")), m.toString());
        assertEquals(List.of(scheme() + "://127.0.1." + i + ":2379"), texts(m.get("clientURLs")), m.toString());
        assertFalse(m.path("isLearner").asBoolean(false), m.toString());
        ids.add(Cluster.hexId(m.get("ID")));
        assertEquals(cluster.member(i).id(), Cluster.hexId(m.get("ID")));
      }
      assertEquals(3, ids.size(), "distinct member IDs: " + ids);

      // the table form etcdctl prints: "<id>, started, <name>, <peer URLs>, <client URLs>, <is learner>"
      List<String> expected = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        expected.add(cluster.member(i).id() + ", started, etcd" + i + ", " + scheme() + "://127.0.1." + i + ":2380, "
            + scheme() + "://127.0.1." + i + ":2379, false");
      }
      List<String> lines = new ArrayList<>(cluster.etcdctlAll("member", "list").lines());
      assertEquals(sorted(expected), sorted(lines));
    }

    @Test
    void endpointHealthSucceedsOnEveryMember() {
      for (int i = 1; i <= 3; i++) {
        Etcdctl.Result r = cluster.etcdctl(i, "endpoint", "health");
        // etcdctl 3.4 prints the health lines to stderr
        assertEquals("", r.ok(), "stdout of endpoint health on member " + i);
        Pattern healthy = Pattern.compile(Pattern.quote(cluster.endpoint(i))
            + " is healthy: successfully committed proposal: took = \\S+\n");
        assertTrue(healthy.matcher(r.stderr()).matches(), "endpoint health on member " + i + r.describe());
      }
    }

    @Test
    void endpointStatusAgreesOnClusterIdLeaderAndTerm() {
      JsonNode list = cluster.etcdctlAll("member", "list", "-w", "json").json();
      String clusterId = list.get("header").get("cluster_id").asText();
      Set<String> memberIds = new HashSet<>();
      for (int i = 1; i <= 3; i++) memberIds.add(cluster.member(i).id());
      // a member restarted by another test may still trigger an election: wait for agreement first
      int leader = cluster.leaderIndex();
      Set<String> leaders = new HashSet<>();
      for (int i = 1; i <= 3; i++) {
        JsonNode st = cluster.status(i);
        JsonNode header = st.get("header");
        assertEquals(clusterId, header.get("cluster_id").asText(), "cluster_id of member " + i + ": " + st);
        assertEquals(cluster.member(i).id(), Cluster.hexId(header.get("member_id")), st.toString());
        assertTrue(header.get("raft_term").asLong() > 0, "raft_term of member " + i + ": " + st);
        assertTrue(st.get("raftTerm").asLong() > 0, "raftTerm of member " + i + ": " + st);
        assertTrue(st.get("version").asText().startsWith("3."), "version of member " + i + ": " + st);
        assertFalse(st.has("errors"), "errors on member " + i + ": " + st);
        leaders.add(Cluster.hexId(st.get("leader")));
      }
      assertEquals(Set.of(cluster.member(leader).id()), leaders, "leaders reported by the members");
      assertTrue(memberIds.contains(leaders.iterator().next()), "leader " + leaders + " is not a member " + memberIds);
    }

    @Test
    void putThroughMember1IsReadOnMembers2And3() {
      String key = "formation/replicated";
      assertEquals("OK\n", cluster.etcdctl(1, "put", key, "from-1").ok());
      for (int i = 2; i <= 3; i++) {
        // linearizable first: after it the member has applied the put, so the local read must see it too
        assertEquals(List.of(key, "from-1"), cluster.etcdctl(i, "get", key).lines(), "get on member " + i);
        assertEquals(List.of(key, "from-1"), cluster.etcdctl(i, "get", key, "--consistency=s").lines(),
            "serializable get on member " + i);
      }
    }

    @Test
    void watchOnMember3SeesPutsThroughMember1() {
      String key = "formation/watched";
      long rev = cluster.etcdctl(1, "get", key, "-w", "json").json().get("header").get("revision").asLong();
      // from rev+1: the first put is delivered even if it commits before the watch is registered
      try (WatchProcess w = cluster.watch(3, key, "--rev=" + (rev + 1))) {
        cluster.etcdctl(1, "put", key, "first").ok();
        w.awaitLines(Duration.ofSeconds(30), "PUT", key, "first");
        // the watch is live now: this one is streamed as it happens
        cluster.etcdctl(1, "put", key, "second").ok();
        w.awaitLines(Duration.ofSeconds(30), "PUT", key, "first", "PUT", key, "second");
      }
    }

    @Test
    void restartedMemberKeepsItsDataAndRejoins() {
      String before = "formation/restart-before";
      String during = "formation/restart-during";
      cluster.etcdctl(1, "put", before, "b").ok();
      assertEquals(List.of(before, "b"), cluster.etcdctl(2, "get", before).lines()); // member 2 has applied it
      String id2 = cluster.member(2).id();
      String clusterId = cluster.status(2).get("header").get("cluster_id").asText();

      cluster.stop(2);
      cluster.etcdctl(1, "put", during, "d").ok(); // two of three members still commit
      cluster.restart(2);

      // its own data survived the restart: a local read needs no other member
      assertEquals(List.of(before, "b"), cluster.etcdctl(2, "get", before, "--consistency=s").lines());
      // and it rejoined: it has caught up with what was written while it was down
      assertEquals(List.of(during, "d"), cluster.etcdctl(2, "get", during).lines());
      JsonNode st = cluster.status(2);
      assertEquals(id2, Cluster.hexId(st.get("header").get("member_id")), "member ID after restart: " + st);
      assertEquals(clusterId, st.get("header").get("cluster_id").asText(), st.toString());
      JsonNode members = cluster.etcdctlAll("member", "list", "-w", "json").json().get("members");
      assertEquals(3, members.size(), members.toString());
      assertEquals(id2, Cluster.hexId(byName(members, "etcd2").get("ID")));
      int leader = cluster.leaderIndex();
      assertNotEquals(0, leader);
    }
  }

  static JsonNode byName(JsonNode members, String name) {
    for (JsonNode m : members) {
      if (name.equals(m.path("name").asText())) return m;
    }
    throw new AssertionError("no member named " + name + " in " + members);
  }

  static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    if (array != null) array.forEach(n -> out.add(n.asText()));
    return out;
  }

  static List<String> sorted(List<String> l) {
    List<String> s = new ArrayList<>(l);
    s.sort(null);
    return s;
  }
}
