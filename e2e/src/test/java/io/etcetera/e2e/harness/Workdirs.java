package io.etcetera.e2e.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInfo;

/**
 * Per-test working directories under {@code e2e/target/e2e-work/<TestClass>/<testMethod>/} that,
 * unlike {@code @TempDir}, survive a failed test: member logs ({@link Member#log()}) and data dirs
 * are still there to read. The directory is emptied when the test starts; {@link WorkdirCleanup}
 * deletes a class's directories once all its tests passed (a member's data dir takes tens of MB:
 * the whole suite's would take over 10 GB).
 */
public final class Workdirs {

  private Workdirs() {}

  /** A fresh, empty directory for the running test. */
  public static Path of(TestInfo info) {
    String cls = info.getTestClass().map(Class::getSimpleName).orElse("unknown");
    String method = info.getTestMethod().map(java.lang.reflect.Method::getName).orElse("unknown");
    String display = info.getDisplayName().replaceAll("[^A-Za-z0-9._-]+", "_");
    String leaf = display.startsWith(method) ? method : method + "-" + display;
    if (leaf.length() > 120) leaf = leaf.substring(0, 120);
    return fresh(classDir(cls).resolve(leaf));
  }

  /** The directory that holds the work of test class {@code simpleName}. */
  public static Path classDir(String simpleName) {
    return Tools.root().resolve("e2e").resolve("target").resolve("e2e-work").resolve(simpleName);
  }

  /** Deletes {@code dir} if present and creates it empty. */
  public static Path fresh(Path dir) {
    try {
      delete(dir);
      WorkdirCleanup.handedOut(dir);
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Deletes {@code dir} and everything under it, if present (best effort for single files). */
  public static void delete(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> walk = Files.walk(dir)) {
        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
