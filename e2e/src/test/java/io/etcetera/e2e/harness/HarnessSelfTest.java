package io.etcetera.e2e.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness itself, exercised against the real etcd (so it is independent of the state of
 * Etcetera): start/health, flags, kill -9 and restart with the data surviving, SIGTERM, close,
 * address allocation and refusing to start on an occupied port.
 */
class HarnessSelfTest {

  @TempDir Path tmp;

  @Test
  void allocatedAddressesAreDistinctAndFree() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      Ports.Address a = Ports.allocate();
      assertTrue(a.host().startsWith("127."), a.toString());
      assertTrue(seen.add(a.host() + ":" + a.port()), "allocated twice: " + a);
      assertTrue(seen.add(a.host() + ":" + a.peerPort()), "allocated twice: " + a);
      assertTrue(Ports.isFree(a.host(), a.port()));
      assertTrue(Ports.isFree(a.host(), a.peerPort()));
    }
  }

  @Test
  void startKill9RestartStopAndClose() throws Exception {
    Ports.Address a = Ports.allocate();
    Path data = tmp.resolve("etcd-data");
    try (Member m = Member.realEtcd(data, a.host(), a.port(), "--max-txn-ops=16")) {
      assertEquals("http://" + a.host() + ":" + a.port(), m.endpoint());
      assertEquals(data, m.dataDir());
      assertEquals(tmp.resolve("etcd-data.log"), m.log());
      assertTrue(Files.size(m.log()) > 0);
      assertTrue(m.command().contains("--max-txn-ops=16"), m.command().toString());
      assertTrue(m.command().contains("--initial-cluster=" + m.name() + "=http://" + a.host() + ":" + a.peerPort()));
      assertEquals("OK", Etcdctl.run(m.endpoint(), "put", "k", "v1").ok().strip());

      long pid = m.pid();
      m.kill9();
      assertFalse(m.isAlive());
      assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
      assertNotEquals(0, Etcdctl.exec(List.of("--endpoints=" + m.endpoint(), "--dial-timeout=1s",
          "--command-timeout=2s"), null, Etcdctl.PROCESS_TIMEOUT, "get", "k").exitCode());

      m.restart();
      assertNotEquals(pid, m.pid());
      assertEquals(List.of("k", "v1"), Etcdctl.run(m.endpoint(), "get", "k").lines());

      m.stop();
      assertFalse(m.isAlive());
      m.restart();
      assertEquals(List.of("v1"), Etcdctl.run(m.endpoint(), "get", "k", "--print-value-only").lines());
      pid = m.pid();
      m.close();
      assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
      m.close(); // idempotent
    }
  }

  @Test
  void nameCanBeOverridden() {
    Ports.Address a = Ports.allocate();
    try (Member m = Member.start(Binary.ETCD, tmp.resolve("named"), a, "--name=custom")) {
      assertEquals("custom", m.name());
      assertTrue(m.command().contains("--initial-cluster=custom=" + m.peerUrl()));
      assertEquals(1, m.command().stream().filter(s -> s.startsWith("--name")).count());
      String members = Etcdctl.run(m.endpoint(), "member", "list").ok();
      assertTrue(members.contains(", custom, " + m.peerUrl() + ", " + m.endpoint()), members);
    }
  }

  @Test
  void refusesToStartOnAnOccupiedPort() throws Exception {
    Ports.Address a = Ports.allocate();
    try (ServerSocket squatter = new ServerSocket()) {
      squatter.bind(new InetSocketAddress(InetAddress.getByName(a.host()), a.port()));
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> Member.realEtcd(tmp.resolve("occupied"), a.host(), a.port()));
      assertTrue(e.getMessage().contains("in use"), e.getMessage());
    }
  }

  @Test
  void etcdctlResultHelpers() {
    Ports.Address a = Ports.allocate();
    try (Member m = Member.realEtcd(tmp.resolve("helpers"), a.host(), a.port())) {
      Etcdctl.Result r = Etcdctl.run(m.endpoint(), "get", "k", "--rev=99");
      r.fails("etcdserver: mvcc: required revision is a future revision");
      assertEquals(List.of("rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision"),
          r.grpcErrors());
      assertThrows(AssertionError.class, r::ok);
      assertEquals("OK", Etcdctl.runWithStdin(m.endpoint(), "\nput a 1\n\n\n", "txn").lines().get(2));
      assertTrue(Etcdctl.run(m.endpoint(), "get", "a", "-w", "json").json().get("header").has("revision"));
    }
  }
}
