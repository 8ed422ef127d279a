package io.etcetera.e2e.security;

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
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Workdirs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * Differential test of auth: one scripted etcdctl session (users, roles, permissions, auth enable,
 * allowed and denied requests and watches, bad credentials, CN identity over mTLS, revocations,
 * password change, deletions, auth disable) runs against a fresh real etcd and a fresh Etcetera
 * started with the same flags (an https listener with {@code --client-cert-auth} beside the plain
 * one); every step's result must be the same.
 *
 * <p>Compared per step, as in {@code DifferentialKvTest} (whose normalisation this copies): the exit
 * code; stdout (JSON field by field for {@code -w json}, else the exact text); stderr's lines,
 * with etcdctl's client log lines reduced to level, message and gRPC error. Normalised away: member
 * and cluster ids, {@code raft_term}, the member's URLs. {@link #normalisationIsStableEtcdAgainstEtcd}
 * runs the script against two real etcds; it must pass for the comparison to mean anything.
 * Transcripts go to {@code e2e/target/e2e-work/AuthDifferentialTest/<test>/auth-<binary>.txt}, the
 * differences to {@code differences.txt}.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class AuthDifferentialTest {

  static final Duration WATCH_TIMEOUT = Duration.ofSeconds(20);

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  // ---------------------------------------------------------------------------------------------
  // the script

  /**
   * One etcdctl invocation: over the plain listener, or ({@code cert} set) over the https one
   * presenting {@code client-<cert>.pem}; {@code until} as in {@code Etcdctl.runUntil}
   * ({@code "EXIT"}: run until etcdctl exits by itself).
   */
  record Step(String stdin, List<String> args, String cert, String until) {
    String display() {
      StringBuilder sb = new StringBuilder(cert == null ? "etcdctl" : "etcdctl[https, cert CN=" + cert + "]");
      for (String a : args) sb.append(' ').append(a.isEmpty() || a.contains(" ") ? "'" + a + "'" : a);
      if (stdin != null) sb.append(" <<< '").append(stdin.replace("\n", "\\n")).append('\'');
      if (until != null) sb.append("  (until ").append(until.equals("EXIT") ? "it exits" : "stdout shows " + until)
          .append(')');
      return sb.toString();
    }
  }

  static Step cmd(String... args) {
    return new Step(null, List.of(args), null, null);
  }

  static Step stdin(String input, String... args) {
    return new Step(input, List.of(args), null, null);
  }

  static Step tls(String cert, String... args) {
    return new Step(null, List.of(args), cert, null);
  }

  static Step until(String marker, String... args) {
    return new Step(null, List.of(args), null, marker);
  }

  static final String ROOT = "--user=root:rootpw";
  static final String ALICE = "--user=alice:alicepw";

  static List<Step> script() {
    List<Step> s = new ArrayList<>();
    // --- users and roles before auth
    s.add(cmd("user", "list"));
    s.add(cmd("user", "add", "root", "--new-user-password=rootpw"));
    s.add(cmd("user", "add", "root", "--new-user-password=x"));
    s.add(stdin("alicepw\n", "user", "add", "alice", "--interactive=false"));
    s.add(cmd("user", "add", "bob:bobpw", "-w", "json"));
    s.add(cmd("user", "add", "nop", "--no-password"));
    s.add(cmd("user", "add", "", "--new-user-password=x"));
    s.add(cmd("user", "list", "-w", "json"));
    s.add(cmd("role", "add", "r1"));
    s.add(cmd("role", "add", "r1"));
    s.add(cmd("role", "add", "r2", "-w", "json"));
    s.add(cmd("role", "add", ""));
    s.add(cmd("role", "grant-permission", "--prefix", "r1", "readwrite", "/app/"));
    s.add(cmd("role", "grant-permission", "r1", "read", "/single"));
    s.add(cmd("role", "grant-permission", "r1", "write", "/wo", "-w", "json"));
    s.add(cmd("role", "grant-permission", "r2", "readwrite", "/r2/a", "/r2/m"));
    s.add(cmd("role", "grant-permission", "--from-key", "r2", "read", "/zz"));
    s.add(cmd("role", "grant-permission", "nosuch", "read", "/x"));
    s.add(cmd("role", "get", "r1"));
    s.add(cmd("role", "get", "r1", "-w", "json"));
    s.add(cmd("role", "get", "r2"));
    s.add(cmd("role", "get", "nosuch"));
    s.add(cmd("role", "list", "-w", "json"));
    s.add(cmd("user", "grant-role", "alice", "r1"));
    s.add(cmd("user", "grant-role", "alice", "r1"));
    s.add(cmd("user", "grant-role", "alice", "nosuch"));
    s.add(cmd("user", "grant-role", "nosuch", "r1"));
    s.add(cmd("user", "grant-role", "bob", "r1", "-w", "json"));
    s.add(cmd("user", "grant-role", "nop", "r1"));
    s.add(cmd("user", "get", "alice"));
    s.add(cmd("user", "get", "alice", "-w", "json"));
    s.add(cmd("user", "get", "alice", "--detail"));
    s.add(cmd("user", "get", "nosuch"));
    s.add(cmd("put", "/single", "s"));
    s.add(cmd("put", "/other", "o"));
    s.add(cmd("put", "/app/seed", "1"));
    s.add(cmd("auth", "disable"));
    // --- auth on
    s.add(cmd("auth", "enable"));
    s.add(cmd("auth", "enable"));
    s.add(cmd(ROOT, "auth", "enable"));
    s.add(cmd(ROOT, "role", "get", "root", "-w", "json"));
    s.add(cmd(ROOT, "user", "get", "root", "--detail"));
    s.add(cmd("put", "/app/x", "0"));
    s.add(cmd("get", "/app/seed"));
    s.add(cmd("user", "list"));
    // --- alice
    s.add(cmd(ALICE, "put", "/app/x", "1", "-w", "json"));
    s.add(cmd(ALICE, "get", "/app/x", "-w", "json"));
    s.add(cmd(ALICE, "get", "/app/", "--prefix"));
    s.add(cmd(ALICE, "get", "/single"));
    s.add(cmd(ALICE, "put", "/single", "x"));
    s.add(cmd(ALICE, "put", "/wo", "w"));
    s.add(cmd(ALICE, "get", "/wo"));
    s.add(cmd(ALICE, "get", "/other"));
    s.add(cmd(ALICE, "del", "/other"));
    s.add(cmd(ALICE, "del", "/app/x", "--prev-kv"));
    s.add(cmd(ALICE, "get", "/", "--prefix"));
    s.add(cmd(ALICE, "get", "/app/", "/app0"));
    s.add(cmd(ALICE, "get", "/app/", "/b"));
    s.add(stdin("\nput /app/t 1\nput /other 2\n\n\n", ALICE, "txn"));
    s.add(stdin("\nput /app/t 1\nget /app/seed\n\n\n", ALICE, "txn", "-w", "json"));
    s.add(stdin("value(\"/other\") = \"o\"\n\nput /app/t 2\n\n\n", ALICE, "txn"));
    s.add(cmd(ALICE, "user", "list"));
    s.add(cmd(ALICE, "role", "list"));
    s.add(cmd(ALICE, "user", "get", "alice", "-w", "json"));
    s.add(cmd(ALICE, "user", "get", "bob"));
    s.add(cmd(ALICE, "role", "get", "r1"));
    s.add(cmd(ALICE, "role", "get", "r2"));
    s.add(cmd(ALICE, "user", "add", "eve", "--new-user-password=x"));
    s.add(cmd(ALICE, "role", "grant-permission", "r1", "readwrite", "/other"));
    s.add(cmd(ALICE, "auth", "disable"));
    s.add(cmd(ALICE, "compaction", "2"));
    s.add(cmd(ALICE, "alarm", "list"));
    s.add(cmd(ALICE, "alarm", "disarm"));
    // maintenance calls etcd keeps for admins: the hash, the snapshot (refused before a file is kept)
    s.add(cmd(ALICE, "endpoint", "hashkv"));
    s.add(cmd("endpoint", "hashkv"));
    s.add(cmd(ALICE, "snapshot", "save", "/tmp/etcetera-auth-differential-refused.db"));
    s.add(cmd(ALICE, "defrag"));
    s.add(cmd(ALICE, "member", "list", "-w", "json"));
    s.add(cmd(ALICE, "put", "/app/w", "the-end"));
    s.add(until("the-end", ALICE, "watch", "/app/", "--prefix", "--rev=1"));
    s.add(until("EXIT", ALICE, "watch", "/other"));
    s.add(until("EXIT", ALICE, "watch", "/", "--prefix"));
    s.add(until("EXIT", "watch", "/app/seed"));
    // --- bad credentials
    s.add(cmd("--user=alice:wrong", "get", "/app/seed"));
    s.add(cmd("--user=mallory:x", "get", "/app/seed"));
    s.add(cmd("--user=nop:x", "get", "/app/seed"));
    s.add(cmd("--user=alice", "--password=wrong", "get", "/app/seed"));
    s.add(cmd("--user=alice", "--password=alicepw", "get", "/app/seed"));
    // --- identity from the client certificate (https listener, --client-cert-auth)
    s.add(tls("alice", "put", "/app/cn", "1"));
    s.add(tls("alice", "get", "/other"));
    s.add(tls("alice", "user", "list"));
    s.add(tls("root", "user", "list"));
    s.add(tls("root", "get", "/other", "-w", "json"));
    s.add(tls("nop", "put", "/app/nop", "1"));
    s.add(tls("mallory", "get", "/app/seed"));
    s.add(tls("alice", "--user=root:rootpw", "get", "/other"));
    s.add(tls("alice", "--user=root:wrong", "get", "/other"));
    // --- revocations
    s.add(cmd(ROOT, "role", "revoke-permission", "r1", "/single"));
    s.add(cmd(ROOT, "role", "revoke-permission", "r1", "/nothere"));
    s.add(cmd(ROOT, "role", "revoke-permission", "r1", "/app/"));
    s.add(cmd(ROOT, "role", "revoke-permission", "r1", "/app/", "--prefix", "-w", "json"));
    s.add(cmd(ROOT, "role", "revoke-permission", "nosuch", "/app/"));
    s.add(cmd(ROOT, "role", "get", "r1"));
    s.add(cmd(ALICE, "get", "/app/seed"));
    s.add(cmd(ALICE, "get", "/single"));
    s.add(cmd(ROOT, "role", "grant-permission", "--prefix", "r1", "readwrite", "/app/"));
    s.add(cmd(ALICE, "get", "/app/seed"));
    s.add(cmd(ROOT, "user", "revoke-role", "alice", "r1", "-w", "json"));
    s.add(cmd(ROOT, "user", "revoke-role", "alice", "r1"));
    s.add(cmd(ROOT, "user", "revoke-role", "nosuch", "r1"));
    s.add(cmd(ROOT, "user", "get", "alice"));
    s.add(cmd(ALICE, "get", "/app/seed"));
    s.add(until("EXIT", ALICE, "watch", "/app/seed"));
    s.add(cmd(ROOT, "user", "grant-role", "alice", "r1"));
    // --- password change
    s.add(stdin("newpw\n", ROOT, "user", "passwd", "alice", "--interactive=false"));
    s.add(stdin("newpw\n", ROOT, "user", "passwd", "nosuch", "--interactive=false"));
    s.add(cmd(ALICE, "get", "/app/seed"));
    s.add(cmd("--user=alice:newpw", "get", "/app/seed"));
    s.add(stdin("x\n", "--user=alice:newpw", "user", "passwd", "bob", "--interactive=false"));
    s.add(stdin("selfpw\n", "--user=alice:newpw", "user", "passwd", "alice", "--interactive=false"));
    s.add(cmd("--user=alice:selfpw", "get", "/app/seed"));
    // --- deletions
    s.add(cmd("--user=bob:bobpw", "get", "/app/seed"));
    s.add(cmd(ROOT, "user", "delete", "bob", "-w", "json"));
    s.add(cmd(ROOT, "user", "delete", "bob"));
    s.add(cmd("--user=bob:bobpw", "get", "/app/seed"));
    s.add(cmd(ROOT, "role", "delete", "r2"));
    s.add(cmd(ROOT, "role", "delete", "r2"));
    s.add(cmd(ROOT, "user", "delete", "root"));
    s.add(cmd(ROOT, "role", "delete", "root"));
    s.add(cmd(ROOT, "user", "revoke-role", "root", "root"));
    s.add(cmd(ROOT, "user", "list", "-w", "json"));
    s.add(cmd(ROOT, "role", "list"));
    // --- auth off again
    s.add(cmd("--user=alice:selfpw", "auth", "disable"));
    s.add(cmd(ROOT, "auth", "disable", "-w", "json"));
    s.add(cmd(ROOT, "auth", "disable"));
    s.add(cmd("auth", "disable"));
    s.add(cmd("--user=alice:selfpw", "get", "/other"));
    s.add(cmd("put", "/other", "free"));
    s.add(tls("mallory", "get", "/other"));
    s.add(cmd("user", "list"));
    s.add(cmd("role", "get", "r1", "-w", "json"));
    s.add(cmd("get", "", "--from-key", "-w", "json"));
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // running and normalising (adapted from DifferentialKvTest)

  /** What one step produced, normalised. */
  record Certs(Pki.Ca ca, Map<String, Pki.Pair> clients) {
    static Certs make(Path dir) {
      Pki.Ca ca = Pki.ca(dir, "e2e-ca");
      Map<String, Pki.Pair> clients = new HashMap<>();
      for (String cn : List.of("alice", "root", "nop", "mallory")) clients.put(cn, ca.client(cn));
      return new Certs(ca, clients);
    }
  }

  /** Starts a fresh member of {@code binary} with an mTLS listener, runs the whole script, stops it. */
  static List<Observation> runScript(Binary binary, Certs certs, Path dir) {
    List<Observation> out = new ArrayList<>();
    Ports.Address plain = Ports.allocate();
    Ports.Address tls = Ports.allocate();
    String run = "auth-" + binary.name().toLowerCase();
    Pki.Pair server = certs.ca().server("etcd-" + run, List.of(tls.host()));
    StringBuilder transcript = new StringBuilder();
    try (SecureMember m = SecureMember.start(binary, dir.resolve(run + "-data"), plain, tls, Pki.prepend(
        "--name=differential", SecureMember.mtlsFlags(server, certs.ca().cert())))) {
      Map<String, BigInteger> vars = new HashMap<>();
      JsonNode header = Etcdctl.run(m.httpEndpoint(), "get", "e2e-probe", "-w", "json").json().path("header");
      if (header.has("member_id")) vars.put("member-id", header.get("member_id").bigIntegerValue());
      if (header.has("cluster_id")) vars.put("cluster-id", header.get("cluster_id").bigIntegerValue());
      int i = 0;
      for (Step step : script()) {
        i++;
        Etcdctl.Result r = execute(m, certs, step);
        Observation o = normalise(step, r, m, vars);
        out.add(o);
        transcript.append('#').append(i).append(' ').append(step.display()).append('\n').append(o.render()).append('\n');
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

  private static Etcdctl.Result execute(SecureMember m, Certs certs, Step step) {
    String[] args = step.args().toArray(String[]::new);
    if (step.cert() != null) {
      return m.tlsCtlWithStdin(step.stdin(), SecureMember.tlsFlags(certs.ca().cert(), certs.clients().get(step.cert())),
          args);
    }
    if (step.until() != null) {
      return Etcdctl.runUntil(m.httpEndpoint(), step.until().equals("EXIT") ? null : step.until(), WATCH_TIMEOUT, args);
    }
    return Etcdctl.runWithStdin(m.httpEndpoint(), step.stdin(), args);
  }

  static Observation normalise(Step step, Etcdctl.Result r, SecureMember m, Map<String, BigInteger> vars) {
    JsonNode json = null;
    String text = r.stdout();
    boolean wantsJson = step.args().contains("-w") && step.args().get(step.args().indexOf("-w") + 1).equals("json");
    String trimmed = text.strip();
    if (wantsJson && (trimmed.startsWith("{") || trimmed.startsWith("["))) {
      try {
        List<JsonNode> docs = new ArrayList<>();
        try (com.fasterxml.jackson.databind.MappingIterator<JsonNode> it =
            JSON.readerFor(JsonNode.class).readValues(trimmed)) {
          while (it.hasNextValue()) docs.add(it.nextValue());
        }
        JsonNode parsed = docs.size() == 1 ? docs.get(0) : JSON.createArrayNode().addAll(docs);
        json = normaliseJson(parsed, m, vars);
        text = null;
      } catch (IOException | RuntimeException e) {
        json = null;
      }
    }
    if (text != null) text = normaliseText(text, m, vars);
    List<String> errors = new ArrayList<>();
    for (String line : r.stderr().split("\n")) {
      if (line.isBlank()) continue;
      if (line.startsWith("{")) {
        try {
          JsonNode log = JSON.readTree(line);
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

  private static String normaliseText(String s, SecureMember m, Map<String, BigInteger> vars) {
    String out = s.replace(m.member().peerUrl(), "<peer-url>").replace(m.httpsEndpoint(), "<https-endpoint>")
        .replace(m.httpEndpoint(), "<endpoint>").replace(m.httpsHostPort(), "<https-endpoint>")
        .replace(m.member().host() + ":" + m.member().clientPort(), "<endpoint>");
    for (Map.Entry<String, BigInteger> v : new TreeMap<>(vars).entrySet()) {
      String placeholder = "<" + v.getKey() + ">";
      out = out.replace(String.format("%016x", v.getValue()), placeholder)
          .replace(v.getValue().toString(16), placeholder)
          .replace(v.getValue().toString(), placeholder);
    }
    return out;
  }

  private static JsonNode normaliseJson(JsonNode node, SecureMember m, Map<String, BigInteger> vars) {
    if (node.isObject()) {
      ObjectNode o = (ObjectNode) node;
      if (o.has("raft_term")) o.put("raft_term", "<raft-term>");
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

  private static List<Observation> etcdReference;

  private static synchronized List<Observation> etcdReference(Path dir) {
    if (etcdReference == null) etcdReference = runScript(Binary.ETCD, Certs.make(dir.resolve("pki")), dir);
    return etcdReference;
  }

  /** Self-check: two real etcds must agree, otherwise the normalisation hides or invents differences. */
  @Test
  void normalisationIsStableEtcdAgainstEtcd(TestInfo info) {
    Path dir = Workdirs.of(info);
    List<Observation> first = etcdReference(Workdirs.fresh(dir.resolve("first")));
    List<Observation> again = runScript(Binary.ETCD, Certs.make(dir.resolve("pki")), dir);
    assertSame("etcd", first, "etcd#2", again, dir);
    assertEquals(script().size(), first.size());
    // the script exercises what it claims to: refusals as well as successes, JSON and watches
    assertTrue(first.stream().filter(o -> o.exitCode() != 0).count() >= 40, "error steps");
    assertTrue(first.stream().filter(o -> o.exitCode() == 0).count() >= 60, "successful steps");
    assertTrue(first.stream().filter(o -> o.json() != null).count() >= 15, "json steps");
    assertTrue(first.stream().noneMatch(o -> o.errors().stream().anyMatch(e -> e.contains("e2e harness"))),
        "every watch reached its marker or ended by itself");
  }

  @Test
  void etceteraAuthBehavesLikeEtcd(TestInfo info) {
    Path dir = Workdirs.of(info);
    List<Observation> etcd = etcdReference(Workdirs.fresh(dir.resolve("etcd")));
    List<Observation> etcetera = runScript(Binary.ETCETERA, Certs.make(dir.resolve("pki")), dir);
    assertSame("etcd", etcd, "etcetera", etcetera, dir);
  }
}
