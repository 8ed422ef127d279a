package io.etcetera.e2e.cluster;

import io.etcetera.e2e.harness.ProcessTree;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One member process started with an arbitrary command line (unlike the harness's {@code Member},
 * which builds http URLs from host:port itself). Output goes to {@link #log()} (appended across
 * restarts). Killing works on the process tree (Etcetera's launcher may have children), like {@code
 * Member}; a JVM shutdown hook SIGKILLs whatever is still running.
 */
final class MemberProcess {

  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(30);
  private static final Set<MemberProcess> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (MemberProcess m : LIVE) m.kill(false);
    }, "e2e-cluster-reaper"));
  }

  private final String name;
  private final List<String> command;
  private final Path log;
  private volatile Process process;

  MemberProcess(String name, List<String> command, Path log) {
    this.name = name;
    this.command = List.copyOf(command);
    this.log = log;
  }

  List<String> command() {
    return command;
  }

  Path log() {
    return log;
  }

  /** Starts the command (again); the caller has checked that its ports are free. */
  void launch() {
    launch(List.of());
  }

  /** Starts the command with {@code extraFlags} appended, this once. */
  void launch(List<String> extraFlags) {
    if (isAlive()) throw new IllegalStateException(name + " is already running");
    List<String> c = new java.util.ArrayList<>(command);
    c.addAll(extraFlags);
    process = ProcessTree.start(c, log, "e2e cluster");
    LIVE.add(this);
  }

  boolean isAlive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** Exit code of the last process, or null while it runs (or if it never started). */
  Integer exitCode() {
    Process p = process;
    return p == null || p.isAlive() ? null : p.exitValue();
  }

  /** Waits up to {@code timeout} for the process to exit by itself; its exit code, or null if still running. */
  Integer awaitExit(Duration timeout) {
    Process p = process;
    if (p == null) return null;
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) return null;
      LIVE.remove(this);
      return p.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The pids of the process and its descendants (for attributing sockets, see {@link FaultProxy}). */
  Set<Long> pids() {
    Process p = process;
    if (p == null || !p.isAlive()) return Set.of();
    Set<Long> pids = new java.util.HashSet<>();
    pids.add(p.pid());
    p.descendants().forEach(h -> pids.add(h.pid()));
    return pids;
  }

  /** SIGKILL to the process tree; returns once it is gone (fails if it is not gone after 30 s and {@code failIfStuck}). */
  void kill(boolean failIfStuck) {
    Process p = process;
    if (p == null) {
      LIVE.remove(this);
      return;
    }
    List<ProcessHandle> tree = ProcessTree.of(p);
    for (ProcessHandle h : tree) h.destroyForcibly();
    boolean gone = ProcessTree.awaitExit(tree, EXIT_TIMEOUT);
    LIVE.remove(this);
    if (!gone && failIfStuck) throw new IllegalStateException(name + " did not die within " + EXIT_TIMEOUT + " after SIGKILL");
  }

  /** SIGTERM to the process tree; returns once it has exited. After 30 s it is SIGKILLed and this throws. */
  void terminate() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      LIVE.remove(this);
      return;
    }
    List<ProcessHandle> tree = ProcessTree.of(p);
    for (ProcessHandle h : tree) h.destroy();
    if (!ProcessTree.awaitExit(tree, EXIT_TIMEOUT)) {
      kill(false);
      throw new IllegalStateException(name + " did not exit within " + EXIT_TIMEOUT + " after SIGTERM; killed it"
          + "\n--- last lines of " + log + ":\n" + logTail(60));
    }
    LIVE.remove(this);
  }

  /** The last {@code n} lines of the log. */
  String logTail(int n) {
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
    return name;
  }
}
