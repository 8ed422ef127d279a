package io.etcetera.e2e.security;

import static io.etcetera.e2e.security.Expect.AUTH_FAILED;
import static io.etcetera.e2e.security.Expect.AUTH_FAILED_GRPC;
import static io.etcetera.e2e.security.Expect.DENIED;
import static io.etcetera.e2e.security.Expect.DENIED_GRPC;
import static io.etcetera.e2e.security.Expect.EXIT_BAD_CONNECTION;
import static io.etcetera.e2e.security.Expect.EXIT_ERROR;
import static io.etcetera.e2e.security.Expect.USER_EMPTY;
import static io.etcetera.e2e.security.Expect.USER_EMPTY_GRPC;
import static io.etcetera.e2e.security.Expect.err;
import static io.etcetera.e2e.security.Expect.out;
import static io.etcetera.e2e.security.SecureMember.tlsFlags;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * etcd v3 auth driven the way operators do, with the real etcdctl 3.4: users, roles, range
 * permissions, {@code auth enable}, allowed and denied reads/writes/watches, password changes,
 * revocations, {@code auth disable}; and identity from the client certificate's CN with {@code
 * --client-cert-auth}. Runs against {@code -De2e.binary=etcd|etcetera}; every expected text, exit
 * code and logged gRPC status was observed on etcd 3.4.23.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class AuthFlowTest {

  private final Binary binary = Binary.fromSystemProperty();

  /** etcdctl 3.4's stderr for a watch the server cancels for lack of permission (exit code 5, nothing on stdout). */
  static final String WATCH_DENIED_STDERR =
      "watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)\n"
          + "Error: watch is canceled by the server\n";

  @Test
  void passwordFlow(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(binary, work.resolve("m"), a)) {
      Ctl ctl = new Ctl(m.endpoint());
      String root = "--user=root:rootpw";

      // --- users and roles, auth still off
      out("user add (flag password)", ctl.run("user", "add", "root", "--new-user-password=rootpw"), "User root created\n");
      out("user add (stdin password)", ctl.stdin("alicepw\n", "user", "add", "alice", "--interactive=false"),
          "User alice created\n");
      out("user add name:password", ctl.run("user", "add", "bob:bobpw"), "User bob created\n");
      err("duplicate user", ctl.run("user", "add", "bob", "--new-user-password=x"), EXIT_ERROR,
          "etcdserver: user name already exists",
          "rpc error: code = FailedPrecondition desc = etcdserver: user name already exists");
      out("role add", ctl.run("role", "add", "r1"), "Role r1 created\n");
      err("duplicate role", ctl.run("role", "add", "r1"), EXIT_ERROR, "etcdserver: role name already exists",
          "rpc error: code = FailedPrecondition desc = etcdserver: role name already exists");
      out("grant prefix", ctl.run("role", "grant-permission", "--prefix", "r1", "readwrite", "/app/"), "Role r1 updated\n");
      out("grant key", ctl.run("role", "grant-permission", "r1", "read", "/single"), "Role r1 updated\n");
      out("grant-role", ctl.run("user", "grant-role", "alice", "r1"), "Role r1 is granted to user alice\n");
      out("grant-role bob", ctl.run("user", "grant-role", "bob", "r1"), "Role r1 is granted to user bob\n");
      err("grant unknown role", ctl.run("user", "grant-role", "alice", "nosuch"), EXIT_ERROR,
          "etcdserver: role name not found", "rpc error: code = FailedPrecondition desc = etcdserver: role name not found");
      err("grant to unknown user", ctl.run("user", "grant-role", "nosuch", "r1"), EXIT_ERROR,
          "etcdserver: user name not found", "rpc error: code = FailedPrecondition desc = etcdserver: user name not found");
      out("put before auth", ctl.run("put", "/single", "s"), "OK\n");
      out("put before auth", ctl.run("put", "/other", "o"), "OK\n");

      // --- auth enable: etcdctl creates the root role when the server says it is missing, then retries
      Etcdctl.Result enable = out("auth enable", ctl.run("auth", "enable"), "Authentication Enabled\n");
      assertTrue(enable.grpcErrors().contains(
          "rpc error: code = FailedPrecondition desc = etcdserver: root user does not have root role"), enable.describe());
      out("role list shows root", ctl.run(root, "role", "list"), "r1\nroot\n");
      out("auth enable again (root)", ctl.run(root, "auth", "enable"), "Authentication Enabled\n");
      err("auth enable without credentials", ctl.run("auth", "enable"), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC);

      // --- no credentials
      err("put without credentials", ctl.run("put", "/app/x", "1"), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC);
      err("get without credentials", ctl.run("get", "/app/x"), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC);

      // --- alice: readwrite /app/, read /single, nothing else
      String alice = "--user=alice:alicepw";
      out("alice put", ctl.run(alice, "put", "/app/x", "1"), "OK\n");
      out("alice get", ctl.run(alice, "get", "/app/x"), "/app/x\n1\n");
      out("alice --password", ctl.run("--user=alice", "--password=alicepw", "get", "/app/x"), "/app/x\n1\n");
      out("alice prefix get", ctl.run(alice, "get", "/app/", "--prefix"), "/app/x\n1\n");
      out("alice read-only key", ctl.run(alice, "get", "/single"), "/single\ns\n");
      out("alice del", ctl.run(alice, "del", "/app/none"), "0\n");
      err("alice writes a read-only key", ctl.run(alice, "put", "/single", "x"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice writes outside", ctl.run(alice, "put", "/other", "x"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice reads outside", ctl.run(alice, "get", "/other"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice reads a wider range", ctl.run(alice, "get", "/", "--prefix"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice deletes outside", ctl.run(alice, "del", "/other"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice txn touching outside", ctl.stdin("\nput /app/t 1\nput /other 2\n\n\n", alice, "txn"), EXIT_ERROR,
          DENIED, DENIED_GRPC);
      out("alice txn inside", ctl.stdin("\nput /app/t 1\n\n\n", alice, "txn"), "SUCCESS\n\nOK\n");
      out("root reads everything", ctl.run(root, "get", "/other"), "/other\no\n");

      // --- watches: allowed ones replay history, denied ones are canceled by the server
      out("alice put marker", ctl.run(alice, "put", "/app/x", "alice-was-here"), "OK\n");
      Etcdctl.Result watch = Etcdctl.runUntil(m.endpoint(), "alice-was-here", Duration.ofSeconds(20),
          alice, "watch", "/app/x", "--rev=1");
      assertEquals(List.of("PUT", "/app/x", "1", "PUT", "/app/x", "alice-was-here"), watch.lines(), watch.describe());
      Etcdctl.Result denied = Etcdctl.runUntil(m.endpoint(), null, Duration.ofSeconds(20), alice, "watch", "/other");
      watchDenied("watch outside", denied);
      watchDenied("watch a wider prefix",
          Etcdctl.runUntil(m.endpoint(), null, Duration.ofSeconds(20), alice, "watch", "/", "--prefix", "--rev=1"));

      // --- bad credentials
      err("wrong password", ctl.run("--user=alice:wrong", "get", "/app/x"), EXIT_BAD_CONNECTION, AUTH_FAILED,
          AUTH_FAILED_GRPC);
      err("unknown user", ctl.run("--user=mallory:pw", "get", "/app/x"), EXIT_BAD_CONNECTION, AUTH_FAILED,
          AUTH_FAILED_GRPC);

      // --- inspecting users and roles
      out("user get", ctl.run(root, "user", "get", "alice"), "User: alice\nRoles: r1\n");
      out("user get --detail", ctl.run(root, "user", "get", "alice", "--detail"),
          "User: alice\n\nRole r1\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n\t/single\n"
              + "KV Write:\n\t[/app/, /app0) (prefix /app/)\n");
      out("role get", ctl.run(root, "role", "get", "r1"),
          "Role r1\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n\t/single\nKV Write:\n\t[/app/, /app0) (prefix /app/)\n");
      out("role get root", ctl.run(root, "role", "get", "root"), "Role root\nKV Read:\nKV Write:\n");
      out("user list", ctl.run(root, "user", "list"), "alice\nbob\nroot\n");
      out("role list", ctl.run(root, "role", "list"), "r1\nroot\n");
      out("alice gets herself", ctl.run(alice, "user", "get", "alice"), "User: alice\nRoles: r1\n");
      out("alice gets her role", ctl.run(alice, "role", "get", "r1"),
          "Role r1\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n\t/single\nKV Write:\n\t[/app/, /app0) (prefix /app/)\n");
      err("alice gets bob", ctl.run(alice, "user", "get", "bob"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice gets the root role", ctl.run(alice, "role", "get", "root"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice lists users", ctl.run(alice, "user", "list"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice lists roles", ctl.run(alice, "role", "list"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice adds a user", ctl.run(alice, "user", "add", "eve", "--new-user-password=x"), EXIT_ERROR, DENIED,
          DENIED_GRPC);
      err("user get unknown", ctl.run(root, "user", "get", "nosuch"), EXIT_ERROR, "etcdserver: user name not found",
          "rpc error: code = FailedPrecondition desc = etcdserver: user name not found");
      err("role get unknown", ctl.run(root, "role", "get", "nosuch"), EXIT_ERROR, "etcdserver: role name not found",
          "rpc error: code = FailedPrecondition desc = etcdserver: role name not found");

      // --- revoking permissions and roles
      out("revoke key", ctl.run(root, "role", "revoke-permission", "r1", "/single"),
          "Permission of key /single is revoked from role r1\n");
      err("alice reads the revoked key", ctl.run(alice, "get", "/single"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("revoke what is not granted", ctl.run(root, "role", "revoke-permission", "r1", "/nothere"), EXIT_ERROR,
          "etcdserver: permission is not granted to the role",
          "rpc error: code = FailedPrecondition desc = etcdserver: permission is not granted to the role");
      err("revoke the prefix as a key", ctl.run(root, "role", "revoke-permission", "r1", "/app/"), EXIT_ERROR,
          "etcdserver: permission is not granted to the role");
      out("revoke prefix", ctl.run(root, "role", "revoke-permission", "r1", "/app/", "--prefix"),
          "Permission of range [/app/, /app0) is revoked from role r1\n");
      out("role get after revocations", ctl.run(root, "role", "get", "r1"), "Role r1\nKV Read:\nKV Write:\n");
      err("alice after the revocation", ctl.run(alice, "get", "/app/x"), EXIT_ERROR, DENIED, DENIED_GRPC);
      out("grant again", ctl.run(root, "role", "grant-permission", "--prefix", "r1", "readwrite", "/app/"),
          "Role r1 updated\n");
      out("alice again", ctl.run(alice, "get", "/app/x", "--print-value-only"), "alice-was-here\n");
      out("revoke-role", ctl.run(root, "user", "revoke-role", "alice", "r1"), "Role r1 is revoked from user alice\n");
      err("revoke-role again", ctl.run(root, "user", "revoke-role", "alice", "r1"), EXIT_ERROR,
          "etcdserver: role is not granted to the user",
          "rpc error: code = FailedPrecondition desc = etcdserver: role is not granted to the user");
      err("alice without her role", ctl.run(alice, "get", "/app/x"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice without her role writes", ctl.run(alice, "put", "/app/x", "2"), EXIT_ERROR, DENIED, DENIED_GRPC);
      watchDenied("watch without the role",
          Etcdctl.runUntil(m.endpoint(), null, Duration.ofSeconds(20), alice, "watch", "/app/x"));
      out("user get without roles", ctl.run(root, "user", "get", "alice"), "User: alice\nRoles:\n");
      out("grant-role again", ctl.run(root, "user", "grant-role", "alice", "r1"), "Role r1 is granted to user alice\n");
      out("role add r2", ctl.run(root, "role", "add", "r2"), "Role r2 created\n");
      out("role delete r2", ctl.run(root, "role", "delete", "r2"), "Role r2 deleted\n");
      err("role delete unknown", ctl.run(root, "role", "delete", "r2"), EXIT_ERROR, "etcdserver: role name not found");

      // --- password change
      out("passwd", ctl.stdin("newpw\n", root, "user", "passwd", "alice", "--interactive=false"), "Password updated\n");
      err("old password", ctl.run(alice, "get", "/app/x"), EXIT_BAD_CONNECTION, AUTH_FAILED, AUTH_FAILED_GRPC);
      out("new password", ctl.run("--user=alice:newpw", "get", "/app/x", "--print-value-only"), "alice-was-here\n");
      err("alice changes bob's password", ctl.stdin("x\n", "--user=alice:newpw", "user", "passwd", "bob",
          "--interactive=false"), EXIT_ERROR, DENIED, DENIED_GRPC);

      // --- deleting a user
      out("bob before", ctl.run("--user=bob:bobpw", "get", "/app/x", "--print-value-only"), "alice-was-here\n");
      out("user delete", ctl.run(root, "user", "delete", "bob"), "User bob deleted\n");
      err("deleted user", ctl.run("--user=bob:bobpw", "get", "/app/x"), EXIT_BAD_CONNECTION, AUTH_FAILED,
          AUTH_FAILED_GRPC);
      err("delete again", ctl.run(root, "user", "delete", "bob"), EXIT_ERROR, "etcdserver: user name not found");

      // --- auth disable
      err("alice disables auth", ctl.run("--user=alice:newpw", "auth", "disable"), EXIT_ERROR, DENIED, DENIED_GRPC);
      out("root disables auth", ctl.run(root, "auth", "disable"), "Authentication Disabled\n");
      out("no credentials needed", ctl.run("get", "/other", "--print-value-only"), "o\n");
      out("anyone writes", ctl.run("put", "/other", "p"), "OK\n");
      // etcdctl ignores "authentication is not enabled" from Authenticate and goes on without a token
      Etcdctl.Result after = out("credentials after disable", ctl.run("--user=alice:newpw", "get", "/other",
          "--print-value-only"), "p\n");
      assertTrue(after.grpcErrors().contains(
          "rpc error: code = FailedPrecondition desc = etcdserver: authentication is not enabled"), after.describe());
      out("users survive", ctl.run("user", "list"), "alice\nroot\n");
      out("auth enable again", ctl.run("auth", "enable"), "Authentication Enabled\n");
      out("alice again after re-enable", ctl.run("--user=alice:newpw", "get", "/app/x", "--print-value-only"),
          "alice-was-here\n");
      err("still denied outside", ctl.run("--user=alice:newpw", "get", "/other"), EXIT_ERROR, DENIED, DENIED_GRPC);
    }
    assertNoDeferredFailures();
  }

  /**
   * With {@code --client-cert-auth}, a verified client certificate's CN is the user: alice's
   * certificate acts as alice, root's as root, without {@code --user}; {@code --user} still wins.
   */
  @Test
  void certificateCommonNameIsTheUser(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Pair server = ca.server("etcd", List.of(tls.host()));
    List<String> alice = tlsFlags(ca.cert(), ca.client("alice"));
    List<String> root = tlsFlags(ca.cert(), ca.client("root"));
    List<String> carol = tlsFlags(ca.cert(), ca.client("carol"));
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(server, ca.cert()))) {
      Ctl http = new Ctl(m.httpEndpoint());
      out("user add root", http.run("user", "add", "root", "--new-user-password=rootpw"), "User root created\n");
      out("user add alice", http.run("user", "add", "alice", "--new-user-password=alicepw"), "User alice created\n");
      out("user add carol", http.run("user", "add", "carol", "--no-password"), "User carol created\n");
      out("role add", http.run("role", "add", "r1"), "Role r1 created\n");
      out("grant", http.run("role", "grant-permission", "--prefix", "r1", "readwrite", "/app/"), "Role r1 updated\n");
      out("grant-role", http.run("user", "grant-role", "alice", "r1"), "Role r1 is granted to user alice\n");
      out("grant-role", http.run("user", "grant-role", "carol", "r1"), "Role r1 is granted to user carol\n");
      out("put", http.run("put", "/other", "o"), "OK\n");
      out("auth enable", http.run("auth", "enable"), "Authentication Enabled\n");

      // alice's certificate acts as alice
      out("alice put", m.tlsCtl(alice, "put", "/app/a", "1"), "OK\n");
      out("alice get", m.tlsCtl(alice, "get", "/app/a"), "/app/a\n1\n");
      err("alice outside", m.tlsCtl(alice, "put", "/other", "x"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice reads outside", m.tlsCtl(alice, "get", "/other"), EXIT_ERROR, DENIED, DENIED_GRPC);
      err("alice lists users", m.tlsCtl(alice, "user", "list"), EXIT_ERROR, DENIED, DENIED_GRPC);
      out("alice gets herself", m.tlsCtl(alice, "user", "get", "alice"), "User: alice\nRoles: r1\n");
      Etcdctl.Result watch = Etcdctl.runUntil(m.httpsEndpoint(), "1", Duration.ofSeconds(20),
          args(alice, "watch", "/app/a", "--rev=1"));
      assertEquals(List.of("PUT", "/app/a", "1"), watch.lines(), watch.describe());
      watchDenied("alice's certificate watches outside", Etcdctl.runUntil(m.httpsEndpoint(), null,
          Duration.ofSeconds(20), args(alice, "watch", "/other")));
      // a user without a password is usable through its certificate
      out("carol (no password) by certificate", m.tlsCtl(carol, "put", "/app/c", "3"), "OK\n");

      // root's certificate is the admin
      out("root lists users", m.tlsCtl(root, "user", "list"), "alice\ncarol\nroot\n");
      out("root lists roles", m.tlsCtl(root, "role", "list"), "r1\nroot\n");
      out("root writes anywhere", m.tlsCtl(root, "put", "/other", "by-root-cert"), "OK\n");
      out("root reads anywhere", m.tlsCtl(root, "get", "", "--from-key", "--keys-only"),
          "/app/a\n\n/app/c\n\n/other\n\n");
      out("root grants", m.tlsCtl(root, "role", "grant-permission", "r1", "read", "/other"), "Role r1 updated\n");
      out("alice reads after the grant", m.tlsCtl(alice, "get", "/other", "--print-value-only"), "by-root-cert\n");

      // --user beats the certificate
      out("alice's certificate with --user root", m.tlsCtl(SecureMember.plus(alice, "--user=root:rootpw"), "user", "list"),
          "alice\ncarol\nroot\n");
      err("alice's certificate with a wrong --user", m.tlsCtl(SecureMember.plus(alice, "--user=root:wrong"), "user", "list"),
          EXIT_BAD_CONNECTION, AUTH_FAILED, AUTH_FAILED_GRPC);
      // the plain listener has no certificate: no identity
      err("plain http without credentials", http.run("get", "/app/a"), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC);

      out("root's certificate disables auth", m.tlsCtl(root, "auth", "disable"), "Authentication Disabled\n");
      out("alice's certificate after disable", m.tlsCtl(alice, "put", "/other", "free"), "OK\n");
    }
    assertNoDeferredFailures();
  }

  /**
   * Without {@code --client-cert-auth} the certificate's CN is no identity, even when the member
   * verifies client certificates against {@code --trusted-ca-file}.
   */
  @Test
  void commonNameNeedsClientCertAuth(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Pair server = ca.server("etcd", List.of(tls.host()));
    List<String> root = tlsFlags(ca.cert(), ca.client("root"));
    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        "--cert-file=" + server.cert(), "--key-file=" + server.key(), "--trusted-ca-file=" + ca.cert())) {
      Ctl http = new Ctl(m.httpEndpoint());
      out("user add root", http.run("user", "add", "root", "--new-user-password=rootpw"), "User root created\n");
      out("auth enable", http.run("auth", "enable"), "Authentication Enabled\n");
      err("root's certificate only", m.tlsCtl(root, "user", "list"), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC);
      err("root's certificate put", m.tlsCtl(root, "put", "k", "v"), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC);
      out("root's certificate and password", m.tlsCtl(SecureMember.plus(root, "--user=root:rootpw"), "user", "list"), "root\n");
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** Denied watches are checked at the end of the test, so that a wrong cancel text does not hide later steps. */
  private final List<String> deferred = new ArrayList<>();

  private void watchDenied(String what, Etcdctl.Result r) {
    if (r.exitCode() != 5 || !r.stdout().isEmpty() || !r.stderr().equals(WATCH_DENIED_STDERR)) {
      deferred.add(what + ": expected etcdctl's canceled watch (exit 5, no stdout, stderr \""
          + WATCH_DENIED_STDERR.replace("\n", "\\n") + "\")" + r.describe());
    }
  }

  private void assertNoDeferredFailures() {
    if (!deferred.isEmpty()) {
      throw new AssertionError(deferred.size() + " denied watch(es) differ from etcd 3.4.23:\n"
          + String.join("\n", deferred));
    }
  }

  static String[] args(List<String> flags, String... more) {
    List<String> all = new ArrayList<>(flags);
    all.addAll(Arrays.asList(more));
    return all.toArray(String[]::new);
  }

  /** etcdctl against one endpoint with the harness's defaults. */
  record Ctl(String endpoint) {
    Etcdctl.Result run(String... args) {
      return Etcdctl.run(endpoint, args);
    }

    Etcdctl.Result stdin(String input, String... args) {
      return Etcdctl.runWithStdin(endpoint, input, args);
    }
  }
}
