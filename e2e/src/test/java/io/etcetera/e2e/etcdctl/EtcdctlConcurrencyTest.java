package io.etcetera.e2e.etcdctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.etcdctl.EtcdctlWatchLeaseTest.Bg;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Tools;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * etcdctl 3.4's concurrency recipes, {@code etcdctl lock} and {@code etcdctl elect}, run as
 * competing processes. They are built from a session (a lease kept alive), a put of
 * {@code <name>/<lease id in hex>}, a range read for the owner (lowest create revision) and a watch
 * for the deletion of the predecessor's key: an integration check of KV, Lease and Watch together.
 * The expectations were taken from the real etcd 3.4 ({@code -De2e.binary=etcd}).
 *
 * <p>Acquisition order is asserted from what the processes print: the commands run under the lock
 * print nanosecond timestamps ({@code date +%s%N}) when they start and end.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdctlConcurrencyTest {

  private static final Binary BINARY = Binary.fromSystemProperty();
  private static final Duration LONG = Duration.ofSeconds(20);

  private final List<Member> members = new ArrayList<>();
  private final List<Bg> background = new ArrayList<>();
  private Path work;
  private String ep;

  @BeforeEach
  void setUp(TestInfo info) {
    work = Workdirs.of(info);
    Ports.Address a = Ports.allocate();
    Member m = Member.start(BINARY, work.resolve("member"), a);
    members.add(m);
    ep = m.endpoint();
  }

  @AfterEach
  void tearDown() {
    try {
      for (Bg b : background) b.close();
    } finally {
      for (Member m : members) m.close();
    }
  }

  private Etcdctl.Result ctl(String... args) {
    return Etcdctl.run(ep, args);
  }

  private Bg bg(String... args) {
    Bg b = Bg.start(ep, false, args);
    background.add(b);
    return b;
  }

  // ---------------------------------------------------------------------------------------------
  // lock

  @Test
  void lockRunsCommandWhileHoldingAndReleasesAfterwards() {
    assertEquals("hello\n", ctl("lock", "mylock", "echo", "hello").ok());
    assertEquals("", ctl("get", "--prefix", "mylock").ok(), "the lock key is gone once the command ends");
    // etcdctl 3.4 does not revoke its session's lease on exit: it is left to expire (default --ttl=10)
    List<String> leases = ctl("lease", "list").lines();
    assertEquals(2, leases.size(), leases.toString());
    assertEquals("found 1 leases", leases.get(0));
    String ttl = ctl("lease", "timetolive", leases.get(1)).ok();
    assertTrue(Pattern.matches("lease " + leases.get(1) + " granted with TTL\\(10s\\), remaining\\(([5-9]|10)s\\)\n", ttl), ttl);

    // the command sees the lock key and the revision in its environment, and the key exists meanwhile
    String script = "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\"; " + Tools.etcdctl() + " --endpoints=" + ep
        + " get --prefix mylock/ --keys-only";
    long rev = revision();
    List<String> out = ctl("lock", "mylock", "--", "sh", "-c", script).lines();
    assertEquals(3, out.size(), out.toString()); // "<key> <rev>", the key, the empty value line
    Matcher m = Pattern.compile("(mylock/([0-9a-f]+)) (\\d+)").matcher(out.get(0));
    assertTrue(m.matches(), out.toString());
    assertEquals(m.group(1), out.get(1), "the held key is the one in ETCD_LOCK_KEY");
    assertEquals("", out.get(2));
    assertEquals(rev + 1, Long.parseLong(m.group(3)), "ETCD_LOCK_REV is the revision of the put of the key");
    assertEquals(rev + 2, revision(), "the unlock deleted the key");
    assertEquals("", ctl("get", "--prefix", "mylock").ok());

    // the command's failure is etcdctl's failure, and the lock is still released
    Etcdctl.Result failed = ctl("lock", "mylock", "--", "sh", "-c", "exit 3");
    failed.fails("exit status 3");
    assertEquals(1, failed.exitCode());
    assertEquals("", ctl("get", "--prefix", "mylock").ok());
  }

  @Test
  void secondContenderBlocksUntilTheFirstReleases() {
    Bg first = bg("lock", "mylock", "--", "sh", "-c",
        "echo \"p1-acquired $(date +%s%N) $ETCD_LOCK_KEY\"; sleep 4; echo \"p1-releasing $(date +%s%N)\"");
    first.awaitOut(s -> s.contains("p1-acquired"), LONG, "p1-acquired");
    Bg second = bg("lock", "mylock", "--", "sh", "-c", "echo \"p2-acquired $(date +%s%N) $ETCD_LOCK_KEY\"");

    // the second contender queues its own key behind the first one's and waits
    List<String> queued = awaitKeys("mylock/", 2);
    String firstKey = field(first.lines().get(0), 2);
    assertEquals(firstKey, queued.get(0), "the holder's key has the lowest create revision");
    sleep(1000);
    assertEquals("", second.out(), "the second contender must wait" + second.describe());
    assertTrue(second.isAlive(), second.describe());

    assertEquals(0, first.awaitExit(LONG), first.describe());
    assertEquals(0, second.awaitExit(LONG), second.describe());
    long released = Long.parseLong(field(first.lines().get(1), 1));
    String acquiredLine = second.lines().get(0);
    assertTrue(acquiredLine.startsWith("p2-acquired "), second.describe());
    long acquired = Long.parseLong(field(acquiredLine, 1));
    long held = Long.parseLong(field(first.lines().get(0), 1));
    assertTrue(acquired > released, "p2 acquired at " + acquired + " before p1 released at " + released);
    assertTrue(acquired - held >= TimeUnit.SECONDS.toNanos(4), "p2 acquired while p1 slept");
    assertEquals(queued.get(1), field(acquiredLine, 2), "p2 holds the key it queued with");
    assertEquals("", ctl("get", "--prefix", "mylock").ok());
  }

  @Test
  void lockWithoutCommandHoldsUntilSigterm() {
    Bg holder = bg("lock", "--ttl=30", "lk");
    holder.awaitOut(s -> s.contains("\n"), LONG, "the lock key");
    String key = holder.lines().get(0);
    assertTrue(Pattern.matches("lk/[0-9a-f]+", key), holder.describe());
    assertLeaseOfKey(key);
    Bg waiter = bg("lock", "lk", "--", "sh", "-c", "echo \"acquired $(date +%s%N)\"");
    awaitKeys("lk/", 2);
    sleep(500);
    assertEquals("", waiter.out(), waiter.describe());

    long signalled = System.nanoTime();
    holder.term(); // etcdctl unlocks and closes its session on SIGTERM
    assertEquals(0, holder.awaitExit(LONG), holder.describe());
    assertEquals(key + "\n\n", holder.out(), "etcdctl prints the key and an empty line" + holder.describe());
    assertEquals(0, waiter.awaitExit(LONG), waiter.describe());
    double waited = (System.nanoTime() - signalled) / 1e9;
    assertTrue(waited < 10, "handed over after " + waited + " s: an unlock, not the 30 s session TTL");
    assertTrue(waiter.out().startsWith("acquired "), waiter.describe());
    assertEquals("", ctl("get", "--prefix", "lk").ok());
    // the unlock deleted the keys, but neither etcdctl revoked its session's lease (left to expire)
    List<String> leases = ctl("lease", "list").lines();
    assertEquals("found 2 leases", leases.get(0), leases.toString());
    String holderLease = String.format("%016x", Long.parseUnsignedLong(key.substring(key.indexOf('/') + 1), 16));
    assertTrue(leases.contains(holderLease), holderLease + " in " + leases);
    assertTrue(ctl("lease", "timetolive", holderLease).ok().startsWith("lease " + holderLease + " granted with TTL(30s)"));
  }

  @Test
  void killedHolderHandsOverWhenItsSessionLeaseExpires() {
    Bg holder = bg("lock", "--ttl=3", "lk");
    holder.awaitOut(s -> s.contains("\n"), LONG, "the lock key");
    String key = holder.lines().get(0);
    Bg waiter = bg("lock", "lk", "--", "sh", "-c", "echo \"acquired $(date +%s%N)\"");
    awaitKeys("lk/", 2);
    sleep(500);
    assertEquals("", waiter.out(), waiter.describe());

    long killed = System.nanoTime();
    holder.close(); // SIGKILL: no unlock, the session's keep-alives stop
    assertEquals(List.of(key, ""), ctl("get", key).lines(), "the dead holder's key (empty value) stays until its lease expires");
    assertEquals(0, waiter.awaitExit(LONG), waiter.describe());
    double waited = (System.nanoTime() - killed) / 1e9;
    assertTrue(waited >= 0.5, "handed over " + waited + " s after the kill: before the 3 s lease could expire");
    assertTrue(waited <= 15, "handed over only " + waited + " s after the kill");
    assertEquals("", ctl("get", key).ok(), "the expired lease took the key with it");
  }

  // ---------------------------------------------------------------------------------------------
  // elect

  @Test
  void electionCampaignListenResignTakeover() {
    Bg p1 = bg("elect", "myelection", "p1");
    p1.awaitOut(s -> s.endsWith("p1\n"), LONG, "p1's leadership");
    List<String> l1 = p1.lines();
    assertEquals(2, l1.size(), p1.describe());
    assertTrue(Pattern.matches("myelection/[0-9a-f]+", l1.get(0)), p1.describe());
    String key1 = l1.get(0);
    assertEquals("p1", l1.get(1));
    assertLeaseOfKey(key1);
    assertEquals(List.of(key1, "p1"), ctl("get", key1).lines(), "the leader's key holds its proposal");

    Bg listener = bg("elect", "-l", "myelection");
    listener.awaitOut(s -> s.equals(key1 + "\np1\n"), LONG, "the current leader");

    Bg p2 = bg("elect", "myelection", "p2");
    List<String> keys = awaitKeys("myelection/", 2);
    assertEquals(key1, keys.get(0), "the leader is the lowest create revision");
    String key2 = keys.get(1);
    sleep(1000);
    assertEquals("", p2.out(), "the second candidate waits" + p2.describe());
    assertEquals(key1 + "\np1\n", listener.out(), "no new leader yet" + listener.describe());

    // the leader resigns: etcdctl elect resigns and closes its session on SIGTERM
    p1.term();
    assertEquals(0, p1.awaitExit(LONG), p1.describe());
    assertEquals(key1 + "\np1\n", p1.out(), p1.describe());
    p2.awaitOut(s -> s.endsWith("p2\n"), LONG, "p2's leadership");
    assertEquals(key2 + "\np2\n", p2.out(), p2.describe());
    listener.awaitOut(s -> s.endsWith("p2\n"), LONG, "the new leader");
    assertEquals(key1 + "\np1\n" + key2 + "\np2\n", listener.out(), listener.describe());
    assertEquals(List.of(key2, "p2"), ctl("get", "--prefix", "myelection/").lines(), "p1's key is gone");
    // but not p1's session lease: etcdctl 3.4 leaves it to expire (default session TTL 60 s)
    String lease1 = String.format("%016x", Long.parseUnsignedLong(key1.substring(key1.indexOf('/') + 1), 16));
    assertTrue(ctl("lease", "list").lines().contains(lease1), "p1's lease " + lease1 + " is still there");
    assertTrue(ctl("lease", "timetolive", lease1).ok().startsWith("lease " + lease1 + " granted with TTL(60s)"));

    // the last candidate resigns: no leader, the listener prints nothing and keeps listening
    p2.term();
    assertEquals(0, p2.awaitExit(LONG), p2.describe());
    awaitKeys("myelection/", 0);
    sleep(1000);
    assertEquals(key1 + "\np1\n" + key2 + "\np2\n", listener.out(), listener.describe());
    assertTrue(listener.isAlive(), listener.describe());

    // a new candidate is leader at once, and the listener reports it
    Bg p3 = bg("elect", "myelection", "p3");
    p3.awaitOut(s -> s.endsWith("p3\n"), LONG, "p3's leadership");
    String key3 = p3.lines().get(0);
    listener.awaitOut(s -> s.endsWith(key3 + "\np3\n"), LONG, "p3 as leader");
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  private long revision() {
    return ctl("get", "any-key", "-w", "json").json().get("header").get("revision").asLong();
  }

  /** Waits until exactly {@code n} keys exist under {@code prefix}; returns them by create revision. */
  private List<String> awaitKeys(String prefix, int n) {
    long deadline = System.nanoTime() + LONG.toNanos();
    while (true) {
      JsonNode r = ctl("get", "--prefix", prefix, "--sort-by=CREATE", "--order=ASCEND", "-w", "json").json();
      List<String> keys = new ArrayList<>();
      for (JsonNode kv : r.path("kvs")) {
        keys.add(new String(Base64.getDecoder().decode(kv.get("key").asText()), StandardCharsets.UTF_8));
      }
      if (keys.size() == n) return keys;
      if (System.nanoTime() > deadline) throw new AssertionError("expected " + n + " keys under " + prefix + ", have " + keys);
      sleep(100);
    }
  }

  /** The key's suffix is the session's lease id in hex, and the key is attached to that lease. */
  private void assertLeaseOfKey(String key) {
    long id = Long.parseUnsignedLong(key.substring(key.lastIndexOf('/') + 1), 16);
    JsonNode kv = ctl("get", key, "-w", "json").json().get("kvs").get(0);
    assertEquals(id, kv.get("lease").asLong(), kv.toString());
    Set<Long> leases = new HashSet<>();
    List<String> list = ctl("lease", "list").lines();
    for (String l : list.subList(1, list.size())) leases.add(Long.parseUnsignedLong(l, 16));
    assertTrue(leases.contains(id), "lease " + Long.toHexString(id) + " in " + list);
  }

  private static String field(String line, int i) {
    return line.split(" ")[i];
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
