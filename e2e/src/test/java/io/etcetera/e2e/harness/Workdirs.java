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
 * unlike {@code @TempDir}, survive the test: member logs ({@link Member#log()}) and data dirs are
 * still there to read after a failure. The directory is emptied when the test starts.
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
    return fresh(Tools.root().resolve("e2e").resolve("target").resolve("e2e-work").resolve(cls).resolve(leaf));
  }

  /** Deletes {@code dir} if present and creates it empty. */
  public static Path fresh(Path dir) {
    try {
      if (Files.exists(dir)) {
        try (Stream<Path> walk = Files.walk(dir)) {
          walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
