package io.etcetera.e2e.etcdctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * {@code --quota-backend-bytes} and the NOSPACE alarm, as an operator meets them with etcdctl: once
 * the store reaches the quota a put fails with "etcdserver: mvcc: database space exceeded" and the
 * member raises NOSPACE, after which puts, transactions with puts and lease grants are refused
 * while deletes and reads still work; {@code alarm list}, {@code endpoint status} (its errors) and
 * {@code /health} show the alarm ({@code ?exclude=NOSPACE} ignores it); {@code alarm disarm} clears it.
 * Passes on etcd 3.4.23 ({@code -De2e.binary=etcd}).
 */
class SpaceQuotaAlarmTest {

  private static final String NO_SPACE = "etcdserver: mvcc: database space exceeded";

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void reachingTheQuotaRaisesNospaceWhichRefusesGrowthUntilDisarmed(TestInfo info) throws Exception {
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(Binary.fromSystemProperty(), Workdirs.of(info).resolve("m"), a,
        "--quota-backend-bytes=1000000")) {
      String ep = m.endpoint();
      String value = "x".repeat(60_000);
      Etcdctl.Result failed = null;
      for (int i = 0; i < 100 && failed == null; i++) {
        Etcdctl.Result r = Etcdctl.run(ep, "put", "q/" + i, value);
        if (r.exitCode() != 0) failed = r;
      }
      assertTrue(failed != null, "a 1 MB quota is reached by 100 puts of 60 kB");
      assertTrue(failed.stderr().contains(NO_SPACE), failed.describe());

      String list = Etcdctl.run(ep, "alarm", "list").ok();
      JsonNode status = Etcdctl.run(ep, "endpoint", "status", "-w", "json").json().get(0).get("Status");
      String memberId = new BigInteger(status.get("header").get("member_id").asText()).toString();
      assertEquals("memberID:" + memberId + " alarm:NOSPACE", list.trim());
      assertEquals("memberID:" + memberId + " alarm:NOSPACE ", status.get("errors").get(0).asText());

      // growth is refused, shrinking and reading are not
      assertTrue(Etcdctl.run(ep, "put", "small", "v").stderr().contains(NO_SPACE));
      assertTrue(Etcdctl.run(ep, "lease", "grant", "30").stderr().contains(NO_SPACE));
      Etcdctl.Result txn = Etcdctl.runWithStdin(ep, "\n\nput t v\n\n", "txn");
      assertTrue(txn.stderr().contains(NO_SPACE), txn.describe());
      assertEquals("1", Etcdctl.run(ep, "del", "q/0").ok().trim());
      assertEquals(value, Etcdctl.run(ep, "get", "q/1", "--print-value-only").ok().trim());

      // etcdctl 3.4's endpoint health only commits a read; /health looks at the alarms
      assertEquals(0, Etcdctl.run(ep, "endpoint", "health").exitCode());
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(ep + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(503, h.statusCode(), h.body());
      HttpResponse<String> excluded = http.send(HttpRequest.newBuilder(URI.create(ep + "/health?exclude=NOSPACE")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, excluded.statusCode(), excluded.body());

      assertEquals("memberID:" + memberId + " alarm:NOSPACE", Etcdctl.run(ep, "alarm", "disarm").ok().trim());
      assertEquals("", Etcdctl.run(ep, "alarm", "list").ok().trim());
      HttpResponse<String> again = http.send(HttpRequest.newBuilder(URI.create(ep + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, again.statusCode(), "healthy again once disarmed: " + again.body());
    }
  }
}
