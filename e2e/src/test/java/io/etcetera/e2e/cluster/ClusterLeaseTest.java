package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Leases across members: only the leader counts time, followers answer keep-alives and TimeToLive
 * through it, and a new leader gives every lease a full TTL instead of expiring them all; a call
 * that requires a leader ({@code hasleader} metadata) fails fast when there is none.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClusterLeaseTest {

  @Test
  void keepAlivesThroughAFollowerAndALeaderChangeKeepTheLeaseAndItsKey(TestInfo info) throws Exception {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false)) {
      int leader = c.awaitLeader(Duration.ofSeconds(60), 1, 2, 3);
      int follower = leader == 1 ? 2 : 1;
      String grant = c.etcdctl(follower, "lease", "grant", "8").ok();
      String id = grant.split(" ")[1];
      c.etcdctl(follower, "put", "lease/k", "v", "--lease=" + id).ok();

      // a keep-alive sent to a follower renews the lease (answered through the leader)
      Thread.sleep(3000);
      String once = c.etcdctl(follower, "lease", "keep-alive", "--once", id).ok();
      assertTrue(once.contains("keepalived with TTL(8)"), once);
      JsonNode ttl = c.etcdctl(follower, "lease", "timetolive", id, "-w", "json").json();
      assertTrue(ttl.path("ttl").asLong() > 5, "a follower reports the leader's remaining TTL: " + ttl);

      // the leader dies: the new leader gives the lease a full TTL, so the key outlives the old deadline
      c.kill9(leader);
      List<Integer> rest = leader == 1 ? List.of(2, 3) : leader == 2 ? List.of(1, 3) : List.of(1, 2);
      int next = c.awaitLeader(Duration.ofSeconds(60), rest.get(0), rest.get(1));
      Thread.sleep(4000);
      assertEquals(List.of("lease/k", "v"), c.etcdctl(next, "get", "lease/k").lines(),
          "the key of a lease that was kept alive survives the leader change");
      // without keep-alives it expires on the new leader
      Instant.sleepUntilGone(c, next, "lease/k", Duration.ofSeconds(30));
    }
  }

  @Test
  void aCallRequiringALeaderFailsWithNoLeaderWhenThereIsNone(TestInfo info) throws Exception {
    try (Cluster c = Cluster.start(Workdirs.of(info), 3, false)) {
      c.etcdctl(1, "put", "hl/k", "v").ok();
      c.stop(1);
      c.stop(2);
      ManagedChannel ch = NettyChannelBuilder.forTarget(c.member(3).host() + ":" + Cluster.CLIENT_PORT).usePlaintext().build();
      try {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("hasleader", Metadata.ASCII_STRING_MARSHALLER), "true");
        KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String error = "";
        while (System.nanoTime() < deadline) {
          try {
            kv.withDeadlineAfter(3, TimeUnit.SECONDS).range(RangeRequest.newBuilder()
                .setKey(com.google.protobuf.ByteString.copyFromUtf8("hl/k")).setSerializable(true).build());
            Thread.sleep(300); // the survivor still follows the old leader for an election timeout
          } catch (StatusRuntimeException e) {
            error = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
            break;
          }
        }
        assertEquals("UNAVAILABLE: etcdserver: no leader", error);
        // without the metadata the same serializable read is served
        assertEquals(1, KVGrpc.newBlockingStub(ch).range(RangeRequest.newBuilder()
            .setKey(com.google.protobuf.ByteString.copyFromUtf8("hl/k")).setSerializable(true).build()).getCount());
      } finally {
        ch.shutdownNow();
      }
    }
  }

  /** Polling helpers. */
  private static final class Instant {
    static void sleepUntilGone(Cluster c, int member, String key, Duration timeout) throws InterruptedException {
      long end = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < end) {
        if (c.etcdctl(member, "get", key).lines().isEmpty()) {
          return;
        }
        Thread.sleep(500);
      }
      throw new AssertionError(key + " still exists after " + timeout + ": its lease never expired");
    }
  }
}
