package io.etcetera.e2e.etcdctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Tools;
import io.etcetera.e2e.harness.Workdirs;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * The real etcdctl 3.4 driving the Watch and Lease services: what {@code etcdctl watch} (live,
 * prefix, range, historical, prev-kv, interactive, compacted) and {@code etcdctl lease} (grant,
 * time-to-live, list, keep-alive, revoke, expiry) print and exit with. Every expectation was taken
 * from the real etcd 3.4 ({@code -De2e.binary=etcd}); the default run is against Etcetera.
 *
 * <p>Every test gets its own member, so revisions are deterministic: a fresh cluster is at revision
 * 1 and the first write creates revision 2. Watches that must not race with the writes start at an
 * explicit {@code --rev}; the live ones ({@link #watchSeesLiveWritesFromAnotherEtcdctl} and the
 * interactive one) first write probes until the watcher has shown one, so that the watch is known
 * to be established before the writes under test.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdctlWatchLeaseTest {

  private static final Binary BINARY = Binary.fromSystemProperty();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern GRANTED = Pattern.compile("lease ([0-9a-f]{16}) granted with TTL\\((\\d+)s\\)\n");

  private final List<Member> members = new ArrayList<>();
  private final List<Bg> background = new ArrayList<>();
  private Path work;
  private String ep;

  @BeforeEach
  void setUp(TestInfo info) {
    work = Workdirs.of(info);
  }

  @AfterEach
  void tearDown() {
    try {
      for (Bg b : background) b.close();
    } finally {
      for (Member m : members) m.close();
    }
  }

  private Member start(String... flags) {
    Ports.Address a = Ports.allocate();
    Member m = Member.start(BINARY, work.resolve("member" + members.size()), a, flags);
    members.add(m);
    ep = m.endpoint();
    return m;
  }

  private Etcdctl.Result ctl(String... args) {
    return Etcdctl.run(ep, args);
  }

  private long revision() {
    return ctl("get", "any-key", "-w", "json").json().get("header").get("revision").asLong();
  }

  private Bg bg(boolean stdin, String... args) {
    Bg b = Bg.start(ep, stdin, args);
    background.add(b);
    return b;
  }

  // ---------------------------------------------------------------------------------------------
  // watch

  @Test
  void watchSeesLiveWritesFromAnotherEtcdctl() {
    start();
    Bg watch = bg(false, "watch", "k");
    probeUntilSeen(watch, "k");
    int seenSoFar = watch.out().length();

    ctl("put", "k", "v1").ok();
    ctl("put", "other", "x").ok(); // not watched
    ctl("put", "k", "v2").ok();
    assertEquals("1\n", ctl("del", "k").ok());
    ctl("put", "k", "v3").ok();
    watch.awaitOut(s -> s.endsWith("PUT\nk\nv3\n"), Duration.ofSeconds(15), "the last put");
    // a DELETE prints the key and an empty value line
    assertEquals("PUT\nk\nv1\nPUT\nk\nv2\nDELETE\nk\n\nPUT\nk\nv3\n", watch.out().substring(seenSoFar),
        watch.describe());
    assertTrue(watch.isAlive(), "watch keeps running" + watch.describe());
    watch.term();
    assertEquals(143, watch.awaitExit(Duration.ofSeconds(10)), "SIGTERM ends the watch" + watch.describe());
  }

  @Test
  void watchPrefixAndRange() {
    start();
    long base = revision();
    Bg prefix = bg(false, "watch", "--prefix", "p/", "--rev=" + (base + 1));
    for (String k : List.of("p", "p/", "p/a", "p0", "q", "p/b/c", "o")) ctl("put", k, "v-" + k).ok();
    ctl("del", "p/a").ok();
    ctl("put", "p/z", "last").ok();
    prefix.awaitOut(s -> s.contains("last\n"), Duration.ofSeconds(15), "the last put");
    // [p/, p0): neither "p" nor "p0" nor anything outside
    assertEquals("PUT\np/\nv-p/\nPUT\np/a\nv-p/a\nPUT\np/b/c\nv-p/b/c\nDELETE\np/a\n\nPUT\np/z\nlast\n",
        prefix.out(), prefix.describe());

    // an explicit range [p/, p/b/c) replayed from history: the end is exclusive
    Etcdctl.Result range = Etcdctl.runUntil(ep, "p/z", Duration.ofSeconds(3), "watch", "p/", "p/b/c", "--rev=" + (base + 1));
    assertEquals("PUT\np/\nv-p/\nPUT\np/a\nv-p/a\nDELETE\np/a\n\n", range.stdout(), range.describe());
  }

  @Test
  void watchRevReplaysHistoryOfADeletedAndRecreatedKey() throws IOException {
    start();
    assertEquals(1, revision(), "a fresh cluster is at revision 1");
    ctl("put", "k", "v1").ok();    // 2
    ctl("put", "k", "v2").ok();    // 3
    ctl("del", "k").ok();          // 4
    ctl("put", "other", "o").ok(); // 5
    ctl("put", "k", "v3").ok();    // 6: a new generation of k

    String all = "PUT\nk\nv1\nPUT\nk\nv2\nDELETE\nk\n\nPUT\nk\nv3\n";
    Etcdctl.Result from2 = Etcdctl.runUntil(ep, "v3", Duration.ofSeconds(15), "watch", "k", "--rev=2");
    assertEquals(all, from2.stdout(), from2.describe());
    assertEquals(143, from2.exitCode(), "watch was still running when stopped" + from2.describe());

    // --rev=1 (the empty initial revision, never compacted) replays the same
    Etcdctl.Result from1 = Etcdctl.runUntil(ep, "v3", Duration.ofSeconds(15), "watch", "k", "--rev=1");
    assertEquals(all, from1.stdout(), from1.describe());

    Etcdctl.Result from4 = Etcdctl.runUntil(ep, "v3", Duration.ofSeconds(15), "watch", "k", "--rev=4");
    assertEquals("DELETE\nk\n\nPUT\nk\nv3\n", from4.stdout(), from4.describe());

    // the json form shows the revisions: the DELETE event carries only the key and its mod revision,
    // the re-created key starts over at version 1 with a new create revision
    Etcdctl.Result json = Etcdctl.runUntil(ep, "\"mod_revision\":6", Duration.ofSeconds(15), "watch", "k", "--rev=2", "-w", "json");
    List<JsonNode> events = new ArrayList<>();
    for (String line : json.lines()) {
      JsonNode resp = JSON.readTree(line);
      assertFalse(resp.get("Canceled").asBoolean(), line);
      assertEquals(0, resp.get("CompactRevision").asLong(), line);
      long header = resp.get("Header").get("revision").asLong();
      for (JsonNode ev : resp.get("Events")) {
        assertTrue(header >= ev.get("kv").get("mod_revision").asLong(), "header revision " + header + " >= event " + ev);
        events.add(ev);
      }
    }
    assertEquals(4, events.size(), json.describe());
    assertEvent(events.get(0), "PUT", "k", "v1", 2, 2, 1);
    assertEvent(events.get(1), "PUT", "k", "v2", 2, 3, 2);
    assertEvent(events.get(2), "DELETE", "k", null, 0, 4, 0);
    assertEvent(events.get(3), "PUT", "k", "v3", 6, 6, 1);

    // a future revision: nothing until the store gets there
    Bg future = bg(false, "watch", "k", "--rev=9");
    ctl("put", "k", "r7").ok();
    ctl("put", "k", "r8").ok();
    ctl("put", "k", "r9").ok();
    ctl("put", "k", "r10").ok();
    future.awaitOut(s -> s.contains("r10\n"), Duration.ofSeconds(15), "r10");
    assertEquals("PUT\nk\nr9\nPUT\nk\nr10\n", future.out(), future.describe());
  }

  @Test
  void watchPrevKv() {
    start();
    ctl("put", "k", "v1").ok(); // 2
    long base = revision();
    Bg watch = bg(false, "watch", "k", "--prev-kv", "--rev=" + (base + 1));
    ctl("put", "k", "v2").ok();
    ctl("del", "k").ok();
    ctl("put", "k", "v3").ok();
    watch.awaitOut(s -> s.endsWith("v3\n"), Duration.ofSeconds(15), "v3");
    // the previous pair is printed before the event's own pair; a DELETE's own pair has no value;
    // the put re-creating the deleted key has no previous pair
    assertEquals("PUT\nk\nv1\nk\nv2\nDELETE\nk\nv2\nk\n\nPUT\nk\nv3\n", watch.out(), watch.describe());

    // replayed from history: the first put of the key has no previous pair either
    Etcdctl.Result hist = Etcdctl.runUntil(ep, "v3", Duration.ofSeconds(15), "watch", "k", "--prev-kv", "--rev=2");
    assertEquals("PUT\nk\nv1\nPUT\nk\nv1\nk\nv2\nDELETE\nk\nv2\nk\n\nPUT\nk\nv3\n", hist.stdout(), hist.describe());
  }

  @Test
  void interactiveWatch() {
    start();
    ctl("put", "k", "old").ok();
    long base = revision();
    Bg watch = bg(true, "watch", "-i");
    watch.send("watch --rev=" + (base + 1) + " k");
    watch.send("bogus k");
    watch.send("watch --prev-kv --prefix --rev=" + (base + 1) + " p/");
    watch.awaitErr(s -> s.contains("Invalid command bogus k (only support watch)\n"), Duration.ofSeconds(10), "the complaint");

    ctl("put", "k", "a").ok();
    watch.awaitOut(s -> s.equals("PUT\nk\na\n"), Duration.ofSeconds(15), "k=a");
    ctl("put", "p/x", "1").ok();
    ctl("put", "p/x", "2").ok();
    watch.awaitOut(s -> s.endsWith("p/x\n2\n"), Duration.ofSeconds(15), "p/x=2");
    assertEquals("PUT\nk\na\nPUT\np/x\n1\nPUT\np/x\n1\np/x\n2\n", watch.out(), watch.describe());

    // a plain "watch k2" line (no --rev): probe until it is established, then write
    watch.send("watch k2");
    int before = watch.out().length();
    probeUntilSeenSince(watch, "k2", before);
    int mark = watch.out().length();
    ctl("put", "k2", "b").ok();
    watch.awaitOut(s -> s.substring(mark).startsWith("PUT\nk2\nb\n"), Duration.ofSeconds(15), "k2=b");
    ctl("put", "k", "c").ok();
    // k2's watcher sees b exactly once; k's first watcher (and only it) sees c
    watch.awaitOut(s -> s.substring(mark).equals("PUT\nk2\nb\nPUT\nk\nc\n"), Duration.ofSeconds(15), "k2=b, k=c");

    // end of input ends etcdctl with exit code 3 (ExitInvalidInput)
    watch.closeStdin();
    assertEquals(3, watch.awaitExit(Duration.ofSeconds(10)), watch.describe());
    assertTrue(watch.err().endsWith("Error: Error reading watch request line: EOF\n"), watch.describe());
  }

  @Test
  void watchOnCompactedRevisionIsCanceled() throws IOException {
    start();
    ctl("put", "k", "v1").ok(); // 2
    ctl("put", "k", "v2").ok(); // 3
    ctl("put", "k", "v3").ok(); // 4
    assertEquals("compacted revision 4\n", ctl("compact", "4").ok());

    for (String rev : List.of("--rev=1", "--rev=2", "--rev=3")) {
      Etcdctl.Result r = ctl("watch", "k", rev);
      // etcdctl exits by itself, with ExitInterrupted (5)
      assertEquals(5, r.exitCode(), rev + r.describe());
      assertEquals("", r.stdout(), rev + r.describe());
      assertEquals("watch was canceled (etcdserver: mvcc: required revision has been compacted)\n"
          + "Error: watch is canceled by the server\n", r.stderr(), rev + r.describe());
      r.fails("watch is canceled by the server");
    }

    // the canceled response as json: compact revision set, no events, a header without revision
    Etcdctl.Result json = ctl("watch", "k", "--rev=2", "-w", "json");
    assertEquals(5, json.exitCode(), json.describe());
    JsonNode resp = JSON.readTree(json.stdout());
    assertTrue(resp.get("Canceled").asBoolean(), json.describe());
    assertFalse(resp.get("Created").asBoolean(), json.describe());
    assertEquals(4, resp.get("CompactRevision").asLong(), json.describe());
    assertEquals(0, resp.get("Events").size(), json.describe());
    assertFalse(resp.get("Header").has("revision"), "etcd sends the compaction cancel with header revision 0: " + json.stdout());
    assertTrue(resp.get("Header").get("cluster_id").asLong() != 0, json.stdout());

    // the compaction revision itself is still watchable
    Etcdctl.Result at4 = Etcdctl.runUntil(ep, "v3", Duration.ofSeconds(15), "watch", "k", "--rev=4");
    assertEquals("PUT\nk\nv3\n", at4.stdout(), at4.describe());
  }

  // ---------------------------------------------------------------------------------------------
  // lease

  @Test
  void leaseGrantTimeToLiveListKeepAliveRevoke() throws IOException {
    start();
    String id = grant("60", 60);
    String other = grant("120", 120);
    long idDec = Long.parseUnsignedLong(id, 16);
    ctl("put", "--lease=" + id, "lk1", "a").ok();
    ctl("put", "--lease=" + id, "lk2", "b").ok();
    ctl("put", "plain", "c").ok();

    String ttl = ctl("lease", "timetolive", id).ok();
    assertTrue(Pattern.matches("lease " + id + " granted with TTL\\(60s\\), remaining\\((5[5-9]|60)s\\)\n", ttl), ttl);
    String withKeys = ctl("lease", "timetolive", "--keys", id).ok();
    assertTrue(Pattern.matches("lease " + id + " granted with TTL\\(60s\\), remaining\\((5[5-9]|60)s\\), attached keys\\(\\[lk1 lk2\\]\\)\n", withKeys), withKeys);
    JsonNode ttlJson = ctl("lease", "timetolive", "--keys", id, "-w", "json").json();
    assertEquals(idDec, ttlJson.get("id").asLong(), ttlJson.toString());
    assertEquals(60, ttlJson.get("granted-ttl").asLong(), ttlJson.toString());
    assertTrue(ttlJson.get("ttl").asLong() >= 55 && ttlJson.get("ttl").asLong() <= 60, ttlJson.toString());
    assertEquals(List.of("lk1", "lk2"), decode(ttlJson.get("keys")), ttlJson.toString());
    // no keys attached: "keys" is null in etcdctl's json
    JsonNode otherJson = ctl("lease", "timetolive", "--keys", other, "-w", "json").json();
    assertTrue(otherJson.get("keys").isNull(), otherJson.toString());

    // the key carries the lease
    JsonNode got = ctl("get", "lk1", "-w", "json").json();
    assertEquals(idDec, got.get("kvs").get(0).get("lease").asLong(), got.toString());

    List<String> list = ctl("lease", "list").lines();
    assertEquals("found 2 leases", list.get(0), list.toString());
    assertEquals(Set.of(id, other), new HashSet<>(list.subList(1, list.size())), list.toString());
    JsonNode listJson = ctl("lease", "list", "-w", "json").json();
    Set<Long> listed = new HashSet<>();
    for (JsonNode l : listJson.get("leases")) listed.add(l.get("id").asLong());
    assertEquals(Set.of(idDec, Long.parseUnsignedLong(other, 16)), listed, listJson.toString());

    assertEquals("lease " + id + " keepalived with TTL(60)\n", ctl("lease", "keep-alive", "--once", id).ok());
    JsonNode ka = ctl("lease", "keep-alive", "--once", id, "-w", "json").json();
    assertEquals(idDec, ka.get("ID").asLong(), ka.toString());
    assertEquals(60, ka.get("TTL").asLong(), ka.toString());

    assertEquals("lease " + id + " revoked\n", ctl("lease", "revoke", id).ok());
    assertEquals("", ctl("get", "lk", "--prefix").ok(), "revoke deletes the attached keys");
    assertEquals(List.of("plain", "c"), ctl("get", "plain").lines());
    assertEquals("lease " + id + " already expired\n", ctl("lease", "timetolive", id).ok());
    JsonNode goneJson = ctl("lease", "timetolive", "--keys", id, "-w", "json").json();
    assertEquals(-1, goneJson.get("ttl").asLong(), goneJson.toString());
    assertEquals(0, goneJson.path("granted-ttl").asLong(), goneJson.toString());
    assertEquals(List.of("found 1 leases", other), ctl("lease", "list").lines());

    // unknown leases
    Etcdctl.Result again = ctl("lease", "revoke", id);
    again.fails("failed to revoke lease (etcdserver: requested lease not found)");
    assertEquals(1, again.exitCode());
    assertEquals(List.of("rpc error: code = NotFound desc = etcdserver: requested lease not found"), again.grpcErrors(), again.describe());
    Etcdctl.Result unknown = ctl("lease", "revoke", "1234abcd");
    unknown.fails("failed to revoke lease (etcdserver: requested lease not found)");
    assertEquals(1, unknown.exitCode());
    Etcdctl.Result kaGone = ctl("lease", "keep-alive", "--once", id);
    kaGone.fails("etcdserver: requested lease not found");
    assertEquals(2, kaGone.exitCode(), "etcdctl exits with ExitBadConnection" + kaGone.describe());
    assertEquals("lease 000000001234abcd already expired\n", ctl("lease", "timetolive", "1234abcd").ok());
    Etcdctl.Result putUnknown = ctl("put", "--lease=1234abcd", "x", "y");
    putUnknown.fails("etcdserver: requested lease not found");
    assertEquals(1, putUnknown.exitCode());
    assertEquals("", ctl("get", "x").ok());

    Etcdctl.Result tooLarge = ctl("lease", "grant", "9000000001");
    tooLarge.fails("failed to grant lease (etcdserver: too large lease TTL)");
    assertEquals(List.of("rpc error: code = OutOfRange desc = etcdserver: too large lease TTL"), tooLarge.grpcErrors());
    grant("9000000000", 9000000000L);

    assertEquals("lease " + other + " revoked\n", ctl("lease", "revoke", other).ok());
  }

  @Test
  void minimumTtl() {
    start();
    // etcd's minimum lease TTL with the default election timeout (1000 ms) and heartbeat (100 ms):
    // ceil(1.5 * election timeout) = 2 s; shorter requests, 0 included, are raised to it
    String one = grant("1", 2);
    grant("0", 2);
    grant("2", 2);
    grant("3", 3);
    String ttl = ctl("lease", "timetolive", one).ok();
    assertTrue(Pattern.matches("lease " + one + " granted with TTL\\(2s\\), remaining\\([0-2]s\\)\n", ttl), ttl);
    JsonNode j = ctl("lease", "grant", "1", "-w", "json").json();
    assertEquals(2, j.get("TTL").asLong(), j.toString());
    assertEquals("", j.get("Error").asText(), j.toString());
  }

  @Test
  void leaseExpiryDeletesKeyAndWatchSeesTheDelete() {
    start();
    long t0 = System.nanoTime(); // before the grant: the lease cannot expire before t0 + 2 s
    String id = grant("2", 2);
    long putRev = ctl("put", "--lease=" + id, "ek", "v", "-w", "json").json().get("header").get("revision").asLong();
    ctl("put", "keep", "k").ok();
    Bg watch = bg(false, "watch", "ek", "--rev=" + putRev);
    watch.awaitOut(s -> s.contains("DELETE\nek\n\n"), Duration.ofSeconds(20), "the expiry's DELETE");
    double waited = (System.nanoTime() - t0) / 1e9;
    assertEquals("PUT\nek\nv\nDELETE\nek\n\n", watch.out(), watch.describe());
    assertTrue(waited >= 1.9, "a TTL 2 s lease expired after " + waited + " s");
    assertTrue(waited <= 15, "the lease expired only after " + waited + " s");

    assertEquals("", ctl("get", "ek").ok());
    assertEquals(List.of("keep", "k"), ctl("get", "keep").lines());
    assertEquals("lease " + id + " already expired\n", ctl("lease", "timetolive", id).ok());
    assertEquals(List.of("found 0 leases"), ctl("lease", "list").lines());
    // the delete has its own revision, right after the two puts
    JsonNode hist = parseWatchJson(Etcdctl.runUntil(ep, "\"type\":1", Duration.ofSeconds(15), "watch", "ek", "--rev=" + putRev, "-w", "json"));
    assertEquals(putRev + 2, hist.get(1).get("kv").get("mod_revision").asLong(), hist.toString());
    assertEquals(putRev + 2, revision(), "nothing else was written");
  }

  @Test
  void keepAliveStreamKeepsKeyAliveUntilRevoked() {
    start();
    String id = grant("3", 3);
    ctl("put", "--lease=" + id, "ka", "v").ok();
    Bg ka = bg(false, "lease", "keep-alive", id);
    // etcdctl renews every TTL/3 = 1 s; 6 s is twice the TTL
    sleep(6000);
    assertEquals(List.of("ka", "v"), ctl("get", "ka").lines(), "the key outlives its TTL while kept alive");
    String ttl = ctl("lease", "timetolive", id).ok();
    assertTrue(Pattern.matches("lease " + id + " granted with TTL\\(3s\\), remaining\\([1-3]s\\)\n", ttl), ttl);
    List<String> lines = ka.lines();
    assertTrue(lines.size() >= 4, "several keep-alives in 6 s" + ka.describe());
    for (String l : lines) assertEquals("lease " + id + " keepalived with TTL(3)", l, ka.describe());

    ctl("lease", "revoke", id).ok();
    // the keep-alive stream notices and etcdctl ends by itself, successfully
    assertEquals(0, ka.awaitExit(Duration.ofSeconds(15)), ka.describe());
    List<String> after = ka.lines();
    assertEquals("lease " + id + " expired or revoked.", after.get(after.size() - 1), ka.describe());
    assertEquals("", ka.err(), ka.describe());
    assertEquals("", ctl("get", "ka").ok());
  }

  /**
   * A kill -9 and restart: the lease and its key survive, with the TTL counted afresh from the
   * restart (etcd's lessor promotion refreshes every lease); a running {@code etcdctl watch}
   * reconnects by itself and resumes after the last revision it saw, without repeating events.
   */
  @Test
  void leaseAndWatchSurviveKill9Restart() {
    Member m = start();
    String id = grant("60", 60);
    ctl("put", "--lease=" + id, "r/leased", "v").ok();
    long base = revision();
    Bg watch = bg(false, "watch", "--prefix", "r/", "--rev=" + base);
    watch.awaitOut(s -> s.equals("PUT\nr/leased\nv\n"), Duration.ofSeconds(15), "the leased put");
    ctl("put", "r/before", "1").ok();
    watch.awaitOut(s -> s.endsWith("PUT\nr/before\n1\n"), Duration.ofSeconds(15), "r/before");
    sleep(10_000); // without the refresh the lease would have at most 50 s left after the restart

    m.kill9();
    m.restart();
    String ttl = ctl("lease", "timetolive", "--keys", id).ok();
    Matcher r = Pattern.compile("lease " + id + " granted with TTL\\(60s\\), remaining\\((\\d+)s\\), attached keys\\(\\[r/leased\\]\\)\n").matcher(ttl);
    assertTrue(r.matches(), ttl);
    assertTrue(Long.parseLong(r.group(1)) >= 52, "the restart refreshes the TTL: " + ttl);
    assertEquals(List.of("found 1 leases", id), ctl("lease", "list").lines());
    assertEquals(List.of("r/leased", "v"), ctl("get", "r/leased").lines());

    ctl("put", "r/after", "2").ok();
    watch.awaitOut(s -> s.endsWith("PUT\nr/after\n2\n"), Duration.ofSeconds(30), "r/after, once the watch has reconnected");
    assertEquals("PUT\nr/leased\nv\nPUT\nr/before\n1\nPUT\nr/after\n2\n", watch.out(), watch.describe());
    assertTrue(watch.isAlive(), watch.describe());
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  /** {@code etcdctl lease grant ttl}: asserts the granted TTL and returns the hex id. */
  private String grant(String ttl, long expectedTtl) {
    String out = ctl("lease", "grant", ttl).ok();
    Matcher m = GRANTED.matcher(out);
    assertTrue(m.matches(), "lease grant " + ttl + " printed " + out);
    assertEquals(expectedTtl, Long.parseLong(m.group(2)), "lease grant " + ttl + " printed " + out);
    return m.group(1);
  }

  /** Writes {@code key=probe-N} until the (established) watcher has printed a probe. */
  private void probeUntilSeen(Bg watch, String key) {
    probeUntilSeenSince(watch, key, 0);
  }

  private void probeUntilSeenSince(Bg watch, String key, int from) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    for (int i = 0; ; i++) {
      ctl("put", key, "probe-" + i).ok();
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
      while (System.nanoTime() < until) {
        if (watch.out().indexOf("probe-", from) >= 0) {
          // let the remaining probe events arrive, then check every one of them is a probe
          int n = i;
          watch.awaitOut(s -> s.substring(from).contains("\nprobe-" + n + "\n"), Duration.ofSeconds(10), "probe-" + n);
          String seen = watch.out().substring(from);
          assertTrue(Pattern.matches("(PUT\n" + key + "\nprobe-\\d+\n)+", seen), "only probes so far: " + seen + watch.describe());
          return;
        }
        sleep(20);
      }
      if (System.nanoTime() > deadline) fail("the watch never showed a probe" + watch.describe());
    }
  }

  private static void assertEvent(JsonNode ev, String type, String key, String value, long create, long mod, long version) {
    // etcdctl's json omits zero values: a PUT has no "type" field, a DELETE has "type":1
    assertEquals(type.equals("PUT") ? 0 : 1, ev.path("type").asInt(), ev.toString());
    JsonNode kv = ev.get("kv");
    assertEquals(key, unb64(kv.get("key")), ev.toString());
    if (value == null) assertFalse(kv.has("value"), ev.toString());
    else assertEquals(value, unb64(kv.get("value")), ev.toString());
    assertEquals(create, kv.path("create_revision").asLong(), ev.toString());
    assertEquals(mod, kv.path("mod_revision").asLong(), ev.toString());
    assertEquals(version, kv.path("version").asLong(), ev.toString());
  }

  /** All events of a {@code watch -w json} output, in order. */
  private static JsonNode parseWatchJson(Etcdctl.Result r) {
    com.fasterxml.jackson.databind.node.ArrayNode events = JSON.createArrayNode();
    for (String line : r.lines()) {
      try {
        for (JsonNode ev : JSON.readTree(line).get("Events")) events.add(ev);
      } catch (IOException e) {
        throw new AssertionError("not json: " + line + r.describe(), e);
      }
    }
    return events;
  }

  private static String unb64(JsonNode n) {
    return new String(Base64.getDecoder().decode(n.asText()), StandardCharsets.UTF_8);
  }

  private static List<String> decode(JsonNode arr) {
    List<String> out = new ArrayList<>();
    for (JsonNode n : arr) out.add(unb64(n));
    return out;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * An etcdctl running in the background ({@code watch}, {@code watch -i}, {@code lease keep-alive})
   * whose stdout and stderr are read as they come. {@link #close()} kills it (and anything it started).
   */
  static final class Bg implements AutoCloseable {
    private final Process p;
    private final List<String> cmd;
    private final StringBuffer out = new StringBuffer();
    private final StringBuffer err = new StringBuffer();
    private final List<Thread> readers = new ArrayList<>();

    private Bg(Process p, List<String> cmd) {
      this.p = p;
      this.cmd = cmd;
      readers.add(pump(p.getInputStream(), out, "bg-etcdctl-out"));
      readers.add(pump(p.getErrorStream(), err, "bg-etcdctl-err"));
    }

    static Bg start(String endpoint, boolean stdin, String... args) {
      List<String> cmd = new ArrayList<>();
      cmd.add(Tools.etcdctl().toString());
      cmd.addAll(List.of("--endpoints=" + endpoint, "--dial-timeout=5s", "--command-timeout=30s"));
      cmd.addAll(Arrays.asList(args));
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().put("ETCDCTL_API", "3");
      pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL_") && !k.equals("ETCDCTL_API"));
      if (!stdin) pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      try {
        return new Bg(pb.start(), cmd);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start " + cmd, e);
      }
    }

    private static Thread pump(InputStream in, StringBuffer sink, String name) {
      Thread t = new Thread(() -> {
        try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
          char[] buf = new char[4096];
          int n;
          while ((n = r.read(buf)) >= 0) sink.append(buf, 0, n);
        } catch (IOException ignored) {
          // process gone
        }
      }, name);
      t.setDaemon(true);
      t.start();
      return t;
    }

    String out() {
      return out.toString();
    }

    String err() {
      return err.toString();
    }

    /** Complete stdout lines. */
    List<String> lines() {
      String s = out();
      int end = s.lastIndexOf('\n');
      if (end < 0) return List.of();
      return Arrays.asList(s.substring(0, end).split("\n", -1));
    }

    boolean isAlive() {
      return p.isAlive();
    }

    void send(String line) {
      try {
        OutputStream os = p.getOutputStream();
        os.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        os.flush();
      } catch (IOException e) {
        throw new UncheckedIOException("writing to " + cmd, e);
      }
    }

    void closeStdin() {
      try {
        p.getOutputStream().close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    void awaitOut(Predicate<String> cond, Duration timeout, String what) {
      await(out, cond, timeout, what);
    }

    void awaitErr(Predicate<String> cond, Duration timeout, String what) {
      await(err, cond, timeout, what);
    }

    private void await(StringBuffer buf, Predicate<String> cond, Duration timeout, String what) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!cond.test(buf.toString())) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("etcdctl did not print " + what + " within " + timeout + describe());
        }
        sleep(20);
      }
    }

    /** Waits for the process to end by itself (fails after {@code timeout}); returns its exit code. */
    int awaitExit(Duration timeout) {
      try {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new AssertionError("etcdctl still running after " + timeout + describe());
        }
        for (Thread t : readers) t.join(5000);
        return p.exitValue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    /** SIGTERM. */
    void term() {
      p.destroy();
    }

    String describe() {
      return "\n--- " + String.join(" ", cmd) + (p.isAlive() ? " (running)" : " (exit code " + p.exitValue() + ")")
          + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
    }

    @Override
    public void close() {
      List<ProcessHandle> tree = new ArrayList<>();
      tree.add(p.toHandle());
      p.descendants().forEach(tree::add);
      for (ProcessHandle h : tree) h.destroyForcibly();
      for (ProcessHandle h : tree) {
        try {
          h.onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // best effort; the JVM exit reaps the rest
        }
      }
    }
  }
}
