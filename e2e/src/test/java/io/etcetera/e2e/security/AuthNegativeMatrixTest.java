package io.etcetera.e2e.security;

import static io.etcetera.e2e.security.Expect.AUTH_FAILED;
import static io.etcetera.e2e.security.Expect.AUTH_FAILED_GRPC;
import static io.etcetera.e2e.security.Expect.DENIED;
import static io.etcetera.e2e.security.Expect.DENIED_GRPC;
import static io.etcetera.e2e.security.Expect.EXIT_BAD_CONNECTION;
import static io.etcetera.e2e.security.Expect.EXIT_ERROR;
import static io.etcetera.e2e.security.Expect.USER_EMPTY;
import static io.etcetera.e2e.security.Expect.USER_EMPTY_GRPC;
import static io.etcetera.e2e.security.Expect.out;
import static io.etcetera.e2e.security.SecureMember.REFUSED_ERROR;
import static io.etcetera.e2e.security.SecureMember.REFUSED_GRPC;
import static io.etcetera.e2e.security.SecureMember.tlsFlags;
import static org.junit.jupiter.api.Assertions.fail;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Every way in that must be refused, as one table run against one member (mTLS listener with
 * {@code --client-cert-auth} beside a plain one, auth enabled): each row tries to write {@code
 * /app/<row>} (which alice's role may write) and must fail with etcd 3.4.23's exit code, error
 * line and logged gRPC status; afterwards root checks that no row's key exists. All rows run even
 * when one fails; the failure lists every mismatch.
 *
 * <p>Then the rows etcdctl cannot express (it authenticates afresh on each run), with raw gRPC:
 * a token taken before {@code auth disable} and used after it, and after auth is enabled again; and
 * the cancel reason of a watch the user may not make, as it is on the wire.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class AuthNegativeMatrixTest {

  private final Binary binary = Binary.fromSystemProperty();

  /** One way in: how etcdctl is run (given the row's key) and what etcd answers. */
  record Row(String name, Function<String, Etcdctl.Result> attempt, int exit, String error, String grpcError) {}

  @Test
  void noneGetsIn(TestInfo info) {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    Pki.Ca ca = Pki.ca(work.resolve("ca"), "e2e-ca");
    Pki.Ca other = Pki.ca(work.resolve("other-ca"), "other-ca");
    Pki.Pair server = ca.server("etcd", List.of(tls.host()));
    Pki.Pair aliceCert = ca.client("alice");
    Pki.Pair foreignAlice = other.client("alice");
    Pki.Pair expiredAlice = ca.expiredClient("alice");
    Pki.Pair bobCert = ca.client("bob");
    Pki.Pair malloryCert = ca.client("mallory");

    try (SecureMember m = SecureMember.start(binary, work.resolve("m"), plain, tls,
        SecureMember.mtlsFlags(server, ca.cert()))) {
      AuthFlowTest.Ctl http = new AuthFlowTest.Ctl(m.httpEndpoint());
      String root = "--user=root:rootpw";
      // --- setup, with auth off
      out("root", http.run("user", "add", "root", "--new-user-password=rootpw"), "User root created\n");
      out("alice", http.run("user", "add", "alice", "--new-user-password=alicepw"), "User alice created\n");
      out("bob", http.run("user", "add", "bob", "--new-user-password=bobpw"), "User bob created\n");
      out("carol", http.run("user", "add", "carol", "--new-user-password=carolpw"), "User carol created\n");
      out("nop", http.run("user", "add", "nop", "--no-password"), "User nop created\n");
      out("r1", http.run("role", "add", "r1"), "Role r1 created\n");
      out("r2", http.run("role", "add", "r2"), "Role r2 created\n");
      out("r1 perm", http.run("role", "grant-permission", "--prefix", "r1", "readwrite", "/app/"), "Role r1 updated\n");
      out("r2 perm", http.run("role", "grant-permission", "--prefix", "r2", "readwrite", "/app/"), "Role r2 updated\n");
      for (String u : List.of("alice", "bob", "nop")) {
        out("grant " + u, http.run("user", "grant-role", u, "r1"), "Role r1 is granted to user " + u + "\n");
      }
      out("grant carol", http.run("user", "grant-role", "carol", "r2"), "Role r2 is granted to user carol\n");
      out("seed", http.run("put", "/app/seed", "s"), "OK\n");
      out("auth enable", http.run("auth", "enable"), "Authentication Enabled\n");
      // each of them gets in before being taken away
      out("bob before", http.run("--user=bob:bobpw", "put", "/app/bob-before", "1"), "OK\n");
      out("carol before", http.run("--user=carol:carolpw", "put", "/app/carol-before", "1"), "OK\n");
      out("bob's certificate before", m.tlsCtl(tlsFlags(ca.cert(), bobCert), "put", "/app/bob-cert-before", "1"), "OK\n");
      out("alice's certificate", m.tlsCtl(tlsFlags(ca.cert(), aliceCert), "put", "/app/alice-cert", "1"), "OK\n");
      out("delete bob", http.run(root, "user", "delete", "bob"), "User bob deleted\n");
      out("revoke carol's role", http.run(root, "user", "revoke-role", "carol", "r2"), "Role r2 is revoked from user carol\n");

      List<Row> table = List.of(
          new Row("client certificate from another CA",
              k -> m.tlsCtl(tlsFlags(ca.cert(), foreignAlice), "put", k, "x"), EXIT_ERROR, REFUSED_ERROR, REFUSED_GRPC),
          new Row("expired client certificate",
              k -> m.tlsCtl(tlsFlags(ca.cert(), expiredAlice), "put", k, "x"), EXIT_ERROR, REFUSED_ERROR, REFUSED_GRPC),
          new Row("no client certificate (--client-cert-auth)",
              k -> m.tlsCtl(tlsFlags(ca.cert(), null), "put", k, "x"), EXIT_ERROR, REFUSED_ERROR, REFUSED_GRPC),
          new Row("wrong password",
              k -> http.run("--user=alice:wrong", "put", k, "x"), EXIT_BAD_CONNECTION, AUTH_FAILED, AUTH_FAILED_GRPC),
          new Row("unknown user",
              k -> http.run("--user=mallory:pw", "put", k, "x"), EXIT_BAD_CONNECTION, AUTH_FAILED, AUTH_FAILED_GRPC),
          new Row("unknown user by certificate CN",
              k -> m.tlsCtl(tlsFlags(ca.cert(), malloryCert), "put", k, "x"), EXIT_ERROR, DENIED, DENIED_GRPC),
          new Row("revoked role",
              k -> http.run("--user=carol:carolpw", "put", k, "x"), EXIT_ERROR, DENIED, DENIED_GRPC),
          new Row("deleted user, password",
              k -> http.run("--user=bob:bobpw", "put", k, "x"), EXIT_BAD_CONNECTION, AUTH_FAILED, AUTH_FAILED_GRPC),
          new Row("deleted user, certificate CN",
              k -> m.tlsCtl(tlsFlags(ca.cert(), bobCert), "put", k, "x"), EXIT_ERROR, DENIED, DENIED_GRPC),
          new Row("no-password user giving a password",
              k -> http.run("--user=nop:x", "put", k, "x"), EXIT_BAD_CONNECTION,
              "rpc error: code = Unknown desc = auth: authentication failed, password was given for no password user",
              "rpc error: code = Unknown desc = auth: authentication failed, password was given for no password user"),
          new Row("no credentials",
              k -> http.run("put", k, "x"), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC),
          new Row("no credentials, read",
              k -> http.run("get", k), EXIT_ERROR, USER_EMPTY, USER_EMPTY_GRPC));

      List<String> mismatches = new ArrayList<>();
      int i = 0;
      for (Row row : table) {
        i++;
        String key = "/app/row" + i;
        Etcdctl.Result r = row.attempt().apply(key);
        if (r.exitCode() != row.exit() || !row.error().equals(r.error()) || !r.grpcErrors().contains(row.grpcError())) {
          mismatches.add("#" + i + " " + row.name() + ": expected exit " + row.exit() + ", \"Error: " + row.error()
              + "\", client log \"" + row.grpcError() + "\"" + r.describe());
        }
      }
      // none got in: only the keys written by permitted users exist
      Etcdctl.Result keys = http.run(root, "get", "/app/", "--prefix", "--keys-only");
      String expectedKeys = "/app/alice-cert\n\n/app/bob-before\n\n/app/bob-cert-before\n\n/app/carol-before\n\n/app/seed\n\n";
      if (keys.exitCode() != 0 || !keys.stdout().equals(expectedKeys)) {
        mismatches.add("keys under /app/ after the table: expected " + expectedKeys.replace("\n\n", " ") + keys.describe());
      }

      // --- raw gRPC: the cancel reason of a denied watch, as etcd 3.4 puts it on the wire
      try (AuthRpc rpc = new AuthRpc(plain.host(), plain.port())) {
        String aliceToken = rpc.authenticate("alice", "alicepw");
        check(mismatches, "alice's token works", "OK count 1", rpc.get(aliceToken, "/app/seed"));
        check(mismatches, "watch outside alice's range",
            "created=true canceled=true cancel_reason=rpc error: code = PermissionDenied desc = etcdserver: permission denied",
            rpc.watch(aliceToken, "/other"));
        check(mismatches, "watch without a token",
            "created=true canceled=true cancel_reason=rpc error: code = InvalidArgument desc = etcdserver: user name is empty",
            rpc.watch(null, "/app/seed"));
        check(mismatches, "watch with an empty token",
            "created=true canceled=true cancel_reason=rpc error: code = Unauthenticated desc = etcdserver: invalid auth token",
            rpc.watch("", "/app/seed"));
        check(mismatches, "put without a token", "INVALID_ARGUMENT: etcdserver: user name is empty",
            rpc.put(null, "/app/no-token", "x"));
        check(mismatches, "a made-up token", "UNAUTHENTICATED: etcdserver: invalid auth token",
            rpc.put("not-a-token.1", "/app/forged", "x"));

        // --- a token taken before auth disable
        out("auth disable", http.run(root, "auth", "disable"), "Authentication Disabled\n");
        check(mismatches, "token after auth disable: put", "UNAUTHENTICATED: etcdserver: invalid auth token",
            rpc.put(aliceToken, "/app/stale-disabled", "x"));
        check(mismatches, "token after auth disable: get", "UNAUTHENTICATED: etcdserver: invalid auth token",
            rpc.get(aliceToken, "/app/seed"));
        out("auth enable again", http.run("auth", "enable"), "Authentication Enabled\n");
        check(mismatches, "token from before auth disable, after auth enable",
            "UNAUTHENTICATED: etcdserver: invalid auth token", rpc.put(aliceToken, "/app/stale-reenabled", "x"));
        check(mismatches, "a fresh token works", "OK count 1", rpc.get(rpc.authenticate("alice", "alicepw"), "/app/seed"));
      }
      Etcdctl.Result after = http.run(root, "get", "/app/stale", "--prefix", "--keys-only");
      if (after.exitCode() != 0 || !after.stdout().isEmpty()) {
        mismatches.add("a stale token wrote something" + after.describe());
      }
      if (!mismatches.isEmpty()) {
        fail(mismatches.size() + " check(s) differ from etcd 3.4.23 (" + table.size() + " etcdctl rows, 10 raw gRPC checks, "
            + "2 key checks):\n\n"
            + String.join("\n\n", mismatches));
      }
    }
  }

  private static void check(List<String> mismatches, String what, String expected, String actual) {
    if (!expected.equals(actual)) mismatches.add(what + ": expected \"" + expected + "\" but got \"" + actual + "\"");
  }
}
