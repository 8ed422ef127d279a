package io.etcetera.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Drives the {@code openssl} command line to make PEM files as real PKIs write them. Every method
 * writes into {@link #dir} and returns the file it made.
 */
public final class OpenSsl {
  private static final SecureRandom RANDOM = new SecureRandom();

  public final Path dir;

  public OpenSsl(Path dir) {
    this.dir = dir;
  }

  /** Runs {@code openssl args...} in {@link #dir}; fails the test on a non-zero exit. Returns stdout. */
  public String run(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
    }
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("openssl timed out: " + cmd);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    String text = out.toString(StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IOException("openssl failed (" + p.exitValue() + "): " + cmd + "\n" + text);
    }
    return text;
  }

  public Path file(String name) {
    return dir.resolve(name);
  }

  /** {@code openssl genrsa -traditional}: "RSA PRIVATE KEY" (PKCS#1). */
  public Path rsaPkcs1(String name) throws IOException {
    run("genrsa", "-traditional", "-out", name, "2048");
    return file(name);
  }

  /** {@code openssl genpkey -algorithm RSA}: "PRIVATE KEY" (PKCS#8). */
  public Path rsaPkcs8(String name) throws IOException {
    run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name);
    return file(name);
  }

  /** {@code openssl genpkey -algorithm EC}: "PRIVATE KEY" (PKCS#8) on P-256. */
  public Path ecPkcs8(String name) throws IOException {
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name);
    return file(name);
  }

  /** {@code openssl ecparam -genkey}: "EC PARAMETERS" then "EC PRIVATE KEY" (SEC1). */
  public Path ecSec1(String name) throws IOException {
    run("ecparam", "-genkey", "-name", "prime256v1", "-out", name);
    return file(name);
  }

  /** {@code openssl ecparam -genkey -noout}: "EC PRIVATE KEY" alone. */
  public Path ecSec1NoParams(String name) throws IOException {
    run("ecparam", "-genkey", "-noout", "-name", "prime256v1", "-out", name);
    return file(name);
  }

  /** An RSA key as "ENCRYPTED PRIVATE KEY" (PKCS#8, AES-256). */
  public Path encryptedPkcs8(String name) throws IOException {
    run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc", "-pass", "pass:secret",
        "-out", name);
    return file(name);
  }

  /** An RSA key as traditional "RSA PRIVATE KEY" with "Proc-Type: 4,ENCRYPTED". */
  public Path encryptedPkcs1(String name) throws IOException {
    run("genrsa", "-traditional", "-aes128", "-passout", "pass:secret", "-out", name, "2048");
    return file(name);
  }

  private Path reqConfig() throws IOException {
    Path cnf = file("req.cnf");
    if (!Files.exists(cnf)) {
      Files.writeString(cnf, """
          [req]
          distinguished_name = dn
          prompt = no
          [dn]
          CN = placeholder
          [v3_ca]
          basicConstraints = critical,CA:TRUE
          keyUsage = critical,keyCertSign,cRLSign,digitalSignature
          subjectKeyIdentifier = hash
          authorityKeyIdentifier = keyid:always
          """);
    }
    return cnf;
  }

  /** {@code openssl req -x509}: a self-signed CA certificate for {@code key}. */
  public Path selfSignedCa(String name, Path key, String cn) throws IOException {
    run("req", "-x509", "-new", "-config", reqConfig().toString(), "-extensions", "v3_ca", "-key", key.toString(),
        "-subj", "/CN=" + cn + "/O=etcetera-test", "-days", "30", "-sha256", "-out", name);
    return file(name);
  }

  /** {@code openssl req -x509} with no CA extensions: a plain self-signed certificate. */
  public Path selfSigned(String name, Path key, String cn) throws IOException {
    run("req", "-x509", "-new", "-config", reqConfig().toString(), "-key", key.toString(),
        "-subj", "/CN=" + cn, "-days", "2", "-out", name);
    return file(name);
  }

  /** A certificate for {@code key} signed by {@code caCert}/{@code caKey} with the extensions {@code ext}. */
  public Path sign(String name, Path key, String cn, Path caCert, Path caKey, String ext) throws IOException {
    String csr = name + ".csr";
    run("req", "-new", "-config", reqConfig().toString(), "-key", key.toString(), "-subj", "/CN=" + cn + "/O=etcetera-test",
        "-out", csr);
    Path extFile = file(name + ".ext");
    Files.writeString(extFile, ext);
    run("x509", "-req", "-in", csr, "-CA", caCert.toString(), "-CAkey", caKey.toString(),
        "-set_serial", "0x" + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE | 1), "-days", "30", "-sha256",
        "-extfile", extFile.toString(), "-out", name);
    return file(name);
  }

  public static final String INTERMEDIATE_EXT = """
      basicConstraints = critical,CA:TRUE,pathlen:0
      keyUsage = critical,keyCertSign,cRLSign,digitalSignature
      subjectKeyIdentifier = hash
      authorityKeyIdentifier = keyid
      """;

  public static final String LEAF_EXT = """
      basicConstraints = critical,CA:FALSE
      keyUsage = critical,digitalSignature,keyEncipherment
      extendedKeyUsage = serverAuth,clientAuth
      subjectAltName = IP:127.0.0.1,DNS:localhost
      subjectKeyIdentifier = hash
      authorityKeyIdentifier = keyid
      """;

  /** Concatenates PEM files into {@code out} (a chain or a bundle). */
  public static Path concat(Path out, Path... files) throws IOException {
    StringBuilder b = new StringBuilder();
    for (Path f : files) {
      String s = Files.readString(f, StandardCharsets.US_ASCII);
      b.append(s);
      if (!s.endsWith("\n")) {
        b.append('\n');
      }
    }
    Files.writeString(out, b.toString(), StandardCharsets.US_ASCII);
    return out;
  }
}
