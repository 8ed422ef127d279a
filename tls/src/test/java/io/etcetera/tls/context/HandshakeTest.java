package io.etcetera.tls.context;

import static io.etcetera.tls.KeyChecks.cn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.tls.OpenSsl;
import io.etcetera.tls.Pki;
import io.etcetera.tls.gen.CertificateGenerator;
import io.etcetera.tls.gen.Issued;
import io.etcetera.tls.gen.KeyFormat;
import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real mTLS handshakes over loopback with SSLContexts built from the reloading managers on both sides. */
class HandshakeTest {
  @TempDir
  static Path shared;
  static Pki pki;

  @TempDir
  Path dir;

  private final ExecutorService exec = Executors.newCachedThreadPool();

  @BeforeAll
  static void makePki() throws IOException {
    pki = new Pki(shared);
  }

  @AfterEach
  void stop() throws InterruptedException {
    exec.shutdownNow();
    exec.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** What the server saw of one connection. */
  record Served(String clientCn, String protocol) {}

  /** What the client saw. */
  record Seen(X509Certificate serverLeaf, int reply, String protocol) {}

  static SSLContext context(KeyManager km, TrustManager tm) throws Exception {
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(new KeyManager[] {km}, new TrustManager[] {tm}, null);
    return c;
  }

  final class Server implements AutoCloseable {
    final SSLServerSocket socket;

    Server(SSLContext ctx, String[] protocols) throws IOException {
      socket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 8, InetAddress.getLoopbackAddress());
      socket.setNeedClientAuth(true);
      socket.setEnabledProtocols(protocols);
    }

    int port() {
      return socket.getLocalPort();
    }

    /** Serves one connection: handshake, read a byte, answer it plus one. */
    Future<Served> acceptOne() {
      return exec.submit(() -> {
        try (SSLSocket s = (SSLSocket) socket.accept()) {
          s.setSoTimeout(10_000);
          s.startHandshake();
          X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
          int b = s.getInputStream().read();
          s.getOutputStream().write(b + 1);
          s.getOutputStream().flush();
          return new Served(cn(peer), s.getSession().getProtocol());
        }
      });
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  static Seen connect(SSLContext ctx, int port, String[] protocols) throws IOException {
    try (SSLSocket c = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      c.setSoTimeout(10_000);
      c.setEnabledProtocols(protocols);
      SSLParameters p = c.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("HTTPS"); // the server certificate's IP SAN must match 127.0.0.1
      c.setSSLParameters(p);
      c.startHandshake();
      X509Certificate leaf = (X509Certificate) c.getSession().getPeerCertificates()[0];
      c.getOutputStream().write(41);
      c.getOutputStream().flush();
      int r = c.getInputStream().read();
      if (r != 42) {
        throw new IOException("connection closed by the server (" + r + ")");
      }
      return new Seen(leaf, r, c.getSession().getProtocol());
    }
  }

  static Throwable cause(ExecutionException e) {
    return e.getCause();
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLS1.2", "TLS1.3"})
  void mutualTlsSucceedsWithTheRightCertificates(String version) throws Exception {
    String[] protocols = TlsVersions.protocols(version, version);
    SSLContext serverCtx = context(new ReloadingKeyManager(pki.serverChain, pki.serverKey),
        new ReloadingTrustManager(pki.bundle));
    SSLContext clientCtx = context(new ReloadingKeyManager(pki.clientChain, pki.clientKey),
        new ReloadingTrustManager(pki.bundle));
    try (Server server = new Server(serverCtx, protocols)) {
      Future<Served> served = server.acceptOne();
      Seen seen = connect(clientCtx, server.port(), protocols);
      assertEquals(42, seen.reply());
      assertEquals("server", cn(seen.serverLeaf()));
      assertEquals(protocols[0], seen.protocol());
      Served s = served.get(20, TimeUnit.SECONDS);
      assertEquals("alice", s.clientCn());
      assertEquals(protocols[0], s.protocol());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLS1.2", "TLS1.3"})
  void clientCertificateFromAnotherCaIsRefused(String version) throws Exception {
    String[] protocols = TlsVersions.protocols(version, version);
    SSLContext serverCtx = context(new ReloadingKeyManager(pki.serverChain, pki.serverKey),
        new ReloadingTrustManager(pki.bundle));
    SSLContext rogueClient = context(new ReloadingKeyManager(pki.rogueClientCert, pki.rogueClientKey),
        new ReloadingTrustManager(pki.bundle));
    try (Server server = new Server(serverCtx, protocols)) {
      Future<Served> served = server.acceptOne();
      assertThrows(IOException.class, () -> connect(rogueClient, server.port(), protocols));
      ExecutionException e = assertThrows(ExecutionException.class, () -> served.get(20, TimeUnit.SECONDS));
      assertInstanceOf(SSLHandshakeException.class, cause(e), String.valueOf(cause(e)));
    }
  }

  @Test
  void clientWithoutACertificateIsRefused() throws Exception {
    String[] protocols = TlsVersions.protocols("", "");
    SSLContext serverCtx = context(new ReloadingKeyManager(pki.serverChain, pki.serverKey),
        new ReloadingTrustManager(pki.bundle));
    SSLContext anonymous = SSLContext.getInstance("TLS");
    anonymous.init(null, new TrustManager[] {new ReloadingTrustManager(pki.bundle)}, null);
    try (Server server = new Server(serverCtx, protocols)) {
      Future<Served> served = server.acceptOne();
      assertThrows(IOException.class, () -> connect(anonymous, server.port(), protocols));
      ExecutionException e = assertThrows(ExecutionException.class, () -> served.get(20, TimeUnit.SECONDS));
      assertInstanceOf(SSLHandshakeException.class, cause(e), String.valueOf(cause(e)));
    }
  }

  @Test
  void serverCertificateFromAnotherCaIsRefusedByTheClient() throws Exception {
    String[] protocols = TlsVersions.protocols("", "");
    SSLContext rogueServer = context(new ReloadingKeyManager(pki.rogueServerCert, pki.rogueServerKey),
        new ReloadingTrustManager(pki.bundle));
    SSLContext clientCtx = context(new ReloadingKeyManager(pki.clientChain, pki.clientKey),
        new ReloadingTrustManager(pki.bundle));
    try (Server server = new Server(rogueServer, protocols)) {
      Future<Served> served = server.acceptOne();
      assertThrows(SSLHandshakeException.class, () -> connect(clientCtx, server.port(), protocols));
      assertThrows(ExecutionException.class, () -> served.get(20, TimeUnit.SECONDS));
    }
  }

  @Test
  void serverCertificateForAnotherHostIsRefusedByTheClient() throws Exception {
    Path key = pki.ssl.ecPkcs8("elsewhere.key");
    Path leaf = pki.ssl.sign("elsewhere-leaf.pem", key, "elsewhere", pki.intCa, pki.intKey,
        OpenSsl.LEAF_EXT.replace("IP:127.0.0.1,DNS:localhost", "DNS:etcd.example.com"));
    Path chain = OpenSsl.concat(dir.resolve("elsewhere.pem"), leaf, pki.intCa);
    String[] protocols = TlsVersions.protocols("", "");
    SSLContext serverCtx = context(new ReloadingKeyManager(chain, key), new ReloadingTrustManager(pki.bundle));
    SSLContext clientCtx = context(new ReloadingKeyManager(pki.clientChain, pki.clientKey),
        new ReloadingTrustManager(pki.bundle));
    try (Server server = new Server(serverCtx, protocols)) {
      server.acceptOne();
      SSLHandshakeException e = assertThrows(SSLHandshakeException.class,
          () -> connect(clientCtx, server.port(), protocols));
      assertTrue(String.valueOf(e.getCause()).contains("127.0.0.1") || e.getMessage().contains("127.0.0.1"),
          e.toString());
    }
  }

  @Test
  void rotatedServerCertificateIsServedToNewConnections() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    Files.copy(pki.serverChain, cert);
    Files.copy(pki.serverKey, key);
    Path key2 = pki.ssl.ecSec1("server2.key");
    Path leaf2 = pki.ssl.sign("server2-leaf.pem", key2, "server2", pki.intCa, pki.intKey, OpenSsl.LEAF_EXT);
    Path chain2 = OpenSsl.concat(dir.resolve("server2.pem"), leaf2, pki.intCa);

    String[] protocols = TlsVersions.protocols("", "");
    SSLContext serverCtx = context(new ReloadingKeyManager(cert, key), new ReloadingTrustManager(pki.bundle));
    SSLContext clientCtx = context(new ReloadingKeyManager(pki.clientChain, pki.clientKey),
        new ReloadingTrustManager(pki.bundle));
    try (Server server = new Server(serverCtx, protocols)) {
      server.acceptOne();
      BigInteger first = connect(clientCtx, server.port(), protocols).serverLeaf().getSerialNumber();
      assertEquals(PemFiles.certificates(pki.serverChain).get(0).getSerialNumber(), first);

      Files.copy(chain2, cert, StandardCopyOption.REPLACE_EXISTING);
      Files.copy(key2, key, StandardCopyOption.REPLACE_EXISTING);
      FileTime later = FileTime.fromMillis(System.currentTimeMillis() + 5000);
      Files.setLastModifiedTime(cert, later);
      Files.setLastModifiedTime(key, later);
      Thread.sleep(1150);

      server.acceptOne();
      // a fresh client context: a resumed session would show the certificate of the first handshake
      SSLContext freshClient = context(new ReloadingKeyManager(pki.clientChain, pki.clientKey),
          new ReloadingTrustManager(pki.bundle));
      X509Certificate second = connect(freshClient, server.port(), protocols).serverLeaf();
      assertNotEquals(first, second.getSerialNumber());
      assertEquals("server2", cn(second));
    }
  }

  @Test
  void generatedPkiHandshakes() throws Exception {
    // etcetera certs / CertificateGenerator output used on both sides.
    Issued ca = CertificateGenerator.ca("gen ca", Duration.ofDays(2), CertificateGenerator.KeyType.EC);
    Issued server = CertificateGenerator.leaf(ca, "etcd", List.of("127.0.0.1", "localhost"), true, true,
        Duration.ofDays(1));
    Issued client = CertificateGenerator.leaf(ca, "bob", List.of(), false, true, Duration.ofDays(1));
    Path caFile = dir.resolve("ca.pem");
    ca.write(caFile, dir.resolve("ca-key.pem"), KeyFormat.PKCS8);
    server.write(dir.resolve("etcd.pem"), dir.resolve("etcd-key.pem"), KeyFormat.PKCS8);
    client.write(dir.resolve("bob.pem"), dir.resolve("bob-key.pem"), KeyFormat.PKCS8);
    String[] protocols = TlsVersions.protocols("", "");
    SSLContext serverCtx = context(new ReloadingKeyManager(dir.resolve("etcd.pem"), dir.resolve("etcd-key.pem")),
        new ReloadingTrustManager(caFile));
    SSLContext clientCtx = context(new ReloadingKeyManager(dir.resolve("bob.pem"), dir.resolve("bob-key.pem")),
        new ReloadingTrustManager(caFile));
    try (Server s = new Server(serverCtx, protocols)) {
      Future<Served> served = s.acceptOne();
      assertEquals("etcd", cn(connect(clientCtx, s.port(), protocols).serverLeaf()));
      assertEquals("bob", served.get(20, TimeUnit.SECONDS).clientCn());
    }
  }
}
