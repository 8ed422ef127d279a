package io.etcetera.e2e.cluster;

import io.etcetera.e2e.harness.Tools;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A long-running {@code etcdctl watch} (or any etcdctl command that does not end by itself) whose
 * stdout is collected while it runs, so a test can wait for a line and then act again.
 * {@link #close()} stops it (SIGTERM, then SIGKILL).
 */
public final class WatchProcess implements AutoCloseable {

  private final List<String> command;
  private final Process process;
  private final StringBuffer out = new StringBuffer();
  private final Path err;
  private final Thread reader;

  WatchProcess(List<String> globalFlags, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Tools.etcdctl().toString());
    cmd.addAll(globalFlags);
    cmd.addAll(Arrays.asList(args));
    this.command = List.copyOf(cmd);
    try {
      err = Files.createTempFile("etcdctl-watch", ".err");
      ProcessBuilder pb = new ProcessBuilder(cmd)
          .redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL_"));
      pb.environment().put("ETCDCTL_API", "3");
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + cmd, e);
    }
    reader = new Thread(() -> {
      try (Reader r = new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)) {
        char[] buf = new char[8192];
        int n;
        while ((n = r.read(buf)) >= 0) out.append(buf, 0, n);
      } catch (IOException ignored) {
        // process gone
      }
    }, "etcdctl-watch-stdout");
    reader.setDaemon(true);
    reader.start();
  }

  /** The complete lines printed so far. */
  public List<String> lines() {
    String s = out.toString();
    int end = s.lastIndexOf('\n');
    if (end < 0) return List.of();
    return Arrays.asList(s.substring(0, end).split("\n", -1));
  }

  /**
   * Waits until the output contains {@code expected} as consecutive complete lines; fails with the
   * output so far (and stderr) after {@code timeout} or if etcdctl exits first.
   */
  public void awaitLines(Duration timeout, String... expected) {
    List<String> want = Arrays.asList(expected);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (java.util.Collections.indexOfSubList(lines(), want) >= 0) return;
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("etcdctl watch did not print " + want + (process.isAlive() ? " within " + timeout
            : " (it exited with code " + process.exitValue() + ")") + ": " + String.join(" ", command)
            + "\n--- stdout:\n" + out + "\n--- stderr:\n" + stderr());
      }
      sleep(20);
    }
  }

  public String stderr() {
    try {
      return Files.readString(err);
    } catch (IOException e) {
      return "(cannot read stderr: " + e + ")";
    }
  }

  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      reader.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      try {
        Files.deleteIfExists(err);
      } catch (IOException ignored) {
        // temp file
      }
    }
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
