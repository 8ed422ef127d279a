package io.etcetera.e2e.security;

import static io.etcetera.e2e.security.SecureMember.tlsFlags;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Tools;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code bin/etcetera certs} makes a PKI that standard tools accept: openssl verifies every
 * certificate against {@code ca.pem}, and a member ({@code -De2e.binary}, real etcd included) started
 * with {@code etcd.pem}/{@code etcd-key.pem} serves etcdctl presenting {@code client-alice.pem}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CertsToolTest {

  private final Binary binary = Binary.fromSystemProperty();

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"ec, pkcs8, -----BEGIN PRIVATE KEY-----", "rsa, traditional, -----BEGIN RSA PRIVATE KEY-----",
      "ec, traditional, -----BEGIN EC PRIVATE KEY-----", "rsa, pkcs8, -----BEGIN PRIVATE KEY-----"})
  void certificatesVerifyWithOpenssl(String keyType, String keyFormat, String keyHeader, TestInfo info) {
    Path dir = Workdirs.of(info).resolve("pki");
    certs(dir, "127.0.0.1,127.0.1.1,localhost", "--key-type", keyType, "--key-format", keyFormat);
    assertEquals(keyHeader, Pki.firstLine(dir.resolve("etcd-key.pem")));
    assertEquals(keyHeader, Pki.firstLine(dir.resolve("client-alice-key.pem")));
    for (String cert : List.of("etcd.pem", "client-alice.pem", "client-root.pem")) {
      Pki.Output v = Pki.run(null, 30, "openssl", "verify", "-CAfile", dir.resolve("ca.pem").toString(),
          dir.resolve(cert).toString());
      assertEquals(dir.resolve(cert) + ": OK\n", v.stdout(),
          cert + " does not verify against ca.pem (issuer " + issuer(dir.resolve(cert)) + ", CA subject "
              + subject(dir.resolve("ca.pem")) + ")\n" + v.stdout() + v.stderr());
    }
    assertEquals("subject=CN = alice, O = etcetera", subject(dir.resolve("client-alice.pem")));
  }

  @Test
  void membersServeEtcdctlWithTheGeneratedCertificates(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Path dir = work.resolve("pki");
    certs(dir, tls.host() + ",localhost");
    Pki.Pair server = new Pki.Pair(dir.resolve("etcd.pem"), dir.resolve("etcd-key.pem"));
    Pki.Pair alice = new Pki.Pair(dir.resolve("client-alice.pem"), dir.resolve("client-alice-key.pem"));
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(server, dir.resolve("ca.pem")))) {
      assertEquals("OK\n", m.tlsCtl(tlsFlags(dir.resolve("ca.pem"), alice), "put", "k", "v").ok());
      assertEquals(List.of("k", "v"), m.tlsCtl(tlsFlags(dir.resolve("ca.pem"), alice), "get", "k").lines());
    }
  }

  static void certs(Path dir, String hosts, String... more) {
    String[] args = Pki.prepend(Tools.launcher().toString(), "certs", "--dir", dir.toString(), "--hosts", hosts,
        "--client", "alice", "--client", "root");
    String[] all = new String[args.length + more.length];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(more, 0, all, args.length, more.length);
    Pki.run(null, 120, all).requireOk();
  }

  private static String subject(Path cert) {
    return Pki.openssl("x509", "-in", cert.toString(), "-noout", "-subject").strip();
  }

  private static String issuer(Path cert) {
    return Pki.openssl("x509", "-in", cert.toString(), "-noout", "-issuer").strip();
  }
}
