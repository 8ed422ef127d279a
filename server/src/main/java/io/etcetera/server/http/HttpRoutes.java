package io.etcetera.server.http;

import io.etcetera.server.Version;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What etcd's HTTP endpoints answer, independent of the server that carries the request (the JDK
 * server on the metrics URLs, Netty on the client port): {@code /health} (etcd 3.5's JSON,
 * {@code exclude} and {@code serializable}, 503 when unhealthy), {@code /livez} and {@code /readyz}
 * (named checks, {@code verbose}, {@code exclude}), {@code /version}, {@code /metrics}; 405 for
 * methods other than GET, 404 elsewhere, with Go's {@code http.Error} texts.
 *
 * <p>Threading: stateless; {@link #answer} may block for a linearizable health check (up to the
 * request timeout), so callers run it off event-loop threads.
 */
public final class HttpRoutes {

  /** A complete response. {@code headers} are extra headers besides Content-Type. */
  public record Reply(int status, String contentType, String body, Map<String, String> headers) {}

  private static final String TEXT = "text/plain; charset=utf-8";

  private final HealthChecks health;
  private final MetricsText metrics;

  public HttpRoutes(HealthChecks health, MetricsText metrics) {
    this.health = health;
    this.metrics = metrics;
  }

  /** The answer to {@code method} on {@code path} with the (still encoded) query string. */
  public Reply answer(String method, String path, String rawQuery) {
    Map<String, List<String>> query = query(rawQuery);
    boolean get = method.equals("GET") || method.equals("HEAD");
    return switch (path) {
      case "/health" -> get ? health(query) : notAllowed();
      case "/version" -> get
          ? reply(200, "application/json",
              "{\"etcdserver\":\"" + Version.ETCD_API + "\",\"etcdcluster\":\"" + Version.ETCD_CLUSTER + "\"}")
          : notAllowed();
      case "/metrics" -> reply(200, MetricsText.CONTENT_TYPE, metrics.render());
      case "/livez" -> get ? checks("livez", query, Map.of("serializable_read", health::serializableRead)) : notAllowed();
      case "/readyz" -> {
        if (!get) {
          yield notAllowed();
        }
        Map<String, Supplier<String>> named = new LinkedHashMap<>();
        named.put("data_corruption", health::dataCorruption);
        named.put("serializable_read", health::serializableRead);
        named.put("linearizable_read", health::linearizableRead);
        yield checks("readyz", query, named);
      }
      default -> error(404, "404 page not found");
    };
  }

  private Reply health(Map<String, List<String>> query) {
    HealthChecks.Health h = health.health(new LinkedHashSet<>(query.getOrDefault("exclude", List.of())),
        "true".equals(first(query, "serializable")));
    String json = "{\"health\":\"" + h.healthy() + "\",\"reason\":" + io.etcetera.server.json.GoJson.quote(h.reason()) + "}";
    return h.healthy() ? reply(200, TEXT, json) : error(503, json);
  }

  /** Kubernetes-style named checks: "ok", or each check's line and 503 when one fails. */
  private static Reply checks(String endpoint, Map<String, List<String>> query, Map<String, Supplier<String>> named) {
    Set<String> excluded = new LinkedHashSet<>(query.getOrDefault("exclude", List.of()));
    StringBuilder lines = new StringBuilder();
    boolean failed = false;
    for (Map.Entry<String, Supplier<String>> c : named.entrySet()) {
      if (excluded.remove(c.getKey())) {
        lines.append("[+]").append(c.getKey()).append(" excluded: ok\n");
        continue;
      }
      String error = c.getValue().get();
      if (error == null) {
        lines.append("[+]").append(c.getKey()).append(" ok\n");
      } else {
        failed = true;
        lines.append("[-]").append(c.getKey()).append(" failed: ").append(error).append('\n');
      }
    }
    for (String unknown : excluded) {
      lines.append("warn: some health checks cannot be excluded: no matches for \"").append(unknown).append("\"\n");
    }
    if (failed) {
      return error(503, lines + endpoint + " check failed");
    }
    return query.containsKey("verbose") ? reply(200, TEXT, lines + endpoint + " check passed\n") : reply(200, TEXT, "ok");
  }

  private static Reply notAllowed() {
    Reply r = error(405, "Method Not Allowed");
    Map<String, String> headers = new LinkedHashMap<>(r.headers());
    headers.put("Allow", "GET");
    return new Reply(r.status(), r.contentType(), r.body(), Map.copyOf(headers));
  }

  private static Reply reply(int status, String contentType, String body) {
    return new Reply(status, contentType, body, Map.of());
  }

  /** As Go's http.Error: plain text, no sniffing, a newline after the message. */
  private static Reply error(int status, String message) {
    return new Reply(status, TEXT, message + "\n", Map.of("X-Content-Type-Options", "nosniff"));
  }

  private static Map<String, List<String>> query(String raw) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      try {
        String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
      } catch (IllegalArgumentException badEscape) {
        // Go's query parser drops a pair it cannot decode
      }
    }
    return out;
  }

  private static String first(Map<String, List<String>> query, String key) {
    List<String> v = query.get(key);
    return v == null || v.isEmpty() ? null : v.get(0);
  }
}
