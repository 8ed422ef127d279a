package io.etcetera.e2e.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One single-member cluster running as a child process: either Etcetera (via {@code bin/etcetera})
 * or the real etcd, started with the same etcd flags:
 *
 * <pre>
 * --name=&lt;name&gt; --data-dir=&lt;dataDir&gt;
 * --listen-client-urls=http://host:port --advertise-client-urls=http://host:port
 * --listen-peer-urls=http://host:(port+1) --initial-advertise-peer-urls=http://host:(port+1)
 * --initial-cluster=&lt;name&gt;=http://host:(port+1)
 * &lt;extraFlags&gt;
 * </pre>
 *
 * <p>The name defaults to {@code e2e-<clientPort>}. A default flag given again in {@code
 * extraFlags} (e.g. {@code --name=x}) replaces the default instead of being passed twice. Output
 * (stdout and stderr) is appended to {@link #log()}, {@code <dataDir's parent>/<dataDir name>.log}.
 * The factory methods return once {@code etcdctl endpoint health} succeeds against the member.
 *
 * <p>Always use try-with-resources or close in {@code @AfterEach}: {@link #close()} kills the
 * process (and its descendants) if it is still alive. A JVM shutdown hook kills whatever is left.
 *
 * <pre>{@code
 * Ports.Address a = Ports.allocate();
 * try (Member m = Member.etcetera(tmp.resolve("m"), a.host(), a.port(), "--max-request-bytes=1024")) {
 *   Etcdctl.run(m.endpoint(), "put", "k", "v").ok();
 *   m.kill9();
 *   m.restart();
 * }
 * }</pre>
 */
public final class Member implements AutoCloseable {

  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(30);
  private static final Set<Member> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (Member m : LIVE) m.killTree(false);
    }, "e2e-member-reaper"));
  }

  private final Binary binary;
  private final String name;
  private final Path dataDir;
  private final String host;
  private final int clientPort;
  private final List<String> command;
  private final Path log;
  private volatile Process process;

  private Member(Binary binary, Path dataDir, String host, int clientPort, String... extraFlags) {
    this.binary = binary;
    this.dataDir = dataDir.toAbsolutePath().normalize();
    this.host = host;
    this.clientPort = clientPort;
    List<String> extra = Arrays.asList(extraFlags);
    String explicitName = flagValue(extra, "name");
    this.name = explicitName != null ? explicitName : "e2e-" + clientPort;
    Path parent = this.dataDir.getParent();
    this.log = parent.resolve(this.dataDir.getFileName() + ".log");

    String clientUrl = "http://" + host + ":" + clientPort;
    String peerUrl = "http://" + host + ":" + (clientPort + 1);
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.executable().toString());
    addDefault(cmd, extra, "name", name);
    addDefault(cmd, extra, "data-dir", this.dataDir.toString());
    addDefault(cmd, extra, "listen-client-urls", clientUrl);
    addDefault(cmd, extra, "advertise-client-urls", clientUrl);
    addDefault(cmd, extra, "listen-peer-urls", peerUrl);
    addDefault(cmd, extra, "initial-advertise-peer-urls", peerUrl);
    addDefault(cmd, extra, "initial-cluster", name + "=" + peerUrl);
    cmd.addAll(extra);
    this.command = List.copyOf(cmd);
  }

  /** Starts Etcetera ({@code <root>/bin/etcetera}) and waits until it is healthy. */
  public static Member etcetera(Path dataDir, String host, int clientPort, String... extraFlags) {
    return start(Binary.ETCETERA, dataDir, host, clientPort, extraFlags);
  }

  /** Starts the real etcd and waits until it is healthy. */
  public static Member realEtcd(Path dataDir, String host, int clientPort, String... extraFlags) {
    return start(Binary.ETCD, dataDir, host, clientPort, extraFlags);
  }

  /** Starts {@code binary} with the flags described in the class comment and waits until healthy. */
  public static Member start(Binary binary, Path dataDir, String host, int clientPort, String... extraFlags) {
    Member m = new Member(binary, dataDir, host, clientPort, extraFlags);
    try {
      m.launch();
      m.awaitReady();
      return m;
    } catch (RuntimeException | Error e) {
      m.close();
      throw e;
    }
  }

  /** {@link #start(Binary, Path, String, int, String...)} on an allocated address. */
  public static Member start(Binary binary, Path dataDir, Ports.Address address, String... extraFlags) {
    return start(binary, dataDir, address.host(), address.port(), extraFlags);
  }

  public Binary binary() {
    return binary;
  }

  public String name() {
    return name;
  }

  public String host() {
    return host;
  }

  public int clientPort() {
    return clientPort;
  }

  /** The client URL, {@code http://host:port}. */
  public String endpoint() {
    return "http://" + host + ":" + clientPort;
  }

  /** The peer URL, {@code http://host:(port+1)}. */
  public String peerUrl() {
    return "http://" + host + ":" + (clientPort + 1);
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The file receiving the member's stdout and stderr (appended to across restarts). */
  public Path log() {
    return log;
  }

  /** The full command line the member is started with. */
  public List<String> command() {
    return command;
  }

  /** The pid of the started process (the launcher's pid; it should {@code exec} the JVM). */
  public long pid() {
    Process p = process;
    if (p == null) throw new IllegalStateException("member " + name + " was never started");
    return p.pid();
  }

  public boolean isAlive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** The exit code of the last process, waiting up to {@code timeout} for it to exit. */
  public int waitForExit(Duration timeout) {
    Process p = process;
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("member " + name + " still running after " + timeout + logTail());
      }
      return p.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** SIGKILL to the process and its descendants; returns once they are gone. */
  public void kill9() {
    killTree(true);
  }

  /**
   * SIGTERM to the process and its descendants; returns once they have exited. A member still
   * running after 30 s is SIGKILLed and this method throws (a server must stop on SIGTERM).
   */
  public void stop() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      LIVE.remove(this);
      return;
    }
    List<ProcessHandle> tree = ProcessTree.of(p);
    for (ProcessHandle h : tree) h.destroy();
    if (!ProcessTree.awaitExit(tree, EXIT_TIMEOUT)) {
      killTree(false);
      throw new IllegalStateException("member " + name + " did not exit within " + EXIT_TIMEOUT
          + " after SIGTERM; killed it" + logTail());
    }
    LIVE.remove(this);
  }

  /** Starts the member again with the same command line and waits until healthy (stops it first if running). */
  public void restart() {
    if (isAlive()) stop();
    try {
      launch();
      awaitReady();
    } catch (RuntimeException | Error e) {
      killTree(false);
      throw e;
    }
  }

  /** Kills the member (with SIGKILL) if it is still alive. */
  @Override
  public void close() {
    killTree(false);
  }

  /** The last {@code n} lines of the log. */
  public String logTail(int n) {
    try {
      if (!Files.exists(log)) return "(no log file " + log + ")";
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  @Override
  public String toString() {
    return binary.name().toLowerCase() + " member " + name + " at " + endpoint();
  }

  // ---------------------------------------------------------------------------------------------

  private String logTail() {
    return "\n--- last lines of " + log + ":\n" + logTail(80);
  }

  private void launch() {
    awaitPortsFree();
    process = ProcessTree.start(command, log, "e2e harness");
    LIVE.add(this);
  }

  private void awaitPortsFree() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!(Ports.isFree(host, clientPort) && Ports.isFree(host, clientPort + 1))) {
      if (System.nanoTime() > deadline) {
        // never talk to a leftover process that holds our address
        throw new IllegalStateException("cannot start " + this + ": " + host + ":" + clientPort + " or :"
            + (clientPort + 1) + " is in use by another process");
      }
      sleep(100);
    }
  }

  private void awaitReady() {
    long timeoutSeconds = binary.readyTimeoutSeconds();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    Etcdctl.Result last = null;
    while (true) {
      Process p = process;
      if (!p.isAlive()) {
        throw new IllegalStateException(this + " exited with code " + p.exitValue()
            + " before becoming healthy" + logTail());
      }
      last = Etcdctl.exec(List.of("--endpoints=" + endpoint(), "--dial-timeout=1s", "--command-timeout=3s"),
          null, Duration.ofSeconds(20), "endpoint", "health");
      if (last.exitCode() == 0) {
        if (!p.isAlive()) continue; // reports the exit above
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(this + " not healthy after " + timeoutSeconds + " s (started as: "
            + String.join(" ", command) + ")\n--- last `etcdctl endpoint health`:" + last.describe()
            + logTail());
      }
      sleep(250);
    }
  }

  private void killTree(boolean failIfStuck) {
    Process p = process;
    if (p == null) {
      LIVE.remove(this);
      return;
    }
    List<ProcessHandle> tree = ProcessTree.of(p);
    for (ProcessHandle h : tree) h.destroyForcibly();
    boolean gone = ProcessTree.awaitExit(tree, EXIT_TIMEOUT);
    LIVE.remove(this);
    if (!gone && failIfStuck) {
      throw new IllegalStateException(this + " did not die within " + EXIT_TIMEOUT + " after SIGKILL");
    }
  }

  private static String flagValue(List<String> args, String flag) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith("--" + flag + "=")) return a.substring(flag.length() + 3);
      if (a.equals("--" + flag) && i + 1 < args.size()) return args.get(i + 1);
    }
    return null;
  }

  private static void addDefault(List<String> cmd, List<String> extra, String flag, String value) {
    boolean overridden = extra.stream().anyMatch(a -> a.equals("--" + flag) || a.startsWith("--" + flag + "="));
    if (!overridden) cmd.add("--" + flag + "=" + value);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
