package io.etcetera.tls.gen;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** A generated certificate and its key pair. Immutable. */
public record Issued(X509Certificate certificate, KeyPair keys) {

  /** An EC key in SEC1 form with its curve and public key, as openssl writes "EC PRIVATE KEY". */
  private org.bouncycastle.util.io.pem.PemObject sec1(java.security.interfaces.ECPrivateKey ec) throws IOException {
    var info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(ec.getEncoded());
    var params = info.getPrivateKeyAlgorithm().getParameters();
    var spki = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
    var full = new org.bouncycastle.asn1.sec.ECPrivateKey(ec.getParams().getOrder().bitLength(), ec.getS(),
        spki.getPublicKeyData(), params);
    return new org.bouncycastle.util.io.pem.PemObject("EC PRIVATE KEY", full.getEncoded());
  }

  /** Writes the certificate and (readable by the owner only) the key as PEM files. */
  public void write(Path certFile, Path keyFile, KeyFormat format) throws IOException {
    try (Writer w = Files.newBufferedWriter(certFile, StandardCharsets.US_ASCII); JcaPEMWriter pem = new JcaPEMWriter(w)) {
      pem.writeObject(certificate);
    }
    try (Writer w = Files.newBufferedWriter(keyFile, StandardCharsets.US_ASCII); JcaPEMWriter pem = new JcaPEMWriter(w)) {
      if (format == KeyFormat.PKCS8) {
        pem.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
      } else if (keys.getPrivate() instanceof java.security.interfaces.ECPrivateKey ec) {
        pem.writeObject(sec1(ec));
      } else {
        pem.writeObject(keys.getPrivate());
      }
    }
    try {
      Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException ignored) {
      // not a POSIX file system
    }
  }
}
