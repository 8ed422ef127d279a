package io.etcetera.server;

import io.etcetera.server.config.FlagException;
import io.etcetera.server.config.ServerConfig;
import io.etcetera.server.grpc.KvService;
import io.etcetera.tls.context.ClientCertificatePolicy;
import io.etcetera.tls.context.ReloadingKeyManager;
import io.etcetera.tls.context.ReloadingTrustManager;
import io.etcetera.tls.context.TlsVersions;
import io.etcetera.tls.gen.CertificateGenerator;
import io.etcetera.tls.gen.KeyFormat;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerServiceDefinition;
import io.etcetera.server.http.HttpRoutes;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.OpenSsl;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC servers behind {@code --listen-client-urls}: one for the {@code http://} URLs (which also
 * answer etcd's HTTP endpoints, {@link PlaintextHttpSniffing}) and one with TLS for the
 * {@code https://} URLs (etcd serves both kinds side by side), configured as
 * etcd's: keepalive pings allowed every {@code --grpc-keepalive-min-time} even without calls, no
 * stream limit, any {@code :authority}, a receive limit 512 KiB above {@code --max-request-bytes}.
 * TLS: the certificate and key (re-read when the files change), the CA bundle verifying client
 * certificates, which are required once a CA file or {@code --client-cert-auth} is given; {@code --auto-tls} makes a self-signed
 * pair in the data dir, as etcd does. Built once by the composition root; immutable.
 */
final class ClientListeners {
  /** etcd lets a request exceed --max-request-bytes by this much on the wire, so it can answer with its own error. */
  private static final int GRPC_OVERHEAD_BYTES = 512 * 1024;
  /** How long a gateway request waits for its answer (a write waits for its entry's apply). */
  private static final long GATEWAY_TIMEOUT_MILLIS = 30_000;

  private ClientListeners() {}

  static List<Server> build(ServerConfig cfg, List<ServerServiceDefinition> services, ServerInterceptor identity,
      ServerInterceptor gate, ServerInterceptor counts, HttpRoutes http, Executor httpThreads)
      throws IOException {
    List<InetSocketAddress> plain = new ArrayList<>();
    List<InetSocketAddress> secure = new ArrayList<>();
    for (URI u : cfg.listenClientUrls()) {
      if (u.getScheme().equals("https")) {
        secure.add(ServerConfig.bindAddress(u));
      } else if (u.getScheme().equals("http")) {
        plain.add(ServerConfig.bindAddress(u));
      } else {
        throw new FlagException("listen URL " + u + ": unix sockets are not served by Etcetera");
      }
    }
    List<Server> servers = new ArrayList<>();
    if (!plain.isEmpty()) {
      // etcd's JSON gateway: the same services behind the same interceptors (counts runs first)
      io.etcetera.server.gateway.GrpcGateway gateway = new io.etcetera.server.gateway.GrpcGateway(services,
          List.of(identity, gate, counts), GATEWAY_TIMEOUT_MILLIS);
      int maxHttpBody = (int) Math.min(Integer.MAX_VALUE / 2, cfg.maxRequestBytes() * 2 + GRPC_OVERHEAD_BYTES);
      servers.add(server(cfg, plain, null, services, identity, gate, counts,
          new PlaintextHttpSniffing(http, gateway, maxHttpBody, httpThreads)));
    }
    if (!secure.isEmpty()) {
      ServerConfig.ClientTls tls = cfg.clientTls();
      if (tls.isEmpty()) {
        throw new FlagException("TLS key/cert (--cert-file, --key-file) must be provided for client url "
            + cfg.listenClientUrls().stream().filter(u -> u.getScheme().equals("https")).findFirst().orElseThrow()
            + " with HTTPS scheme");
      }
      servers.add(server(cfg, secure, sslContext(cfg, tls), services, identity, gate, counts, null));
    }
    return servers;
  }

  private static Server server(ServerConfig cfg, List<InetSocketAddress> addresses, SslContext ssl,
      List<ServerServiceDefinition> services, ServerInterceptor identity, ServerInterceptor gate,
      ServerInterceptor counts, PlaintextHttpSniffing plainWithHttp) {
    // plain listeners also answer etcd's HTTP endpoints (curl http://…:2379/health) beside gRPC
    NettyServerBuilder b = plainWithHttp != null
        ? NettyServerBuilder.forAddress(addresses.get(0), InternalNettyServerCredentials.create(plainWithHttp))
        : NettyServerBuilder.forAddress(addresses.get(0));
    for (InetSocketAddress a : addresses.subList(1, addresses.size())) {
      b.addListenAddress(a);
    }
    if (ssl != null) {
      b.sslContext(ssl);
    }
    long streams = Math.min(cfg.maxConcurrentStreams(), Integer.MAX_VALUE);
    b.permitKeepAliveTime(cfg.grpcKeepaliveMinTime().toNanos(), TimeUnit.NANOSECONDS)
        .permitKeepAliveWithoutCalls(true)
        .keepAliveTime(cfg.grpcKeepaliveInterval().toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveTimeout(cfg.grpcKeepaliveTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .maxConcurrentCallsPerConnection((int) streams)
        .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, cfg.maxRequestBytes() + GRPC_OVERHEAD_BYTES))
        .intercept(identity)
        .intercept(gate)
        .intercept(counts); // added last, runs first: refused calls count too
    for (ServerServiceDefinition s : services) {
      b.addService(s);
    }
    // Writes only validate and enqueue a proposal, and watch and keep-alive requests only take
    // short in-memory locks, so they run on the transport thread that read them (no hand-off);
    // everything else may touch the disk and runs on the default executor.
    b.callExecutor(new io.grpc.ServerCallExecutorSupplier() {
      @Override
      public <ReqT, RespT> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<ReqT, RespT> call,
          io.grpc.Metadata headers) {
        io.grpc.MethodDescriptor<?, ?> m = call.getMethodDescriptor();
        boolean nonBlocking = KvService.isWrite(m)
            || m == io.etcetera.api.etcdserverpb.WatchGrpc.getWatchMethod()
            || m == io.etcetera.api.etcdserverpb.LeaseGrpc.getLeaseKeepAliveMethod();
        return nonBlocking ? Runnable::run : null;
      }
    });
    return b.build();
  }

  private static SslContext sslContext(ServerConfig cfg, ServerConfig.ClientTls tls) throws IOException {
    Path cert;
    Path key;
    if (tls.hasCert()) {
      cert = Path.of(tls.certFile());
      key = Path.of(tls.keyFile());
    } else {
      // etcd's --auto-tls: a self-signed pair under the data dir, valid for the listen hosts
      Path dir = cfg.dataDir().resolve("fixtures").resolve("client");
      Files.createDirectories(dir);
      cert = dir.resolve("cert.pem");
      key = dir.resolve("key.pem");
      if (!Files.exists(cert) || !Files.exists(key)) {
        List<String> hosts = new ArrayList<>();
        for (URI u : cfg.listenClientUrls()) {
          hosts.add(u.getHost());
        }
        CertificateGenerator.selfSigned("etcetera", hosts, Duration.ofDays(365)).write(cert, key, KeyFormat.PKCS8);
      }
    }
    SslContextBuilder b = SslContextBuilder.forServer(new ReloadingKeyManager(cert, key));
    // BoringSSL (netty-tcnative, bundled with grpc-netty-shaded) where its native library loads:
    // AES-GCM in native code, where the JDK's engine runs GHASH as Java code unless C2 compiled it
    // (bin/etcetera stops at C1); the key and trust managers are asked on every handshake either way
    GrpcSslContexts.configure(b, OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK);
    if (!tls.trustedCaFile().isEmpty()) {
      b.trustManager(ClientCertificatePolicy.wrap(new ReloadingTrustManager(Path.of(tls.trustedCaFile())),
          tls.checks().crlFile(), tls.checks().allowedCn(), tls.checks().allowedHostname()));
    }
    // as etcd: a CA file alone already makes client certificates required and verified
    // (the common name names the user only with --client-cert-auth)
    b.clientAuth(tls.clientCertAuth() || !tls.trustedCaFile().isEmpty() ? ClientAuth.REQUIRE : ClientAuth.NONE);
    try {
      b.protocols(TlsVersions.protocols(tls.minVersion(), tls.maxVersion()));
    } catch (IllegalArgumentException e) {
      throw new FlagException(e.getMessage());
    }
    List<String> ciphers = TlsVersions.cipherSuites(tls.cipherSuites());
    if (ciphers != null) {
      b.ciphers(ciphers);
    }
    return b.build();
  }

}
