package io.etcetera.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd's {@code --config-file}: the YAML keys etcd's documented sample file uses. */
class EtcdConfigFileTest {
  @TempDir Path tmp;

  private Path file(String yaml) throws IOException {
    return Files.writeString(tmp.resolve("etcd.conf.yml"), yaml);
  }

  private static final String SAMPLE = """
      # This is the configuration file for the etcd server.
      name: 'infra1'
      data-dir: /var/lib/etcd/infra1
      snapshot-count: 10000
      heartbeat-interval: 100
      election-timeout: 1000
      quota-backend-bytes: 0
      listen-peer-urls: https://10.0.0.1:2380
      listen-client-urls: https://10.0.0.1:2379,https://127.0.0.1:2379
      initial-advertise-peer-urls: https://10.0.0.1:2380
      advertise-client-urls: https://10.0.0.1:2379
      discovery:
      initial-cluster: infra1=https://10.0.0.1:2380,infra2=https://10.0.0.2:2380
      initial-cluster-token: 'etcd-cluster'
      initial-cluster-state: 'new'
      strict-reconfig-check: false
      enable-v2: false
      client-transport-security:
        cert-file: /etc/etcd/server.crt
        key-file: /etc/etcd/server.key
        client-cert-auth: true
        trusted-ca-file: /etc/etcd/ca.crt
        auto-tls: false
      peer-transport-security:
        cert-file: /etc/etcd/peer.crt
        key-file: /etc/etcd/peer.key
        client-cert-auth: true
        trusted-ca-file: /etc/etcd/ca.crt
      log-level: debug
      log-outputs: [stderr]
      max-txn-ops: 256
      grpc-keepalive-min-time: 10000000000
      experimental-watch-progress-notify-interval: 600000000000
      auto-compaction-mode: periodic
      auto-compaction-retention: "1"
      """;

  @Test
  void etcdsSampleConfigFileSetsTheSameSettingsAsItsFlags() throws IOException {
    Path f = file(SAMPLE);
    EtcdFlags.Parsed p = EtcdFlags.parse(new String[] {"--config-file=" + f}, Map.of());
    ServerConfig c = ServerConfig.from(p);
    assertEquals("infra1", c.name());
    assertEquals(Path.of("/var/lib/etcd/infra1"), c.dataDir());
    assertEquals(10000, c.snapshotCount());
    assertEquals(List.of(URI.create("https://10.0.0.1:2379"), URI.create("https://127.0.0.1:2379")), c.listenClientUrls());
    assertEquals(Map.of("infra1", List.of("https://10.0.0.1:2380"), "infra2", List.of("https://10.0.0.2:2380")), c.initialCluster());
    assertEquals("etcd-cluster", c.initialClusterToken());
    assertEquals(new ServerConfig.ClientTls("/etc/etcd/server.crt", "/etc/etcd/server.key", "/etc/etcd/ca.crt", true, false,
        c.clientTls().cipherSuites(), c.clientTls().minVersion(), c.clientTls().maxVersion(),
        ServerConfig.ClientChecks.NONE), c.clientTls());
    assertEquals("/etc/etcd/peer.crt", c.peerTls().certFile());
    assertTrue(c.peerTls().clientCertAuth());
    assertEquals("debug", c.logLevel());
    assertEquals(256, c.maxTxnOps());
    assertEquals(Duration.ofSeconds(10), c.grpcKeepaliveMinTime(), "Go durations are nanoseconds in the file");
    assertEquals(Duration.ofMinutes(10), c.watchProgressNotifyInterval());
    assertEquals("stderr", p.get("log-outputs"));
    assertTrue(p.notes().get(0).startsWith("loaded server configuration from " + f), p.notes().toString());
  }

  @Test
  void theFileReplacesTheCommandLineAndTheEnvironmentAsInEtcd() throws IOException {
    Path f = file("name: from-file\n");
    ServerConfig c = ServerConfig.from(EtcdFlags.parse(new String[] {"--name=from-flag", "--max-txn-ops=7"},
        Map.of("ETCD_CONFIG_FILE", f.toString(), "ETCD_DATA_DIR", "/from/env")));
    assertEquals("from-file", c.name());
    assertEquals(Path.of("from-file.etcd"), c.dataDir());
    assertEquals(128, c.maxTxnOps());
  }

  @Test
  void unknownKeysAreReportedAndIgnoredAndUnsupportedOnesRefused() throws IOException {
    EtcdFlags.Parsed p = EtcdFlags.parse(new String[] {"--config-file", file("""
        name: n
        no-such-setting: 1
        client-transport-security:
          no-such-tls-setting: x
        """).toString()}, Map.of());
    assertEquals("n", p.get("name"));
    assertTrue(p.notes().stream().anyMatch(n -> n.contains("no-such-setting is not one of etcd's settings")), p.notes().toString());
    assertTrue(p.notes().stream().anyMatch(n -> n.contains("client-transport-security.no-such-tls-setting")), p.notes().toString());

    FlagException e = assertThrows(FlagException.class,
        () -> EtcdFlags.parse(new String[] {"--config-file=" + file("discovery: https://discovery.etcd.io/x\n")}, Map.of()));
    assertTrue(e.getMessage().startsWith("flag --discovery is not supported by Etcetera yet"), e.getMessage());
  }

  @Test
  void aBrokenOrMissingFileIsAClearError() throws IOException {
    FlagException bad = assertThrows(FlagException.class,
        () -> EtcdFlags.parse(new String[] {"--config-file=" + file("name: [unclosed\n")}, Map.of()));
    assertTrue(bad.getMessage().startsWith("error converting YAML to JSON in "), bad.getMessage());
    FlagException missing = assertThrows(FlagException.class,
        () -> EtcdFlags.parse(new String[] {"--config-file=" + tmp.resolve("absent.yml")}, Map.of()));
    assertTrue(missing.getMessage().startsWith("cannot read the config file "), missing.getMessage());
    FlagException badBool = assertThrows(FlagException.class,
        () -> EtcdFlags.parse(new String[] {"--config-file=" + file("force-new-cluster: maybe\n")}, Map.of()));
    assertTrue(badBool.getMessage().contains("invalid boolean value \"maybe\""), badBool.getMessage());
  }
}
