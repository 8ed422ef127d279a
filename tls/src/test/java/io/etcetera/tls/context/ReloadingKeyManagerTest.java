package io.etcetera.tls.context;

import static io.etcetera.tls.KeyChecks.assertPair;
import static io.etcetera.tls.KeyChecks.cn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcetera.tls.OpenSsl;
import io.etcetera.tls.Pki;
import io.etcetera.tls.gen.CertificateGenerator;
import io.etcetera.tls.gen.Issued;
import io.etcetera.tls.gen.KeyFormat;
import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloadingKeyManagerTest {
  @TempDir
  static Path shared;
  static Pki pki;

  @TempDir
  Path dir;

  @BeforeAll
  static void makePki() throws IOException {
    pki = new Pki(shared);
  }

  private static X509Certificate[] fileChain(Path f) throws IOException {
    return PemFiles.certificates(f).toArray(new X509Certificate[0]);
  }

  /** Copies the pair to the live files and moves their mtime forward by {@code bumpSeconds}. */
  private static void install(Path cert, Path key, Path liveCert, Path liveKey, int bumpSeconds) throws IOException {
    Files.copy(cert, liveCert, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(key, liveKey, StandardCopyOption.REPLACE_EXISTING);
    bump(liveCert, bumpSeconds);
    bump(liveKey, bumpSeconds);
  }

  private static void bump(Path f, int seconds) throws IOException {
    Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis() + seconds * 1000L));
  }

  /** Past the once-a-second check. */
  private static void waitForRecheck() throws InterruptedException {
    Thread.sleep(1150);
  }

  private void assertServes(ReloadingKeyManager km, Path chainFile, Path keyFile, String keyType) throws Exception {
    assertArrayEquals(fileChain(chainFile), km.chain());
    String alias = km.chooseServerAlias(keyType, null, null);
    assertNotNull(alias, "a server alias for " + keyType);
    assertArrayEquals(fileChain(chainFile), km.getCertificateChain(alias));
    assertEquals(PemFiles.privateKey(keyFile), km.getPrivateKey(alias));
    assertPair(km.getPrivateKey(alias), km.getCertificateChain(alias)[0]);
  }

  @Test
  void servesRsaPkcs1KeyWithLeafAndIntermediate() throws Exception {
    ReloadingKeyManager km = new ReloadingKeyManager(pki.serverChain, pki.serverKey);
    assertServes(km, pki.serverChain, pki.serverKey, "RSA");
    assertEquals(2, km.chain().length);
    assertNull(km.chooseServerAlias("EC", null, null), "no EC key here");
    String client = km.chooseClientAlias(new String[] {"RSA"}, null, null);
    assertNotNull(client);
    assertArrayEquals(fileChain(pki.serverChain), km.getCertificateChain(client));
  }

  @Test
  void servesEcPkcs8Key() throws Exception {
    ReloadingKeyManager km = new ReloadingKeyManager(pki.clientChain, pki.clientKey);
    assertServes(km, pki.clientChain, pki.clientKey, "EC");
    assertEquals("alice", cn(km.chain()[0]));
  }

  @Test
  void servesEcSec1KeyWithEcParameters() throws Exception {
    ReloadingKeyManager km = new ReloadingKeyManager(pki.rootCa, pki.rootKey);
    assertServes(km, pki.rootCa, pki.rootKey, "EC");
  }

  @Test
  void servesRsaPkcs8Key() throws Exception {
    ReloadingKeyManager km = new ReloadingKeyManager(pki.intCa, pki.intKey);
    assertServes(km, pki.intCa, pki.intKey, "RSA");
  }

  @Test
  void servesGeneratedPairsInBothFormats() throws Exception {
    Issued ca = CertificateGenerator.ca("gen ca", Duration.ofDays(1), CertificateGenerator.KeyType.EC);
    Issued leaf = CertificateGenerator.leaf(ca, "gen", List.of("localhost"), true, true, Duration.ofDays(1));
    for (KeyFormat f : KeyFormat.values()) {
      Path c = dir.resolve(f + ".pem");
      Path k = dir.resolve(f + ".key");
      leaf.write(c, k, f);
      ReloadingKeyManager km = new ReloadingKeyManager(c, k);
      assertServes(km, c, k, "EC");
      assertEquals(leaf.certificate(), km.chain()[0]);
    }
  }

  @Test
  void constructorFailsOnUnusableFiles() throws Exception {
    Path enc = new OpenSsl(dir).encryptedPkcs8("enc.key");
    assertThrows(IOException.class, () -> new ReloadingKeyManager(pki.serverChain, enc));
    assertThrows(IOException.class, () -> new ReloadingKeyManager(pki.serverKey, pki.serverKey));
    assertThrows(IOException.class, () -> new ReloadingKeyManager(dir.resolve("none.pem"), pki.serverKey));
  }

  @Test
  void rotationServesTheNewPairAfterASecond() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    assertServes(km, pki.serverChain, pki.serverKey, "RSA");

    install(pki.clientChain, pki.clientKey, cert, key, 5);
    waitForRecheck();
    assertServes(km, pki.clientChain, pki.clientKey, "EC");
    assertNull(km.chooseServerAlias("RSA", null, null), "the old RSA pair is gone");

    // and back again, to an openssl EC SEC1 pair
    install(pki.rootCa, pki.rootKey, cert, key, 10);
    waitForRecheck();
    assertServes(km, pki.rootCa, pki.rootKey, "EC");
  }

  @Test
  void rotationWithoutMtimeChangeButOtherSizeIsSeen() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    FileTime certTime = Files.getLastModifiedTime(cert);
    FileTime keyTime = Files.getLastModifiedTime(key);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    Files.copy(pki.clientChain, cert, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(pki.clientKey, key, StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(cert, certTime);
    Files.setLastModifiedTime(key, keyTime);
    waitForRecheck();
    assertArrayEquals(fileChain(pki.clientChain), km.chain());
  }

  @Test
  void halfWrittenKeyKeepsTheOldPairAndIsRetried() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    km.chain();

    // the new certificate is in place, its key only half written
    Files.copy(pki.clientChain, cert, StandardCopyOption.REPLACE_EXISTING);
    String full = Files.readString(pki.clientKey, StandardCharsets.US_ASCII);
    Files.writeString(key, full.substring(0, full.length() / 2), StandardCharsets.US_ASCII);
    bump(cert, 5);
    bump(key, 5);
    waitForRecheck();
    assertServes(km, pki.serverChain, pki.serverKey, "RSA");

    // the writer finishes: the next check picks the pair up
    Files.writeString(key, full, StandardCharsets.US_ASCII);
    bump(key, 6);
    waitForRecheck();
    assertServes(km, pki.clientChain, pki.clientKey, "EC");
  }

  @Test
  void truncatedToEmptyFilesKeepTheOldPair() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    Files.write(cert, new byte[0]);
    Files.write(key, new byte[0]);
    bump(cert, 5);
    bump(key, 5);
    waitForRecheck();
    assertServes(km, pki.serverChain, pki.serverKey, "RSA");
  }

  @Test
  void deletedFilesKeepTheOldPair() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    Files.delete(cert);
    Files.delete(key);
    waitForRecheck();
    assertServes(km, pki.serverChain, pki.serverKey, "RSA");
    install(pki.clientChain, pki.clientKey, cert, key, 5);
    waitForRecheck();
    assertServes(km, pki.clientChain, pki.clientKey, "EC");
  }

  @Test
  void corruptKeyBodyKeepsTheOldPair() throws Exception {
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    Files.copy(pki.clientChain, cert, StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nMIGH!!corrupt**\n-----END PRIVATE KEY-----\n");
    bump(cert, 5);
    bump(key, 5);
    waitForRecheck();
    // must neither throw out of the handshake callback nor drop the working pair
    assertServes(km, pki.serverChain, pki.serverKey, "RSA");
  }

  @Test
  void newCertificateWithTheOldKeyKeepsTheOldPair() throws Exception {
    // A rotation caught between writing the certificate and writing its key: etcd's
    // tls.X509KeyPair refuses a key that does not match the certificate, so the pair must not be
    // swapped for a mismatched one.
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    Path otherRsaLeaf = pki.ssl.sign("other-rsa.pem", pki.ssl.rsaPkcs1("other-rsa.key"), "server2", pki.intCa,
        pki.intKey, OpenSsl.LEAF_EXT);
    Files.copy(otherRsaLeaf, cert, StandardCopyOption.REPLACE_EXISTING);
    bump(cert, 5);
    waitForRecheck();
    String alias = km.chooseServerAlias("RSA", null, null);
    assertPair(km.getPrivateKey(alias), km.getCertificateChain(alias)[0]);
    assertArrayEquals(fileChain(pki.serverChain), km.chain());
  }

  @Test
  void constructorRejectsAMismatchedPair() {
    assertThrows(IOException.class, () -> new ReloadingKeyManager(pki.serverChain, pki.clientKey));
  }

  @Test
  void anAliasKeepsNamingThePairItWasChosenFor() throws Exception {
    // JSSE asks for the alias, then the key and the chain of that alias in separate calls; a
    // reload between them must not hand out the old key with the new chain.
    Path cert = dir.resolve("live.pem");
    Path key = dir.resolve("live.key");
    install(pki.serverChain, pki.serverKey, cert, key, 0);
    ReloadingKeyManager km = new ReloadingKeyManager(cert, key);
    String alias = km.chooseServerAlias("RSA", null, null);
    java.security.PrivateKey k = km.getPrivateKey(alias);
    Path otherRsaKey = pki.ssl.rsaPkcs1("other-rsa2.key");
    Path otherRsaLeaf = pki.ssl.sign("other-rsa2.pem", otherRsaKey, "server3", pki.intCa, pki.intKey,
        OpenSsl.LEAF_EXT);
    install(otherRsaLeaf, otherRsaKey, cert, key, 5);
    waitForRecheck(); // the once-a-second check falls between the two calls
    X509Certificate[] chain = km.getCertificateChain(alias);
    assertPair(k, chain[0]);
  }
}
