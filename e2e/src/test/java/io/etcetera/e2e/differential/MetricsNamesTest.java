package io.etcetera.e2e.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The metrics etcd's standard alerts and dashboards read (etcd-mixin: leader changes, backend
 * commit latency, quota, failed gRPC requests by code), under the same names, labels and kinds on
 * real etcd 3.4.23 and Etcetera, driven by etcdctl.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class MetricsNamesTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static long value(String text, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " ([0-9.e+-]+)$").matcher(text);
    assertTrue(m.find(), series + " is exported:\n" + text);
    return (long) Double.parseDouble(m.group(1));
  }

  private static String kv(String code, String method) {
    return "{grpc_code=\"" + code + "\",grpc_method=\"" + method + "\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}";
  }

  @Test
  void etcdMixinMetricsAreExportedAsEtcdExportsThem(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    for (Binary binary : new Binary[] {Binary.ETCD, Binary.ETCETERA}) {
      String b = binary.name().toLowerCase();
      Ports.Address metricsAt = Ports.allocate();
      String metricsUrl = "http://" + metricsAt.host() + ":" + metricsAt.port() + "/metrics";
      try (Member m = Member.start(binary, work.resolve(b), Ports.allocate(), "--listen-metrics-urls=http://"
          + metricsAt.host() + ":" + metricsAt.port())) {
        String ep = m.endpoint();
        for (int i = 0; i < 5; i++) Etcdctl.run(ep, "put", "m/" + i, "v").ok();
        Etcdctl.run(ep, "compaction", "4").ok();
        Etcdctl.run(ep, "get", "m/0", "--rev=2").fails("etcdserver: mvcc: required revision has been compacted");
        Thread.sleep(300); // etcd commits its backend every 100 ms
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(metricsUrl)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), b);
        String text = r.body();
        assertTrue(value(text, "etcd_server_leader_changes_seen_total") >= 1, b + ": the first leader counts");
        assertTrue(text.contains("# TYPE etcd_server_leader_changes_seen_total counter"), b);
        assertEquals(2L * 1024 * 1024 * 1024, value(text, "etcd_server_quota_backend_bytes"), b + ": etcd's default quota");
        assertTrue(text.contains("# TYPE etcd_disk_backend_commit_duration_seconds histogram"), b);
        assertTrue(value(text, "etcd_disk_backend_commit_duration_seconds_count") > 0, b);
        assertTrue(value(text, "etcd_disk_backend_commit_duration_seconds_bucket{le=\"+Inf\"}") > 0, b);
        value(text, "etcd_disk_backend_commit_duration_seconds_bucket{le=\"0.001\"}");
        value(text, "etcd_disk_backend_commit_duration_seconds_bucket{le=\"8.192\"}");
        assertTrue(value(text, "grpc_server_handled_total" + kv("OK", "Put")) >= 5, b);
        assertEquals(1, value(text, "grpc_server_handled_total" + kv("OutOfRange", "Range")), b + ": the compacted read");
        assertTrue(value(text, "grpc_server_started_total{grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}") >= 5, b);
        assertTrue(value(text, "grpc_server_msg_received_total{grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}") >= 5, b);
        assertTrue(value(text, "grpc_server_msg_sent_total{grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}") >= 5, b);
      }
    }
  }
}
