package io.etcetera.e2e.linearizability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import io.etcetera.e2e.linearizability.LinearizabilityChecker.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The workload and the checker against one member ({@code -De2e.binary=etcd|etcetera}; histories
 * are kept in each test's work directory as {@code history.txt}):
 *
 * <ul>
 *   <li>4 clients for ~5 s on 4 keys: the history is linearizable, every operation answered, and
 *       it has OK reads, writes, successful and failed CASes; the same history with one read made
 *       stale is rejected;
 *   <li>one of two endpoints dead: clients starting there record UNKNOWN operations and move on;
 *   <li>kill -9 and restart of the member under load: UNKNOWN operations around the crash, a
 *       linearizable history (acknowledged writes survive), clients carry on after the restart;
 *   <li>mutual TLS (certificates made with openssl): the same over {@link ClientTls}.
 * </ul>
 */
class LinearizabilityWorkloadTest {

  @Test
  @Timeout(300)
  void singleMemberHistoryIsLinearizable(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(Binary.fromSystemProperty(), work.resolve("m1"), a)) {
      LinearizabilityWorkload.Handle w = LinearizabilityWorkload.start(List.of(m.endpoint()), null, 4, 4);
      Thread.sleep(5000);
      History h = w.stop();
      h.writeTo(work.resolve("history.txt"));
      History.Counts c = h.counts();
      System.out.println(m.binary() + ": " + w.summary());

      Result r = LinearizabilityChecker.check(h);
      System.out.println(r.describe());
      assertTrue(r.ok(), r.describe());

      // nothing disturbed the member: every operation answered
      assertEquals(0, c.unknown() + c.failed(), () -> (c.unknown() + c.failed())
          + " operations got no answer from an undisturbed member (" + c + "): " + h.errors());
      assertTrue(c.okReads() > 0, c::toString);
      assertTrue(c.okWrites() > 0, c::toString);
      assertTrue(c.casSucceeded() > 0, c::toString);
      assertTrue(c.casCompareFailed() > 0, c::toString);
      assertEquals(4, h.keys().size(), h.keys()::toString);

      // the same real history with one read made stale must be caught
      RegisterSimulation.Mutation stale = RegisterSimulation.staleRead(h, new Random(1));
      assertTrue(stale != null, "no read to make stale");
      Result bad = LinearizabilityChecker.check(stale.history());
      assertEquals(Result.Verdict.NOT_LINEARIZABLE, bad.verdict(), bad::describe);
      assertTrue(bad.involved().stream().anyMatch(o -> o.id() == stale.read().id()), bad::describe);
    }
  }

  @Test
  @Timeout(300)
  void deadEndpointIsSkipped(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    Ports.Address nobody = Ports.allocate(); // nothing listens there
    try (Member m = Member.start(Binary.fromSystemProperty(), work.resolve("m1"), a)) {
      // clients 0 and 2 start at the dead endpoint
      LinearizabilityWorkload.Handle w =
          LinearizabilityWorkload.start(List.of(nobody.clientUrl(), m.endpoint()), null, 4, 4);
      Thread.sleep(3000);
      History h = w.stop();
      h.writeTo(work.resolve("history.txt"));
      History.Counts c = h.counts();
      System.out.println(m.binary() + " + dead endpoint: " + w.summary());
      Result r = LinearizabilityChecker.check(h);
      assertTrue(r.ok(), r.describe());
      assertTrue(c.unknown() >= 1 && c.unknown() <= 8, () -> "clients 0 and 2 fail once each, at most a few times: "
          + c + " " + h.errors());
      for (int client : new int[] {0, 2}) {
        long ok = h.operations().stream()
            .filter(o -> o.client() == client && o.outcome() == Operation.Outcome.OK).count();
        assertTrue(ok >= 1, "client " + client + " moved on to the live endpoint: " + ok + " OK ops");
      }
    }
  }

  @Test
  @Timeout(300)
  void kill9AndRestartUnderLoad(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(Binary.fromSystemProperty(), work.resolve("m1"), a)) {
      LinearizabilityWorkload.Handle w = LinearizabilityWorkload.start(List.of(m.endpoint()), null, 4, 4);
      Thread.sleep(2000);
      m.kill9();
      Thread.sleep(500);
      m.restart();
      long restarted = System.nanoTime();
      Thread.sleep(3000);
      History h = w.stop();
      h.writeTo(work.resolve("history.txt"));
      History.Counts c = h.counts();
      System.out.println(m.binary() + " kill -9 / restart: " + w.summary());
      Result r = LinearizabilityChecker.check(h);
      System.out.println(r.describe());
      assertTrue(r.ok(), r.describe());
      assertTrue(c.unknown() > 0, () -> "the crash should leave operations in doubt: " + c);
      long okAfter = h.operations().stream()
          .filter(o -> o.outcome() == Operation.Outcome.OK && o.invokeNanos() > restarted).count();
      assertTrue(okAfter > 10, "clients carry on after the restart: " + okAfter + " OK ops");
    }
  }

  @Test
  @Timeout(300)
  void overMutualTls(TestInfo info) throws Exception {
    Path work = Workdirs.of(info);
    Ports.Address plain = Ports.allocate();
    Ports.Address secure = Ports.allocate();
    Path pki = Files.createDirectories(work.resolve("pki"));
    Path ca = pki.resolve("ca.pem");
    Path caKey = pki.resolve("ca-key.pem");
    openssl(pki, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", caKey.toString());
    openssl(pki, "req", "-x509", "-new", "-key", caKey.toString(), "-out", ca.toString(), "-days", "30",
        "-subj", "/CN=lin-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature");
    Path[] server = issue(pki, ca, caKey, "server", "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:"
        + secure.host() + "\n");
    Path[] client = issue(pki, ca, caKey, "client", "extendedKeyUsage=clientAuth\n");
    String https = "https://" + secure.host() + ":" + secure.port();
    try (Member m = Member.start(Binary.fromSystemProperty(), work.resolve("m1"), plain,
        "--listen-client-urls=" + https + "," + plain.clientUrl(), "--advertise-client-urls=" + https,
        "--cert-file=" + server[0], "--key-file=" + server[1], "--trusted-ca-file=" + ca, "--client-cert-auth")) {
      LinearizabilityWorkload.Handle w =
          LinearizabilityWorkload.start(List.of(https), new ClientTls(ca, client[0], client[1]), 2, 2);
      Thread.sleep(3000);
      History h = w.stop();
      h.writeTo(work.resolve("history.txt"));
      History.Counts c = h.counts();
      System.out.println(m.binary() + " over mTLS: " + w.summary());
      Result r = LinearizabilityChecker.check(h);
      assertTrue(r.ok(), r.describe());
      // (a slow first handshake may time out a call: only ask for answers, not for all of them)
      assertTrue(c.okReads() > 0 && c.okWrites() > 0, () -> c + ": " + h.errors());
    }
  }

  /** A certificate and PKCS#8 key signed by {@code ca}: {cert, key}. */
  private static Path[] issue(Path dir, Path ca, Path caKey, String name, String ext) throws Exception {
    Path key = dir.resolve(name + "-key.pem");
    Path csr = dir.resolve(name + ".csr");
    Path cert = dir.resolve(name + ".pem");
    Path extFile = dir.resolve(name + ".ext");
    Files.writeString(extFile, "basicConstraints=critical,CA:FALSE\n"
        + "keyUsage=critical,digitalSignature,keyEncipherment\n" + ext);
    openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
    openssl(dir, "req", "-new", "-key", key.toString(), "-subj", "/CN=" + name, "-out", csr.toString());
    openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-days", "30", "-sha256", "-extfile", extFile.toString(), "-out", cert.toString());
    return new Path[] {cert, key};
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Path out = dir.resolve("openssl.out");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl did not finish: " + cmd);
    assertEquals(0, p.exitValue(), () -> cmd + " failed:\n" + readQuietly(out));
  }

  private static String readQuietly(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      return "(" + e + ")";
    }
  }
}
