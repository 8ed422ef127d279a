package io.etcetera.tls.gen;

import static io.etcetera.tls.KeyChecks.assertPair;
import static io.etcetera.tls.KeyChecks.cn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.tls.OpenSsl;
import io.etcetera.tls.gen.CertificateGenerator.KeyType;
import io.etcetera.tls.pem.PemFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CertificateGeneratorTest {
  @TempDir
  Path dir;

  private static Set<String> sans(X509Certificate c, int type) throws Exception {
    Set<String> out = new HashSet<>();
    Collection<List<?>> all = c.getSubjectAlternativeNames();
    if (all != null) {
      for (List<?> san : all) {
        if ((Integer) san.get(0) == type) {
          out.add((String) san.get(1));
        }
      }
    }
    return out;
  }

  private static void pkixValidate(X509Certificate leaf, X509Certificate ca) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(List.of(leaf)), params);
  }

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void caIsASelfSignedCa(KeyType type) throws Exception {
    Issued ca = CertificateGenerator.ca("my ca", Duration.ofDays(2), type);
    X509Certificate c = ca.certificate();
    assertEquals("my ca", cn(c));
    assertTrue(c.getBasicConstraints() >= 0);
    assertTrue(c.getKeyUsage()[5], "keyCertSign");
    assertEquals(c.getSubjectX500Principal(), c.getIssuerX500Principal());
    c.verify(c.getPublicKey());
    c.checkValidity();
    assertEquals(type == KeyType.RSA ? "RSA" : "EC", c.getPublicKey().getAlgorithm());
    assertPair(ca.keys().getPrivate(), c);
  }

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void leafIsSignedByTheCaWithSansAndUsages(KeyType caType) throws Exception {
    Issued ca = CertificateGenerator.ca("leaf ca", Duration.ofDays(2), caType);
    Issued leaf = CertificateGenerator.leaf(ca, "alice", List.of("127.0.0.1", "::1", "localhost", "etcd.example.com"),
        true, false, Duration.ofDays(1));
    X509Certificate c = leaf.certificate();
    assertEquals("alice", cn(c));
    c.verify(ca.certificate().getPublicKey());
    assertEquals(-1, c.getBasicConstraints());
    assertEquals(Set.of("localhost", "etcd.example.com"), sans(c, 2));
    assertEquals(2, sans(c, 7).size(), "two IP SANs: " + sans(c, 7));
    assertTrue(sans(c, 7).contains("127.0.0.1"));
    assertEquals(List.of("1.3.6.1.5.5.7.3.1"), c.getExtendedKeyUsage());
    assertPair(leaf.keys().getPrivate(), c);
    Issued client = CertificateGenerator.leaf(ca, "bob", List.of(), false, true, Duration.ofDays(1));
    assertEquals(List.of("1.3.6.1.5.5.7.3.2"), client.certificate().getExtendedKeyUsage());
    assertTrue(sans(client.certificate(), 2).isEmpty());
  }

  @Test
  void leafIssuerIsExactlyTheCaSubject() throws Exception {
    Issued ca = CertificateGenerator.ca("issuer ca", Duration.ofDays(2), KeyType.EC);
    Issued leaf = CertificateGenerator.leaf(ca, "x", List.of(), true, true, Duration.ofDays(1));
    assertEquals(ca.certificate().getSubjectX500Principal(), leaf.certificate().getIssuerX500Principal());
    assertArrayEquals(ca.certificate().getSubjectX500Principal().getEncoded(),
        leaf.certificate().getIssuerX500Principal().getEncoded());
  }

  @Test
  void leafValidatesAgainstItsCaWithPkix() throws Exception {
    Issued ca = CertificateGenerator.ca("pkix ca", Duration.ofDays(2), KeyType.EC);
    Issued leaf = CertificateGenerator.leaf(ca, "x", List.of("localhost"), true, true, Duration.ofDays(1));
    assertDoesNotThrow(() -> pkixValidate(leaf.certificate(), ca.certificate()));
  }

  @Test
  void opensslVerifiesAGeneratedLeaf() throws Exception {
    Issued ca = CertificateGenerator.ca("openssl ca", Duration.ofDays(2), KeyType.RSA);
    Issued leaf = CertificateGenerator.leaf(ca, "x", List.of("localhost"), true, true, Duration.ofDays(1));
    Path caFile = dir.resolve("ca.pem");
    Path leafFile = dir.resolve("leaf.pem");
    ca.write(caFile, dir.resolve("ca.key"), KeyFormat.PKCS8);
    leaf.write(leafFile, dir.resolve("leaf.key"), KeyFormat.PKCS8);
    String out = new OpenSsl(dir).run("verify", "-CAfile", caFile.toString(), leafFile.toString());
    assertTrue(out.contains("OK"), out);
  }

  @Test
  void explicitDatesAreKept() throws Exception {
    Issued ca = CertificateGenerator.ca("dates", Duration.ofDays(2), KeyType.EC);
    Instant nb = Instant.now().minus(Duration.ofDays(10)).truncatedTo(ChronoUnit.SECONDS);
    Instant na = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.SECONDS);
    Issued old = CertificateGenerator.leaf(ca, "old", List.of(), true, true, nb, na, KeyType.RSA);
    assertEquals(nb, old.certificate().getNotBefore().toInstant());
    assertEquals(na, old.certificate().getNotAfter().toInstant());
    assertEquals("RSA", old.certificate().getPublicKey().getAlgorithm());
    old.certificate().verify(ca.certificate().getPublicKey());
  }

  @Test
  void selfSignedIsServerAndClient() throws Exception {
    Issued s = CertificateGenerator.selfSigned("auto", List.of("127.0.0.1", "localhost"), Duration.ofDays(1));
    assertEquals("auto", cn(s.certificate()));
    assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), s.certificate().getExtendedKeyUsage());
    s.certificate().checkValidity();
  }

  @Test
  void serialsDiffer() {
    Issued ca = CertificateGenerator.ca("serials", Duration.ofDays(2), KeyType.EC);
    Issued a = CertificateGenerator.leaf(ca, "a", List.of(), true, true, Duration.ofDays(1));
    Issued b = CertificateGenerator.leaf(ca, "a", List.of(), true, true, Duration.ofDays(1));
    assertNotEquals(a.certificate().getSerialNumber(), b.certificate().getSerialNumber());
    assertTrue(a.certificate().getSerialNumber().signum() > 0);
  }

  @Test
  void isIpTellsAddressesFromNames() {
    assertTrue(CertificateGenerator.isIp("127.0.0.1"));
    assertTrue(CertificateGenerator.isIp("10.0.0.12"));
    assertTrue(CertificateGenerator.isIp("::1"));
    assertTrue(CertificateGenerator.isIp("fe80::1"));
    assertFalse(CertificateGenerator.isIp("localhost"));
    assertFalse(CertificateGenerator.isIp("etcd-0.etcd.svc"));
    assertFalse(CertificateGenerator.isIp("*.example.com"));
  }

  static List<Object[]> typesAndFormats() {
    List<Object[]> out = new ArrayList<>();
    for (KeyType t : KeyType.values()) {
      for (KeyFormat f : KeyFormat.values()) {
        out.add(new Object[] {t, f});
      }
    }
    return out;
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.MethodSource("typesAndFormats")
  void writtenFilesReadBackWithPemFilesAndOpenssl(KeyType type, KeyFormat format) throws Exception {
    Issued ca = CertificateGenerator.ca("write ca", Duration.ofDays(2), type);
    Path cert = dir.resolve("c.pem");
    Path key = dir.resolve("k.pem");
    ca.write(cert, key, format);
    String header = Files.readAllLines(key).get(0);
    String expected = format == KeyFormat.PKCS8 ? "-----BEGIN PRIVATE KEY-----"
        : type == KeyType.RSA ? "-----BEGIN RSA PRIVATE KEY-----" : "-----BEGIN EC PRIVATE KEY-----";
    assertEquals(expected, header);
    assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(key));
    assertEquals(List.of(ca.certificate()), PemFiles.certificates(cert));
    // openssl accepts both files
    OpenSsl ssl = new OpenSsl(dir);
    ssl.run("x509", "-in", cert.toString(), "-noout");
    ssl.run("pkey", "-in", key.toString(), "-noout");
    // and etcetera reads its own key back
    PrivateKey k = PemFiles.privateKey(key);
    assertPair(k, ca.certificate());
  }

  @Test
  void writtenLeafLoadsIntoAKeyStore() throws Exception {
    Issued ca = CertificateGenerator.ca("ks", Duration.ofDays(2), KeyType.EC);
    Issued leaf = CertificateGenerator.leaf(ca, "x", List.of(), true, true, Duration.ofDays(1));
    Path cert = dir.resolve("c.pem");
    Path key = dir.resolve("k.pem");
    leaf.write(cert, key, KeyFormat.PKCS8);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("a", PemFiles.privateKey(key), new char[0],
        PemFiles.certificates(cert).toArray(new X509Certificate[0]));
    assertEquals(leaf.certificate(), ks.getCertificate("a"));
  }
}
