package io.etcetera.e2e.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A multi-member cluster of real processes, Etcetera's launcher or the real etcd ({@code
 * -De2e.binary=etcd}), started with etcd's flags the way an operator's systemd unit does. Member
 * {@code N} (1-based) is {@code etcdN} on {@code 127.0.1.N}, client port 2379, peer port 2380:
 *
 * <pre>
 * --name=etcdN --data-dir=&lt;dir&gt;/etcdN
 * --listen-client-urls=&lt;s&gt;://127.0.1.N:2379 --advertise-client-urls=&lt;s&gt;://127.0.1.N:2379
 * --listen-peer-urls=&lt;s&gt;://127.0.1.N:2380 --initial-advertise-peer-urls=&lt;s&gt;://127.0.1.N:2380
 * --initial-cluster=etcd1=&lt;s&gt;://127.0.1.1:2380,etcd2=...,etcd3=...
 * --initial-cluster-token=etcd-cluster-0 --initial-cluster-state=new
 * [--cert-file --key-file --trusted-ca-file --client-cert-auth
 *  --peer-cert-file --peer-key-file --peer-trusted-ca-file --peer-client-cert-auth]  (mTLS: s = https)
 * &lt;extra flags&gt;  (one naming a default flag replaces it)
 * </pre>
 *
 * <p>With {@link Builder#peerProxies peer proxies} each member advertises {@code :2381} as its peer
 * URL, where a {@link FaultProxy} forwards to its {@code :2380} listener, so {@link #isolate} can
 * cut a member off its peers (both directions) while its client port stays reachable.
 *
 * <p>The factory methods return once {@code etcdctl endpoint health} succeeds on every member. Logs
 * are {@code <dir>/etcdN.log}. {@link #close()} SIGKILLs every process (a JVM shutdown hook does
 * too) and closes the proxies: use try-with-resources or {@code @AfterEach}.
 *
 * <pre>{@code
 * try (Cluster c = Cluster.start(Workdirs.of(info), 3, true)) {
 *   c.etcdctl(1, "put", "k", "v").ok();
 *   int leader = c.leaderIndex();
 *   c.kill9(leader);
 *   c.etcdctlAll("get", "k").lines();   // live members only
 *   c.restart(leader);
 * }
 * }</pre>
 */
public final class Cluster implements AutoCloseable {

  public static final String TOKEN = "etcd-cluster-0";
  public static final int CLIENT_PORT = 2379;
  public static final int PEER_PORT = 2380;
  /** The advertised peer port when peer proxies are on (the proxy forwards to {@link #PEER_PORT}). */
  public static final int PROXY_PORT = 2381;

  /** etcdctl's defaults here: the harness's {@code --dial-timeout=5s --command-timeout=30s}. */
  public static final String DIAL_TIMEOUT = "5s";
  public static final String COMMAND_TIMEOUT = "30s";

  /**
   * etcd 3.4 (with its default {@code --strict-reconfig-check}) refuses {@code member add} until every
   * voting member has been connected to the serving member for 5 s (its HealthInterval), e.g. right
   * after the cluster formed; {@link #memberAdd} retries on it.
   */
  public static final String RECONFIG_TOO_EARLY = "etcdserver: unhealthy cluster";

  /** A member added with {@link #addMember}: the member and what {@code etcdctl member add} printed. */
  public record Added(ClusterMember member, Etcdctl.Result memberAdd) {}

  /** Options for {@link #builder}. */
  public static final class Builder {
    private final Path dir;
    private int size = 3;
    private boolean tls;
    private boolean peerProxies;
    private Binary binary = Binary.fromSystemProperty();
    private final List<String> extraFlags = new ArrayList<>();

    private Builder(Path dir) {
      this.dir = dir;
    }

    /** Number of members (default 3). */
    public Builder size(int size) {
      this.size = size;
      return this;
    }

    /** mTLS on the client and the peer listener, https URLs (default plain http). */
    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    /** Peer traffic through {@link FaultProxy}s, enabling {@link Cluster#isolate}. */
    public Builder peerProxies(boolean on) {
      this.peerProxies = on;
      return this;
    }

    /** Which program (default {@link Binary#fromSystemProperty()}). */
    public Builder binary(Binary binary) {
      this.binary = binary;
      return this;
    }

    /** More flags for every member, after the defaults (one naming a default flag replaces it). */
    /** Flags for every member; {@code {host}} in a flag stands for the member's own host. */
    public Builder extraFlags(String... flags) {
      extraFlags.addAll(Arrays.asList(flags));
      return this;
    }

    /** Starts the members and waits until each is healthy. */
    public Cluster start() {
      Cluster c = new Cluster(this);
      try {
        c.startAll();
        return c;
      } catch (RuntimeException | Error e) {
        c.close();
        throw e;
      }
    }
  }

  private final Path dir;
  private final Binary binary;
  private final boolean tls;
  private final boolean peerProxies;
  private final List<String> extraFlags;
  private final TlsFiles tlsFiles;
  private final List<ClusterMember> members = new CopyOnWriteArrayList<>();
  private final Map<Integer, FaultProxy> proxies = new ConcurrentHashMap<>();
  private final Path proxyLog;
  /** Partition groups by member index; empty = no partition. */
  private volatile Map<Integer, Integer> groups = Map.of();

  private Cluster(Builder b) {
    if (b.size < 1 || b.size > 5) throw new IllegalArgumentException("1 to 5 members, not " + b.size);
    this.dir = b.dir.toAbsolutePath().normalize();
    this.binary = b.binary;
    this.tls = b.tls;
    this.peerProxies = b.peerProxies;
    this.extraFlags = List.copyOf(b.extraFlags);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.tlsFiles = tls ? TlsFiles.generate(dir.resolve("pki")) : null;
    this.proxyLog = dir.resolve("peer-proxies.log");
    List<String> initial = new ArrayList<>();
    for (int i = 1; i <= b.size; i++) initial.add("etcd" + i + "=" + peerUrl(i));
    String initialCluster = String.join(",", initial);
    for (int i = 1; i <= b.size; i++) members.add(newMember(i, initialCluster, "new", List.of()));
  }

  /** Options: size, mTLS, peer proxies, binary, extra flags. */
  public static Builder builder(Path dir) {
    return new Builder(dir);
  }

  /** Starts {@code size} members (plain or mTLS) with {@code extraFlags}, and waits until all are healthy. */
  public static Cluster start(Path dir, int size, boolean tls, String... extraFlags) {
    return builder(dir).size(size).tls(tls).extraFlags(extraFlags).start();
  }

  // ------------------------------------------------------------------------------------- members

  public Binary binary() {
    return binary;
  }

  public boolean tls() {
    return tls;
  }

  /** The PEM files (null for a plain cluster). */
  public TlsFiles tlsFiles() {
    return tlsFiles;
  }

  /** {@code https} or {@code http}. */
  public String scheme() {
    return tls ? "https" : "http";
  }

  /** Number of members ever started, including added and removed ones. */
  public int size() {
    return members.size();
  }

  /** Member {@code i} (1-based). */
  public ClusterMember member(int i) {
    if (i < 1 || i > members.size()) throw new IllegalArgumentException("no member " + i + " (1.." + members.size() + ")");
    return members.get(i - 1);
  }

  public List<ClusterMember> members() {
    return List.copyOf(members);
  }

  /** Client URL of member {@code i}. */
  public String endpoint(int i) {
    return member(i).clientUrl();
  }

  /** Client URLs of all members not removed, running or not. */
  public List<String> endpoints() {
    return members.stream().filter(m -> !m.isRemoved()).map(ClusterMember::clientUrl).toList();
  }

  /** Indexes of the members that are running and not removed. */
  public List<Integer> running() {
    return members.stream().filter(m -> !m.isRemoved() && m.isRunning()).map(ClusterMember::index).toList();
  }

  /** Client URLs of the running, not removed members. */
  public List<String> liveEndpoints() {
    return running().stream().map(this::endpoint).toList();
  }

  // ------------------------------------------------------------------------------------- etcdctl

  /** etcdctl's TLS flags ({@code --cacert --cert --key}), empty for a plain cluster. */
  public List<String> etcdctlTlsFlags() {
    return tls ? tlsFiles.etcdctlFlags() : List.of();
  }

  /** The global flags for etcdctl against {@code endpoints}: endpoints, timeouts, TLS flags. */
  public List<String> etcdctlGlobalFlags(List<String> endpoints, String dialTimeout, String commandTimeout) {
    List<String> g = new ArrayList<>();
    g.add("--endpoints=" + String.join(",", endpoints));
    g.add("--dial-timeout=" + dialTimeout);
    g.add("--command-timeout=" + commandTimeout);
    g.addAll(etcdctlTlsFlags());
    return g;
  }

  /** etcdctl against member {@code i} only (default timeouts). */
  public Etcdctl.Result etcdctl(int i, String... args) {
    return etcdctlAt(List.of(endpoint(i)), COMMAND_TIMEOUT, args);
  }

  /** etcdctl against member {@code i} with {@code --command-timeout=commandTimeout} (e.g. {@code "5s"}). */
  public Etcdctl.Result etcdctlTimeout(int i, String commandTimeout, String... args) {
    return etcdctlAt(List.of(endpoint(i)), commandTimeout, args);
  }

  /** etcdctl against the {@link #liveEndpoints() running members}. */
  public Etcdctl.Result etcdctlAll(String... args) {
    return etcdctlAt(liveEndpoints(), COMMAND_TIMEOUT, args);
  }

  /** etcdctl against the given endpoints with {@code --command-timeout=commandTimeout}. */
  public Etcdctl.Result etcdctlAt(List<String> endpoints, String commandTimeout, String... args) {
    return Etcdctl.exec(etcdctlGlobalFlags(endpoints, DIAL_TIMEOUT, commandTimeout), null, Etcdctl.PROCESS_TIMEOUT, args);
  }

  /** A running {@code etcdctl watch args} against member {@code i}; close it. */
  public WatchProcess watch(int i, String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "watch";
    System.arraycopy(args, 0, all, 1, args.length);
    return new WatchProcess(etcdctlGlobalFlags(List.of(endpoint(i)), DIAL_TIMEOUT, COMMAND_TIMEOUT), all);
  }

  /** {@code endpoint status -w json} of member {@code i}: the {@code Status} object (fails if etcdctl fails). */
  public JsonNode status(int i) {
    return etcdctlTimeout(i, "5s", "endpoint", "status", "-w", "json").json().get(0).get("Status");
  }

  /** The hex form etcdctl prints for a member ID given as a JSON number (IDs are unsigned 64-bit). */
  public static String hexId(JsonNode id) {
    if (id == null || id.isNull() || id.isMissingNode()) return "0";
    BigInteger v = id.isNumber() ? id.bigIntegerValue() : new BigInteger(id.asText());
    return v.toString(16);
  }

  /**
   * An ID as etcdctl's {@code member add/remove/promote} messages print it: {@code %16x}, i.e.
   * right-aligned in 16 columns (an ID below 2^60 gets leading spaces, e.g. {@code "  bba88b07b0e3d7"}).
   */
  public static String pad16(String hexId) {
    return String.format("%16s", hexId);
  }

  // ------------------------------------------------------------------------------------- leader

  /** The index of the leader all running (and not isolated) members agree on; waits up to 60 s. */
  public int leaderIndex() {
    List<Integer> among = running().stream().filter(i -> !isIsolated(i)).toList();
    return awaitLeader(Duration.ofSeconds(60), among.stream().mapToInt(Integer::intValue).toArray());
  }

  /**
   * Waits until every member in {@code among} answers {@code endpoint status} with the same leader,
   * and that leader is one of them; returns its index.
   */
  public int awaitLeader(Duration timeout, int... among) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (true) {
      Map<Integer, String> seen = new HashMap<>();
      Set<String> leaders = new LinkedHashSet<>();
      boolean allAnswered = true;
      for (int i : among) {
        Etcdctl.Result r = Etcdctl.exec(etcdctlGlobalFlags(List.of(endpoint(i)), "1s", "3s"), null,
            Duration.ofSeconds(30), "endpoint", "status", "-w", "json");
        if (r.exitCode() != 0) {
          allAnswered = false;
          seen.put(i, "error: " + r.error());
          continue;
        }
        JsonNode st = jsonOf(r).get(0).get("Status");
        String leader = hexId(st.get("leader"));
        seen.put(i, "leader " + leader + " term " + st.path("raftTerm").asText());
        leaders.add(leader);
      }
      last = seen.toString();
      if (allAnswered && leaders.size() == 1) {
        String leader = leaders.iterator().next();
        for (int i : among) {
          if (leader.equals(member(i).id())) return i;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("members " + Arrays.toString(among) + " did not agree on a leader among them within "
            + timeout + "; last status: " + last + " (member IDs: " + idsByIndex() + ")");
      }
      sleep(200);
    }
  }

  // ------------------------------------------------------------------------------------- faults

  /** SIGKILL to member {@code i}'s process tree; returns once it is gone. */
  public void kill9(int i) {
    member(i).process().kill(true);
  }

  /** SIGTERM to member {@code i}; returns once it has exited (fails after 30 s). */
  public void stop(int i) {
    member(i).process().terminate();
  }

  /**
   * Starts the given members again with their command lines (same data dir; the {@code --initial-*}
   * flags are ignored for an existing data dir), stopping running ones first, and waits until each
   * is ready (healthy, or serving {@code endpoint status} as a learner).
   */
  public void restart(int... indexes) {
    for (int i : indexes) {
      if (member(i).isRunning()) stop(i);
    }
    for (int i : indexes) launch(member(i));
    for (int i : indexes) awaitReady(member(i));
  }

  /**
   * Starts member {@code i} once with {@code extraFlags} after its usual command line (such as
   * {@code --force-new-cluster}), stopping it first if it runs, and waits until it is ready; later
   * restarts use the usual command line.
   */
  public void restartWith(int i, String... extraFlags) {
    if (member(i).isRunning()) stop(i);
    requirePortsFree(member(i));
    member(i).process().launch(List.of(extraFlags));
    awaitReady(member(i));
  }

  /** Starts members that are not running (e.g. added by {@link #memberAdd}); same as {@link #restart}. */
  public void start(int... indexes) {
    restart(indexes);
  }

  /**
   * Cuts member {@code i} off all other members, both directions (needs {@link Builder#peerProxies});
   * its client listener stays reachable.
   */
  public void isolate(int i) {
    requireProxies();
    Map<Integer, Integer> g = new HashMap<>();
    for (ClusterMember m : members) g.put(m.index(), m.index() == i ? 1 : 0);
    groups = g;
    for (FaultProxy p : proxies.values()) p.enforce();
  }

  /** Ends the partition. */
  public void heal() {
    requireProxies();
    groups = Map.of();
  }

  public boolean isIsolated(int i) {
    Map<Integer, Integer> g = groups;
    return !g.isEmpty() && g.values().stream().filter(v -> v.equals(g.get(i))).count() == 1;
  }

  // ------------------------------------------------------------------------------------- membership

  /**
   * Adds member {@code etcd<size+1>} on {@code 127.0.1.<size+1>} and starts it: {@link #memberAdd}
   * then {@link #start(int...)}.
   */
  public Added addMember(boolean learner, String... extraFlags) {
    Added a = memberAdd(learner, extraFlags);
    start(a.member().index());
    return a;
  }

  /**
   * {@code etcdctl member add etcd<N> [--learner] --peer-urls=<scheme>://127.0.1.<N>:2380} (N =
   * size + 1) through the running members, and registers member N with the {@code
   * ETCD_INITIAL_CLUSTER} that printed and {@code --initial-cluster-state=existing}, without
   * starting it ({@link #start(int...)} does). Retries while etcd answers {@link #RECONFIG_TOO_EARLY}
   * (up to 60 s); fails if {@code member add} fails otherwise.
   */
  public Added memberAdd(boolean learner, String... extraFlags) {
    int i = members.size() + 1;
    if (i > 5) throw new IllegalArgumentException("at most 5 members (addresses 127.0.1.1-5)");
    if (peerProxies) startProxy(i);
    List<String> args = new ArrayList<>(List.of("member", "add", "etcd" + i));
    if (learner) args.add("--learner");
    args.add("--peer-urls=" + peerUrl(i));
    Etcdctl.Result add;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      add = etcdctlAll(args.toArray(String[]::new));
      if (!RECONFIG_TOO_EARLY.equals(add.error()) || System.nanoTime() > deadline) break;
      sleep(500); // what an operator (or kubeadm) does: retry until the members have been connected long enough
    }
    String out = add.ok();
    String initialCluster = null;
    String id = null;
    for (String line : out.split("\n")) {
      if (line.startsWith("ETCD_INITIAL_CLUSTER=")) initialCluster = line.substring(line.indexOf('=') + 1).replace("\"", "");
      if (line.startsWith("Member ") && line.contains(" added to cluster ")) id = line.split("\\s+")[1];
    }
    if (initialCluster == null) throw new AssertionError("no ETCD_INITIAL_CLUSTER in `member add` output" + add.describe());
    ClusterMember m = newMember(i, initialCluster, "existing", Arrays.asList(extraFlags));
    m.id(id);
    members.add(m);
    return new Added(m, add);
  }

  /**
   * {@code etcdctl member remove <id of i>} through the other running members; marks it removed when
   * that succeeds (its process is left alone: see {@link ClusterMember#awaitExit}).
   */
  public Etcdctl.Result removeMember(int i) {
    List<String> via = running().stream().filter(j -> j != i).map(this::endpoint).toList();
    Etcdctl.Result r = etcdctlAt(via, COMMAND_TIMEOUT, "member", "remove", member(i).id());
    if (r.exitCode() == 0) member(i).markRemoved();
    return r;
  }

  // ------------------------------------------------------------------------------------- lifecycle

  /** SIGKILLs every member process and closes the proxies. */
  @Override
  public void close() {
    RuntimeException first = null;
    for (ClusterMember m : members) {
      try {
        m.process().kill(false);
      } catch (RuntimeException e) {
        if (first == null) first = e;
      }
    }
    for (FaultProxy p : proxies.values()) p.close();
    if (first != null) throw first;
  }

  @Override
  public String toString() {
    return binary.name().toLowerCase() + " cluster " + members + (tls ? " (mTLS)" : "");
  }

  // ------------------------------------------------------------------------------------- internals

  private static String host(int i) {
    return "127.0.1." + i;
  }

  private String peerUrl(int i) {
    return scheme() + "://" + host(i) + ":" + (peerProxies ? PROXY_PORT : PEER_PORT);
  }

  private ClusterMember newMember(int i, String initialCluster, String state, List<String> memberExtra) {
    String host = host(i);
    String clientUrl = scheme() + "://" + host + ":" + CLIENT_PORT;
    String listenPeer = scheme() + "://" + host + ":" + PEER_PORT;
    Path dataDir = dir.resolve("etcd" + i);
    List<String> extra = new ArrayList<>();
    for (String f : extraFlags) extra.add(f.replace("{host}", host)); // per-member listen URLs
    extra.addAll(memberExtra);
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.executable().toString());
    addDefault(cmd, extra, "name", "etcd" + i);
    addDefault(cmd, extra, "data-dir", dataDir.toString());
    addDefault(cmd, extra, "listen-client-urls", clientUrl);
    addDefault(cmd, extra, "advertise-client-urls", clientUrl);
    addDefault(cmd, extra, "listen-peer-urls", listenPeer);
    addDefault(cmd, extra, "initial-advertise-peer-urls", peerUrl(i));
    addDefault(cmd, extra, "initial-cluster", initialCluster);
    addDefault(cmd, extra, "initial-cluster-token", TOKEN);
    addDefault(cmd, extra, "initial-cluster-state", state);
    if (tls) {
      for (String f : tlsFiles.memberFlags()) {
        String name = f.substring(2).split("=", 2)[0];
        addDefault(cmd, extra, name, f.contains("=") ? f.substring(f.indexOf('=') + 1) : null);
      }
    }
    cmd.addAll(extra);
    MemberProcess p = new MemberProcess("etcd" + i, cmd, dir.resolve("etcd" + i + ".log"));
    return new ClusterMember(i, host, clientUrl, peerUrl(i), listenPeer, dataDir, p);
  }

  private static void addDefault(List<String> cmd, List<String> extra, String flag, String value) {
    boolean overridden = extra.stream().anyMatch(a -> a.equals("--" + flag) || a.startsWith("--" + flag + "="));
    if (!overridden) cmd.add(value == null ? "--" + flag : "--" + flag + "=" + value);
  }

  private void startAll() {
    if (peerProxies) {
      for (ClusterMember m : members) startProxy(m.index());
    }
    for (ClusterMember m : members) requirePortsFree(m);
    for (ClusterMember m : members) launch(m);
    awaitAllHealthy();
    // remember the member IDs (etcdctl's hex form), by name
    JsonNode list = etcdctlAll("member", "list", "-w", "json").json();
    for (JsonNode n : list.get("members")) {
      String name = n.path("name").asText();
      for (ClusterMember m : members) {
        if (m.name().equals(name)) m.id(hexId(n.get("ID")));
      }
    }
    for (ClusterMember m : members) {
      if (m.id() == null) throw new AssertionError("`member list` does not list " + m.name() + ": " + list);
    }
  }

  private void startProxy(int i) {
    FaultProxy p = new FaultProxy(i, new InetSocketAddress(host(i), PROXY_PORT), new InetSocketAddress(host(i), PEER_PORT),
        this::pidsByMember, this::allowed, proxyLog);
    proxies.put(i, p);
  }

  private void requireProxies() {
    if (!peerProxies) throw new IllegalStateException("partitions need Cluster.builder(dir).peerProxies(true)");
  }

  private boolean allowed(int from, int to) {
    Map<Integer, Integer> g = groups;
    if (g.isEmpty()) return true;
    if (from == 0) return false; // unknown process while partitioned
    return g.getOrDefault(from, 0).equals(g.getOrDefault(to, 0));
  }

  private Map<Integer, Set<Long>> pidsByMember() {
    Map<Integer, Set<Long>> pids = new HashMap<>();
    for (ClusterMember m : members) pids.put(m.index(), m.process().pids());
    return pids;
  }

  private void requirePortsFree(ClusterMember m) {
    for (int port : List.of(CLIENT_PORT, PEER_PORT)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!Ports.isFree(m.host(), port)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("cannot start " + m.name() + ": " + m.host() + ":" + port
              + " is in use by another process (a member left over from an earlier run? see `ss -ltnp | grep "
              + m.host() + "`)");
        }
        sleep(100);
      }
    }
  }

  private void launch(ClusterMember m) {
    requirePortsFree(m);
    m.process().launch();
  }

  private long readyTimeoutSeconds() {
    // several members start at once on a small machine: more time than for one member
    return binary.readyTimeoutSeconds() + 10L * members.size();
  }

  private void awaitAllHealthy() {
    long timeout = readyTimeoutSeconds();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
    Etcdctl.Result last;
    while (true) {
      for (ClusterMember m : members) {
        if (!m.isRunning()) {
          throw new IllegalStateException(m.name() + " exited with code " + m.exitCode() + " before the cluster became healthy"
              + logs());
        }
      }
      last = Etcdctl.exec(etcdctlGlobalFlags(endpoints(), "1s", "3s"), null, Duration.ofSeconds(30), "endpoint", "health");
      if (last.exitCode() == 0) return;
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(this + " not healthy after " + timeout + " s\n--- last `etcdctl endpoint health`:"
            + last.describe() + logs());
      }
      sleep(250);
    }
  }

  private void awaitReady(ClusterMember m) {
    long timeout = readyTimeoutSeconds();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
    Etcdctl.Result health;
    while (true) {
      if (!m.isRunning()) {
        throw new IllegalStateException(m.name() + " exited with code " + m.exitCode() + " before becoming ready"
            + "\n--- last lines of " + m.log() + ":\n" + m.logTail(80));
      }
      List<String> g = etcdctlGlobalFlags(List.of(m.clientUrl()), "1s", "3s");
      // a learner serves status but never passes `endpoint health` (a linearizable get)
      Etcdctl.Result status = Etcdctl.exec(g, null, Duration.ofSeconds(30), "endpoint", "status", "-w", "json");
      if (status.exitCode() == 0 && jsonOf(status).get(0).path("Status").path("isLearner").asBoolean(false)) return;
      health = Etcdctl.exec(g, null, Duration.ofSeconds(30), "endpoint", "health");
      if (health.exitCode() == 0) return;
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(m.name() + " not ready after " + timeout + " s\n--- last `etcdctl endpoint health`:"
            + health.describe() + "\n--- last lines of " + m.log() + ":\n" + m.logTail(80));
      }
      sleep(250);
    }
  }

  private static JsonNode jsonOf(Etcdctl.Result r) {
    return r.json();
  }

  private Map<String, String> idsByIndex() {
    Map<String, String> ids = new java.util.TreeMap<>();
    for (ClusterMember m : members) ids.put(m.name(), m.id());
    return ids;
  }

  private String logs() {
    StringBuilder sb = new StringBuilder();
    for (ClusterMember m : members) sb.append("\n--- last lines of ").append(m.log()).append(":\n").append(m.logTail(40));
    return sb.toString();
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
