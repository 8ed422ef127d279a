package io.etcetera.server.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.etcetera.server.config.FlagException;
import io.etcetera.server.config.ServerConfig;
import io.etcetera.tls.context.ReloadingKeyManager;
import io.etcetera.tls.context.ReloadingTrustManager;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

/**
 * The listeners of {@code --listen-metrics-urls}, answering with {@link HttpRoutes} (etcd's
 * {@code /health}, {@code /livez}, {@code /readyz}, {@code /version}, {@code /metrics}).
 * {@code http://} URLs are served plain; {@code https://} URLs
 * with the client certificate and key, requiring a client certificate signed by the trusted CA when
 * one is given, as etcd serves its metrics listeners.
 *
 * <p>Threading: each listener is a JDK HTTP server; requests run on the given pool (shared with
 * the client port's HTTP; a linearizable health check blocks a thread for at most the request
 * timeout). Built and started by the composition root, closed before the components it reads from.
 */
public final class HttpEndpoints implements AutoCloseable {

  private final List<HttpServer> servers;

  private HttpEndpoints(List<HttpServer> servers) {
    this.servers = servers;
  }

  /** Binds every metrics URL and starts serving; nothing is bound when {@code urls} is empty. */
  public static HttpEndpoints start(List<URI> urls, ServerConfig.ClientTls tls, HttpRoutes routes,
      ExecutorService threads) throws IOException {
    List<HttpServer> servers = new ArrayList<>();
    HttpEndpoints endpoints = new HttpEndpoints(servers);
    try {
      for (URI url : urls) {
        if (!url.getScheme().equals("https") && !url.getScheme().equals("http")) {
          throw new FlagException("metrics URL " + url + ": only http and https are served");
        }
        HttpServer server = url.getScheme().equals("https")
            ? secure(url, tls)
            : HttpServer.create(ServerConfig.bindAddress(url), 64);
        server.createContext("/", ex -> handle(routes, ex));
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
          : new TrustManager[] {io.etcetera.tls.context.ClientCertificatePolicy.wrap(
              new ReloadingTrustManager(Path.of(tls.trustedCaFile())),
              tls.checks().crlFile(), tls.checks().allowedCn(), tls.checks().allowedHostname())};
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
  }

  private static void handle(HttpRoutes routes, HttpExchange ex) throws IOException {
    try (ex) {
      HttpRoutes.Reply reply = routes.answer(ex.getRequestMethod(), ex.getRequestURI().getPath(),
          ex.getRequestURI().getRawQuery());
      byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", reply.contentType());
      reply.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(reply.status(), head ? -1 : bytes.length);
      if (!head) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(bytes);
        }
      }
    }
  }
}
