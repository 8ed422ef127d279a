package io.etcetera.e2e.differential;

import static io.etcetera.e2e.differential.Transcript.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Member;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * Differential test: a scripted sequence of etcdctl commands runs against a fresh real etcd and a
 * fresh Etcetera started with the same flags; every observable result must be identical. Three
 * scripts, each on fresh members: {@link #kvScript()} (puts, overwrites, deletes, ranges with
 * limit/sort/keys-only/rev, txns in both branches, compaction, errors: compacted and future
 * revision, too large request, too many txn ops, duplicate txn key, empty key; member list),
 * {@link #leaseScript()} and {@link #watchScript()} (history replay, prev-kv, ranges, compacted).
 *
 * <p>etcdctl 3.4 has no {@code get --count-only} (it answers "unknown flag"): the count is taken
 * from {@code --keys-only --limit=1 -w json} instead.
 *
 * <p>Compared per command: the exit code; stdout (parsed JSON for {@code -w json}, compared field
 * by field, else the exact text); and stderr's error lines ({@code Error: ...} and the gRPC error
 * etcdctl's client logs, which carries the status code). Normalised away, and only these: the
 * values of the member id, cluster id and {@code raft_term} (replaced by placeholders wherever they
 * appear, so their presence is still compared), the member's client and peer URLs, lease ids
 * (assigned by the server, compared as {@code <lease>}), the remaining TTL of a
 * live lease (timing), the order of a lease's keys in {@code timetolive --keys} (etcd: Go map order)
 * and the timestamps/uuids of etcdctl's client log lines.
 *
 * <p>{@link #normalisationIsStableEtcdAgainstEtcd} runs the scripts against two real etcds; it must
 * pass for the comparison to mean anything. The transcripts of every run are written to
 * {@code e2e/target/e2e-work/DifferentialKvTest/<test>/<script>-<binary>.txt}, the differences to
 * {@code differences.txt} next to them.
 */
class DifferentialKvTest {

  /** How long a watch may take to show its marker. */
  static final java.time.Duration WATCH_TIMEOUT = java.time.Duration.ofSeconds(20);

  /** The same extra flags for both members (the same name too, so member lists compare). */
  static final String[] FLAGS = {"--name=differential", "--max-request-bytes=1024", "--max-txn-ops=8"};

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  // ---------------------------------------------------------------------------------------------
  // the script

  /**
   * One etcdctl invocation; {@code {lease}} in args is replaced by the lease id captured from the
   * field {@code captureLease} of an earlier step's JSON (shown unreplaced: ids differ per run).
   */
  record Step(String stdin, List<String> args, String captureLease, String until) {
    String display() {
      StringBuilder sb = new StringBuilder("etcdctl");
      for (String a : args) sb.append(' ').append(a.isEmpty() || a.contains(" ") || a.length() > 60 ? quote(a) : a);
      if (stdin != null) sb.append(" <<< ").append(quote(stdin));
      if (until != null) sb.append("  (until stdout shows ").append(quote(until)).append(')');
      return sb.toString();
    }

    private static String quote(String s) {
      String shown = s.length() > 240 ? s.substring(0, 20) + "...(" + s.length() + " chars)" : s;
      return "'" + shown.replace("\n", "\\n") + "'";
    }
  }

  static Step cmd(String... args) {
    return new Step(null, List.of(args), null, null);
  }

  static Step txn(String stdin, String... args) {
    List<String> all = new ArrayList<>();
    all.add("txn");
    all.addAll(Arrays.asList(args));
    return new Step(stdin, all, null, null);
  }

  /** A command that runs until a stdout line contains {@code marker} (then it is stopped), e.g. watch. */
  static Step until(String marker, String... args) {
    return new Step(null, List.of(args), null, marker);
  }

  /** The scripts by name, each run against a fresh member. */
  static final Map<String, java.util.function.Supplier<List<Step>>> SCRIPTS =
      Map.of("kv", DifferentialKvTest::kvScript, "lease", DifferentialKvTest::leaseScript,
          "watch", DifferentialKvTest::watchScript);

  /** The KV script; revisions in it are those of a fresh cluster (revision 1, first write 2). */
  static List<Step> kvScript() {
    List<Step> s = new ArrayList<>();
    // --- empty cluster
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    s.add(cmd("get", "a", "--rev=1", "-w", "json"));
    s.add(cmd("get", "a", "--rev=2", "-w", "json"));                      // future revision
    // --- puts and overwrites (revisions 2..)
    s.add(cmd("put", "a", "1", "-w", "json"));                            // 2
    s.add(cmd("put", "a", "2", "--prev-kv", "-w", "json"));               // 3
    s.add(cmd("put", "b", "3"));                                          // 4
    s.add(cmd("put", "c", "4", "-w", "json"));                            // 5
    for (int i = 1; i <= 5; i++) s.add(cmd("put", "foo/" + i, "v" + (6 - i), "-w", "json")); // 6..10
    s.add(cmd("put", "foo/3", "v3b", "--prev-kv"));                       // 11
    s.add(cmd("put", "foo/3", "v3c", "--prev-kv", "-w", "json"));         // 12
    s.add(cmd("put", "fop", "x"));                                        // 13
    s.add(cmd("put", "fo", "y", "-w", "json"));                           // 14
    s.add(cmd("put", "foo/1", "--ignore-value", "-w", "json"));           // 15, keeps value
    s.add(cmd("put", "nokey", "--ignore-value", "-w", "json"));           // key not found
    s.add(cmd("put", "a", "x", "--ignore-lease", "-w", "json"));          // 16
    s.add(cmd("put", "a", "2", "-w", "json"));                            // 17
    // --- gets
    s.add(cmd("get", "a", "-w", "json"));
    s.add(cmd("get", "a"));
    s.add(cmd("get", "a", "--print-value-only"));
    s.add(cmd("get", "missing", "-w", "json"));
    s.add(cmd("get", "missing"));
    s.add(cmd("get", "foo/", "--prefix", "-w", "json"));
    s.add(cmd("get", "foo/", "--prefix"));
    s.add(cmd("get", "foo/", "--prefix", "--limit=2", "-w", "json"));
    s.add(cmd("get", "foo/", "--prefix", "--limit=2"));
    s.add(cmd("get", "foo/", "--prefix", "--limit=5", "-w", "json"));
    s.add(cmd("get", "foo/", "--prefix", "--limit=6", "-w", "json"));
    s.add(cmd("get", "foo/", "--prefix", "--keys-only", "-w", "json"));
    s.add(cmd("get", "foo/", "--prefix", "--keys-only"));
    s.add(cmd("get", "foo/", "--prefix", "--keys-only", "--limit=1", "-w", "json")); // the count, 3.4 style
    s.add(cmd("get", "foo/", "--prefix", "--count-only", "-w", "json"));  // etcdctl 3.4: unknown flag
    s.add(cmd("get", "foo/", "--prefix", "--print-value-only"));
    for (String target : List.of("KEY", "CREATE", "MODIFY", "VERSION", "VALUE")) {
      for (String order : List.of("ASCEND", "DESCEND")) {
        s.add(cmd("get", "fo", "--prefix", "--sort-by=" + target, "--order=" + order, "-w", "json"));
      }
      s.add(cmd("get", "foo/", "--prefix", "--sort-by=" + target, "--order=DESCEND", "--limit=2", "-w", "json"));
    }
    s.add(cmd("get", "fo", "--prefix", "--order=DESCEND", "--keys-only"));
    s.add(cmd("get", "fo", "--prefix", "--sort-by=MODIFY"));
    s.add(cmd("get", "a", "c", "-w", "json"));                            // range [a, c)
    s.add(cmd("get", "foo/3", "--from-key", "--keys-only", "-w", "json"));
    s.add(cmd("get", "foo/3", "--from-key", "--limit=2", "-w", "json"));
    s.add(cmd("get", "", "--from-key", "--keys-only", "-w", "json"));
    s.add(cmd("get", "a", "--consistency=s", "-w", "json"));
    s.add(cmd("get", "a", "--rev=2", "-w", "json"));
    s.add(cmd("get", "a", "--rev=3", "-w", "json"));
    s.add(cmd("get", "a", "--rev=16", "-w", "json"));
    s.add(cmd("get", "foo/", "--prefix", "--rev=8", "-w", "json"));
    s.add(cmd("get", "foo/", "--prefix", "--rev=8", "--sort-by=VALUE", "--limit=1", "-w", "json"));
    s.add(cmd("get", "foo/3", "--rev=11"));
    s.add(cmd("get", "a", "--rev=17", "-w", "json"));
    s.add(cmd("get", "a", "--rev=18", "-w", "json"));                     // future revision
    s.add(cmd("get", "a", "--rev=1000"));                                 // future revision
    s.add(cmd("get", "foo/", "--prefix", "--hex"));
    // --- deletes
    s.add(cmd("del", "missing", "-w", "json"));
    s.add(cmd("del", "missing"));
    s.add(cmd("del", "foo/1", "--prev-kv", "-w", "json"));                // 18
    s.add(cmd("del", "foo/4", "foo/9", "-w", "json"));                    // 19: foo/4, foo/5
    s.add(cmd("del", "fop", "--prev-kv"));                                // 20
    s.add(cmd("put", "d/1", "1"));                                        // 21
    s.add(cmd("put", "d/2", "2"));                                        // 22
    s.add(cmd("put", "d/3", "3"));                                        // 23
    s.add(cmd("del", "d/", "--prefix", "--prev-kv", "-w", "json"));       // 24
    s.add(cmd("del", "d/", "--prefix"));
    s.add(cmd("put", "e/1", "1"));                                        // 25
    s.add(cmd("del", "e/", "--prefix"));                                  // 26
    s.add(cmd("del", "zzz", "--from-key", "-w", "json"));
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    // --- transactions
    s.add(txn("""
        value("a") = "2"
        mod("b") > "0"
        version("c") = "1"
        create("nokey") = "0"

        put a 3
        get foo/ --prefix --limit=1
        del b --prev-kv

        put z z

        """, "-w", "json"));                                              // 27, success
    s.add(txn("""
        value("a") = "nope"

        put x x

        put c 5 --prev-kv
        get a
        del nothing

        """, "-w", "json"));                                              // 28, failure
    s.add(txn("""
        value("a") != "2"
        value("c") < "6"

        put t1 1
        get t1

        put t2 2

        """));                                                            // 29, success (simple output)
    s.add(txn("""
        version("t1") > "1"

        put t1 2

        get t1
        get c --prefix --keys-only

        """));                                                            // failure, read only: no revision
    s.add(txn("""
        mod("t1") < "29"

        put t3 3

        get t1

        """, "-w", "json"));                                              // failure, read only
    s.add(txn("\n\n\n", "-w", "json"));                                   // empty txn: succeeded, no revision
    s.add(txn("\n\n\n"));
    s.add(txn("\nput dup 1\nput dup 2\n\n\n"));                           // duplicate key
    s.add(txn("\nput dup 1\n\nput dup 1\nput dup 2\n\n"));                // duplicate key in failure branch
    s.add(txn("\nput t1 1\nput t2 1\nput t3 1\nput t4 1\nput t5 1\nput t6 1\nput t7 1\nput t8 1\nput t9 1\n\n\n")); // 9 > --max-txn-ops=8
    s.add(txn("\nput t1 1\nput t2 1\nput t3 1\nput t4 1\n\nput t5 1\nput t6 1\nput t7 1\nput t8 1\n\n", "-w", "json")); // 8 ops: allowed, 30
    s.add(txn("\nput big " + "y".repeat(1500) + "\n\n\n"));               // request too large
    s.add(cmd("get", "t", "--prefix", "-w", "json"));
    // --- errors
    s.add(cmd("put", "", "v"));
    s.add(cmd("get", ""));
    s.add(cmd("del", ""));
    s.add(cmd("put", "big", "x".repeat(2048)));                           // > --max-request-bytes=1024
    s.add(cmd("put", "big", "x".repeat(1100), "-w", "json"));
    s.add(cmd("put", "medium", "x".repeat(700), "-w", "json"));           // 31, fits
    s.add(cmd("get", "big", "-w", "json"));
    // --- compaction
    s.add(cmd("get", "a", "-w", "json"));                                 // revision 31
    s.add(cmd("compaction", "20"));
    s.add(cmd("compaction", "20", "-w", "json"));                         // already compacted
    s.add(cmd("compaction", "19"));
    s.add(cmd("compaction", "1000"));                                     // future revision
    s.add(cmd("get", "a", "--rev=2", "-w", "json"));                      // compacted
    s.add(cmd("get", "a", "--rev=19"));                                   // compacted
    s.add(cmd("get", "", "--from-key", "--rev=20", "-w", "json"));        // exactly the compacted revision: ok
    s.add(cmd("get", "", "--from-key", "--rev=21", "--keys-only", "-w", "json"));
    s.add(cmd("get", "a", "--rev=1000", "-w", "json"));                   // still future
    s.add(cmd("compaction", "25", "--physical"));
    s.add(cmd("get", "d/", "--prefix", "--rev=24", "-w", "json"));        // compacted
    s.add(cmd("get", "d/", "--prefix", "--rev=25", "-w", "json"));
    s.add(txn("\nget a\n\n\n", "-w", "json"));
    s.add(cmd("put", "after", "compaction", "-w", "json"));               // 32
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    // --- maintenance and cluster commands with deterministic output
    s.add(cmd("member", "list", "-w", "json"));
    s.add(cmd("member", "list"));
    s.add(cmd("defrag"));
    s.add(cmd("alarm", "list"));
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    return s;
  }

  /** Leases as etcdctl uses them; ids are normalised as they are assigned by the server. */
  static List<Step> leaseScript() {
    List<Step> s = new ArrayList<>();
    s.add(cmd("lease", "list", "-w", "json"));
    s.add(new Step(null, List.of("lease", "grant", "600", "-w", "json"), "ID", null));
    s.add(cmd("put", "lk", "lv", "--lease={lease}", "-w", "json"));       // 2
    s.add(cmd("put", "lk2", "lv2", "--lease={lease}"));                   // 3
    s.add(cmd("put", "plain", "v", "-w", "json"));                        // 4
    s.add(cmd("get", "lk", "-w", "json"));
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    s.add(cmd("lease", "timetolive", "{lease}", "--keys", "-w", "json"));
    s.add(cmd("lease", "timetolive", "{lease}", "-w", "json"));
    s.add(cmd("lease", "list", "-w", "json"));
    s.add(cmd("lease", "keep-alive", "--once", "{lease}", "-w", "json"));
    s.add(cmd("lease", "keep-alive", "--once", "{lease}"));
    s.add(cmd("put", "lk", "lv3", "--ignore-lease", "-w", "json"));       // 5, keeps the lease
    s.add(cmd("get", "lk", "-w", "json"));
    s.add(cmd("put", "plain", "v2", "--lease={lease}", "-w", "json"));    // 6, attaches
    s.add(cmd("put", "plain", "v3", "-w", "json"));                       // 7, a put without lease detaches
    s.add(cmd("put", "plain", "v4", "--ignore-lease"));                   // 8
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    s.add(cmd("lease", "timetolive", "{lease}", "--keys", "-w", "json"));
    s.add(cmd("lease", "revoke", "{lease}"));                             // 9: deletes lk, lk2 in one revision
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    s.add(cmd("lease", "timetolive", "{lease}", "-w", "json"));
    s.add(cmd("lease", "revoke", "{lease}"));
    s.add(cmd("lease", "keep-alive", "--once", "{lease}"));
    s.add(cmd("lease", "revoke", "1a2b"));
    s.add(cmd("lease", "timetolive", "1a2b", "-w", "json"));
    s.add(cmd("put", "k", "v", "--lease=1a2b"));
    s.add(cmd("put", "nokey", "v", "--ignore-lease"));                    // key not found
    s.add(cmd("lease", "list", "-w", "json"));
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    return s;
  }

  /** Watches replaying history (etcdctl's watch never ends by itself: each runs until the marker). */
  static List<Step> watchScript() {
    String end = "the-end";
    String endJson = Base64.getEncoder().encodeToString(end.getBytes(StandardCharsets.UTF_8));
    List<Step> s = new ArrayList<>();
    s.add(cmd("put", "w/a", "1"));                                        // 2
    s.add(cmd("put", "w/b", "2"));                                        // 3
    s.add(cmd("put", "x/outside", "0"));                                  // 4
    s.add(cmd("put", "w/a", "3"));                                        // 5
    s.add(cmd("del", "w/b"));                                             // 6
    s.add(txn("\nput w/c 4\nput w/d 5\ndel w/a\n\n\n"));                    // 7
    s.add(cmd("put", "w/a", end, "-w", "json"));                          // 8
    s.add(until(endJson, "watch", "w/", "--prefix", "--rev=2", "-w", "json"));
    s.add(until(end, "watch", "w/", "--prefix", "--rev=2"));
    s.add(until(endJson, "watch", "w/a", "--rev=1", "--prev-kv", "-w", "json"));
    s.add(until(endJson, "watch", "w/a", "w/c", "--rev=2", "-w", "json"));
    s.add(until(end, "watch", "w/", "--prefix", "--rev=6", "--prev-kv"));
    s.add(cmd("compaction", "5"));
    s.add(until(endJson, "watch", "w/", "--prefix", "--rev=4", "-w", "json")); // canceled: compacted
    s.add(until(end, "watch", "w/", "--prefix", "--rev=4"));
    s.add(until(endJson, "watch", "w/", "--prefix", "--rev=5", "-w", "json")); // the compacted revision itself
    s.add(until(endJson, "watch", "w/a", "--rev=6", "--prev-kv", "-w", "json"));
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // running and normalising

  /** Starts a fresh member of {@code binary}, runs the whole script, stops the member. */
  static List<Observation> runScript(String script, Binary binary, Path dir) {
    List<Observation> out = new ArrayList<>();
    Ports.Address address = Ports.allocate();
    StringBuilder transcript = new StringBuilder();
    String run = script + "-" + binary.name().toLowerCase();
    try (Member m = Member.start(binary, dir.resolve(run + "-data"), address, FLAGS)) {
      Map<String, BigInteger> vars = new HashMap<>();
      // the ids the member assigned itself: compared as placeholders wherever they appear
      JsonNode header = Etcdctl.run(m.endpoint(), "get", "e2e-probe", "-w", "json").json().path("header");
      if (header.has("member_id")) vars.put("member-id", header.get("member_id").bigIntegerValue());
      if (header.has("cluster_id")) vars.put("cluster-id", header.get("cluster_id").bigIntegerValue());
      int i = 0;
      for (Step step : SCRIPTS.get(script).get()) {
        i++;
        String[] args = step.args().stream().map(a -> substitute(a, vars)).toArray(String[]::new);
        Etcdctl.Result r = step.until() == null
            ? Etcdctl.runWithStdin(m.endpoint(), step.stdin(), args)
            : Etcdctl.runUntil(m.endpoint(), step.until(), WATCH_TIMEOUT, args);
        if (step.captureLease() != null && r.exitCode() == 0) {
          JsonNode id = r.json().get(step.captureLease());
          if (id != null) vars.put("lease", id.bigIntegerValue());
        }
        Observation o = normalise(step, r, m, vars);
        out.add(o);
        transcript.append("#").append(i).append(' ').append(step.display()).append('\n')
            .append(o.render()).append('\n');
      }
    } finally {
      try {
        Files.writeString(dir.resolve(run + ".txt"), transcript);
      } catch (IOException e) {
        // the transcript is a debugging aid only
      }
    }
    return out;
  }

  private static String substitute(String arg, Map<String, BigInteger> vars) {
    BigInteger lease = vars.get("lease");
    return lease == null ? arg : arg.replace("{lease}", lease.toString(16));
  }

  static Observation normalise(Step step, Etcdctl.Result r, Member m, Map<String, BigInteger> vars) {
    JsonNode json = null;
    String text = r.stdout();
    boolean wantsJson = step.args().contains("-w") && step.args().get(step.args().indexOf("-w") + 1).equals("json");
    String trimmed = text.strip();
    if (wantsJson && (trimmed.startsWith("{") || trimmed.startsWith("["))) {
      try {
        // a watch prints one JSON document per response: several documents become an array
        List<JsonNode> docs = new ArrayList<>();
        try (com.fasterxml.jackson.databind.MappingIterator<JsonNode> it =
            JSON.readerFor(JsonNode.class).readValues(trimmed)) {
          while (it.hasNextValue()) docs.add(it.nextValue());
        }
        JsonNode parsed = docs.size() == 1 ? docs.get(0) : JSON.createArrayNode().addAll(docs);
        json = normaliseJson(parsed, m, vars);
        text = null;
      } catch (IOException | RuntimeException e) {
        json = null; // not JSON after all (e.g. "compacted revision N"): compare as text
      }
    }
    if (text != null) text = normaliseText(text, m, vars);
    List<String> errors = new ArrayList<>();
    for (String line : r.stderr().split("\n")) {
      if (line.isBlank()) continue;
      if (line.startsWith("{")) {
        try {
          JsonNode log = JSON.readTree(line);
          // ts, caller, target (a random uuid) and attempt are client-side noise; msg and error are not
          errors.add("client log: " + log.path("level").asText() + " " + log.path("msg").asText()
              + (log.has("error") ? ": " + normaliseText(log.get("error").asText(), m, vars) : ""));
          continue;
        } catch (IOException e) {
          // fall through: compare the raw line
        }
      }
      errors.add(normaliseText(line, m, vars));
    }
    return new Observation(step.display(), r.exitCode(), json, text, errors);
  }

  private static String normaliseText(String s, Member m, Map<String, BigInteger> vars) {
    String out = s.replace(m.peerUrl(), "<peer-url>").replace(m.endpoint(), "<endpoint>")
        .replace(m.host() + ":" + m.clientPort(), "<endpoint>");
    for (Map.Entry<String, BigInteger> v : new TreeMap<>(vars).entrySet()) {
      String placeholder = "<" + v.getKey() + ">";
      out = out.replace(String.format("%016x", v.getValue()), placeholder)
          .replace(v.getValue().toString(16), placeholder)
          .replace(v.getValue().toString(), placeholder);
    }
    return out;
  }

  private static JsonNode normaliseJson(JsonNode node, Member m, Map<String, BigInteger> vars) {
    if (node.isObject()) {
      ObjectNode o = (ObjectNode) node;
      // the term is the member's business (etcd: 2 on a fresh single member, +1 per restart)
      if (o.has("raft_term")) o.put("raft_term", "<raft-term>");
      // the remaining TTL of a live lease depends on timing; its presence and sign do not
      if (o.has("granted-ttl") && o.path("ttl").asLong() > 0) o.put("ttl", "<positive>");
      // etcd lists a lease's keys in Go map order (random): compare them as a set
      if (o.has("granted-ttl") && o.path("keys").isArray()) {
        List<String> keys = new ArrayList<>();
        o.get("keys").forEach(k -> keys.add(k.asText()));
        keys.sort(null);
        ArrayNode sortedKeys = o.putArray("keys");
        keys.forEach(sortedKeys::add);
      }
      Iterator<Map.Entry<String, JsonNode>> it = o.fields();
      List<Map.Entry<String, JsonNode>> replace = new ArrayList<>();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        replace.add(Map.entry(e.getKey(), normaliseJson(e.getValue(), m, vars)));
      }
      for (Map.Entry<String, JsonNode> e : replace) o.set(e.getKey(), e.getValue());
      return o;
    }
    if (node.isArray()) {
      ArrayNode a = (ArrayNode) node;
      for (int i = 0; i < a.size(); i++) a.set(i, normaliseJson(a.get(i), m, vars));
      return a;
    }
    if (node.isIntegralNumber()) {
      for (Map.Entry<String, BigInteger> v : vars.entrySet()) {
        if (node.bigIntegerValue().equals(v.getValue())) return TextNode.valueOf("<" + v.getKey() + ">");
      }
    }
    if (node.isTextual()) return TextNode.valueOf(normaliseText(node.asText(), m, vars));
    return node;
  }

  // ---------------------------------------------------------------------------------------------
  // the tests

  /** The reference runs against real etcd, by script, shared by the tests. */
  private static final Map<String, List<Observation>> etcdReference = new HashMap<>();

  private static synchronized List<Observation> etcdReference(String script, Path dir) {
    return etcdReference.computeIfAbsent(script, k -> runScript(k, Binary.ETCD, dir));
  }

  /** Self-check: two real etcds must agree, otherwise the normalisation hides or invents differences. */
  @Test
  void normalisationIsStableEtcdAgainstEtcd(TestInfo info) {
    Path dir = Workdirs.of(info);
    for (String script : List.of("kv", "lease", "watch")) {
      List<Observation> first = etcdReference(script, dir);
      List<Observation> again = runScript(script, Binary.ETCD, Workdirs.fresh(dir.resolve("second-" + script)));
      assertSame("etcd", first, "etcd#2", again, dir);
      assertEquals(SCRIPTS.get(script).get().size(), first.size());
    }
    // the scripts exercise what they claim to: errors as well as successes
    List<Observation> kv = etcdReference("kv", dir);
    assertTrue(kv.stream().filter(o -> o.exitCode() != 0).count() >= 15, "error steps");
    assertTrue(kv.stream().filter(o -> o.json() != null).count() >= 60, "json steps");
    List<Observation> lease = etcdReference("lease", dir);
    assertTrue(lease.stream().filter(o -> o.exitCode() == 0).count() >= 20, "lease steps that succeed on etcd");
    List<Observation> watch = etcdReference("watch", dir);
    assertTrue(watch.stream().noneMatch(o -> o.errors().stream().anyMatch(e -> e.contains("e2e harness"))),
        "every watch reached its marker");
  }

  @Test
  void etceteraWatchesBehaveLikeEtcd(TestInfo info) {
    Path dir = Workdirs.of(info);
    List<Observation> etcd = etcdReference("watch", Workdirs.fresh(dir.resolve("etcd")));
    List<Observation> etcetera = runScript("watch", Binary.ETCETERA, dir);
    assertSame("etcd", etcd, "etcetera", etcetera, dir);
  }

  @Test
  void etceteraKvBehavesLikeEtcd(TestInfo info) {
    Path dir = Workdirs.of(info);
    List<Observation> etcd = etcdReference("kv", Workdirs.fresh(dir.resolve("etcd")));
    List<Observation> etcetera = runScript("kv", Binary.ETCETERA, dir);
    assertSame("etcd", etcd, "etcetera", etcetera, dir);
  }

  @Test
  void etceteraLeasesBehaveLikeEtcd(TestInfo info) {
    Path dir = Workdirs.of(info);
    List<Observation> etcd = etcdReference("lease", Workdirs.fresh(dir.resolve("etcd")));
    List<Observation> etcetera = runScript("lease", Binary.ETCETERA, dir);
    assertSame("etcd", etcd, "etcetera", etcetera, dir);
  }
}
