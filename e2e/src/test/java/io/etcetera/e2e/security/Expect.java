package io.etcetera.e2e.security;

import io.etcetera.e2e.harness.Etcdctl;

/** Exact expectations on one etcdctl run, with the whole run in the failure message. */
final class Expect {

  // etcd 3.4.23's texts, as etcdctl prints them after "Error: " (and the gRPC codes its client logs)
  static final String USER_EMPTY = "etcdserver: user name is empty";
  static final String USER_EMPTY_GRPC = "rpc error: code = InvalidArgument desc = " + USER_EMPTY;
  static final String DENIED = "etcdserver: permission denied";
  static final String DENIED_GRPC = "rpc error: code = PermissionDenied desc = " + DENIED;
  static final String AUTH_FAILED = "etcdserver: authentication failed, invalid user ID or password";
  static final String AUTH_FAILED_GRPC = "rpc error: code = InvalidArgument desc = " + AUTH_FAILED;
  /** etcdctl's exit code when it cannot authenticate (its client cannot be created: ExitBadConnection). */
  static final int EXIT_BAD_CONNECTION = 2;
  /** etcdctl's exit code for a failed request. */
  static final int EXIT_ERROR = 1;

  private Expect() {}

  /** Exit code 0 and exactly {@code stdout}. */
  static Etcdctl.Result out(String what, Etcdctl.Result r, String stdout) {
    if (r.exitCode() != 0 || !r.stdout().equals(stdout)) {
      throw new AssertionError(what + ": expected exit code 0 and stdout " + show(stdout) + r.describe());
    }
    return r;
  }

  /** Exit code {@code exit} and etcdctl's error line exactly {@code "Error: " + error}. */
  static Etcdctl.Result err(String what, Etcdctl.Result r, int exit, String error) {
    if (r.exitCode() != exit || !error.equals(r.error())) {
      throw new AssertionError(what + ": expected exit code " + exit + " and \"Error: " + error + "\"" + r.describe());
    }
    return r;
  }

  /** {@link #err} plus the gRPC status etcdctl's client logged, e.g. {@code "rpc error: code = ... desc = ..."}. */
  static Etcdctl.Result err(String what, Etcdctl.Result r, int exit, String error, String grpcError) {
    err(what, r, exit, error);
    if (!r.grpcErrors().contains(grpcError)) {
      throw new AssertionError(what + ": expected the client to log \"" + grpcError + "\"" + r.describe());
    }
    return r;
  }

  private static String show(String s) {
    return "\"" + s.replace("\n", "\\n").replace("\t", "\\t") + "\"";
  }
}
