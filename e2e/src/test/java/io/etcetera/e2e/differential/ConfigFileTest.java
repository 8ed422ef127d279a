package io.etcetera.e2e.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * {@code --config-file} as etcd reads it: the same YAML file starts real etcd 3.4.23 and Etcetera
 * with the member name, data dir, URLs and limits it sets, and the command line flags beside it are
 * ignored (the harness passes its own, which would name the member differently).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ConfigFileTest {

  @Test
  void theSameConfigFileStartsEtcdAndEtceteraAlike(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    for (Binary binary : new Binary[] {Binary.ETCD, Binary.ETCETERA}) {
      Ports.Address at = Ports.allocate();
      Path dataDir = work.resolve(binary.name().toLowerCase() + "-data");
      Path config = Files.writeString(work.resolve(binary.name().toLowerCase() + ".yml"), String.join("\n",
          "name: 'from-file'",
          "data-dir: " + dataDir,
          "listen-client-urls: " + at.clientUrl(),
          "advertise-client-urls: " + at.clientUrl(),
          "listen-peer-urls: " + at.peerUrl(),
          "initial-advertise-peer-urls: " + at.peerUrl(),
          "initial-cluster: from-file=" + at.peerUrl(),
          "initial-cluster-token: 'config-file-test'",
          "initial-cluster-state: 'new'",
          "max-txn-ops: 3",
          "client-transport-security:",
          "  client-cert-auth: false",
          ""));
      try (Member m = Member.start(binary, work.resolve(binary.name().toLowerCase() + "-flags"), at,
          "--config-file=" + config)) {
        String ep = m.endpoint();
        assertEquals("OK\n", Etcdctl.run(ep, "put", "k", "v").ok(), binary.name());
        assertEquals("v", Etcdctl.run(ep, "get", "k", "--print-value-only").ok().trim(), binary.name());
        String members = Etcdctl.run(ep, "member", "list", "-w", "json").json().get("members").get(0).get("name").asText();
        assertEquals("from-file", members, binary.name() + ": the name comes from the file, not the flags");
        assertEquals(true, Files.isDirectory(dataDir.resolve("member")), binary.name() + ": the data dir comes from the file");
        Etcdctl.runWithStdin(ep, "\nput a 1\nput b 2\nput c 3\nput d 4\n\n\n", "txn")
            .fails("etcdserver: too many operations in txn request");
      }
    }
  }
}
