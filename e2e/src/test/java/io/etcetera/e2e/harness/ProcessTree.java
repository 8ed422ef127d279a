package io.etcetera.e2e.harness;

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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starting a member process and stopping it with its descendants (the launcher may fork the JVM):
 * shared by {@link Member} and the cluster harness. Stateless.
 */
public final class ProcessTree {
  private ProcessTree() {}

  /**
   * Starts {@code command} in the repository root, stdout and stderr appended to {@code log} after
   * a banner line, stdin from /dev/null, and no {@code ETCD_*}/{@code ETCDCTL_*} variable
   * inherited (etcd reads them as flags).
   */
  public static Process start(List<String> command, Path log, String banner) {
    try {
      Files.createDirectories(log.getParent());
      Files.writeString(log, "=== " + banner + " " + Instant.now() + ": starting " + String.join(" ", command) + "\n",
          StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      ProcessBuilder pb = new ProcessBuilder(command)
          .directory(Tools.root().toFile())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().keySet().removeIf(k -> k.startsWith("ETCD_") || k.startsWith("ETCDCTL_"));
      return pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  /** The process first, then its descendants, snapshotted before any signal (orphans get reparented). */
  public static List<ProcessHandle> of(Process p) {
    List<ProcessHandle> tree = new ArrayList<>();
    tree.add(p.toHandle());
    p.descendants().forEach(tree::add);
    return tree;
  }

  /** Whether every process of {@code tree} exited within {@code timeout}. */
  public static boolean awaitExit(List<ProcessHandle> tree, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (ProcessHandle h : tree) {
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0) return tree.stream().noneMatch(ProcessHandle::isAlive);
        h.onExit().get(left, TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        return false;
      } catch (ExecutionException e) {
        // onExit never completes exceptionally; treat as gone
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }
}
