package io.etcetera.e2e.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * {@code --auth-token=jwt,...}: etcdctl authenticates with a password and uses the signed token the
 * member returns; a wrong password is refused with etcd's text. Pinned against real etcd with
 * {@code -De2e.binary=etcd}.
 */
class JwtTokenTest {
  private static void openssl(Path dir, String... args) throws Exception {
    Process p = new ProcessBuilder(args).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", args) + "\n" + out);
  }

  @Test
  void etcdctlAuthenticatesWithJwtTokensSignedRs256(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Path keys = work.resolve("keys");
    Files.createDirectories(keys);
    openssl(keys, "openssl", "genrsa", "-out", "jwt.key", "2048");
    openssl(keys, "openssl", "rsa", "-in", "jwt.key", "-pubout", "-out", "jwt.pub");
    String token = "--auth-token=jwt,pub-key=" + keys.resolve("jwt.pub") + ",priv-key=" + keys.resolve("jwt.key")
        + ",sign-method=RS256,ttl=10m";
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(Binary.fromSystemProperty(), work.resolve("m"), a.host(), a.port(), token)) {
      String ep = m.endpoint();
      Etcdctl.run(ep, "user", "add", "root:rootpw").ok();
      Etcdctl.run(ep, "user", "grant-role", "root", "root").ok();
      Etcdctl.run(ep, "user", "add", "alice:alicepw").ok();
      Etcdctl.run(ep, "role", "add", "r").ok();
      Etcdctl.run(ep, "role", "grant-permission", "r", "--prefix=true", "readwrite", "/a/").ok();
      Etcdctl.run(ep, "user", "grant-role", "alice", "r").ok();
      Etcdctl.run(ep, "auth", "enable").ok();

      Etcdctl.run(ep, "--user=alice:alicepw", "put", "/a/k", "v").ok();
      assertEquals(List.of("v"), Etcdctl.run(ep, "--user=alice:alicepw", "get", "/a/k", "--print-value-only").lines());
      Etcdctl.Result denied = Etcdctl.run(ep, "--user=alice:alicepw", "put", "/b", "v");
      assertNotEquals(0, denied.exitCode());
      assertTrue(denied.stderr().contains("etcdserver: permission denied"), denied.stderr());
      Etcdctl.Result wrong = Etcdctl.run(ep, "--user=alice:nope", "get", "/a/k");
      assertNotEquals(0, wrong.exitCode());
      assertTrue(wrong.stderr().contains("etcdserver: authentication failed, invalid user ID or password"),
          wrong.stderr());
      assertEquals(List.of("v"), Etcdctl.run(ep, "--user=root:rootpw", "get", "/a/k", "--print-value-only").lines());
    }
  }
}
