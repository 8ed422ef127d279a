package io.etcetera.tls.pem;

import static io.etcetera.tls.KeyChecks.assertPair;
import static io.etcetera.tls.KeyChecks.cn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.tls.OpenSsl;
import io.etcetera.tls.Pki;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PemFilesTest {
  @TempDir
  static Path shared;
  static Pki pki;

  @TempDir
  Path dir;

  @BeforeAll
  static void makePki() throws IOException {
    pki = new Pki(shared);
  }

  private static String text(Path p) throws IOException {
    return Files.readString(p, StandardCharsets.US_ASCII);
  }

  @Test
  void rsaPkcs1Key() throws Exception {
    assertTrue(text(pki.serverKey).startsWith("-----BEGIN RSA PRIVATE KEY-----"));
    PrivateKey k = PemFiles.privateKey(pki.serverKey);
    assertInstanceOf(RSAPrivateKey.class, k);
    assertPair(k, PemFiles.certificates(pki.serverLeaf).get(0));
  }

  @Test
  void rsaPkcs8Key() throws Exception {
    assertTrue(text(pki.intKey).startsWith("-----BEGIN PRIVATE KEY-----"));
    PrivateKey k = PemFiles.privateKey(pki.intKey);
    assertInstanceOf(RSAPrivateKey.class, k);
    assertPair(k, PemFiles.certificates(pki.intCa).get(0));
  }

  @Test
  void ecPkcs8Key() throws Exception {
    assertTrue(text(pki.clientKey).startsWith("-----BEGIN PRIVATE KEY-----"));
    PrivateKey k = PemFiles.privateKey(pki.clientKey);
    assertInstanceOf(ECPrivateKey.class, k);
    assertPair(k, PemFiles.certificates(pki.clientLeaf).get(0));
  }

  @Test
  void ecSec1KeyWithEcParametersFirst() throws Exception {
    String t = text(pki.rootKey);
    assertTrue(t.startsWith("-----BEGIN EC PARAMETERS-----"), t);
    assertTrue(t.contains("-----BEGIN EC PRIVATE KEY-----"), t);
    PrivateKey k = PemFiles.privateKey(pki.rootKey);
    ECPrivateKey ec = assertInstanceOf(ECPrivateKey.class, k);
    assertEquals(256, ec.getParams().getCurve().getField().getFieldSize());
    assertPair(k, PemFiles.certificates(pki.rootCa).get(0));
  }

  @Test
  void ecSec1KeyWithoutParameters() throws Exception {
    OpenSsl ssl = new OpenSsl(dir);
    Path key = ssl.ecSec1NoParams("k.pem");
    assertTrue(text(key).startsWith("-----BEGIN EC PRIVATE KEY-----"));
    PrivateKey k = PemFiles.privateKey(key);
    assertInstanceOf(ECPrivateKey.class, k);
    assertPair(k, PemFiles.certificates(ssl.selfSigned("c.pem", key, "ec")).get(0));
  }

  @Test
  void selfSignedCertificateFromReqX509() throws Exception {
    OpenSsl ssl = new OpenSsl(dir);
    Path key = ssl.rsaPkcs1("k.pem");
    List<X509Certificate> certs = PemFiles.certificates(ssl.selfSigned("c.pem", key, "self"));
    assertEquals(1, certs.size());
    assertEquals("self", cn(certs.get(0)));
    certs.get(0).verify(certs.get(0).getPublicKey());
  }

  @Test
  void chainIsLeafThenIntermediateInFileOrder() throws Exception {
    List<X509Certificate> chain = PemFiles.certificates(pki.serverChain);
    assertEquals(2, chain.size());
    assertEquals("server", cn(chain.get(0)));
    assertEquals("Test Intermediate CA", cn(chain.get(1)));
    chain.get(0).verify(chain.get(1).getPublicKey());
    chain.get(1).verify(PemFiles.certificates(pki.rootCa).get(0).getPublicKey());
  }

  @Test
  void bundleOfThreeCasInFileOrder() throws Exception {
    List<X509Certificate> cas = PemFiles.certificates(pki.bundle);
    assertEquals(List.of("Other CA 1", "Test Root CA", "Other CA 2"), cas.stream().map(c -> cn(c)).toList());
    for (X509Certificate c : cas) {
      assertTrue(c.getBasicConstraints() >= 0, "a CA certificate");
    }
  }

  @Test
  void certificateWithOpensslTextDumpBeforeThePemBlock() throws Exception {
    // Easy-RSA and "openssl x509 -text" write the human-readable dump above the PEM block.
    OpenSsl ssl = new OpenSsl(dir);
    String dump = ssl.run("x509", "-in", pki.serverLeaf.toString(), "-text");
    assertTrue(dump.startsWith("Certificate:"), dump);
    Path f = dir.resolve("dump.pem");
    Files.writeString(f, dump);
    assertEquals(PemFiles.certificates(pki.serverLeaf), PemFiles.certificates(f));
  }

  @Test
  void crlfLineEndings() throws Exception {
    Path cert = dir.resolve("crlf.pem");
    Files.writeString(cert, text(pki.serverChain).replace("\n", "\r\n"));
    Path key = dir.resolve("crlf.key");
    Files.writeString(key, text(pki.rootKey).replace("\n", "\r\n"));
    assertEquals(PemFiles.certificates(pki.serverChain), PemFiles.certificates(cert));
    assertEquals(PemFiles.privateKey(pki.rootKey), PemFiles.privateKey(key));
  }

  @Test
  void keyAndCertificatesInOneFile() throws Exception {
    Path both = OpenSsl.concat(dir.resolve("both.pem"), pki.serverLeaf, pki.intCa, pki.serverKey);
    assertEquals(2, PemFiles.certificates(both).size());
    assertPair(PemFiles.privateKey(both), PemFiles.certificates(both).get(0));
    Path keyFirst = OpenSsl.concat(dir.resolve("keyfirst.pem"), pki.rootKey, pki.rootCa);
    assertEquals(1, PemFiles.certificates(keyFirst).size());
    assertPair(PemFiles.privateKey(keyFirst), PemFiles.certificates(keyFirst).get(0));
  }

  @Test
  void encryptedPkcs8KeyIsAClearIoException() throws Exception {
    Path key = new OpenSsl(dir).encryptedPkcs8("enc.key");
    assertTrue(text(key).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    IOException e = assertThrows(IOException.class, () -> PemFiles.privateKey(key));
    assertTrue(e.getMessage().contains(key.toString()), e.getMessage());
    assertTrue(e.getMessage().toLowerCase().contains("encrypted"),
        "the message should say the key is encrypted (etcd cannot use a passphrase): " + e.getMessage());
  }

  @Test
  void encryptedTraditionalKeyIsAClearIoException() throws Exception {
    Path key = new OpenSsl(dir).encryptedPkcs1("enc.key");
    assertTrue(text(key).contains("Proc-Type: 4,ENCRYPTED"));
    IOException e = assertThrows(IOException.class, () -> PemFiles.privateKey(key));
    assertTrue(e.getMessage().contains(key.toString()), e.getMessage());
    assertTrue(e.getMessage().toLowerCase().contains("encrypted"),
        "the message should say the key is encrypted (etcd cannot use a passphrase): " + e.getMessage());
  }

  @Test
  void keyFileGivenAsCertificate() {
    IOException e = assertThrows(IOException.class, () -> PemFiles.certificates(pki.serverKey));
    assertTrue(e.getMessage().contains("no certificate found"), e.getMessage());
  }

  @Test
  void certificateFileGivenAsKey() {
    IOException e = assertThrows(IOException.class, () -> PemFiles.privateKey(pki.serverChain));
    assertTrue(e.getMessage().contains("no private key found"), e.getMessage());
  }

  @Test
  void emptyFiles() throws Exception {
    Path empty = Files.createFile(dir.resolve("empty.pem"));
    assertThrows(IOException.class, () -> PemFiles.certificates(empty));
    assertThrows(IOException.class, () -> PemFiles.privateKey(empty));
  }

  @Test
  void missingFiles() {
    Path none = dir.resolve("none.pem");
    assertThrows(NoSuchFileException.class, () -> PemFiles.certificates(none));
    assertThrows(NoSuchFileException.class, () -> PemFiles.privateKey(none));
  }

  @Test
  void truncatedFilesAreIoExceptions() throws Exception {
    String key = text(pki.serverKey);
    Path halfKey = dir.resolve("half.key");
    Files.writeString(halfKey, key.substring(0, key.length() / 2));
    assertThrows(IOException.class, () -> PemFiles.privateKey(halfKey));
    String cert = text(pki.serverLeaf);
    Path halfCert = dir.resolve("half.pem");
    Files.writeString(halfCert, cert.substring(0, cert.length() / 2));
    assertThrows(IOException.class, () -> PemFiles.certificates(halfCert));
  }

  @Test
  void keyWithItsMiddleCutOutIsAnIoException() throws Exception {
    // Valid base64 and END line, truncated DER inside.
    List<String> lines = Files.readAllLines(pki.serverKey);
    Path f = dir.resolve("cut.key");
    Files.write(f, List.of(lines.get(0), lines.get(1), lines.get(2), lines.get(lines.size() - 1)));
    assertThrows(IOException.class, () -> PemFiles.privateKey(f));
    List<String> c = Files.readAllLines(pki.serverLeaf);
    Path g = dir.resolve("cut.pem");
    Files.write(g, List.of(c.get(0), c.get(1), c.get(2), c.get(c.size() - 1)));
    assertThrows(IOException.class, () -> PemFiles.certificates(g));
  }

  @Test
  void invalidBase64IsAnIoException() throws Exception {
    // PemFiles declares IOException for unreadable files; a corrupt body must not escape as a RuntimeException.
    Path key = dir.resolve("bad.key");
    Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nMIIE!!!not*base64$$\n-----END PRIVATE KEY-----\n");
    assertThrows(IOException.class, () -> PemFiles.privateKey(key));
    Path cert = dir.resolve("bad.pem");
    Files.writeString(cert, "-----BEGIN CERTIFICATE-----\nMIIB!!!not*base64$$\n-----END CERTIFICATE-----\n");
    assertThrows(IOException.class, () -> PemFiles.certificates(cert));
  }
}
