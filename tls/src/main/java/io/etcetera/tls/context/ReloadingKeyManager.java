package io.etcetera.tls.context;

import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A key manager serving the certificate and key of two PEM files and re-reading them when either
 * file changes (checked at most every 100 ms, on a handshake), so certificates rotate without a
 * restart, as operators rotate them for etcd. A rotation whose files do not parse, or whose key
 * does not match its certificate (caught between writing one file and the other), keeps the
 * previous pair and is retried.
 *
 * <p>Each loaded pair has its own alias, and the previous pair stays reachable under its alias, so
 * a handshake that chose an alias just before a reload still gets a matching key and chain.
 *
 * <p>Threading: thread-safe; the current pair is swapped atomically.
 */
public final class ReloadingKeyManager extends X509ExtendedKeyManager {
  private static final Logger log = LoggerFactory.getLogger(ReloadingKeyManager.class);
  /** File changes are looked for at most this often (a stat per file), on handshakes. */
  private static final long CHECK_INTERVAL_MILLIS = 100;

  private record Loaded(String alias, X509ExtendedKeyManager manager) {}

  private final Path certFile;
  private final Path keyFile;
  private volatile Loaded current;
  private volatile Loaded previous;
  private volatile long stamp;
  private volatile long lastCheck;
  private int version;

  public ReloadingKeyManager(Path certFile, Path keyFile) throws IOException {
    this.certFile = certFile;
    this.keyFile = keyFile;
    long s = stamp();
    this.current = load();
    this.stamp = s;
  }

  private long stamp() throws IOException {
    return Files.getLastModifiedTime(certFile).toMillis() * 31 + Files.getLastModifiedTime(keyFile).toMillis()
        + Files.size(certFile) + Files.size(keyFile);
  }

  private synchronized Loaded load() throws IOException {
    List<X509Certificate> chain = PemFiles.certificates(certFile);
    PrivateKey key = PemFiles.privateKey(keyFile);
    checkPair(chain.get(0), key);
    String alias = "etcetera-" + (++version);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(alias, key, new char[0], chain.toArray(new X509Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      return new Loaded(alias, (X509ExtendedKeyManager) kmf.getKeyManagers()[0]);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot use " + certFile + " with " + keyFile + ": " + e.getMessage(), e);
    }
  }

  /** etcd refuses a key that does not belong to its certificate; so do we. */
  private void checkPair(X509Certificate cert, PrivateKey key) throws IOException {
    String family = family(key.getAlgorithm());
    if (!family.equals(family(cert.getPublicKey().getAlgorithm()))) {
      throw new IOException("the private key in " + keyFile + " (" + key.getAlgorithm()
          + ") does not match the certificate in " + certFile + " (" + cert.getPublicKey().getAlgorithm() + ")");
    }
    String alg = switch (family) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      default -> null;
    };
    if (alg == null) {
      return;
    }
    try {
      byte[] probe = "etcetera key pair check".getBytes(StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      if (!v.verify(sig)) {
        throw new IOException("the private key in " + keyFile + " does not match the certificate in " + certFile);
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("the private key in " + keyFile + " does not match the certificate in " + certFile
          + ": " + e.getMessage(), e);
    }
  }

  private static String family(String algorithm) {
    String a = algorithm.toUpperCase(java.util.Locale.ROOT);
    if (a.startsWith("RSA")) {
      return "RSA";
    }
    if (a.startsWith("EC")) {
      return "EC"; // "EC" from the JDK, "ECDSA" from BouncyCastle
    }
    return a;
  }

  private Loaded current() {
    long now = System.currentTimeMillis();
    if (now - lastCheck >= CHECK_INTERVAL_MILLIS) {
      lastCheck = now;
      try {
        long s = stamp();
        if (s != stamp) {
          Loaded next = load();
          previous = current;
          current = next;
          stamp = s;
          log.info("reloaded certificate {} and key {}", certFile, keyFile);
        }
      } catch (IOException | RuntimeException e) {
        log.warn("cannot reload {} / {} (keeping the previous pair): {}", certFile, keyFile, e.getMessage());
      }
    }
    return current;
  }

  /** The manager that loaded {@code alias}: the current pair or the one before it. */
  private X509ExtendedKeyManager forAlias(String alias) {
    Loaded c = current;
    if (c.alias().equals(alias)) {
      return c.manager();
    }
    Loaded p = previous;
    if (p != null && p.alias().equals(alias)) {
      return p.manager();
    }
    return c.manager();
  }

  /** The certificate chain served now. */
  public X509Certificate[] chain() {
    Loaded c = current();
    return c.manager().getCertificateChain(c.alias());
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return current().manager().getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return current().manager().chooseClientAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return current().manager().chooseEngineClientAlias(keyType, issuers, engine);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return current().manager().getServerAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return current().manager().chooseServerAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return current().manager().chooseEngineServerAlias(keyType, issuers, engine);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return forAlias(alias).getCertificateChain(alias);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return forAlias(alias).getPrivateKey(alias);
  }
}
