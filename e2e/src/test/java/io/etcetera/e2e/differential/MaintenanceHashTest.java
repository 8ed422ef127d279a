package io.etcetera.e2e.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.etcd.jetcd.api.HashRequest;
import io.etcd.jetcd.api.HashResponse;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.etcetera.mvcc.bolt.BoltReader;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Maintenance.Hash (etcd's hash of its whole backend database) on real etcd 3.4.23 and Etcetera,
 * through etcd's generated gRPC stubs: stable while nothing is written, the header carries the
 * current revision, a write changes it, and it equals the hash of a snapshot saved meanwhile
 * computed by etcd's rule (CRC-32C over every bucket's name, keys and values, without
 * {@code meta}'s {@code consistent_index}), so Hash and Snapshot see the same database.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class MaintenanceHashTest {

  private static HashResponse hash(MaintenanceGrpc.MaintenanceBlockingStub m) {
    return m.withDeadlineAfter(10, TimeUnit.SECONDS).hash(HashRequest.getDefaultInstance());
  }

  private static long snapshotHash(Path file) throws Exception {
    CRC32C crc = new CRC32C();
    byte[] meta = "meta".getBytes(StandardCharsets.UTF_8);
    byte[] ci = "consistent_index".getBytes(StandardCharsets.UTF_8);
    try (BoltReader db = BoltReader.open(file)) {
      for (byte[] bucket : db.bucketNames()) {
        crc.update(bucket);
        boolean inMeta = Arrays.equals(bucket, meta);
        db.forEach(bucket, (k, v) -> {
          if (!(inMeta && Arrays.equals(k, ci))) {
            crc.update(k);
            crc.update(v);
          }
        });
      }
    }
    return crc.getValue();
  }

  @Test
  void hashCoversTheWholeDatabaseAsEtcdComputesIt(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    for (Binary binary : new Binary[] {Binary.ETCD, Binary.ETCETERA}) {
      String b = binary.name().toLowerCase();
      try (Member m = Member.start(binary, work.resolve(b), Ports.allocate())) {
        for (int i = 0; i < 20; i++) Etcdctl.run(m.endpoint(), "put", "h/" + i, "v" + i).ok();
        long revision = Etcdctl.run(m.endpoint(), "get", "h/0", "-w", "json").json().get("header").get("revision").asLong();
        ManagedChannel ch = NettyChannelBuilder.forTarget(m.host() + ":" + m.clientPort()).usePlaintext().build();
        try {
          MaintenanceGrpc.MaintenanceBlockingStub maintenance = MaintenanceGrpc.newBlockingStub(ch);
          HashResponse first = hash(maintenance);
          assertEquals(revision, first.getHeader().getRevision(), b);
          Path snapshot = work.resolve(b + ".db");
          assertEquals(0, Etcdctl.run(m.endpoint(), "snapshot", "save", snapshot.toString()).exitCode(), b);
          HashResponse again = hash(maintenance);
          assertEquals(first.getHash(), again.getHash(), b + ": nothing was written");
          assertEquals(Integer.toUnsignedLong(first.getHash()), snapshotHash(snapshot), b + ": the snapshot's database");
          Etcdctl.run(m.endpoint(), "put", "h/new", "v").ok();
          HashResponse after = hash(maintenance);
          assertNotEquals(first.getHash(), after.getHash(), b + ": a write changes the database");
          assertEquals(revision + 1, after.getHeader().getRevision(), b);
        } finally {
          ch.shutdownNow();
        }
      }
    }
  }
}
