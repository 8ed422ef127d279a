package io.etcetera.e2e.watch;

import io.etcetera.e2e.harness.Binary;
import io.etcetera.e2e.harness.Etcdctl;
import io.etcetera.e2e.harness.Ports;
import io.etcetera.e2e.harness.Tools;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A single-member cluster started like {@link io.etcetera.e2e.harness.Member} (same binary, same
 * etcd flags, same log file next to the data dir, same health wait), but with extra environment
 * variables for the child process, which the shared harness does not pass: the slow-consumer test
 * caps Etcetera's heap through {@code ETCETERA_JAVA_OPTS}, which {@code bin/etcetera} reads (etcd
 * ignores it). {@link #close()} SIGKILLs the process and its descendants; a shutdown hook does it
 * too if the test JVM exits first.
 */
final class ServerProcess implements AutoCloseable {

  private final Binary binary;
  private final String host;
  private final int port;
  private final List<String> command;
  private final Path log;
  private final Process process;
  private final Thread reaper;

  private ServerProcess(Binary binary, Path dataDir, Ports.Address address, Map<String, String> env) {
    this.binary = binary;
    this.host = address.host();
    this.port = address.port();
    Path dir = dataDir.toAbsolutePath().normalize();
    this.log = dir.getParent().resolve(dir.getFileName() + ".log");
    String name = "e2e-" + port;
    String clientUrl = address.clientUrl();
    String peerUrl = address.peerUrl();
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.executable().toString());
    cmd.add("--name=" + name);
    cmd.add("--data-dir=" + dir);
    cmd.add("--listen-client-urls=" + clientUrl);
    cmd.add("--advertise-client-urls=" + clientUrl);
    cmd.add("--listen-peer-urls=" + peerUrl);
    cmd.add("--initial-advertise-peer-urls=" + peerUrl);
    cmd.add("--initial-cluster=" + name + "=" + peerUrl);
    this.command = List.copyOf(cmd);
    try {
      Files.createDirectories(dir.getParent());
      Files.writeString(log, "=== e2e watch test " + Instant.now() + ": starting " + env + " " + String.join(" ", cmd)
          + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      ProcessBuilder pb = new ProcessBuilder(cmd)
          .directory(Tools.root().toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().keySet().removeIf(k -> k.startsWith("ETCD_") || k.startsWith("ETCDCTL_")
          || k.equals("ETCETERA_JAVA_OPTS"));
      pb.environment().putAll(env);
      this.process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + cmd, e);
    }
    this.reaper = new Thread(this::kill, "e2e-watch-reaper");
    Runtime.getRuntime().addShutdownHook(reaper);
  }

  /** Starts {@code binary} with {@code env} added to its environment and waits until it is healthy. */
  static ServerProcess start(Binary binary, Path dataDir, Ports.Address address, Map<String, String> env) {
    ServerProcess s = new ServerProcess(binary, dataDir, address, env);
    try {
      s.awaitHealthy(binary.readyTimeoutSeconds());
      return s;
    } catch (RuntimeException | Error e) {
      s.close();
      throw e;
    }
  }

  String host() {
    return host;
  }

  int port() {
    return port;
  }

  String endpoint() {
    return "http://" + host + ":" + port;
  }

  /** The server's pid ({@code bin/etcetera} execs the JVM, so this is the JVM for Etcetera). */
  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  Path log() {
    return log;
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  String logTail(int n) {
    String[] lines = logText().split("\n");
    return String.join("\n", List.of(lines).subList(Math.max(0, lines.length - n), lines.length));
  }

  private void awaitHealthy(long timeoutSeconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException(binary + " exited with code " + process.exitValue() + " before becoming "
            + "healthy\n" + logTail(60));
      }
      Etcdctl.Result r = Etcdctl.exec(List.of("--endpoints=" + endpoint(), "--dial-timeout=1s", "--command-timeout=3s"),
          null, Duration.ofSeconds(20), "endpoint", "health");
      if (r.exitCode() == 0 && process.isAlive()) return;
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(binary + " not healthy after " + timeoutSeconds + " s (started as: "
            + String.join(" ", command) + ")" + r.describe() + "\n" + logTail(60));
      }
      WatchRpc.sleep(250);
    }
  }

  private void kill() {
    List<ProcessHandle> tree = new ArrayList<>();
    tree.add(process.toHandle());
    process.descendants().forEach(tree::add);
    for (ProcessHandle h : tree) h.destroyForcibly();
    for (ProcessHandle h : tree) {
      try {
        h.onExit().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // best effort
      }
    }
  }

  @Override
  public void close() {
    kill();
    try {
      Runtime.getRuntime().removeShutdownHook(reaper);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook runs anyway
    }
  }
}
