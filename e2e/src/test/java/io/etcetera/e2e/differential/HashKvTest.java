package io.etcetera.e2e.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * {@code etcdctl endpoint hashkv}: Etcetera's rows are etcd's bucket rows byte for byte, so the
 * same history hashes to the same CRC on real etcd 3.4.23 and on Etcetera, before and after a
 * compaction, at the current revision and at older ones; asking below the compaction or past the
 * current revision answers etcd's errors. Both servers run in this test, one after the other.
 */
class HashKvTest {

  /** The history: puts, an overwrite, deletes, a txn with two puts, a larger value, a lease. */
  private static void write(String ep) {
    Etcdctl.run(ep, "put", "a", "1").ok();
    Etcdctl.run(ep, "put", "b", "2").ok();
    Etcdctl.run(ep, "put", "a", "3").ok();
    Etcdctl.run(ep, "del", "b").ok();
    Etcdctl.runWithStdin(ep, "\nput c 4\nput d 5\n\n\n", "txn").ok();
    Etcdctl.run(ep, "put", "e", "y".repeat(3000)).ok();
    Etcdctl.run(ep, "del", "a").ok();
    Etcdctl.run(ep, "put", "a", "9").ok();
  }

  private static String hashKv(String ep, long rev) {
    Etcdctl.Result r = Etcdctl.run(ep, "endpoint", "hashkv", "--rev=" + rev, "-w", "json");
    if (r.exitCode() != 0) {
      return "error: " + r.error();
    }
    JsonNode h = r.json().get(0).get("HashKV");
    return "hash=" + h.get("hash").asText() + " compact=" + h.get("compact_revision").asText()
        + " revision=" + h.get("header").get("revision").asText();
  }

  private static List<String> observe(Binary binary, Path dir) {
    List<String> seen = new ArrayList<>();
    try (Member m = Member.start(binary, dir, Ports.allocate())) {
      String ep = m.endpoint();
      write(ep);
      for (long rev : new long[] {0, 3, 5, 9}) seen.add("before compaction @" + rev + ": " + hashKv(ep, rev));
      Etcdctl.run(ep, "compact", "6").ok();
      Etcdctl.run(ep, "put", "f", "1").ok();
      for (long rev : new long[] {0, 7, 8, 6, 3, 99}) seen.add("after compaction @" + rev + ": " + hashKv(ep, rev));
    }
    return seen;
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void theSameHistoryHashesAlikeOnEtcdAndEtcetera(TestInfo info) {
    Path work = Workdirs.of(info);
    List<String> etcd = observe(Binary.ETCD, work.resolve("etcd"));
    List<String> etcetera = observe(Binary.ETCETERA, work.resolve("etcetera"));
    assertEquals(etcd, etcetera);
    assertTrue(etcd.get(7).contains("required revision has been compacted")
        && etcd.get(9).contains("required revision is a future revision")
        && etcd.get(0).startsWith("before compaction @0: hash="), String.join("\n", etcd));
  }
}
