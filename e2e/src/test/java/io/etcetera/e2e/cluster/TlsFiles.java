package io.etcetera.e2e.cluster;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The PEM files of an mTLS cluster, laid out like kubeadm's {@code /etc/kubernetes/pki/etcd}: one
 * CA, one member certificate used for both the client and the peer listener (serverAuth +
 * clientAuth, so members present it to each other as client certificate too), and a client
 * certificate for etcdctl. Made with the {@code openssl} command line, independent of both servers.
 *
 * @param ca the CA certificate ({@code --trusted-ca-file}, {@code --peer-trusted-ca-file}, etcdctl's {@code --cacert})
 * @param cert the member certificate ({@code --cert-file}, {@code --peer-cert-file})
 * @param key the member key ({@code --key-file}, {@code --peer-key-file})
 * @param clientCert etcdctl's {@code --cert} (CN=etcdctl, clientAuth only)
 * @param clientKey etcdctl's {@code --key}
 */
public record TlsFiles(Path ca, Path cert, Path key, Path clientCert, Path clientKey) {

  /** The subject alternative names of the member certificate: every cluster address and localhost. */
  public static final List<String> MEMBER_SANS =
      List.of("127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5", "127.0.0.1", "localhost");

  /** Creates a CA, the member certificate (SANs {@link #MEMBER_SANS}) and a client certificate in {@code dir}. */
  public static TlsFiles generate(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path ca = dir.resolve("ca.crt");
    Path caKey = dir.resolve("ca.key");
    ecKey(caKey);
    openssl("req", "-x509", "-new", "-key", caKey.toString(), "-out", ca.toString(), "-days", "3650",
        "-subj", "/CN=etcd-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature");
    StringBuilder alt = new StringBuilder();
    for (String s : MEMBER_SANS) {
      if (alt.length() > 0) alt.append(',');
      alt.append(s.matches("[0-9.]+") ? "IP:" : "DNS:").append(s);
    }
    Path cert = dir.resolve("server.crt");
    Path key = dir.resolve("server.key");
    issue(dir, ca, caKey, cert, key, "etcd-member", "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=" + alt + "\n");
    Path clientCert = dir.resolve("etcdctl.crt");
    Path clientKey = dir.resolve("etcdctl.key");
    issue(dir, ca, caKey, clientCert, clientKey, "etcdctl", "extendedKeyUsage=clientAuth\n");
    return new TlsFiles(ca, cert, key, clientCert, clientKey);
  }

  /** etcd's TLS flags for the client and the peer listener, the same files for both (kubeadm's layout). */
  public List<String> memberFlags() {
    return List.of("--cert-file=" + cert, "--key-file=" + key, "--trusted-ca-file=" + ca, "--client-cert-auth",
        "--peer-cert-file=" + cert, "--peer-key-file=" + key, "--peer-trusted-ca-file=" + ca,
        "--peer-client-cert-auth");
  }

  /** etcdctl's TLS flags: {@code --cacert --cert --key}. */
  public List<String> etcdctlFlags() {
    return List.of("--cacert=" + ca, "--cert=" + clientCert, "--key=" + clientKey);
  }

  private static void issue(Path dir, Path ca, Path caKey, Path cert, Path key, String cn, String ext) {
    Path csr = dir.resolve(cn + ".csr");
    Path extFile = dir.resolve(cn + ".ext");
    try {
      Files.writeString(extFile, "basicConstraints=critical,CA:FALSE\n"
          + "keyUsage=critical,digitalSignature,keyEncipherment\n"
          + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n" + ext);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ecKey(key);
    openssl("req", "-new", "-key", key.toString(), "-subj", "/CN=" + cn, "-out", csr.toString());
    openssl("x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
        "-set_serial", "0x" + Long.toHexString(System.nanoTime() & Long.MAX_VALUE), "-days", "365", "-sha256",
        "-extfile", extFile.toString(), "-out", cert.toString());
  }

  private static void ecKey(Path key) {
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
  }

  private static void openssl(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    try {
      Path out = Files.createTempFile("e2e-cluster-openssl", ".out");
      try {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new AssertionError(String.join(" ", cmd) + " did not finish within 60 s");
        }
        if (p.exitValue() != 0) {
          throw new AssertionError(String.join(" ", cmd) + " failed with exit code " + p.exitValue() + ":\n"
              + Files.readString(out));
        }
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("running " + cmd + " (is openssl installed?)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
