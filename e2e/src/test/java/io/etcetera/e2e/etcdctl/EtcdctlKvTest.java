package io.etcetera.e2e.etcdctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The real etcdctl 3.4 against a freshly started member, pinning what etcdctl prints for the KV
 * commands. Runs against Etcetera by default; {@code -De2e.binary=etcd} runs the very same
 * assertions against the real etcd (which is how they were validated).
 *
 * <p>Every test gets its own member (fresh data dir, own address), so revisions are
 * deterministic: a fresh cluster is at revision 1 and the first write creates revision 2.
 */
class EtcdctlKvTest {

  private static final Binary BINARY = Binary.fromSystemProperty();

  private final List<Member> members = new ArrayList<>();
  private Path work;
  private String ep;

  @BeforeEach
  void setUp(TestInfo info) {
    work = Workdirs.of(info);
  }

  @AfterEach
  void tearDown() {
    for (Member m : members) m.close();
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

  private Etcdctl.Result txn(String stdin, String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "txn";
    System.arraycopy(args, 0, all, 1, args.length);
    return Etcdctl.runWithStdin(ep, stdin, all);
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String unb64(JsonNode n) {
    return new String(Base64.getDecoder().decode(n.asText()), StandardCharsets.UTF_8);
  }

  /** The keys of a {@code get -w json} response, decoded, in response order. */
  private static List<String> keys(JsonNode getResponse) {
    List<String> keys = new ArrayList<>();
    for (JsonNode kv : getResponse.path("kvs")) keys.add(unb64(kv.get("key")));
    return keys;
  }

  private long revision() {
    return ctl("get", "any-key", "-w", "json").json().get("header").get("revision").asLong();
  }

  @Test
  void putGetOverwriteDelete() {
    start();
    assertEquals("OK\n", ctl("put", "greeting", "hello").ok());
    assertEquals(List.of("greeting", "hello"), ctl("get", "greeting").lines());

    assertEquals("OK\n", ctl("put", "greeting", "world").ok());
    assertEquals(List.of("greeting", "world"), ctl("get", "greeting").lines());

    JsonNode kv = ctl("get", "greeting", "-w", "json").json().get("kvs").get(0);
    assertEquals(2, kv.get("create_revision").asLong(), kv.toString()); // fresh cluster: revision 1, first write 2
    assertEquals(3, kv.get("mod_revision").asLong(), kv.toString());
    assertEquals(2, kv.get("version").asLong(), kv.toString());

    // put --prev-kv prints the previous pair after OK
    assertEquals(List.of("OK", "greeting", "world"), ctl("put", "greeting", "again", "--prev-kv").lines());

    assertEquals("1\n", ctl("del", "greeting").ok()); // del prints the number of deleted keys
    assertEquals("0\n", ctl("del", "greeting").ok());
    assertEquals("", ctl("get", "greeting").ok());
    assertEquals(5, revision()); // a del of nothing does not create a revision
  }

  @Test
  void getPrefixKeysOnly() {
    start();
    for (String k : List.of("foo/b", "foo/a", "fop", "fo", "foo/c", "foo")) ctl("put", k, "v-" + k).ok();
    // keys-only prints each key followed by an empty line (the omitted value)
    assertEquals("foo/a\n\nfoo/b\n\nfoo/c\n\n", ctl("get", "foo/", "--prefix", "--keys-only").ok());
    assertEquals(List.of("fo", "foo", "foo/a", "foo/b", "foo/c", "fop"),
        keys(ctl("get", "fo", "--prefix", "-w", "json").json()));
    JsonNode keysOnly = ctl("get", "foo/", "--prefix", "--keys-only", "-w", "json").json();
    assertEquals(3, keysOnly.get("count").asInt());
    for (JsonNode kv : keysOnly.get("kvs")) assertFalse(kv.has("value"), kv.toString());
    // range [foo/a, foo/c) and --from-key
    assertEquals(List.of("foo/a", "foo/b"), keys(ctl("get", "foo/a", "foo/c", "-w", "json").json()));
    assertEquals(List.of("foo/c", "fop"), keys(ctl("get", "foo/c", "--from-key", "-w", "json").json()));
  }

  @Test
  void getAtRevision() {
    start();
    long r1 = ctl("put", "k", "one", "-w", "json").json().get("header").get("revision").asLong();
    long r2 = ctl("put", "k", "two", "-w", "json").json().get("header").get("revision").asLong();
    ctl("del", "k").ok();
    assertEquals(r1 + 1, r2);
    assertEquals(List.of("k", "one"), ctl("get", "k", "--rev=" + r1).lines());
    assertEquals(List.of("k", "two"), ctl("get", "k", "--rev", String.valueOf(r2)).lines());
    assertEquals(List.of(), ctl("get", "k").lines());
    assertEquals(List.of(), ctl("get", "k", "--rev=1").lines());
    JsonNode old = ctl("get", "k", "--rev=" + r1, "-w", "json").json();
    assertEquals(r2 + 1, old.get("header").get("revision").asLong(), "header carries the current revision");
    assertEquals(r1, old.get("kvs").get(0).get("mod_revision").asLong());
    ctl("get", "k", "--rev=" + (r2 + 2)).fails("etcdserver: mvcc: required revision is a future revision");
  }

  @Test
  void limit() {
    start();
    for (int i = 1; i <= 5; i++) ctl("put", "l/" + i, "v" + i).ok();
    assertEquals(List.of("l/1", "v1", "l/2", "v2"), ctl("get", "l/", "--prefix", "--limit=2").lines());
    JsonNode limited = ctl("get", "l/", "--prefix", "--limit", "2", "-w", "json").json();
    assertEquals(2, limited.get("kvs").size());
    assertEquals(5, limited.get("count").asInt(), "count is the total, not the page");
    assertTrue(limited.get("more").asBoolean(), limited.toString());
    JsonNode all = ctl("get", "l/", "--prefix", "--limit=5", "-w", "json").json();
    assertEquals(5, all.get("kvs").size());
    assertFalse(all.has("more"), "more=false is omitted from etcdctl's json: " + all);
  }

  /**
   * etcdctl 3.4 has no {@code --count-only} (added in 3.5): it rejects the flag. The count is read
   * from {@code -w json} instead, where it is the total even with keys-only and a limit.
   */
  @Test
  void countOnly() {
    start();
    for (int i = 1; i <= 4; i++) ctl("put", "c/" + i, "v").ok();
    ctl("put", "d", "v").ok();
    Etcdctl.Result r = ctl("get", "c/", "--prefix", "--count-only", "-w", "json");
    r.fails("unknown flag: --count-only");
    assertEquals(1, r.exitCode());
    JsonNode counted = ctl("get", "c/", "--prefix", "--keys-only", "--limit=1", "-w", "json").json();
    assertEquals(4, counted.get("count").asInt());
    assertEquals(1, counted.get("kvs").size());
    assertEquals(0, ctl("get", "nothing/", "--prefix", "-w", "json").json().path("count").asInt());
    assertFalse(ctl("get", "nothing/", "--prefix", "-w", "json").json().has("count"), "count=0 is omitted");
  }

  @Test
  void printValueOnly() {
    start();
    ctl("put", "pv/1", "first").ok();
    ctl("put", "pv/2", "second value").ok();
    assertEquals("first\n", ctl("get", "pv/1", "--print-value-only").ok());
    assertEquals(List.of("first", "second value"), ctl("get", "pv/", "--prefix", "--print-value-only").lines());
  }

  @Test
  void sortByEveryTargetAndOrder() {
    start();
    // final state: s/a create 4 mod 4 ver 1 "1" | s/b create 2 mod 7 ver 3 "4" | s/c create 3 mod 5 ver 2 "9"
    ctl("put", "s/b", "2").ok();
    ctl("put", "s/c", "3").ok();
    ctl("put", "s/a", "1").ok();
    ctl("put", "s/c", "9").ok();
    ctl("put", "s/b", "5").ok();
    ctl("put", "s/b", "4").ok();
    assertSorted(List.of("s/a", "s/b", "s/c"), "KEY", "ASCEND");
    assertSorted(List.of("s/c", "s/b", "s/a"), "KEY", "DESCEND");
    assertSorted(List.of("s/b", "s/c", "s/a"), "CREATE", "ASCEND");
    assertSorted(List.of("s/a", "s/c", "s/b"), "CREATE", "DESCEND");
    assertSorted(List.of("s/a", "s/c", "s/b"), "MODIFY", "ASCEND");
    assertSorted(List.of("s/b", "s/c", "s/a"), "MODIFY", "DESCEND");
    assertSorted(List.of("s/a", "s/c", "s/b"), "VERSION", "ASCEND");
    assertSorted(List.of("s/b", "s/c", "s/a"), "VERSION", "DESCEND");
    assertSorted(List.of("s/a", "s/b", "s/c"), "VALUE", "ASCEND");
    assertSorted(List.of("s/c", "s/b", "s/a"), "VALUE", "DESCEND");
    // --order alone sorts by key; --sort-by alone sorts ascending
    assertEquals(List.of("s/c", "s/b", "s/a"), keys(ctl("get", "s/", "--prefix", "--order=DESCEND", "-w", "json").json()));
    assertEquals(List.of("s/b", "s/c", "s/a"), keys(ctl("get", "s/", "--prefix", "--sort-by=CREATE", "-w", "json").json()));
    // the limit applies after sorting
    JsonNode top = ctl("get", "s/", "--prefix", "--sort-by=CREATE", "--order=DESCEND", "--limit=2", "-w", "json").json();
    assertEquals(List.of("s/a", "s/c"), keys(top));
    assertEquals(3, top.get("count").asInt());
    assertTrue(top.get("more").asBoolean());
    // simple output of a sorted get
    assertEquals(List.of("s/c", "9", "s/b", "4", "s/a", "1"),
        ctl("get", "s/", "--prefix", "--sort-by=VALUE", "--order=DESCEND").lines());
  }

  private void assertSorted(List<String> expected, String target, String order) {
    JsonNode r = ctl("get", "s/", "--prefix", "--sort-by=" + target, "--order=" + order, "-w", "json").json();
    assertEquals(expected, keys(r), "--sort-by=" + target + " --order=" + order);
  }

  @Test
  void jsonHeaderAndKvFields() {
    start();
    JsonNode put = ctl("put", "jk", "jv", "-w", "json").json();
    assertEquals(2, put.get("header").get("revision").asLong());
    assertFalse(put.has("prev_kv"));
    JsonNode get = ctl("get", "jk", "-w", "json").json();
    JsonNode h = get.get("header");
    assertTrue(h.get("cluster_id").isIntegralNumber() && h.get("cluster_id").bigIntegerValue().signum() > 0, h.toString());
    assertTrue(h.get("member_id").isIntegralNumber() && h.get("member_id").bigIntegerValue().signum() > 0, h.toString());
    assertEquals(2, h.get("revision").asLong());
    assertTrue(h.get("raft_term").asLong() >= 1, h.toString());
    assertEquals(1, get.get("count").asInt());
    assertEquals(1, get.get("kvs").size());
    JsonNode kv = get.get("kvs").get(0);
    assertEquals(b64("jk"), kv.get("key").asText(), "keys are base64 in json");
    assertEquals(b64("jv"), kv.get("value").asText(), "values are base64 in json");
    assertEquals(2, kv.get("create_revision").asLong());
    assertEquals(2, kv.get("mod_revision").asLong());
    assertEquals(1, kv.get("version").asLong());
    assertFalse(kv.has("lease"), "lease=0 is omitted: " + kv);
    // the same member answers every request: ids are stable
    JsonNode put2 = ctl("put", "jk", "jv2", "--prev-kv", "-w", "json").json();
    assertEquals(h.get("cluster_id"), put2.get("header").get("cluster_id"));
    assertEquals(h.get("member_id"), put2.get("header").get("member_id"));
    assertEquals(3, put2.get("header").get("revision").asLong());
    assertEquals(b64("jv"), put2.get("prev_kv").get("value").asText());
    JsonNode del = ctl("del", "jk", "--prev-kv", "-w", "json").json();
    assertEquals(1, del.get("deleted").asInt());
    assertEquals(b64("jv2"), del.get("prev_kvs").get(0).get("value").asText());
    assertEquals(3, del.get("prev_kvs").get(0).get("mod_revision").asLong());
    assertEquals(4, del.get("header").get("revision").asLong());
  }

  @Test
  void deletePrefix() {
    start();
    ctl("put", "p/1", "v1").ok();
    ctl("put", "p/2", "v2").ok();
    ctl("put", "p/3", "v3").ok();
    ctl("put", "q", "stays").ok();
    assertEquals(List.of("1", "p/1", "v1"), ctl("del", "p/1", "--prev-kv").lines());
    assertEquals("2\n", ctl("del", "p/", "--prefix").ok());
    assertEquals("", ctl("get", "p/", "--prefix").ok());
    assertEquals("0\n", ctl("del", "p/", "--prefix").ok());
    assertEquals(List.of("q", "stays"), ctl("get", "", "--from-key").lines());
    // the whole prefix goes in one revision
    assertEquals(7, revision());
  }

  @Test
  void txnSuccessBranch() {
    start();
    ctl("put", "b", "3").ok();
    String stdin = """
        value("b") = "3"
        mod("b") > "0"

        put b 4
        get b

        put c 5

        """;
    assertEquals("SUCCESS\n\nOK\n\nb\n4\n", txn(stdin).ok());
    assertEquals(List.of("b", "4"), ctl("get", "b").lines());
    assertEquals("", ctl("get", "c").ok());

    JsonNode json = txn("""
        version("b") = "2"
        create("nokey") = "0"

        put b 5 --prev-kv
        del nothing

        put c 5

        """, "-w", "json").json();
    assertTrue(json.get("succeeded").asBoolean(), json.toString());
    assertEquals(4, json.get("header").get("revision").asLong());
    JsonNode putResp = json.get("responses").get(0).get("Response").get("ResponsePut");
    assertEquals(b64("4"), putResp.get("prev_kv").get("value").asText());
    assertTrue(json.get("responses").get(1).get("Response").has("ResponseDeleteRange"));
  }

  @Test
  void txnFailureBranch() {
    start();
    ctl("put", "b", "3").ok();
    String stdin = """
        value("b") = "nope"

        put b 4

        put c 5
        get b

        """;
    assertEquals("FAILURE\n\nOK\n\nb\n3\n", txn(stdin).ok());
    assertEquals(List.of("b", "3"), ctl("get", "b").lines());
    assertEquals(List.of("c", "5"), ctl("get", "c").lines());

    JsonNode json = txn("""
        version("b") > "5"

        put b 6

        get c --prefix

        """, "-w", "json").json();
    assertFalse(json.has("succeeded"), "succeeded=false is omitted: " + json);
    assertEquals(3, json.get("header").get("revision").asLong(), "a read-only branch writes no revision");
    JsonNode range = json.get("responses").get(0).get("Response").get("ResponseRange");
    assertEquals(b64("c"), range.get("kvs").get(0).get("key").asText());
    assertEquals(List.of("b", "3"), ctl("get", "b").lines());
  }

  @Test
  void compaction() {
    start();
    for (int i = 1; i <= 5; i++) ctl("put", "ck", "v" + i).ok(); // revisions 2..6
    assertEquals("compacted revision 4\n", ctl("compaction", "4").ok());
    ctl("get", "ck", "--rev=3").fails("etcdserver: mvcc: required revision has been compacted");
    ctl("get", "ck", "--rev=2").fails("etcdserver: mvcc: required revision has been compacted");
    assertEquals(List.of("ck", "v3"), ctl("get", "ck", "--rev=4").lines());
    assertEquals(List.of("ck", "v5"), ctl("get", "ck").lines());
    ctl("compaction", "4").fails("etcdserver: mvcc: required revision has been compacted");
    ctl("compaction", "3").fails("etcdserver: mvcc: required revision has been compacted");
    ctl("compaction", "99").fails("etcdserver: mvcc: required revision is a future revision");
    assertEquals("compacted revision 6\n", ctl("compaction", "6", "--physical").ok());
    ctl("get", "ck", "--rev=5").fails("etcdserver: mvcc: required revision has been compacted");
    assertEquals(List.of("ck", "v5"), ctl("get", "ck", "--rev=6").lines());
  }

  @Test
  void requestLargerThanMaxRequestBytes() {
    start("--max-request-bytes=1024");
    String big = "x".repeat(2048);
    Etcdctl.Result r = ctl("put", "big", big);
    r.fails("etcdserver: request is too large");
    assertEquals(List.of("rpc error: code = InvalidArgument desc = etcdserver: request is too large"), r.grpcErrors());
    assertEquals("", ctl("get", "big").ok());
    assertEquals("OK\n", ctl("put", "small", "x".repeat(512)).ok());
    assertEquals(2, revision());
  }

  @Test
  void invalidRequests() {
    start();
    ctl("put", "", "v").fails("etcdserver: key is not provided");
    ctl("get", "").fails("etcdserver: key is not provided");
    ctl("put", "missing", "--ignore-value").fails("etcdserver: key not found");
    ctl("get", "k", "--rev=5").fails("etcdserver: mvcc: required revision is a future revision");
    txn("\nput a 1\nput a 2\n\n\n").fails("etcdserver: duplicate key given in txn request");
    assertEquals(1, revision());
  }

  @Test
  void endpointStatus() {
    Member m = start();
    ctl("put", "k", "v").ok();
    JsonNode status = ctl("endpoint", "status", "-w", "json").json();
    assertEquals(1, status.size(), status.toString());
    assertEquals(m.endpoint(), status.get(0).get("Endpoint").asText());
    JsonNode s = status.get(0).get("Status");
    String version = s.get("version").asText();
    if (BINARY == Binary.ETCETERA) {
      assertTrue(version.startsWith("3.5."), "Etcetera reports an etcd 3.5 version, got " + version);
    } else {
      assertTrue(version.startsWith("3.4."), version);
    }
    assertEquals(s.get("header").get("member_id"), s.get("leader"), "a single member leads itself: " + s);
    assertEquals(2, s.get("header").get("revision").asLong());
    assertTrue(s.get("raftTerm").asLong() >= 1, s.toString());
    assertTrue(s.get("raftIndex").asLong() >= 1, s.toString());
    // table/simple form: endpoint, hex member id, version, db size, is leader, is learner, term, index, applied index, errors
    String simple = ctl("endpoint", "status").ok().strip();
    String hexId = s.get("header").get("member_id").bigIntegerValue().toString(16);
    assertTrue(simple.startsWith(m.endpoint() + ", " + hexId + ", " + version + ", "), simple);
    assertTrue(simple.contains(", true, false, "), "leader, not learner: " + simple);
  }

  @Test
  void endpointHealth() {
    Member m = start();
    Etcdctl.Result r = ctl("endpoint", "health");
    String out = r.ok() + r.stderr(); // etcdctl 3.4 prints the health line on stderr
    assertTrue(Pattern.compile(Pattern.quote(m.endpoint())
            + " is healthy: successfully committed proposal: took = [0-9.]+(µs|ms|s)\n").matcher(out).find(),
        r.describe());
    JsonNode json = ctl("endpoint", "health", "-w", "json").json();
    assertEquals(m.endpoint(), json.get(0).get("endpoint").asText());
    assertTrue(json.get(0).get("health").asBoolean(), json.toString());
  }
}
