package io.etcetera.server.cluster;

import io.etcetera.api.etcdserverpb.Member;
import io.etcetera.raft.ratis.RatisSettings;
import io.etcetera.server.config.FlagException;
import io.etcetera.server.config.ServerConfig;
import io.etcetera.tls.context.ReloadingKeyManager;
import io.etcetera.tls.context.ReloadingTrustManager;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns etcd's clustering flags into {@link RatisSettings}: the initial members with their etcd IDs,
 * the peer listener, etcd's timeouts, and peer TLS from the {@code --peer-*} files (mutual TLS,
 * certificates re-read when they change). Stateless.
 */
public final class RaftSettings {
  private RaftSettings() {}

  public static RatisSettings from(ServerConfig cfg, MemberIdentity id, Path raftDir) throws IOException {
    List<Member> initial = new ArrayList<>();
    for (Map.Entry<String, List<String>> e : cfg.initialCluster().entrySet()) {
      initial.add(Member.newBuilder()
          .setID(MemberIdentity.memberId(e.getValue(), id.token()))
          .setName(e.getKey())
          .addAllPeerURLs(e.getValue())
          .build());
    }
    URI listen = cfg.listenPeerUrls().get(0);
    boolean https = cfg.listenPeerUrls().stream().anyMatch(u -> u.getScheme().equals("https"))
        || cfg.initialAdvertisePeerUrls().stream().anyMatch(u -> u.getScheme().equals("https"));
    ServerConfig.ClientTls tls = cfg.peerTls();
    ReloadingKeyManager keys = null;
    javax.net.ssl.X509ExtendedTrustManager trust = null;
    if (https) {
      if (!tls.hasCert()) {
        throw new FlagException("https peer URLs need --peer-cert-file and --peer-key-file");
      }
      if (tls.trustedCaFile().isEmpty()) {
        throw new FlagException("https peer URLs need --peer-trusted-ca-file to verify the other members");
      }
      keys = new ReloadingKeyManager(Path.of(tls.certFile()), Path.of(tls.keyFile()));
      // etcd's --peer-crl-file, --peer-cert-allowed-cn/-hostname: checked where a member accepts a peer
      trust = io.etcetera.tls.context.ClientCertificatePolicy.wrap(new ReloadingTrustManager(Path.of(tls.trustedCaFile())),
          tls.checks().crlFile(), tls.checks().allowedCn(), tls.checks().allowedHostname());
    }
    long election = cfg.electionTimeoutMillis();
    return new RatisSettings(
        id.memberId(),
        cfg.name(),
        cfg.advertiseClientUrls().stream().map(URI::toString).toList(),
        id.token(),
        id.clusterId(),
        initial,
        cfg.initialClusterState().equals("new"),
        cfg.forceNewCluster(),
        raftDir,
        listen.getHost(),
        listen.getPort() > 0 ? listen.getPort() : 2380,
        cfg.heartbeatMillis(),
        election,
        // etcd's request timeout: 5 s plus two election timeouts
        Duration.ofMillis(5000 + 2 * election),
        cfg.snapshotCount(),
        keys,
        trust,
        !cfg.unsafeNoFsync());
  }
}
