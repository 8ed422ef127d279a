package io.etcetera.tls.context;

import io.etcetera.tls.pem.PemFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A key manager serving the certificate and key of two PEM files and re-reading them when either
 * file changes (checked at most once a second, on a handshake), so certificates rotate without a
 * restart, as operators rotate them for etcd. A rotation that fails to parse (a half-written
 * file) keeps the previous pair and is retried.
 *
 * <p>Threading: thread-safe; the current delegate is swapped atomically.
 */
public final class ReloadingKeyManager extends X509ExtendedKeyManager {
  private static final Logger log = LoggerFactory.getLogger(ReloadingKeyManager.class);
  private static final String ALIAS = "etcetera";

  private final Path certFile;
  private final Path keyFile;
  private volatile X509ExtendedKeyManager delegate;
  private volatile long stamp;
  private volatile long lastCheck;

  public ReloadingKeyManager(Path certFile, Path keyFile) throws IOException {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.delegate = load();
    this.stamp = stamp();
  }

  private long stamp() throws IOException {
    return Files.getLastModifiedTime(certFile).toMillis() * 31 + Files.getLastModifiedTime(keyFile).toMillis()
        + Files.size(certFile) + Files.size(keyFile);
  }

  private X509ExtendedKeyManager load() throws IOException {
    List<X509Certificate> chain = PemFiles.certificates(certFile);
    PrivateKey key = PemFiles.privateKey(keyFile);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(ALIAS, key, new char[0], chain.toArray(new X509Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      return (X509ExtendedKeyManager) kmf.getKeyManagers()[0];
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot use " + certFile + " with " + keyFile + ": " + e.getMessage(), e);
    }
  }

  private X509ExtendedKeyManager current() {
    long now = System.currentTimeMillis();
    if (now - lastCheck >= 1000) {
      lastCheck = now;
      try {
        long s = stamp();
        if (s != stamp) {
          delegate = load();
          stamp = s;
          log.info("reloaded certificate {} and key {}", certFile, keyFile);
        }
      } catch (IOException | UncheckedIOException e) {
        log.warn("cannot reload {} / {} (keeping the previous pair): {}", certFile, keyFile, e.getMessage());
      }
    }
    return delegate;
  }

  /** The certificate chain served now. */
  public X509Certificate[] chain() {
    return current().getCertificateChain(ALIAS);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return current().getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return current().chooseClientAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return current().chooseEngineClientAlias(keyType, issuers, engine);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return current().getServerAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return current().chooseServerAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return current().chooseEngineServerAlias(keyType, issuers, engine);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return current().getCertificateChain(alias);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return current().getPrivateKey(alias);
  }
}
