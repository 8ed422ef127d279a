package io.etcetera.e2e.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * etcd's gRPC gateway (JSON over HTTP on the plain client URL, as curl, Patroni or APISIX use it):
 * the same script of requests against real etcd 3.4.23 and Etcetera gives the same HTTP statuses
 * and the same JSON bodies (member and cluster IDs and the Raft term set aside): puts, ranges,
 * txn, delete, leases, compaction, lock/unlock, an election (campaign, leader, observe stream,
 * proclaim, resign, etcd's plain errors), streamed keep-alives and a watch (chunked, one {@code
 * {"result":...}} line per message, the watch kept after the request body ended), etcd's error
 * objects, auth with a token in the Authorization header, and the statuses for an unknown path and
 * a GET.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class GatewayDifferentialTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Exchange(String request, int status, String body) {}

  private static Exchange post(String base, String path, String body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) b.header("Authorization", token);
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Exchange("POST " + path + " " + body, r.statusCode(), normalize(r.body()));
  }

  /** The parts that differ between any two clusters: IDs and the Raft term. */
  private static String normalize(String body) {
    return body.replaceAll("\"cluster_id\":\"\\d+\"", "\"cluster_id\":\"C\"")
        .replaceAll("\"member_id\":\"\\d+\"", "\"member_id\":\"M\"")
        .replaceAll("\"raft_term\":\"\\d+\"", "\"raft_term\":\"T\"")
        .trim();
  }

  private static List<Exchange> script(String base) throws Exception {
    List<Exchange> out = new ArrayList<>();
    out.add(post(base, "/v3/kv/put", "{\"key\":\"Zm9v\",\"value\":\"YmFy\"}", null));
    out.add(post(base, "/v3/kv/put", "{\"key\":\"Zm9vMg==\",\"value\":\"dHdv\",\"prev_kv\":true}", null));
    out.add(post(base, "/v3/kv/range", "{\"key\":\"Zm9v\"}", null));
    out.add(post(base, "/v3/kv/range", "{\"key\":\"Zm9v\",\"range_end\":\"Zm9w\",\"count_only\":true}", null));
    out.add(post(base, "/v3/kv/range", "{\"key\":\"Zm9v\",\"revision\":1000}", null));
    out.add(post(base, "/v3/kv/range", "", null));
    out.add(post(base, "/v3/kv/txn", "{\"compare\":[{\"key\":\"Zm9v\",\"result\":\"EQUAL\",\"target\":\"VALUE\",\"value\":\"YmFy\"}],"
        + "\"success\":[{\"request_put\":{\"key\":\"Zm9v\",\"value\":\"YmF6\"}},{\"request_range\":{\"key\":\"Zm9v\"}}]}", null));
    out.add(post(base, "/v3/kv/txn", "{\"compare\":[{\"key\":\"Zm9v\",\"result\":\"EQUAL\",\"target\":\"MOD\",\"mod_revision\":\"2\"}],"
        + "\"failure\":[{\"request_range\":{\"key\":\"Zm9v\"}}]}", null));
    out.add(post(base, "/v3/lease/grant", "{\"TTL\":600,\"ID\":7}", null));
    out.add(post(base, "/v3/kv/put", "{\"key\":\"bGVhc2Vk\",\"value\":\"eA==\",\"lease\":7}", null));
    out.add(post(base, "/v3/lease/leases", "{}", null));
    out.add(post(base, "/v3/lock/lock", "{\"name\":\"bG9jaw==\",\"lease\":7}", null));
    out.add(post(base, "/v3/lock/unlock", "{\"key\":\"bG9jay83\"}", null));
    out.addAll(election(base));
    // client streams: two keep-alives in one body, answered in one chunked body, one line each
    out.add(post(base, "/v3/lease/keepalive", "{\"ID\":7}\n{\"ID\":7}", null));
    out.addAll(watch(base));
    out.add(post(base, "/v3/kv/deleterange", "{\"key\":\"Zm9vMg==\",\"prev_kv\":true}", null));
    out.add(post(base, "/v3/kv/compaction", "{\"revision\":3}", null));
    out.add(post(base, "/v3/kv/range", "{\"key\":\"Zm9v\",\"revision\":2}", null));
    out.add(post(base, "/v3beta/kv/range", "{\"key\":\"bGVhc2Vk\",\"keys_only\":true}", null));
    out.add(post(base, "/v3/lease/revoke", "{\"ID\":7}", null));
    out.add(post(base, "/v3/kv/range", "{\"key\":\"bGVhc2Vk\"}", null));
    out.add(post(base, "/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"pw\"}", null));
    out.add(post(base, "/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}", null));
    out.add(post(base, "/v3/auth/enable", "{}", null));
    out.add(post(base, "/v3/kv/range", "{\"key\":\"Zm9v\"}", null));
    Exchange auth = post(base, "/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"pw\"}", null);
    out.add(new Exchange(auth.request(), auth.status(), ""));
    String token = JSON.readTree(auth.body()).get("token").asText();
    out.add(post(base, "/v3/kv/range", "{\"key\":\"Zm9v\"}", token));
    out.add(post(base, "/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"wrong\"}", null));
    Exchange unknown = post(base, "/v3/kv/nosuch", "{}", null);
    out.add(new Exchange(unknown.request(), unknown.status(), ""));
    HttpResponse<String> get = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v3/kv/range")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    out.add(new Exchange("GET /v3/kv/range", get.statusCode(), ""));
    return out;
  }

  /**
   * v3election through the gateway: no leader (etcd's plain error, gRPC Unknown), an observer
   * stream, a campaign, the leader, a proclaim (seen by the observer), a resign, no leader again.
   */
  private static List<Exchange> election(String base) throws Exception {
    List<Exchange> out = new ArrayList<>();
    out.add(post(base, "/v3/election/leader", "{\"name\":\"ZWw=\"}", null));
    HttpRequest observe = HttpRequest.newBuilder(URI.create(base + "/v3/election/observe"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"ZWw=\"}")).build();
    CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> observing =
        HTTP.sendAsync(observe, HttpResponse.BodyHandlers.ofLines());
    Thread.sleep(300);
    Exchange campaign = post(base, "/v3/election/campaign", "{\"name\":\"ZWw=\",\"lease\":7,\"value\":\"djE=\"}", null);
    out.add(campaign);
    String leader = JSON.readTree(campaign.body()).get("leader").toString();
    out.add(post(base, "/v3/election/leader", "{\"name\":\"ZWw=\"}", null));
    HttpResponse<java.util.stream.Stream<String>> r = observing.get(20, TimeUnit.SECONDS);
    try (java.util.stream.Stream<String> lines = r.body()) {
      java.util.Iterator<String> it = lines.iterator();
      out.add(new Exchange("observe first", r.statusCode(), normalize(it.next())));
      out.add(post(base, "/v3/election/proclaim", "{\"leader\":" + leader + ",\"value\":\"djI=\"}", null));
      out.add(new Exchange("observe proclaimed", r.statusCode(), normalize(it.next())));
    }
    out.add(post(base, "/v3/election/resign", "{\"leader\":" + leader + "}", null));
    out.add(post(base, "/v3/election/leader", "{\"name\":\"ZWw=\"}", null));
    out.add(post(base, "/v3/election/proclaim", "{\"leader\":" + leader + ",\"value\":\"djM=\"}", null));
    out.add(post(base, "/v3/election/resign", "{}", null));
    return out;
  }

  /** A gateway watch: the created line, then the event of a put made meanwhile (the body ended after the create). */
  private static List<Exchange> watch(String base) throws Exception {
    HttpRequest create = HttpRequest.newBuilder(URI.create(base + "/v3/watch"))
        .POST(HttpRequest.BodyPublishers.ofString("{\"create_request\":{\"key\":\"d2F0Y2hlZA==\",\"prev_kv\":true}}")).build();
    HttpResponse<java.util.stream.Stream<String>> r = HTTP.sendAsync(create, HttpResponse.BodyHandlers.ofLines())
        .get(20, TimeUnit.SECONDS);
    try (java.util.stream.Stream<String> lines = r.body()) {
      java.util.Iterator<String> it = lines.iterator();
      List<Exchange> out = new ArrayList<>();
      out.add(new Exchange("watch created", r.statusCode(), normalize(it.next())));
      out.add(post(base, "/v3/kv/put", "{\"key\":\"d2F0Y2hlZA==\",\"value\":\"MQ==\"}", null));
      out.add(new Exchange("watch event", r.statusCode(), normalize(it.next())));
      return out;
    }
  }

  @Test
  void theGatewayAnswersAsEtcdsDoes(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    List<List<Exchange>> runs = new ArrayList<>();
    for (Binary binary : new Binary[] {Binary.ETCD, Binary.ETCETERA}) {
      Ports.Address at = Ports.allocate();
      try (Member m = Member.start(binary, work.resolve(binary.name().toLowerCase()), at)) {
        runs.add(script("http://" + at.host() + ":" + at.port()));
      }
    }
    List<Exchange> etcd = runs.get(0);
    List<Exchange> etcetera = runs.get(1);
    assertEquals(etcd.size(), etcetera.size());
    for (int i = 0; i < etcd.size(); i++) {
      assertEquals(etcd.get(i), etcetera.get(i), "request " + i + " (" + etcd.get(i).request() + ")");
    }
    assertTrue(etcd.get(2).body().contains("\"value\":\"YmFy\""), "the script read the put back: " + etcd.get(2));
    for (Exchange e : etcetera) {
      if (e.request().equals("observe proclaimed")) {
        assertTrue(e.body().contains("\"value\":\"djI=\""), "the observer saw the proclaimed value: " + e);
      }
      if (e.request().startsWith("POST /v3/election/leader")) {
        assertTrue(e.status() == 200 || e.body().contains("election: no leader"), e.toString());
      }
    }
  }
}
