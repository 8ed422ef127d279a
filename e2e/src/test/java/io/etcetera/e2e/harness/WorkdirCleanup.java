package io.etcetera.e2e.harness;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Deletes the work directories ({@link Workdirs}) a top-level test class made once the class is
 * done and none of its tests (nested ones included) failed; a failed class keeps all of them, with
 * member logs and data dirs, for diagnosis. {@code -De2e.keepWork=true} keeps everything.
 * Registered for every test class through JUnit's extension auto-detection
 * ({@code META-INF/services/org.junit.jupiter.api.extension.Extension}).
 *
 * <p>Test classes run one at a time in the test JVM (no parallel execution is configured), so the
 * directories handed out since the last top-level class finished are exactly this class's.
 */
public final class WorkdirCleanup implements AfterEachCallback, AfterAllCallback {

  private static final List<Path> HANDED_OUT = new ArrayList<>();
  private static boolean failed;

  /** Called by {@link Workdirs} for every directory it hands out. */
  static synchronized void handedOut(Path dir) {
    HANDED_OUT.add(dir);
  }

  private static synchronized void markFailed() {
    failed = true;
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (context.getExecutionException().isPresent()) markFailed();
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    if (context.getExecutionException().isPresent()) markFailed();
    boolean topLevel = context.getTestClass().map(c -> c.getEnclosingClass() == null).orElse(false);
    if (!topLevel) return;
    List<Path> dirs;
    boolean keep;
    synchronized (WorkdirCleanup.class) {
      dirs = List.copyOf(HANDED_OUT);
      keep = failed || Boolean.getBoolean("e2e.keepWork");
      HANDED_OUT.clear();
      failed = false;
    }
    if (keep) return;
    for (Path dir : dirs) Workdirs.delete(dir);
  }
}
