package io.etcetera.e2e.security;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates for the security tests, made with the {@code openssl} command line (an independent
 * reference: neither server's own generator is involved, so a certificate problem is never hidden
 * by the code under test). Every certificate is issued by {@code openssl ca} from a CSR, so the
 * issuer name of a leaf is byte-for-byte the CA's subject.
 *
 * <ul>
 *   <li>{@link #ca}: a self-signed CA (EC P-256), {@code ca.pem} / {@code ca-key.pem} in its directory.
 *   <li>{@link Ca#server}: a member certificate (server and client usage, like {@code etcetera certs}'
 *       {@code etcd.pem}) with IP and DNS subject alternative names.
 *   <li>{@link Ca#client}: a client certificate with {@code CN=name} (the etcd user it acts as).
 *   <li>{@link Ca#expiredClient}: a client certificate valid only on 2020-01-01.
 * </ul>
 */
final class Pki {

  /** The private key algorithm of an issued certificate. */
  enum KeyType { EC, RSA }

  /** How the private key file is encoded: PKCS#8 or "traditional" (PKCS#1 for RSA, SEC1 for EC). */
  enum KeyFormat { PKCS8, TRADITIONAL }

  /** A certificate and its private key, as files. */
  record Pair(Path cert, Path key) {
    /** etcdctl's flags presenting this pair as the client certificate. */
    List<String> etcdctlFlags() {
      return List.of("--cert=" + cert, "--key=" + key);
    }

    /** The serial number as openssl prints it (upper-case hex). */
    String serial() {
      return Pki.serial(cert);
    }
  }

  /** A CA that can issue certificates; its files live in {@link #dir}. */
  record Ca(Path dir, String name) {
    Path cert() {
      return dir.resolve("ca.pem");
    }

    Path key() {
      return dir.resolve("ca-key.pem");
    }

    /** A member certificate (serverAuth + clientAuth, CN {@code cn}) valid for {@code sans} (IPs or DNS names). */
    Pair server(String file, String cn, List<String> sans, KeyType type, KeyFormat format) {
      StringBuilder alt = new StringBuilder();
      for (String s : sans) {
        if (alt.length() > 0) alt.append(',');
        alt.append(s.matches("[0-9.]+|.*:.*") ? "IP:" : "DNS:").append(s);
      }
      String ext = "basicConstraints=critical,CA:FALSE\n"
          + "keyUsage=critical,digitalSignature,keyEncipherment\n"
          + "extendedKeyUsage=serverAuth,clientAuth\n"
          + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
          + (sans.isEmpty() ? "" : "subjectAltName=" + alt + "\n");
      return issue(file, cn, ext, type, format, null, null);
    }

    /** {@link #server} with an EC key in PKCS#8. */
    Pair server(String file, List<String> sans) {
      return server(file, "etcd", sans, KeyType.EC, KeyFormat.PKCS8);
    }

    /**
     * Revokes {@code revoked} in this CA's database and writes its certificate revocation list (PEM)
     * to {@code out}, with {@code openssl ca -revoke} and {@code -gencrl}, as an operator would.
     */
    Path crl(Path out, Pair... revoked) {
      String cnf = dir.resolve("ca.cnf").toString();
      for (Pair p : revoked) {
        openssl("ca", "-config", cnf, "-batch", "-cert", cert().toString(), "-keyfile", key().toString(),
            "-revoke", p.cert().toString());
      }
      openssl("ca", "-config", cnf, "-batch", "-cert", cert().toString(), "-keyfile", key().toString(),
          "-gencrl", "-crldays", "30", "-out", out.toString());
      return out;
    }

    /** A client certificate (clientAuth only) with {@code CN=cn}, EC key, valid for a year. */
    Pair client(String cn) {
      return issue("client-" + cn, cn, CLIENT_EXT, KeyType.EC, KeyFormat.PKCS8, null, null);
    }

    /** A client certificate with {@code CN=cn} that expired on 2020-01-02. */
    Pair expiredClient(String cn) {
      return issue("expired-" + cn, cn, CLIENT_EXT, KeyType.EC, KeyFormat.PKCS8, "20200101000000Z", "20200102000000Z");
    }

    private Pair issue(String file, String cn, String ext, KeyType type, KeyFormat format, String start, String end) {
      Path key = dir.resolve(file + "-key.pem");
      Path cert = dir.resolve(file + ".pem");
      Path csr = dir.resolve(file + ".csr");
      Path extFile = dir.resolve(file + ".ext");
      try {
        Files.writeString(extFile, ext);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      newKey(key, type);
      if (format == KeyFormat.TRADITIONAL) {
        Path pkcs8 = dir.resolve(file + "-key.pkcs8.pem");
        move(key, pkcs8);
        openssl("pkey", "-in", pkcs8.toString(), "-traditional", "-out", key.toString());
        deleteQuietly(pkcs8);
      }
      openssl("req", "-new", "-key", key.toString(), "-subj", "/CN=" + cn, "-out", csr.toString());
      List<String> args = new ArrayList<>(List.of("ca", "-config", dir.resolve("ca.cnf").toString(), "-batch",
          "-notext", "-rand_serial", "-cert", cert().toString(), "-keyfile", key().toString(), "-in", csr.toString(),
          "-out", cert.toString(), "-extfile", extFile.toString()));
      if (start != null) {
        args.addAll(List.of("-startdate", start, "-enddate", end));
      } else {
        args.addAll(List.of("-days", "365"));
      }
      openssl(args.toArray(String[]::new));
      return new Pair(cert, key);
    }
  }

  private static final String CLIENT_EXT = "basicConstraints=critical,CA:FALSE\n"
      + "keyUsage=critical,digitalSignature,keyEncipherment\n"
      + "extendedKeyUsage=clientAuth\n"
      + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n";

  private Pki() {}

  /** A new self-signed CA ({@code CN=name}, EC P-256, ten years) in {@code dir}. */
  static Ca ca(Path dir, String name) {
    try {
      Files.createDirectories(dir);
      Ca ca = new Ca(dir.toAbsolutePath().normalize(), name);
      newKey(ca.key(), KeyType.EC);
      openssl("req", "-x509", "-new", "-key", ca.key().toString(), "-out", ca.cert().toString(), "-days", "3650",
          "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature");
      Files.writeString(ca.dir().resolve("index.txt"), "");
      Files.writeString(ca.dir().resolve("serial"), "01\n");
      Files.writeString(ca.dir().resolve("ca.cnf"), String.join("\n",
          "[ca]", "default_ca = e2e", "[e2e]",
          "database = " + ca.dir().resolve("index.txt"),
          "serial = " + ca.dir().resolve("serial"),
          "new_certs_dir = " + ca.dir(),
          "default_md = sha256", "policy = anything", "unique_subject = no",
          "[anything]", "commonName = supplied", ""));
      return ca;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A file holding several PEM certificates, in the given order (a CA bundle). */
  static Path bundle(Path out, Path... certs) {
    try {
      StringBuilder sb = new StringBuilder();
      for (Path c : certs) {
        String pem = Files.readString(c);
        sb.append(pem.endsWith("\n") ? pem : pem + "\n");
      }
      Files.writeString(out, sb.toString());
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code openssl x509 -noout -serial} of a PEM file (the first certificate in it), e.g. {@code 3FD2...}. */
  static String serial(Path cert) {
    String out = openssl("x509", "-in", cert.toString(), "-noout", "-serial").strip();
    if (!out.startsWith("serial=")) throw new AssertionError("unexpected openssl output: " + out);
    return out.substring("serial=".length());
  }

  /** The first line of a PEM file (shows the key encoding, e.g. {@code -----BEGIN RSA PRIVATE KEY-----}). */
  static String firstLine(Path pem) {
    try {
      return Files.readAllLines(pem, StandardCharsets.US_ASCII).get(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void newKey(Path key, KeyType type) {
    if (type == KeyType.RSA) {
      openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.toString());
    } else {
      openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
    }
  }

  /** Runs {@code openssl args}; fails the test with its output if it exits non-zero. Returns stdout. */
  static String openssl(String... args) {
    return run(null, 60, prepend("openssl", args)).requireOk();
  }

  /** What one helper process printed. */
  record Output(int exitCode, String stdout, String stderr, List<String> command) {
    String requireOk() {
      if (exitCode != 0) {
        throw new AssertionError(String.join(" ", command) + " failed with exit code " + exitCode
            + "\n--- stdout:\n" + stdout + "\n--- stderr:\n" + stderr);
      }
      return stdout;
    }
  }

  /** Runs a helper program with {@code stdin} (or /dev/null), killing it after {@code timeoutSeconds}. */
  static Output run(String stdin, long timeoutSeconds, String... command) {
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("e2e-sec", ".out");
      err = Files.createTempFile("e2e-sec", ".err");
      ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      if (stdin == null) pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      Process p = pb.start();
      if (stdin != null) {
        try (var os = p.getOutputStream()) {
          os.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException ignored) {
          // the program may exit without reading its input
        }
      }
      if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s"
            + "\n--- stdout:\n" + text(out) + "\n--- stderr:\n" + text(err));
      }
      return new Output(p.exitValue(), text(out), text(err), List.of(command));
    } catch (IOException e) {
      throw new UncheckedIOException("running " + Arrays.toString(command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  /** A file's bytes as text, malformed UTF-8 replaced (openssl s_client prints binary session data). */
  private static String text(Path p) throws IOException {
    return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
  }

  static String[] prepend(String first, String... rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  private static void move(Path from, Path to) {
    try {
      Files.move(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void deleteQuietly(Path p) {
    if (p == null) return;
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // temp file
    }
  }
}
