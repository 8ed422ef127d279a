package io.etcetera.server;

import io.etcetera.tls.gen.CertificateGenerator;
import io.etcetera.tls.gen.CertificateGenerator.KeyType;
import io.etcetera.tls.gen.Issued;
import io.etcetera.tls.gen.KeyFormat;
import io.etcetera.tls.pem.PemFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code etcetera certs}: a CA and certificates in the seed's layout ({@code ca.pem},
 * {@code etcd.pem}, {@code etcd-key.pem}) for tests and for users without cfssl. The member
 * certificate serves clients and peers (server and client usage); {@code --client NAME} adds
 * client certificates whose common name is an etcd user, for CN-based auth. An existing CA in the
 * directory is reused, so more certificates can be added later.
 */
@Command(name = "certs", mixinStandardHelpOptions = true,
    description = "Create a CA and member/client certificates (ca.pem, etcd.pem, etcd-key.pem, client-NAME.pem).")
final class CertsCommand implements Callable<Integer> {
  @Option(names = "--dir", required = true, description = "Output directory.")
  Path dir;

  @Option(names = "--hosts", split = ",", defaultValue = "127.0.0.1,localhost",
      description = "SANs of the member certificate: IP addresses and DNS names (default: ${DEFAULT-VALUE}).")
  List<String> hosts;

  @Option(names = "--cn", defaultValue = "etcd", description = "Common name of the member certificate (default: ${DEFAULT-VALUE}).")
  String commonName;

  @Option(names = "--client", description = "Also create client-NAME.pem / client-NAME-key.pem with CN=NAME (repeatable).")
  List<String> clients = new ArrayList<>();

  @Option(names = "--days", defaultValue = "3650", description = "Validity in days (default: ${DEFAULT-VALUE}).")
  int days;

  @Option(names = "--key-type", defaultValue = "EC", description = "EC (P-256) or RSA (2048) (default: ${DEFAULT-VALUE}).")
  KeyType keyType;

  @Option(names = "--key-format", defaultValue = "PKCS8",
      description = "PKCS8 or TRADITIONAL (PKCS#1 for RSA, SEC1 for EC) (default: ${DEFAULT-VALUE}).")
  KeyFormat keyFormat;

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(dir);
    Path caCert = dir.resolve("ca.pem");
    Path caKey = dir.resolve("ca-key.pem");
    Issued ca;
    if (Files.exists(caCert) && Files.exists(caKey)) {
      var cert = PemFiles.certificates(caCert).get(0);
      var key = PemFiles.privateKey(caKey);
      ca = new Issued(cert, new java.security.KeyPair(cert.getPublicKey(), key));
    } else {
      ca = CertificateGenerator.ca("etcetera-ca", Duration.ofDays(days), keyType);
      ca.write(caCert, caKey, keyFormat);
    }
    Instant now = Instant.now();
    Instant until = now.plus(Duration.ofDays(days));
    CertificateGenerator.leaf(ca, commonName, hosts, true, true, now.minusSeconds(60), until, keyType)
        .write(dir.resolve("etcd.pem"), dir.resolve("etcd-key.pem"), keyFormat);
    for (String c : clients) {
      CertificateGenerator.leaf(ca, c, List.of(), false, true, now.minusSeconds(60), until, keyType)
          .write(dir.resolve("client-" + c + ".pem"), dir.resolve("client-" + c + "-key.pem"), keyFormat);
    }
    System.out.println("wrote " + caCert + ", " + dir.resolve("etcd.pem") + ", " + dir.resolve("etcd-key.pem")
        + (clients.isEmpty() ? "" : " and " + clients.size() + " client certificate(s)"));
    return 0;
  }

  static int run(String[] args) {
    return new CommandLine(new CertsCommand()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
  }
}
