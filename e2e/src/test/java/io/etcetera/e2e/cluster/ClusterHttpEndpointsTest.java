package io.etcetera.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Command;
import io.etcetera.e2e.harness.Workdirs;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * etcd's HTTP endpoints on {@code --listen-metrics-urls} (kubeadm's static pod serves its liveness
 * and startup probes from {@code http://127.0.0.1:2381}): {@code /health} healthy with a leader and
 * {@code RAFT NO LEADER} (503) once the member lost quorum, while {@code serializable=true} still
 * answers healthy; {@code /version}; {@code /metrics} with leadership and revision; {@code /livez}
 * and {@code /readyz}; etcd's 405 and 404. Over {@code https} the listener requires a client
 * certificate signed by the trusted CA, as etcd's (checked with curl, as an operator would). A plain
 * client URL answers {@code /health} and {@code /version} over HTTP/1 beside gRPC on the same port.
 * Etcd 3.4.23 (the reference here) answers {@code /health} without the 3.5 {@code reason} field
 * and has no {@code /livez}, and serves {@code /version} on its client URLs only; those assertions
 * apply to Etcetera only.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ClusterHttpEndpointsTest {

  private static final int METRICS_PORT = 2382;
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private HttpResponse<String> get(String url) throws Exception {
    return send(url, "GET");
  }

  private HttpResponse<String> send(String url, String method) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20))
        .method(method, HttpRequest.BodyPublishers.noBody()).build();
    return http.send(req, HttpResponse.BodyHandlers.ofString());
  }

  private static String metricsUrl(Cluster c, int i) {
    return "http://" + c.member(i).host() + ":" + METRICS_PORT;
  }

  private static long metric(String text, String name) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\S+)$").matcher(text);
    assertTrue(m.find(), name + " is exported:\n" + text);
    return (long) Double.parseDouble(m.group(1));
  }

  @Test
  void healthVersionMetricsAndProbesAnswerOnTheMetricsUrlAndHealthTurnsUnhealthyWithoutQuorum(TestInfo info)
      throws Exception {
    boolean etcetera = Binary.fromSystemProperty() == Binary.ETCETERA;
    try (Cluster c = Cluster.builder(Workdirs.of(info)).size(3).binary(Binary.fromSystemProperty())
        .extraFlags("--listen-metrics-urls=http://{host}:" + METRICS_PORT).start()) {
      c.etcdctl(1, "put", "http/k", "v").ok();
      long revision = c.status(1).get("header").get("revision").asLong();

      for (int i = 1; i <= 3; i++) {
        HttpResponse<String> health = get(metricsUrl(c, i) + "/health");
        assertEquals(200, health.statusCode(), health.body());
        JsonNode h = JSON.readTree(health.body());
        assertEquals("true", h.get("health").asText());
        if (etcetera) assertEquals("", h.get("reason").asText(), "etcd 3.5's reason field, empty when healthy");
      }

      if (etcetera) { // etcd serves /version on the client URLs only; Etcetera's client port is gRPC only
        HttpResponse<String> version = get(metricsUrl(c, 1) + "/version");
        assertEquals(200, version.statusCode());
        JsonNode v = JSON.readTree(version.body());
        assertEquals("3.5.17", v.get("etcdserver").asText(), version.body());
        assertEquals("3.5.0", v.get("etcdcluster").asText(), version.body());
      }

      // the leader reports itself; every member has a leader and has applied the put
      List<Long> isLeader = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        HttpResponse<String> metrics = get(metricsUrl(c, i) + "/metrics");
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        assertEquals(1, metric(metrics.body(), "etcd_server_has_leader"));
        isLeader.add(metric(metrics.body(), "etcd_server_is_leader"));
        assertTrue(metric(metrics.body(), "etcd_mvcc_db_total_size_in_bytes") > 0);
        assertTrue(metric(metrics.body(), "etcd_server_proposals_committed_total") > 0);
        if (etcetera) {
          assertTrue(metric(metrics.body(), "etcd_debugging_mvcc_current_revision") >= revision);
        }
      }
      assertEquals(1, isLeader.stream().mapToLong(Long::longValue).sum(), "exactly one member is leader: " + isLeader);

      HttpResponse<String> post = send(metricsUrl(c, 1) + "/health", "POST");
      assertEquals(405, post.statusCode());
      assertEquals("GET", post.headers().firstValue("Allow").orElse(""));
      assertEquals(404, get(metricsUrl(c, 1) + "/no-such-path").statusCode());

      if (etcetera) {
        HttpResponse<String> livez = get(metricsUrl(c, 1) + "/livez");
        assertEquals(200, livez.statusCode());
        assertEquals("ok", livez.body());
        HttpResponse<String> readyz = get(metricsUrl(c, 1) + "/readyz?verbose");
        assertEquals(200, readyz.statusCode(), readyz.body());
        assertTrue(readyz.body().contains("[+]linearizable_read ok"), readyz.body());
      }

      // without quorum: member 3 loses its leader; /health fails, a serializable check still passes
      c.stop(1);
      c.stop(2);
      String url3 = metricsUrl(c, 3);
      HttpResponse<String> unhealthy = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        unhealthy = get(url3 + "/health");
        if (unhealthy.statusCode() == 503) break;
        Thread.sleep(500);
      }
      assertEquals(503, unhealthy.statusCode(), "unhealthy without quorum: " + unhealthy.body());
      JsonNode u = JSON.readTree(unhealthy.body());
      assertEquals("false", u.get("health").asText());
      if (etcetera) {
        assertTrue(u.get("reason").asText().equals("RAFT NO LEADER") || u.get("reason").asText().startsWith("RANGE ERROR:"),
            unhealthy.body());
        // once the leader is gone for good, the reason is the missing leader
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!u.get("reason").asText().equals("RAFT NO LEADER") && System.nanoTime() < until) {
          Thread.sleep(500);
          u = JSON.readTree(get(url3 + "/health").body());
        }
        assertEquals("RAFT NO LEADER", u.get("reason").asText());
        HttpResponse<String> serializable = get(url3 + "/health?serializable=true");
        assertEquals(200, serializable.statusCode(), serializable.body());
        assertEquals(0, metric(get(url3 + "/metrics").body(), "etcd_server_has_leader"));
        HttpResponse<String> readyz = get(url3 + "/readyz");
        assertEquals(503, readyz.statusCode(), readyz.body());
        assertTrue(readyz.body().contains("[-]linearizable_read failed"), readyz.body());
        assertEquals(200, get(url3 + "/livez").statusCode(), "a member without quorum is still alive");
        long failures = metric(get(url3 + "/metrics").body(), "etcd_server_health_failures");
        assertTrue(failures >= 1, "failed health checks are counted: " + failures);
      }
    }
  }

  @Test
  void anHttpsMetricsUrlRequiresAClientCertificateSignedByTheTrustedCa(TestInfo info) throws Exception {
    try (Cluster c = Cluster.builder(Workdirs.of(info)).size(1).tls(true).binary(Binary.fromSystemProperty())
        .extraFlags("--listen-metrics-urls=https://{host}:" + METRICS_PORT).start()) {
      TlsFiles pki = c.tlsFiles();
      String url = "https://" + c.member(1).host() + ":" + METRICS_PORT + "/health";
      Command withCert = Curl.run("--cacert", pki.ca().toString(), "--cert", pki.clientCert().toString(),
          "--key", pki.clientKey().toString(), url);
      assertEquals(0, withCert.exit(), withCert.output());
      assertTrue(withCert.output().contains("\"health\":\"true\""), withCert.output());
      Command withoutCert = Curl.run("--cacert", pki.ca().toString(), url);
      assertTrue(withoutCert.exit() != 0 && !withoutCert.output().contains("\"health\""),
          "refused without a client certificate: " + withoutCert.output());
    }
  }

  @Test
  void thePlainClientPortAnswersHealthAndVersionOverHttp1BesideGrpc(TestInfo info) throws Exception {
    try (Cluster c = Cluster.builder(Workdirs.of(info)).size(1).binary(Binary.fromSystemProperty()).start()) {
      String client = c.member(1).clientUrl();
      c.etcdctl(1, "put", "http/client-port", "v").ok();
      HttpResponse<String> health = get(client + "/health");
      assertEquals(200, health.statusCode(), health.body());
      assertEquals("true", JSON.readTree(health.body()).get("health").asText());
      HttpResponse<String> version = get(client + "/version");
      assertEquals(200, version.statusCode(), version.body());
      assertTrue(JSON.readTree(version.body()).get("etcdserver").asText().startsWith("3."), version.body());
      assertEquals(405, send(client + "/health", "POST").statusCode());
      // gRPC on the same port is unaffected, before and after the HTTP requests
      assertEquals("v", c.etcdctl(1, "get", "http/client-port", "--print-value-only").ok().trim());
      Command curl = Curl.run(client + "/health");
      assertEquals(0, curl.exit(), curl.output());
      assertTrue(curl.output().contains("\"health\":\"true\""), curl.output());
    }
  }

  /** curl as an operator runs it: silent, output and errors together. */
  private static final class Curl {
    static Command run(String... args) throws Exception {
      List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20"));
      cmd.addAll(List.of(args));
      return Command.run(cmd, 30);
    }
  }
}
