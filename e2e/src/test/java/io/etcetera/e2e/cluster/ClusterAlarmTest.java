package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Workdirs;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Alarms are cluster state: the NOSPACE alarm one member raises when it reaches its quota goes
 * through the log, so every member lists it and refuses puts, and a disarm sent to another member
 * clears it everywhere. Passes on etcd 3.4.23 ({@code -De2e.binary=etcd}).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterAlarmTest {

  private static final String NO_SPACE = "etcdserver: mvcc: database space exceeded";

  @Test
  void aNospaceAlarmRaisedThroughOneMemberCapsEveryMemberAndIsDisarmedThroughAnother(TestInfo info) {
    try (Cluster c = Cluster.builder(Workdirs.of(info)).size(3).binary(Binary.fromSystemProperty())
        .extraFlags("--quota-backend-bytes=1000000").start()) {
      String value = "x".repeat(60_000);
      Etcdctl.Result failed = null;
      for (int i = 0; i < 100 && failed == null; i++) {
        Etcdctl.Result r = c.etcdctl(1, "put", "q/" + i, value);
        if (r.exitCode() != 0) failed = r;
      }
      assertTrue(failed != null && failed.stderr().contains(NO_SPACE), "the quota is reached through member 1");

      for (int i = 1; i <= 3; i++) {
        int member = i;
        String list = awaitAlarm(c, member);
        assertTrue(list.contains("alarm:NOSPACE"), "member " + member + " lists the alarm: " + list);
        Etcdctl.Result put = c.etcdctl(member, "put", "small", "v");
        assertTrue(put.stderr().contains(NO_SPACE), "member " + member + " refuses a put: " + put.describe());
      }

      assertTrue(c.etcdctl(3, "alarm", "disarm").ok().contains("alarm:NOSPACE"));
      for (int i = 1; i <= 3; i++) {
        assertEquals("", c.etcdctl(i, "alarm", "list").ok().trim(), "disarmed on member " + i);
      }
    }
  }

  /** {@code alarm list} on {@code member} once it shows an alarm (the raise is asynchronous), or the last answer. */
  private static String awaitAlarm(Cluster c, int member) {
    String list = "";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      list = c.etcdctl(member, "alarm", "list").ok();
      if (!list.isBlank()) break;
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return list;
  }
}
