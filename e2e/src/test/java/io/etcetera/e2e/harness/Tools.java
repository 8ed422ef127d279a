package io.etcetera.e2e.harness;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Locates the external programs the e2e tests drive: the real {@code etcd} and {@code etcdctl}
 * binaries and the Etcetera launcher {@code bin/etcetera} at the repository root.
 *
 * <p>A missing program is a test failure with a message that says how to get it, never a skip:
 * the test command ({@code .ci/run}) installs etcd 3.4 with {@code apt-get install etcd-server
 * etcd-client}.
 */
public final class Tools {

  /** System property naming the repository root; set by e2e/pom.xml's surefire configuration. */
  public static final String ROOT_PROPERTY = "etcetera.root";

  private Tools() {}

  /** The real etcd server binary (env {@code ETCD_BIN} overrides the PATH search). */
  public static Path etcd() {
    return find("etcd", "ETCD_BIN", "etcd-server");
  }

  /** The real etcdctl binary (env {@code ETCDCTL_BIN} overrides the PATH search). */
  public static Path etcdctl() {
    return find("etcdctl", "ETCDCTL_BIN", "etcd-client");
  }

  /** The repository root: the directory holding {@code bin/etcetera} and the e2e module. */
  public static Path root() {
    Set<Path> candidates = new LinkedHashSet<>();
    String prop = System.getProperty(ROOT_PROPERTY);
    Path userDir = Paths.get(System.getProperty("user.dir")).toAbsolutePath().normalize();
    if (prop != null && !prop.isBlank()) {
      Path p = Paths.get(prop).toAbsolutePath().normalize();
      candidates.add(p);
      if (p.getParent() != null) candidates.add(p.getParent());
    }
    if (userDir.getParent() != null) candidates.add(userDir.getParent());
    candidates.add(userDir);
    for (Path c : candidates) {
      if (Files.isRegularFile(c.resolve("e2e").resolve("pom.xml"))
          || Files.isRegularFile(c.resolve("bin").resolve("etcetera"))) {
        return c;
      }
    }
    throw new AssertionError("cannot find the Etcetera repository root (looked at " + candidates
        + "); run the tests through Maven from the repository root, e.g. "
        + "`mvn -o test -pl e2e`, which sets -D" + ROOT_PROPERTY);
  }

  /** The launcher script {@code <root>/bin/etcetera}. */
  public static Path launcher() {
    Path launcher = root().resolve("bin").resolve("etcetera");
    if (!Files.isRegularFile(launcher)) {
      throw new AssertionError("the Etcetera launcher " + launcher + " does not exist; it is part of "
          + "the repository (bin/etcetera) and builds the distribution on first use");
    }
    if (!Files.isExecutable(launcher)) {
      throw new AssertionError("the Etcetera launcher " + launcher + " is not executable (chmod +x)");
    }
    return launcher;
  }

  private static Path find(String name, String envOverride, String debianPackage) {
    List<Path> looked = new ArrayList<>();
    String override = System.getenv(envOverride);
    if (override != null && !override.isBlank()) {
      Path p = Paths.get(override);
      if (Files.isExecutable(p)) return p;
      looked.add(p);
    }
    String path = System.getenv("PATH");
    List<String> dirs = new ArrayList<>();
    if (path != null) dirs.addAll(List.of(path.split(File.pathSeparator)));
    dirs.addAll(List.of("/usr/bin", "/usr/local/bin", "/usr/sbin", "/opt/etcd"));
    for (String dir : dirs) {
      if (dir.isEmpty()) continue;
      Path p = Paths.get(dir, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) return p;
      looked.add(p);
    }
    throw new AssertionError("`" + name + "` (real etcd 3.4) is not installed: looked at " + looked
        + ". The e2e tests need it and are never skipped; the test command (.ci/run) installs it with "
        + "`apt-get install -y etcd-server etcd-client` (Debian package " + debianPackage + "), "
        + "or point $" + envOverride + " at the binary.");
  }
}
