package io.etcetera.tls.context;

import static io.etcetera.tls.KeyChecks.cn;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcetera.tls.OpenSsl;
import io.etcetera.tls.Pki;
import io.etcetera.tls.TestCerts;
import io.etcetera.tls.gen.CertificateGenerator;
import io.etcetera.tls.gen.CertificateGenerator.KeyType;
import io.etcetera.tls.gen.Issued;
import io.etcetera.tls.gen.KeyFormat;
import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloadingTrustManagerTest {
  @TempDir
  static Path shared;
  static Pki pki;

  @TempDir
  Path dir;

  @BeforeAll
  static void makePki() throws IOException {
    pki = new Pki(shared);
  }

  private static X509Certificate[] chain(Path f) throws IOException {
    return PemFiles.certificates(f).toArray(new X509Certificate[0]);
  }

  private static void bump(Path f, int seconds) throws IOException {
    Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + seconds * 1000L));
  }

  @Test
  void acceptedIssuersAreTheWholeBundle() throws Exception {
    ReloadingTrustManager tm = new ReloadingTrustManager(pki.bundle);
    Set<String> names = Arrays.stream(tm.getAcceptedIssuers()).map(c -> cn(c)).collect(Collectors.toSet());
    assertEquals(Set.of("Test Root CA", "Other CA 1", "Other CA 2"), names);
  }

  @Test
  void acceptsChainsSignedByABundledCa() throws Exception {
    ReloadingTrustManager tm = new ReloadingTrustManager(pki.bundle);
    assertDoesNotThrow(() -> tm.checkServerTrusted(chain(pki.serverChain), "UNKNOWN"));
    assertDoesNotThrow(() -> tm.checkClientTrusted(chain(pki.clientChain), "EC"));
    assertDoesNotThrow(() -> tm.checkServerTrusted(chain(pki.serverChain), "ECDHE_RSA"));
  }

  @Test
  void leafWithoutItsIntermediateIsRejected() throws Exception {
    ReloadingTrustManager tm = new ReloadingTrustManager(pki.bundle);
    assertThrows(CertificateException.class, () -> tm.checkClientTrusted(chain(pki.clientLeaf), "EC"));
  }

  @Test
  void intermediateInTheBundleIsATrustAnchor() throws Exception {
    Path f = OpenSsl.concat(dir.resolve("int-bundle.pem"), pki.intCa);
    ReloadingTrustManager tm = new ReloadingTrustManager(f);
    assertDoesNotThrow(() -> tm.checkClientTrusted(chain(pki.clientLeaf), "EC"));
  }

  @Test
  void rejectsAnotherCasChain() throws Exception {
    ReloadingTrustManager tm = new ReloadingTrustManager(pki.bundle);
    assertThrows(CertificateException.class, () -> tm.checkClientTrusted(chain(pki.rogueClientCert), "EC"));
    assertThrows(CertificateException.class, () -> tm.checkServerTrusted(chain(pki.rogueServerCert), "UNKNOWN"));
    // a rogue leaf presented with the real intermediate does not verify either
    X509Certificate[] forged = {chain(pki.rogueClientCert)[0], chain(pki.intCa)[0]};
    assertThrows(CertificateException.class, () -> tm.checkClientTrusted(forged, "EC"));
  }

  @Test
  void rejectsAnExpiredAndANotYetValidCertificate() throws Exception {
    Issued ca = CertificateGenerator.ca("dates ca", Duration.ofDays(30), KeyType.EC);
    Path caFile = dir.resolve("ca.pem");
    ca.write(caFile, dir.resolve("ca.key"), KeyFormat.PKCS8);
    ReloadingTrustManager tm = new ReloadingTrustManager(caFile);
    Instant now = Instant.now();
    Issued good = TestCerts.leaf(ca, "good", now.minusSeconds(60), now.plus(Duration.ofDays(1)), true, true);
    Issued expired = TestCerts.leaf(ca, "old", now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)), true, true);
    Issued future = TestCerts.leaf(ca, "new", now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(10)), true, true);
    assertDoesNotThrow(() -> tm.checkClientTrusted(new X509Certificate[] {good.certificate()}, "EC"));
    CertificateException e = assertThrows(CertificateException.class,
        () -> tm.checkClientTrusted(new X509Certificate[] {expired.certificate()}, "EC"));
    assertEquals(CertificateExpiredException.class, rootCause(e, CertificateExpiredException.class));
    CertificateException f = assertThrows(CertificateException.class,
        () -> tm.checkServerTrusted(new X509Certificate[] {future.certificate()}, "UNKNOWN"));
    assertEquals(CertificateNotYetValidException.class, rootCause(f, CertificateNotYetValidException.class));
  }

  @Test
  void generatedLeavesAreTrustedAndAnExpiredOneIsRejected() throws Exception {
    // The same with CertificateGenerator.leaf (fails while its issuer DN does not match the CA subject).
    Issued ca = CertificateGenerator.ca("gen ca", Duration.ofDays(30), KeyType.EC);
    Path caFile = dir.resolve("ca.pem");
    ca.write(caFile, dir.resolve("ca.key"), KeyFormat.PKCS8);
    ReloadingTrustManager tm = new ReloadingTrustManager(caFile);
    Instant now = Instant.now();
    Issued good = CertificateGenerator.leaf(ca, "good", List.of("localhost"), true, true, Duration.ofDays(1));
    Issued expired = CertificateGenerator.leaf(ca, "old", List.of("localhost"), true, true,
        now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)), KeyType.EC);
    assertDoesNotThrow(() -> tm.checkClientTrusted(new X509Certificate[] {good.certificate()}, "EC"));
    CertificateException e = assertThrows(CertificateException.class,
        () -> tm.checkClientTrusted(new X509Certificate[] {expired.certificate()}, "EC"));
    assertEquals(CertificateExpiredException.class, rootCause(e, CertificateExpiredException.class));
  }

  private static Class<?> rootCause(Throwable t, Class<?> wanted) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (wanted.isInstance(c)) {
        return wanted;
      }
    }
    return t.getClass();
  }

  @Test
  void checksExtendedKeyUsage() throws Exception {
    Issued ca = CertificateGenerator.ca("eku ca", Duration.ofDays(30), KeyType.EC);
    Path caFile = dir.resolve("ca.pem");
    ca.write(caFile, dir.resolve("ca.key"), KeyFormat.PKCS8);
    ReloadingTrustManager tm = new ReloadingTrustManager(caFile);
    Instant now = Instant.now();
    Issued serverOnly = TestCerts.leaf(ca, "s", now.minusSeconds(60), now.plus(Duration.ofDays(1)), true, false);
    Issued clientOnly = TestCerts.leaf(ca, "c", now.minusSeconds(60), now.plus(Duration.ofDays(1)), false, true);
    assertDoesNotThrow(() -> tm.checkServerTrusted(new X509Certificate[] {serverOnly.certificate()}, "UNKNOWN"));
    assertDoesNotThrow(() -> tm.checkClientTrusted(new X509Certificate[] {clientOnly.certificate()}, "EC"));
    assertThrows(CertificateException.class,
        () -> tm.checkClientTrusted(new X509Certificate[] {serverOnly.certificate()}, "EC"));
    assertThrows(CertificateException.class,
        () -> tm.checkServerTrusted(new X509Certificate[] {clientOnly.certificate()}, "UNKNOWN"));
  }

  @Test
  void constructorFailsOnABadBundle() {
    assertThrows(IOException.class, () -> new ReloadingTrustManager(pki.serverKey));
    assertThrows(IOException.class, () -> new ReloadingTrustManager(dir.resolve("none.pem")));
  }

  @Test
  void rotatedBundleIsUsedAfterASecond() throws Exception {
    Path ca = dir.resolve("ca.pem");
    Files.copy(pki.bundle, ca);
    ReloadingTrustManager tm = new ReloadingTrustManager(ca);
    tm.checkClientTrusted(chain(pki.clientChain), "EC");
    Files.copy(pki.rogueCa, ca, StandardCopyOption.REPLACE_EXISTING);
    bump(ca, 5);
    Thread.sleep(1150);
    assertDoesNotThrow(() -> tm.checkClientTrusted(chain(pki.rogueClientCert), "EC"));
    assertThrows(CertificateException.class, () -> tm.checkClientTrusted(chain(pki.clientChain), "EC"));
    assertEquals(1, tm.getAcceptedIssuers().length);
  }

  @Test
  void halfWrittenBundleKeepsTheOldOne() throws Exception {
    Path ca = dir.resolve("ca.pem");
    Files.copy(pki.bundle, ca);
    ReloadingTrustManager tm = new ReloadingTrustManager(ca);
    String rogue = Files.readString(pki.rogueCa);
    Files.writeString(ca, rogue.substring(0, rogue.length() / 2));
    bump(ca, 5);
    Thread.sleep(1150);
    assertDoesNotThrow(() -> tm.checkClientTrusted(chain(pki.clientChain), "EC"));
    assertEquals(3, tm.getAcceptedIssuers().length);
    Files.writeString(ca, rogue);
    bump(ca, 6);
    Thread.sleep(1150);
    assertDoesNotThrow(() -> tm.checkClientTrusted(chain(pki.rogueClientCert), "EC"));
  }

  @Test
  void corruptBundleBodyKeepsTheOldOne() throws Exception {
    Path ca = dir.resolve("ca.pem");
    Files.copy(pki.bundle, ca);
    ReloadingTrustManager tm = new ReloadingTrustManager(ca);
    Files.writeString(ca, "-----BEGIN CERTIFICATE-----\nMIIB!!corrupt**\n-----END CERTIFICATE-----\n");
    bump(ca, 5);
    Thread.sleep(1150);
    assertDoesNotThrow(() -> tm.checkClientTrusted(chain(pki.clientChain), "EC"));
  }
}
