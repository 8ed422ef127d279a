package io.etcetera.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EtcdFlagsTest {
  private static ServerConfig config(Map<String, String> env, String... args) {
    return ServerConfig.from(EtcdFlags.parse(args, env));
  }

  @Test
  void noFlagsBehaveLikeABareEtcd() {
    ServerConfig c = config(Map.of());
    assertEquals("default", c.name());
    assertEquals(Path.of("default.etcd"), c.dataDir());
    assertEquals(List.of(URI.create("http://localhost:2379")), c.listenClientUrls());
    assertEquals(Map.of("default", List.of("http://localhost:2380")), c.initialCluster());
    assertEquals(1536 * 1024, c.maxRequestBytes());
    assertEquals(128, c.maxTxnOps());
    assertEquals(Duration.ofSeconds(5), c.grpcKeepaliveMinTime());
    assertEquals(Duration.ofHours(2), c.grpcKeepaliveInterval());
  }

  @Test
  void equalsFormSpaceFormAndSingleDashAreTheSame() {
    ServerConfig a = config(Map.of(), "--name=m1", "--max-txn-ops=7");
    ServerConfig b = config(Map.of(), "--name", "m1", "--max-txn-ops", "7");
    ServerConfig c = config(Map.of(), "-name", "m1", "-max-txn-ops=7");
    assertEquals(a, b);
    assertEquals(a, c);
    assertEquals(Path.of("m1.etcd"), a.dataDir());
  }

  @Test
  void environmentVariablesFillFlagsNotGivenOnTheCommandLine() {
    ServerConfig c = config(Map.of("ETCD_NAME", "fromenv", "ETCD_MAX_REQUEST_BYTES", "1024",
        "ETCD_DATA_DIR", "/tmp/x"), "--data-dir=/tmp/y");
    assertEquals("fromenv", c.name());
    assertEquals(1024, c.maxRequestBytes());
    assertEquals(Path.of("/tmp/y"), c.dataDir());
  }

  @Test
  void booleansStandAloneOrTakeTrueFalse() {
    assertTrue(config(Map.of(), "--unsafe-no-fsync").unsafeNoFsync());
    assertTrue(config(Map.of(), "--unsafe-no-fsync=true").unsafeNoFsync());
    assertFalse(config(Map.of(), "--unsafe-no-fsync=false").unsafeNoFsync());
    assertEquals("debug", config(Map.of(), "--debug").logLevel());
  }

  @Test
  void lastOccurrenceWins() {
    assertEquals("b", config(Map.of(), "--name=a", "--name=b").name());
  }

  @Test
  void unknownFlagIsAnErrorWithEtcdsWording() {
    FlagException e = assertThrows(FlagException.class, () -> config(Map.of(), "--no-such-flag=1"));
    assertEquals("flag provided but not defined: --no-such-flag", e.getMessage());
    assertThrows(FlagException.class, () -> config(Map.of(), "stray"));
  }

  @Test
  void metricsUrlsAreOptionalAndCheckedAsListenUrls() {
    assertEquals(List.of(), config(Map.of()).listenMetricsUrls());
    assertEquals(List.of(URI.create("http://127.0.0.1:2381"), URI.create("https://10.0.0.1:2381")),
        config(Map.of("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:2381,https://10.0.0.1:2381")).listenMetricsUrls());
    FlagException e = assertThrows(FlagException.class, () -> config(Map.of(), "--listen-metrics-urls=ftp://h:1"));
    assertTrue(e.getMessage().contains("URL scheme must be http, https, unix, or unixs"), e.getMessage());
  }

  @Test
  void listenClientUrlsWithoutAdvertiseIsRefusedAsEtcdRefusesIt() {
    FlagException e = assertThrows(FlagException.class,
        () -> config(Map.of(), "--listen-client-urls=http://127.0.0.1:2379"));
    assertEquals("--advertise-client-urls is required when --listen-client-urls is set explicitly", e.getMessage());
  }

  @Test
  void aOneMemberInitialClusterStartsAsEtcdsDoes() {
    ServerConfig c = config(Map.of(), "--name=single", "--listen-peer-urls=http://127.0.1.4:2380",
        "--initial-advertise-peer-urls=http://127.0.1.4:2380", "--initial-cluster=single=http://127.0.1.4:2380",
        "--initial-cluster-state", "new", "--initial-cluster-token", "tok");
    assertEquals(List.of("http://127.0.1.4:2380"), c.localPeerUrls());
    assertEquals("tok", c.initialClusterToken());
  }

  @Test
  void initialClusterWithoutTheLocalNameIsRefused() {
    FlagException e = assertThrows(FlagException.class,
        () -> config(Map.of(), "--name=a", "--initial-cluster=b=http://127.0.0.1:2380"));
    assertTrue(e.getMessage().contains("couldn't find local name \"a\""), e.getMessage());
  }

  @Test
  void flagsOfLaterIssuesAreRefusedClearlyButAcceptedAtTheirDefault() {
    FlagException e = assertThrows(FlagException.class, () -> config(Map.of(), "--discovery=https://discovery.etcd.io/x"));
    assertTrue(e.getMessage().contains("--discovery is not supported by Etcetera yet"), e.getMessage());
    assertEquals("default", config(Map.of(), "--discovery=", "--force-new-cluster=false").name());
  }

  @Test
  void etcdsExtraClientCertificateChecksAreReadPerSideAndCnAndHostnameExcludeEachOther() {
    ServerConfig c = config(Map.of(), "--client-crl-file=/etc/etcd/crl.pem", "--client-cert-allowed-hostname=api.example.com",
        "--peer-crl-file=/etc/etcd/peer-crl.pem", "--peer-cert-allowed-cn=etcd-peer");
    assertEquals(new ServerConfig.ClientChecks("/etc/etcd/crl.pem", "", "api.example.com"), c.clientTls().checks());
    assertEquals(new ServerConfig.ClientChecks("/etc/etcd/peer-crl.pem", "etcd-peer", ""), c.peerTls().checks());
    FlagException e = assertThrows(FlagException.class,
        () -> config(Map.of(), "--peer-cert-allowed-cn=etcd-peer", "--peer-cert-allowed-hostname=m1.example.com"));
    assertEquals("AllowedCN and AllowedHostname are mutually exclusive (cn=\"etcd-peer\", hostname=\"m1.example.com\")",
        e.getMessage());
  }

  @Test
  void tlsFlagsAreReadForBothSides() {
    ServerConfig c = config(Map.of(), "--cert-file=/s/etcd.pem", "--key-file=/s/etcd-key.pem",
        "--trusted-ca-file=/s/ca.pem", "--client-cert-auth", "--peer-cert-file=/s/p.pem", "--peer-key-file=/s/p-key.pem",
        "--peer-trusted-ca-file=/s/ca.pem", "--peer-client-cert-auth=true", "--tls-min-version=TLS1.3");
    assertEquals("/s/etcd.pem", c.clientTls().certFile());
    assertTrue(c.clientTls().clientCertAuth());
    assertTrue(c.peerTls().clientCertAuth());
    assertEquals("/s/p-key.pem", c.peerTls().keyFile());
    assertEquals("TLS1.3", c.clientTls().minVersion());
    assertThrows(FlagException.class, () -> config(Map.of(), "--cert-file=/s/etcd.pem"));
    assertThrows(FlagException.class, () -> config(Map.of(), "--tls-min-version=TLS1.0"));
  }

  @Test
  void authTokenKindsAreSimpleOrJwt() {
    assertEquals("simple", config(Map.of(), "--auth-token=simple").authToken());
    assertEquals("jwt,pub-key=a,priv-key=b,sign-method=RS256",
        config(Map.of(), "--auth-token=jwt,pub-key=a,priv-key=b,sign-method=RS256").authToken());
    assertThrows(FlagException.class, () -> config(Map.of(), "--auth-token=magic"));
  }

  @Test
  void flagsWithoutEffectAreAccepted() {
    assertEquals("default", config(Map.of(), "--max-wals=3", "--enable-pprof", "--metrics=extensive",
        "--backend-batch-interval=10ms", "--snapshot-count=10000", "--heartbeat-interval=100").name());
  }

  @Test
  void badValuesAreRefused() {
    assertThrows(FlagException.class, () -> config(Map.of(), "--max-request-bytes=lots"));
    assertThrows(FlagException.class, () -> config(Map.of(), "--grpc-keepalive-min-time=soon"));
    assertThrows(FlagException.class, () -> config(Map.of(), "--initial-cluster-state=maybe"));
    assertThrows(FlagException.class, () -> config(Map.of(), "--unsafe-no-fsync=perhaps"));
  }

  @Test
  void goDurationsParse() {
    assertEquals(Duration.ofMillis(100), GoDuration.parse("x", "100ms"));
    assertEquals(Duration.ofMinutes(90), GoDuration.parse("x", "1h30m"));
    assertEquals(Duration.ofMinutes(90), GoDuration.parse("x", "1.5h"));
    assertEquals(Duration.ZERO, GoDuration.parse("x", "0"));
  }
}
