package io.etcetera.e2e.security;

import static io.etcetera.e2e.security.SecureMember.assertRefused;
import static io.etcetera.e2e.security.SecureMember.plus;
import static io.etcetera.e2e.security.SecureMember.tlsFlags;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Client TLS as etcd 3.4 serves it, driven by the real etcdctl and openssl: a member with an https
 * client URL beside a plain http one ({@link SecureMember}), certificates made by openssl ({@link
 * Pki}). Runs against {@code -De2e.binary=etcd|etcetera}; every expectation was observed on etcd
 * 3.4.23.
 *
 * <p>A TLS client the server refuses shows in etcdctl 3.4 as a timeout: exit code 1, {@code Error:
 * context deadline exceeded} and a logged {@code DeadlineExceeded ... all SubConns are in
 * TransientFailure} ({@link SecureMember#assertRefused}). Every refusal is bracketed by a client that
 * is accepted by the same member, and a refused {@code put} is checked not to have been applied.
 *
 * <p>etcd 3.4 has no {@code --tls-min-version} (it is a 3.5/3.6 flag; 3.4 exits with "unknown
 * flag"): the protocol floor is pinned with openssl instead (TLS 1.2 and 1.3 accepted, 1.1 refused
 * with a {@code protocol_version} alert).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TlsTest {

  private final Binary binary = Binary.fromSystemProperty();

  @Test
  void mutualTlsAcceptsCaSignedClientsAndRefusesOthers(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Ca other = Pki.ca(work.resolve("other-ca"), "other-ca");
    Pki.Pair server = ca.server("etcd", List.of(tls.host(), "localhost"));
    Pki.Pair alice = ca.client("alice");
    Pki.Pair foreign = other.client("alice");
    Pki.Pair expired = ca.expiredClient("alice");
    List<String> good = tlsFlags(ca.cert(), alice);

    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(server, ca.cert()))) {
      // --- accepted: a client certificate from the trusted CA over https
      assertEquals("OK\n", m.tlsCtl(good, "put", "k", "v1").ok());
      assertEquals(List.of("k", "v1"), m.tlsCtl(good, "get", "k").lines());
      Etcdctl.Result watch = Etcdctl.runUntil(m.httpsEndpoint(), "v1", Duration.ofSeconds(20),
          plus(good, "watch", "k", "--rev=1").toArray(String[]::new));
      assertEquals(List.of("PUT", "k", "v1"), watch.lines(), watch.describe());
      assertEquals("OK\n", m.tlsCtl(good, "put", "k", "v2").ok());

      // --- the plain http URL of the same member needs no certificate
      assertEquals(List.of("k", "v2"), m.plainCtl("get", "k").lines());
      assertEquals("OK\n", m.plainCtl("put", "plain", "p").ok());
      assertEquals(List.of("plain", "p"), m.tlsCtl(good, "get", "plain").lines());

      // --- refused: no client certificate, one from another CA, an expired one
      assertRefused("no client certificate", m.tlsCtl(tlsFlags(ca.cert(), null), "put", "refused/nocert", "x"));
      assertRefused("client certificate from another CA",
          m.tlsCtl(tlsFlags(ca.cert(), foreign), "put", "refused/foreign", "x"));
      assertRefused("expired client certificate",
          m.tlsCtl(tlsFlags(ca.cert(), expired), "put", "refused/expired", "x"));
      // --- refused by the client: it does not trust the server's CA (the reason shows with --debug)
      Etcdctl.Result untrusted = m.tlsCtl(plus(tlsFlags(other.cert(), alice), "--debug"), "put", "refused/untrusted", "x");
      assertRefused("server certificate from a CA the client does not trust", untrusted);
      assertTrue(untrusted.stderr().contains("x509: certificate signed by unknown authority"), untrusted.describe());
      // --- a plaintext client on the https port gets nowhere either
      assertRefused("plaintext on the TLS port", Etcdctl.exec(List.of("--endpoints=http://" + m.httpsHostPort(),
          SecureMember.DIAL_TIMEOUT, SecureMember.COMMAND_TIMEOUT), null, Duration.ofSeconds(60), "put", "refused/plain", "x"));

      // none of the refused writes happened, and the member still serves good clients
      assertEquals(List.of(), m.plainCtl("get", "refused/", "--prefix").lines());
      assertEquals(List.of("k", "v2"), m.tlsCtl(good, "get", "k").lines());

      // --- protocol versions (openssl): TLS 1.3 and 1.2 accepted, 1.1 refused with protocol_version
      List<String> clientCert = List.of("-CAfile", ca.cert().toString(), "-cert", alice.cert().toString(),
          "-key", alice.key().toString());
      Pki.Output v13 = m.sClient(plus(clientCert, "-tls1_3").toArray(String[]::new));
      assertTrue(v13.stdout().contains("New, TLSv1.3") && v13.stdout().contains("Verify return code: 0 (ok)"),
          "TLS 1.3 handshake\n" + v13.stdout() + v13.stderr());
      Pki.Output v12 = m.sClient(plus(clientCert, "-tls1_2").toArray(String[]::new));
      assertTrue(v12.exitCode() == 0 && v12.stdout().contains("New, TLSv1.2"),
          "TLS 1.2 handshake\n" + v12.stdout() + v12.stderr());
      Pki.Output v11 = m.sClient(plus(clientCert, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0").toArray(String[]::new));
      assertNotEquals(0, v11.exitCode(), "TLS 1.1 must be refused\n" + v11.stdout() + v11.stderr());
      assertTrue(v11.stdout().contains("New, (NONE), Cipher is (NONE)") && v11.stderr().contains("alert protocol version"),
          "TLS 1.1 refused with a protocol_version alert\n" + v11.stdout() + v11.stderr());
      // HTTP/2 is negotiated by ALPN, as gRPC clients require
      Pki.Output alpn = m.sClient(plus(clientCert, "-alpn", "h2").toArray(String[]::new));
      assertTrue(alpn.stdout().contains("ALPN protocol: h2"), alpn.stdout() + alpn.stderr());
    }
  }

  /**
   * {@code --client-crl-file}: a client certificate the CA revoked (openssl's revocation list) is
   * refused at the handshake, the others of the same CA are served.
   */
  @Test
  void aRevokedClientCertificateIsRefusedWithClientCrlFile(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Pair server = ca.server("etcd", List.of(tls.host(), "localhost"));
    Pki.Pair alice = ca.client("alice");
    Pki.Pair mallory = ca.client("mallory");
    Path crl = ca.crl(work.resolve("crl.pem"), mallory);
    String[] flags = plus(List.of(SecureMember.mtlsFlags(server, ca.cert())), "--client-crl-file=" + crl).toArray(String[]::new);
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls, flags)) {
      assertEquals("OK\n", m.tlsCtl(tlsFlags(ca.cert(), alice), "put", "k", "v").ok());
      assertRefused("revoked client certificate", m.tlsCtl(tlsFlags(ca.cert(), mallory), "put", "refused/revoked", "x"));
      assertEquals(List.of(), m.plainCtl("get", "refused/", "--prefix").lines());
      assertEquals(List.of("k", "v"), m.tlsCtl(tlsFlags(ca.cert(), alice), "get", "k").lines());
    }
  }

  /**
   * {@code --client-cert-allowed-hostname}: only a client certificate valid for that name (by its
   * subject alternative names) is served; another certificate of the same CA is refused.
   */
  @Test
  void onlyClientCertificatesForTheAllowedHostnameAreServed(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Pair server = ca.server("etcd", List.of(tls.host(), "localhost"));
    Pki.Pair named = ca.server("client-named", "api", List.of("client.example.com"), Pki.KeyType.EC, Pki.KeyFormat.PKCS8);
    Pki.Pair other = ca.server("client-other", "api", List.of("other.example.com"), Pki.KeyType.EC, Pki.KeyFormat.PKCS8);
    String[] flags = plus(List.of(SecureMember.mtlsFlags(server, ca.cert())),
        "--client-cert-allowed-hostname=client.example.com").toArray(String[]::new);
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls, flags)) {
      assertEquals("OK\n", m.tlsCtl(tlsFlags(ca.cert(), named), "put", "k", "v").ok());
      assertRefused("certificate for another host name", m.tlsCtl(tlsFlags(ca.cert(), other), "put", "refused/other", "x"));
      assertRefused("certificate without host names", m.tlsCtl(tlsFlags(ca.cert(), ca.client("plain")), "put", "refused/plain", "x"));
      assertEquals(List.of(), m.plainCtl("get", "refused/", "--prefix").lines());
    }
  }

  /**
   * {@code --peer-cert-allowed-cn}: the peer listener completes a TLS handshake (openssl, TLS 1.2)
   * only with a certificate of that Common Name; another certificate of the same CA is refused.
   */
  @Test
  void thePeerListenerAcceptsOnlyTheAllowedCommonName(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address at = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Pair member = ca.server("member", "etcd-member", List.of(at.host(), "localhost"), Pki.KeyType.EC, Pki.KeyFormat.PKCS8);
    Pki.Pair stranger = ca.server("stranger", "someone-else", List.of(at.host(), "localhost"), Pki.KeyType.EC, Pki.KeyFormat.PKCS8);
    String peerUrl = "https://" + at.host() + ":" + at.peerPort();
    try (Member m = Member.start(binary, work.resolve("m"), at, "--listen-peer-urls=" + peerUrl,
        "--initial-advertise-peer-urls=" + peerUrl, "--initial-cluster=e2e-" + at.port() + "=" + peerUrl,
        "--peer-cert-file=" + member.cert(), "--peer-key-file=" + member.key(), "--peer-trusted-ca-file=" + ca.cert(),
        "--peer-client-cert-auth", "--peer-cert-allowed-cn=etcd-member")) {
      assertEquals("OK\n", Etcdctl.run(m.endpoint(), "put", "k", "v").ok());
      Pki.Output allowed = peerHandshake(at, ca, member);
      assertTrue(allowed.stdout().contains("Verify return code: 0 (ok)") && !allowed.stdout().contains("alert"),
          "a peer certificate with the allowed CN\n" + allowed.stdout() + allowed.stderr());
      Pki.Output refused = peerHandshake(at, ca, stranger);
      assertTrue(refused.stderr().contains("alert") || refused.stdout().contains("Cipher is (NONE)"),
          "a peer certificate with another CN must be refused\n" + refused.stdout() + refused.stderr());
    }
  }

  private static Pki.Output peerHandshake(Ports.Address at, Pki.Ca ca, Pki.Pair cert) {
    return Pki.run("", 30, "openssl", "s_client", "-connect", at.host() + ":" + at.peerPort(), "-tls1_2",
        "-CAfile", ca.cert().toString(), "-cert", cert.cert().toString(), "-key", cert.key().toString(), "-alpn", "h2");
  }

  @Test
  void serverCertificateMustNameTheDialedAddress(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    assertNotEquals("127.0.0.1", tls.host(), "the test needs a loopback host other than 127.0.0.1");
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    // valid for 127.0.0.1 and localhost only: not for the address the member listens on
    Pki.Pair server = ca.server("etcd", List.of("127.0.0.1", "localhost"));
    Pki.Pair alice = ca.client("alice");
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(server, ca.cert()))) {
      Etcdctl.Result r = m.tlsCtl(plus(tlsFlags(ca.cert(), alice), "--debug"), "put", "k", "v");
      assertRefused("server certificate without the dialed IP", r);
      String reason = "x509: certificate is valid for 127.0.0.1, not " + tls.host();
      assertTrue(r.stderr().contains(reason), "expected the client to log \"" + reason + "\"" + r.describe());
      // the certificate is otherwise fine: skipping the verification gets through
      assertEquals("OK\n", m.tlsCtl(plus(tlsFlags(ca.cert(), alice), "--insecure-skip-tls-verify"), "put", "k", "v").ok());
      assertEquals(List.of("k", "v"), m.plainCtl("get", "k").lines());
    }
  }

  /**
   * {@code --trusted-ca-file} without {@code --client-cert-auth}: etcd 3.4 still requires and
   * verifies a client certificate (its transport asks for one when either is set); only the CN
   * identity needs {@code --client-cert-auth} (see {@code AuthFlowTest#commonNameNeedsClientCertAuth}).
   */
  @Test
  void trustedCaWithoutClientCertAuthStillRequiresACertificate(TestInfo info) {
    Path work = Workdirs.of(info);
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Ca other = Pki.ca(work.resolve("other-ca"), "other-ca");
    Pki.Pair alice = ca.client("alice");
    Pki.Pair foreign = other.client("alice");
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Pair server = ca.server("etcd", List.of(tls.host()));
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        "--cert-file=" + server.cert(), "--key-file=" + server.key(), "--trusted-ca-file=" + ca.cert())) {
      assertEquals("OK\n", m.tlsCtl(tlsFlags(ca.cert(), alice), "put", "k", "v").ok());
      assertRefused("trusted CA set: no client certificate", m.tlsCtl(tlsFlags(ca.cert(), null), "put", "x", "1"));
      assertRefused("trusted CA set: foreign client certificate", m.tlsCtl(tlsFlags(ca.cert(), foreign), "put", "x", "2"));
      assertEquals(List.of(), m.plainCtl("get", "x").lines());
    }
  }

  /** Only {@code --cert-file}/{@code --key-file}: no client certificate is asked for, so none is checked. */
  @Test
  void withoutTrustedCaNoClientCertificateIsChecked(TestInfo info) {
    Path work = Workdirs.of(info);
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Ca other = Pki.ca(work.resolve("other-ca"), "other-ca");
    Pki.Pair foreign = other.client("alice");
    Pki.Pair expired = ca.expiredClient("alice");
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Pair server = ca.server("etcd", List.of(tls.host()));
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        "--cert-file=" + server.cert(), "--key-file=" + server.key())) {
      assertEquals("OK\n", m.tlsCtl(tlsFlags(ca.cert(), null), "put", "nocert", "1").ok());
      assertEquals("OK\n", m.tlsCtl(tlsFlags(ca.cert(), foreign), "put", "foreign", "2").ok());
      assertEquals("OK\n", m.tlsCtl(tlsFlags(ca.cert(), expired), "put", "expired", "3").ok());
      assertEquals(List.of("expired", "3", "foreign", "2", "nocert", "1"),
          m.tlsCtl(tlsFlags(ca.cert(), null), "get", "", "--from-key").lines());
      // the client still verifies the server
      assertRefused("client does not trust the server's CA", m.tlsCtl(tlsFlags(other.cert(), null), "get", "nocert"));
    }
  }

  /** The member's key in every encoding etcd reads: RSA PKCS#1 and PKCS#8, EC SEC1 and PKCS#8. */
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"RSA, TRADITIONAL, -----BEGIN RSA PRIVATE KEY-----", "RSA, PKCS8, -----BEGIN PRIVATE KEY-----",
      "EC, TRADITIONAL, -----BEGIN EC PRIVATE KEY-----", "EC, PKCS8, -----BEGIN PRIVATE KEY-----"})
  void serverKeyFormats(Pki.KeyType type, Pki.KeyFormat format, String pemHeader, TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Pair server = ca.server("etcd", "etcd", List.of(tls.host()), type, format);
    assertEquals(pemHeader, Pki.firstLine(server.key()));
    Pki.Pair alice = ca.client("alice");
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(server, ca.cert()))) {
      assertEquals("OK\n", m.tlsCtl(tlsFlags(ca.cert(), alice), "put", "k", type + "/" + format).ok());
      assertEquals(List.of("k", type + "/" + format), m.tlsCtl(tlsFlags(ca.cert(), alice), "get", "k").lines());
      assertEquals(server.serial(), servedSerial(m, ca.cert(), alice));
    }
  }

  /** A trusted-CA file with several CAs: clients of each are accepted, others refused. */
  @Test
  void trustedCaBundle(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca first = Pki.ca(work.resolve("ca1"), "e2e-ca-1");
    Pki.Ca second = Pki.ca(work.resolve("ca2"), "e2e-ca-2");
    Pki.Ca third = Pki.ca(work.resolve("ca3"), "e2e-ca-3");
    Pki.Ca outsider = Pki.ca(work.resolve("ca4"), "e2e-ca-4");
    Path bundle = Pki.bundle(work.resolve("bundle.pem"), first.cert(), second.cert(), third.cert());
    // the member's certificate comes from the CA in the middle of the bundle
    Pki.Pair server = second.server("etcd", List.of(tls.host()));
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(server, bundle))) {
      int i = 0;
      for (Pki.Ca ca : List.of(first, second, third)) {
        i++;
        Pki.Pair client = ca.client("user" + i);
        // etcdctl's --cacert may be a bundle too
        assertEquals("OK\n", m.tlsCtl(tlsFlags(bundle, client), "put", "from/" + i, ca.name()).ok(), ca.name());
      }
      assertRefused("client of a CA outside the bundle",
          m.tlsCtl(tlsFlags(bundle, outsider.client("user4")), "put", "from/4", "x"));
      assertRefused("client that trusts only the first CA of the bundle",
          m.tlsCtl(tlsFlags(first.cert(), first.client("user5")), "put", "from/5", "x"));
      assertEquals(List.of("from/1", "e2e-ca-1", "from/2", "e2e-ca-2", "from/3", "e2e-ca-3"),
          m.plainCtl("get", "from/", "--prefix").lines());
    }
  }

  /**
   * The member's certificate and key files are replaced (same CA, new key, new serial) while it
   * runs: new connections see the new certificate within 2 s, without a restart. (etcd 3.4 reads
   * the files on every handshake, so it serves the new one at once.)
   */
  @Test
  void certificateRotationWithoutRestart(TestInfo info) throws IOException {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Pair original = ca.server("etcd", List.of(tls.host()));
    Pki.Pair alice = ca.client("alice");
    // the member reads these two paths; the issued pairs are copied in
    Path certFile = work.resolve("live").resolve("etcd.pem");
    Path keyFile = work.resolve("live").resolve("etcd-key.pem");
    Files.createDirectories(certFile.getParent());
    install(original, certFile, keyFile);
    List<String> good = tlsFlags(ca.cert(), alice);
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(new Pki.Pair(certFile, keyFile), ca.cert()))) {
      assertEquals("OK\n", m.tlsCtl(good, "put", "k", "before").ok());
      assertEquals(original.serial(), servedSerial(m, ca.cert(), alice));

      Pki.Pair rotated = ca.server("etcd-rotated", List.of(tls.host()));
      assertNotEquals(original.serial(), rotated.serial());
      install(rotated, certFile, keyFile);
      // not asserted (the contract is "within 2 s"), only reported: etcd 3.4 serves the new pair at once
      String immediately = servedSerial(m, ca.cert(), alice);
      System.out.println("[" + binary + "] certificate served right after the files were replaced: "
          + (immediately.equals(rotated.serial()) ? "the new one" : "still the old one"));
      sleep(2000);
      assertEquals(rotated.serial(), servedSerial(m, ca.cert(), alice), "a new connection after the rotation");
      assertEquals("OK\n", m.tlsCtl(good, "put", "k", "after").ok());
      assertEquals(List.of("k", "after"), m.tlsCtl(good, "get", "k").lines());
      assertTrue(m.member().isAlive());
    }
  }

  /** {@code --auto-tls}: a self-signed certificate for the listen addresses, used without a CA by the client. */
  @Test
  void autoTls(TestInfo info) throws IOException {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls, "--auto-tls")) {
      List<String> insecure = List.of("--insecure-skip-tls-verify", "--insecure-transport=false");
      assertEquals("OK\n", m.tlsCtl(insecure, "put", "k", "v").ok());
      assertEquals(List.of("k", "v"), m.tlsCtl(insecure, "get", "k").lines());
      Etcdctl.Result watch = Etcdctl.runUntil(m.httpsEndpoint(), "v", Duration.ofSeconds(20),
          plus(insecure, "watch", "k", "--rev=1").toArray(String[]::new));
      assertEquals(List.of("PUT", "k", "v"), watch.lines(), watch.describe());
      // etcdctl 3.4 needs --insecure-transport=false for that: with its default it does not speak TLS
      assertRefused("--insecure-skip-tls-verify alone", m.tlsCtl(List.of("--insecure-skip-tls-verify"), "get", "k"));
      // the certificate is self-signed: a client that verifies against some CA refuses it
      assertRefused("verifying client", m.tlsCtl(tlsFlags(ca.cert(), null), "get", "k"));
      assertEquals(List.of("k", "v"), m.plainCtl("get", "k").lines());

      // what is served: a self-signed certificate naming the TLS listener's IP
      Path served = work.resolve("served.pem");
      Files.writeString(served, firstPem(m.sClient("-showcerts").stdout()));
      String check = Pki.openssl("x509", "-in", served.toString(), "-noout", "-checkip", m.httpsHost()).strip();
      assertEquals("IP " + m.httpsHost() + " does match certificate", check);
      // trusting exactly that certificate verifies the member
      assertEquals(List.of("k", "v"), m.tlsCtl(tlsFlags(served, null), "get", "k").lines());
      // etcd's is self-signed: its issuer is its subject, and it verifies against itself
      String subject = Pki.openssl("x509", "-in", served.toString(), "-noout", "-subject").strip();
      String issuer = Pki.openssl("x509", "-in", served.toString(), "-noout", "-issuer").strip();
      assertEquals(subject.substring("subject=".length()), issuer.substring("issuer=".length()),
          "the --auto-tls certificate is self-signed (subject = issuer)");
      Pki.Output verify = Pki.run(null, 30, "openssl", "verify", "-CAfile", served.toString(), served.toString());
      assertEquals(served + ": OK\n", verify.stdout(), "self-signed: verifies against itself\n" + verify.stderr());
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** The serial of the certificate the member presents to a new connection (openssl s_client -showcerts). */
  static String servedSerial(SecureMember m, Path cacert, Pki.Pair client) {
    Pki.Output out = m.sClient("-CAfile", cacert.toString(), "-cert", client.cert().toString(), "-key",
        client.key().toString(), "-showcerts");
    String pem = firstPem(out.stdout());
    String serial = Pki.run(pem, 30, "openssl", "x509", "-noout", "-serial").requireOk().strip();
    assertTrue(serial.startsWith("serial="), serial);
    return serial.substring("serial=".length());
  }

  static String firstPem(String text) {
    Matcher mt = Pattern.compile("-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", Pattern.DOTALL)
        .matcher(text);
    if (!mt.find()) throw new AssertionError("no certificate in openssl s_client output:\n" + text);
    return mt.group();
  }

  /** Replaces the live files atomically each (key first, then the certificate), as an operator would. */
  private static void install(Pki.Pair pair, Path certFile, Path keyFile) {
    try {
      for (Path[] fromTo : List.of(new Path[] {pair.key(), keyFile}, new Path[] {pair.cert(), certFile})) {
        Path tmp = fromTo[1].resolveSibling(fromTo[1].getFileName() + ".tmp");
        Files.copy(fromTo[0], tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, fromTo[1], StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
