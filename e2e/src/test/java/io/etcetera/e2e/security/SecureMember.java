package io.etcetera.e2e.security;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A harness {@link Member} that serves clients over https on one loopback address and over plain
 * http on another: {@code --listen-client-urls=https://<tls>,http://<plain>
 * --advertise-client-urls=https://<tls>} plus the given TLS flags. The harness's own URLs (health
 * check, peer URL) are the plain address, so {@link Member} starts, waits and cleans up as usual;
 * the https address is only what the tests dial.
 */
final class SecureMember implements AutoCloseable {

  /** Global etcdctl timeouts for TLS clients: a refused handshake shows as the command timing out. */
  static final String DIAL_TIMEOUT = "--dial-timeout=2s";
  static final String COMMAND_TIMEOUT = "--command-timeout=4s";

  /** What etcdctl 3.4 prints when it cannot get a TLS connection the server accepts (observed on etcd 3.4.23). */
  static final String REFUSED_ERROR = "context deadline exceeded";
  /** The gRPC error etcdctl's retry interceptor logs in that case (observed on etcd 3.4.23). */
  static final String REFUSED_GRPC =
      "rpc error: code = DeadlineExceeded desc = latest balancer error: all SubConns are in TransientFailure";

  private final Member member;
  private final Ports.Address tls;

  private SecureMember(Member member, Ports.Address tls) {
    this.member = member;
    this.tls = tls;
  }

  /**
   * Starts {@code binary} with its https client URL on {@code tls} and an http one on {@code plain}.
   * {@code tlsFlags} are etcd's flags, e.g. {@code --cert-file=...}.
   */
  static SecureMember start(Binary binary, Path dataDir, Ports.Address plain, Ports.Address tls, String... tlsFlags) {
    List<String> flags = new ArrayList<>();
    flags.add("--listen-client-urls=https://" + tls.host() + ":" + tls.port() + "," + plain.clientUrl());
    flags.add("--advertise-client-urls=https://" + tls.host() + ":" + tls.port());
    flags.addAll(Arrays.asList(tlsFlags));
    Member m = Member.start(binary, dataDir, plain, flags.toArray(String[]::new));
    return new SecureMember(m, tls);
  }

  /** The usual TLS flags for a member certificate and a trusted CA, with {@code --client-cert-auth}. */
  static String[] mtlsFlags(Pki.Pair server, Path trustedCa) {
    return new String[] {"--cert-file=" + server.cert(), "--key-file=" + server.key(),
        "--trusted-ca-file=" + trustedCa, "--client-cert-auth"};
  }

  Member member() {
    return member;
  }

  /** {@code https://host:port} of the TLS listener. */
  String httpsEndpoint() {
    return "https://" + tls.host() + ":" + tls.port();
  }

  /** The TLS listener's {@code host:port} (for openssl s_client). */
  String httpsHostPort() {
    return tls.host() + ":" + tls.port();
  }

  String httpsHost() {
    return tls.host();
  }

  /** {@code http://host:port} of the plain listener. */
  String httpEndpoint() {
    return member.endpoint();
  }

  /** etcdctl against the https listener: {@code --endpoints=https://... <short timeouts> <flags> <args>}. */
  Etcdctl.Result tlsCtl(List<String> flags, String... args) {
    return tlsCtlWithStdin(null, flags, args);
  }

  /** {@link #tlsCtl} with standard input. */
  Etcdctl.Result tlsCtlWithStdin(String stdin, List<String> flags, String... args) {
    List<String> global = new ArrayList<>(List.of("--endpoints=" + httpsEndpoint(), DIAL_TIMEOUT, COMMAND_TIMEOUT));
    global.addAll(flags);
    return Etcdctl.exec(global, stdin, Duration.ofSeconds(60), args);
  }

  /** etcdctl against the plain http listener (the harness's defaults). */
  Etcdctl.Result plainCtl(String... args) {
    return Etcdctl.run(httpEndpoint(), args);
  }

  @Override
  public void close() {
    member.close();
  }

  @Override
  public String toString() {
    return member + " (https " + httpsEndpoint() + ")";
  }

  /** Etcdctl flags: {@code --cacert=ca} followed by the pair's {@code --cert}/{@code --key} (pair may be null). */
  static List<String> tlsFlags(Path cacert, Pki.Pair client) {
    List<String> f = new ArrayList<>();
    if (cacert != null) f.add("--cacert=" + cacert);
    if (client != null) f.addAll(client.etcdctlFlags());
    return f;
  }

  /** Flags list with more flags appended. */
  static List<String> plus(List<String> flags, String... more) {
    List<String> all = new ArrayList<>(flags);
    all.addAll(Arrays.asList(more));
    return all;
  }

  /**
   * Asserts that etcdctl could not get a connection the server accepts: exit code 1, etcd 3.4's
   * {@code Error: context deadline exceeded} and the client's logged {@link #REFUSED_GRPC}.
   */
  static void assertRefused(String what, Etcdctl.Result r) {
    if (r.exitCode() != 1 || !REFUSED_ERROR.equals(r.error()) || !r.grpcErrors().contains(REFUSED_GRPC)) {
      throw new AssertionError(what + ": expected etcdctl to fail like etcd 3.4 refuses the TLS client (exit 1, "
          + "\"Error: " + REFUSED_ERROR + "\", client log \"" + REFUSED_GRPC + "\")" + r.describe());
    }
  }

  /** {@code openssl s_client} against the TLS listener; returns its output (stdout + stderr). */
  Pki.Output sClient(String... args) {
    List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", httpsHostPort()));
    cmd.addAll(Arrays.asList(args));
    return Pki.run("", 30, cmd.toArray(String[]::new));
  }
}
