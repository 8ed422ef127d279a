package io.etcetera.server.cluster;

import io.etcetera.server.config.ServerConfig;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Properties;

/**
 * The member's identity kept in its data dir ({@code member/identity}), so that a restart needs no
 * initial-cluster flags and keeps its IDs and its Raft group (named by the cluster token), as an
 * etcd data dir does. Written once, atomically.
 */
public final class IdentityFile {
  private IdentityFile() {}

  public static MemberIdentity loadOrCreate(Path memberDir, ServerConfig cfg) {
    Path file = memberDir.resolve("identity");
    try {
      if (Files.exists(file)) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
          p.load(r);
        }
        return new MemberIdentity(Long.parseUnsignedLong(p.getProperty("member-id"), 16),
            Long.parseUnsignedLong(p.getProperty("cluster-id"), 16), p.getProperty("name"),
            p.getProperty("cluster-token", cfg.initialClusterToken()));
      }
      long memberId = MemberIdentity.memberId(cfg.localPeerUrls(), cfg.initialClusterToken());
      // a new cluster's ID comes from all its founding members; a joining member learns the
      // cluster's ID from the replicated member table (until then this one is a placeholder)
      List<Long> founders = cfg.initialCluster().values().stream()
          .map(urls -> MemberIdentity.memberId(urls, cfg.initialClusterToken())).toList();
      long clusterId = MemberIdentity.clusterId(founders);
      MemberIdentity id = new MemberIdentity(memberId, clusterId, cfg.name(), cfg.initialClusterToken());
      Properties p = new Properties();
      p.setProperty("member-id", MemberIdentity.hex(memberId));
      p.setProperty("cluster-id", MemberIdentity.hex(clusterId));
      p.setProperty("name", cfg.name());
      p.setProperty("cluster-token", cfg.initialClusterToken());
      Files.createDirectories(memberDir);
      Path tmp = memberDir.resolve("identity.tmp");
      try (Writer w = Files.newBufferedWriter(tmp)) {
        p.store(w, "Etcetera member identity");
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
      return id;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + file, e);
    }
  }
}
