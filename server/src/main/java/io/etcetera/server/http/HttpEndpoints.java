package io.etcetera.server.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.etcetera.server.Version;
import io.etcetera.server.config.FlagException;
import io.etcetera.server.config.ServerConfig;
import io.etcetera.tls.context.ReloadingKeyManager;
import io.etcetera.tls.context.ReloadingTrustManager;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

/**
 * etcd's HTTP endpoints on the {@code --listen-metrics-urls}: {@code /health} (etcd 3.5's JSON,
 * {@code exclude} and {@code serializable} parameters, 503 when unhealthy), {@code /livez} and
 * {@code /readyz} (named checks, {@code verbose} and {@code exclude}), {@code /version} and
 * {@code /metrics} (Prometheus text). {@code http://} URLs are served plain; {@code https://} URLs
 * with the client certificate and key, requiring a client certificate signed by the trusted CA when
 * one is given, as etcd serves its metrics listeners.
 *
 * <p>Threading: each listener is a JDK HTTP server; requests run on a shared pool of two daemon
 * threads (a linearizable health check blocks one for at most the request timeout). Built and
 * started by the composition root, closed before the components it reads from.
 */
public final class HttpEndpoints implements AutoCloseable {

  private static final String TEXT = "text/plain; charset=utf-8";

  private final List<HttpServer> servers;
  private final ExecutorService threads;

  private HttpEndpoints(List<HttpServer> servers, ExecutorService threads) {
    this.servers = servers;
    this.threads = threads;
  }

  /** Binds every metrics URL and starts serving; nothing is bound when {@code urls} is empty. */
  public static HttpEndpoints start(List<URI> urls, ServerConfig.ClientTls tls, HealthChecks health, MetricsText metrics)
      throws IOException {
    ExecutorService threads = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "http-endpoints");
      t.setDaemon(true);
      return t;
    });
    List<HttpServer> servers = new ArrayList<>();
    HttpEndpoints endpoints = new HttpEndpoints(servers, threads);
    try {
      Routes routes = new Routes(health, metrics);
      for (URI url : urls) {
        if (!url.getScheme().equals("https") && !url.getScheme().equals("http")) {
          throw new FlagException("metrics URL " + url + ": only http and https are served");
        }
        HttpServer server = url.getScheme().equals("https")
            ? secure(url, tls)
            : HttpServer.create(ServerConfig.bindAddress(url), 64);
        server.createContext("/", routes::handle);
        server.setExecutor(threads);
        server.start();
        servers.add(server);
      }
    } catch (IOException | RuntimeException e) {
      endpoints.close();
      throw e;
    }
    return endpoints;
  }

  private static HttpsServer secure(URI url, ServerConfig.ClientTls tls) throws IOException {
    if (!tls.hasCert()) {
      throw new FlagException("TLS key/cert (--cert-file, --key-file) must be provided for metrics url " + url
          + " with HTTPS scheme");
    }
    try {
      KeyManager[] keys = {new ReloadingKeyManager(Path.of(tls.certFile()), Path.of(tls.keyFile()))};
      TrustManager[] trust = tls.trustedCaFile().isEmpty()
          ? null
          : new TrustManager[] {new ReloadingTrustManager(Path.of(tls.trustedCaFile()))};
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys, trust, null);
      boolean requireClientCert = tls.clientCertAuth() || !tls.trustedCaFile().isEmpty();
      HttpsServer server = HttpsServer.create(ServerConfig.bindAddress(url), 64);
      server.setHttpsConfigurator(new HttpsConfigurator(context) {
        @Override
        public void configure(HttpsParameters params) {
          SSLParameters p = context.getDefaultSSLParameters();
          p.setNeedClientAuth(requireClientCert);
          params.setSSLParameters(p);
        }
      });
      return server;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot set up TLS for metrics url " + url + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    for (HttpServer s : servers) {
      s.stop(0);
    }
    threads.shutdownNow();
  }

  /** The request handling, shared by every listener. */
  private record Routes(HealthChecks health, MetricsText metrics) {

    void handle(HttpExchange ex) throws IOException {
      try (ex) {
        String path = ex.getRequestURI().getPath();
        Map<String, List<String>> query = query(ex.getRequestURI().getRawQuery());
        switch (path) {
          case "/health" -> {
            if (getOnly(ex)) {
              HealthChecks.Health h = health.health(new LinkedHashSet<>(query.getOrDefault("exclude", List.of())),
                  "true".equals(first(query, "serializable")));
              String json = "{\"health\":\"" + h.healthy() + "\",\"reason\":\"" + jsonEscape(h.reason()) + "\"}";
              if (h.healthy()) {
                send(ex, 200, TEXT, json);
              } else {
                sendError(ex, 503, json);
              }
            }
          }
          case "/version" -> {
            if (getOnly(ex)) {
              send(ex, 200, "application/json",
                  "{\"etcdserver\":\"" + Version.ETCD_API + "\",\"etcdcluster\":\"" + Version.ETCD_CLUSTER + "\"}");
            }
          }
          case "/metrics" -> send(ex, 200, MetricsText.CONTENT_TYPE, metrics.render());
          case "/livez" -> checks(ex, "livez", query, Map.of("serializable_read", health::serializableRead));
          case "/readyz" -> {
            Map<String, Supplier<String>> named = new LinkedHashMap<>();
            named.put("data_corruption", health::dataCorruption);
            named.put("serializable_read", health::serializableRead);
            named.put("linearizable_read", health::linearizableRead);
            checks(ex, "readyz", query, named);
          }
          default -> sendError(ex, 404, "404 page not found");
        }
      }
    }

    /** Kubernetes-style named checks: "ok", or each check's line and 503 when one fails. */
    private static void checks(HttpExchange ex, String endpoint, Map<String, List<String>> query,
        Map<String, Supplier<String>> named) throws IOException {
      if (!getOnly(ex)) {
        return;
      }
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
        sendError(ex, 503, lines + endpoint + " check failed");
      } else if (query.containsKey("verbose")) {
        send(ex, 200, TEXT, lines + endpoint + " check passed\n");
      } else {
        send(ex, 200, TEXT, "ok");
      }
    }

    private static boolean getOnly(HttpExchange ex) throws IOException {
      if (ex.getRequestMethod().equals("GET")) {
        return true;
      }
      ex.getResponseHeaders().set("Allow", "GET");
      sendError(ex, 405, "Method Not Allowed");
      return false;
    }

    /** As Go's http.Error: plain text, no sniffing, a newline after the message. */
    private static void sendError(HttpExchange ex, int status, String message) throws IOException {
      ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
      send(ex, status, TEXT, message + "\n");
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", contentType);
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(status, head ? -1 : bytes.length);
      if (!head) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(bytes);
        }
      }
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
        String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        out.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
      }
      return out;
    }

    private static String first(Map<String, List<String>> query, String key) {
      List<String> v = query.get(key);
      return v == null || v.isEmpty() ? null : v.get(0);
    }

    private static String jsonEscape(String s) {
      StringBuilder b = new StringBuilder(s.length());
      for (char c : s.toCharArray()) {
        switch (c) {
          case '"' -> b.append("\\\"");
          case '\\' -> b.append("\\\\");
          case '\n' -> b.append("\\n");
          default -> {
            if (c < 0x20) {
              b.append(String.format("\\u%04x", (int) c));
            } else {
              b.append(c);
            }
          }
        }
      }
      return b.toString();
    }
  }
}
