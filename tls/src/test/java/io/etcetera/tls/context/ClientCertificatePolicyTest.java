package io.etcetera.tls.context;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.tls.gen.CertificateGenerator;
import io.etcetera.tls.gen.Issued;
import io.etcetera.tls.gen.KeyFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientCertificatePolicyTest {
  @TempDir Path tmp;

  private Issued ca;
  private Issued a;
  private Issued b;
  private ReloadingTrustManager chainCheck;

  @BeforeEach
  void certificates() throws Exception {
    ca = CertificateGenerator.ca("test-ca", Duration.ofDays(1), CertificateGenerator.KeyType.EC);
    ca.write(tmp.resolve("ca.crt"), tmp.resolve("ca.key"), KeyFormat.PKCS8);
    a = CertificateGenerator.leaf(ca, "peer-a", List.of("m1.example.com", "127.0.1.1", "*.wild.example.com"), true, true, Duration.ofDays(1));
    b = CertificateGenerator.leaf(ca, "peer-b", List.of("m2.example.com"), true, true, Duration.ofDays(1));
    chainCheck = new ReloadingTrustManager(tmp.resolve("ca.crt"));
  }

  private static X509Certificate[] chain(Issued leaf) {
    return new X509Certificate[] {leaf.certificate()};
  }

  @Test
  void aRevokedClientCertificateIsRefusedAndTheListIsReReadWhenItChanges() throws Exception {
    Path crl = tmp.resolve("crl.pem");
    CertificateGenerator.crl(ca, List.of(b.certificate()), crl);
    ClientCertificatePolicy p = new ClientCertificatePolicy(chainCheck, crl, null, null);
    assertDoesNotThrow(() -> p.checkClientTrusted(chain(a), "UNKNOWN"));
    CertificateException e = assertThrows(CertificateException.class, () -> p.checkClientTrusted(chain(b), "UNKNOWN"));
    assertEquals("transport: certificate serial " + ClientCertificatePolicy.serialHex(b.certificate()) + " revoked", e.getMessage());
    assertTrue(ClientCertificatePolicy.serialHex(b.certificate()).length() % 2 == 0, "whole bytes, as Go's %x");
    assertDoesNotThrow(() -> p.checkServerTrusted(chain(b), "UNKNOWN"), "only the listener's clients are checked, as in etcd");

    Thread.sleep(1100); // a new modification time
    CertificateGenerator.crl(ca, List.of(a.certificate()), tmp.resolve("crl2.pem"));
    Files.move(tmp.resolve("crl2.pem"), crl, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Thread.sleep(150);
    assertThrows(CertificateException.class, () -> p.checkClientTrusted(chain(a), "UNKNOWN"));
    assertDoesNotThrow(() -> p.checkClientTrusted(chain(b), "UNKNOWN"));
  }

  @Test
  void onlyTheAllowedCommonNameIsAccepted() throws Exception {
    ClientCertificatePolicy p = new ClientCertificatePolicy(chainCheck, null, "peer-a", "");
    assertDoesNotThrow(() -> p.checkClientTrusted(chain(a), "UNKNOWN"));
    CertificateException e = assertThrows(CertificateException.class, () -> p.checkClientTrusted(chain(b), "UNKNOWN"));
    assertEquals("client certificate authentication failed", e.getMessage());
  }

  @Test
  void theCertificateMustBeValidForTheAllowedHostname() throws Exception {
    for (String ok : List.of("m1.example.com", "M1.EXAMPLE.COM", "127.0.1.1", "x.wild.example.com")) {
      ClientCertificatePolicy p = new ClientCertificatePolicy(chainCheck, null, null, ok);
      assertDoesNotThrow(() -> p.checkClientTrusted(chain(a), "UNKNOWN"), ok);
    }
    for (String bad : List.of("m2.example.com", "127.0.1.2", "a.b.wild.example.com", "wild.example.com")) {
      ClientCertificatePolicy p = new ClientCertificatePolicy(chainCheck, null, null, bad);
      CertificateException e = assertThrows(CertificateException.class, () -> p.checkClientTrusted(chain(a), "UNKNOWN"), bad);
      assertEquals("client certificate authentication failed", e.getMessage());
    }
  }

  @Test
  void anUntrustedChainFailsBeforeThePolicy() throws Exception {
    Issued other = CertificateGenerator.ca("other-ca", Duration.ofDays(1), CertificateGenerator.KeyType.EC);
    Issued stranger = CertificateGenerator.leaf(other, "peer-a", List.of("m1.example.com"), true, true, Duration.ofDays(1));
    ClientCertificatePolicy p = new ClientCertificatePolicy(chainCheck, null, "peer-a", null);
    assertThrows(CertificateException.class, () -> p.checkClientTrusted(chain(stranger), "UNKNOWN"));
  }

  @Test
  void aBrokenRevocationListIsAClearErrorAtStart() throws Exception {
    Path crl = Files.writeString(tmp.resolve("bad.pem"), "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n");
    java.io.IOException e = assertThrows(java.io.IOException.class, () -> new ClientCertificatePolicy(chainCheck, crl, null, null));
    assertTrue(e.getMessage().startsWith("cannot parse the revocation list "), e.getMessage());
  }
}
