/**
 * Process harness for black-box tests: real member processes on loopback addresses, driven by
 * real clients.
 *
 * <ul>
 *   <li>{@link io.etcetera.e2e.harness.Member}: one single-member cluster as a child process,
 *       Etcetera ({@code bin/etcetera}) or the real etcd, started with the same etcd flags; {@code
 *       kill9()}, {@code stop()}, {@code restart()}, {@code close()}.
 *   <li>{@link io.etcetera.e2e.harness.Binary}: which program; {@code -De2e.binary=etcd|etcetera}
 *       picks it for tests that run against both.
 *   <li>{@link io.etcetera.e2e.harness.Etcdctl}: the real etcdctl 3.4 with ETCDCTL_API=3 and a
 *       {@link io.etcetera.e2e.harness.Etcdctl.Result} of exit code, stdout and stderr.
 *   <li>{@link io.etcetera.e2e.harness.Ports}: a distinct loopback host and free port pair per
 *       member.
 *   <li>{@link io.etcetera.e2e.harness.Workdirs}: per-test directories under {@code
 *       e2e/target/e2e-work} that keep member logs after a failure.
 *   <li>{@link io.etcetera.e2e.harness.Tools}: where etcd, etcdctl and the launcher are; a missing
 *       one fails the test with how to install it (never a skip).
 * </ul>
 *
 * <pre>{@code
 * @Test
 * void survivesKill9(TestInfo info) {
 *   Path work = Workdirs.of(info);
 *   Ports.Address a = Ports.allocate();
 *   try (Member m = Member.etcetera(work.resolve("m1"), a.host(), a.port(), "--max-txn-ops=256")) {
 *     Etcdctl.run(m.endpoint(), "put", "k", "v").ok();
 *     m.kill9();
 *     m.restart();
 *     assertEquals(List.of("k", "v"), Etcdctl.run(m.endpoint(), "get", "k").lines());
 *   }
 * }
 * }</pre>
 *
 * <p>Startup waits for {@code etcdctl endpoint health}: up to 60 s (Etcetera's launcher builds the
 * distribution when it is missing; {@code -Detcetera.startTimeoutSeconds=N} changes the limit).
 */
package io.etcetera.e2e.harness;
