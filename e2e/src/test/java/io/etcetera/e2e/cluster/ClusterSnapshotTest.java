package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Workdirs;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * {@code --snapshot-count}: the log is truncated behind snapshots, and a member that was down
 * while the cluster moved past its log catches up from the leader's snapshot, then from the log.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClusterSnapshotTest {
  private static final int KEYS = 800;
  /**
   * 800 values of 8 KiB, one log entry each: the first 4 MB log segment closes after about 512 of
   * them, and the snapshot at entry 799 less the 100 entries kept after it covers that segment, so
   * the leader purges it.
   */
  private static final String VALUE = "x".repeat(8 * 1024);

  @Test
  void aMemberBehindTheTruncatedLogCatchesUpFromASnapshot(TestInfo info) throws Exception {
    try (Cluster c = Cluster.builder(Workdirs.of(info)).size(3).extraFlags("--snapshot-count=100").start()) {
      c.etcdctl(1, "put", "snap/before", "1").ok();
      c.stop(3);
      int leader = c.awaitLeader(Duration.ofSeconds(60), 1, 2);
      ManagedChannel ch = NettyChannelBuilder.forTarget(c.member(leader).host() + ":" + Cluster.CLIENT_PORT)
          .usePlaintext().build();
      try {
        KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
        for (int i = 0; i < KEYS; i++) {
          kv.withDeadlineAfter(10, TimeUnit.SECONDS).put(PutRequest.newBuilder()
              .setKey(bytes(String.format("snap/k%04d", i))).setValue(bytes(i + VALUE)).build());
        }
      } finally {
        ch.shutdownNow();
      }
      c.restart(3);
      // serializable reads on member 3 show its own state: wait until it has everything
      Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
      long count = -1;
      ManagedChannel to3 = NettyChannelBuilder.forTarget(c.member(3).host() + ":" + Cluster.CLIENT_PORT)
          .usePlaintext().build();
      try {
        KVGrpc.KVBlockingStub kv3 = KVGrpc.newBlockingStub(to3);
        while (Instant.now().isBefore(deadline)) {
          count = kv3.withDeadlineAfter(5, TimeUnit.SECONDS).range(RangeRequest.newBuilder()
              .setKey(bytes("snap/")).setRangeEnd(bytes("snap0")).setCountOnly(true).setSerializable(true).build())
              .getCount();
          if (count == KEYS + 1) {
            break;
          }
          Thread.sleep(200);
        }
      } finally {
        to3.shutdownNow();
      }
      assertEquals(KEYS + 1, count, "member 3 caught up with every key");
      assertEquals((KEYS - 1) + VALUE + "\n", lastLine(c.etcdctl(3, "get", String.format("snap/k%04d", KEYS - 1),
          "--print-value-only", "--consistency=s").ok()));
      // writes keep working through the caught-up member
      assertEquals("OK\n", c.etcdctl(3, "put", "snap/after", "2").ok());
      if (c.binary() == Binary.ETCETERA) {
        String log = Files.readString(c.member(3).log());
        assertTrue(log.contains("loading the snapshot at index"),
            "member 3 installed a snapshot rather than replaying the whole log:\n" + c.member(3).logTail(40));
      }
    }
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  private static String lastLine(String s) {
    String[] lines = s.split("\n");
    return lines[lines.length - 1] + "\n";
  }
}
