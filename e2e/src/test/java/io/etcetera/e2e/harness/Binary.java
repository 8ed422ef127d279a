package io.etcetera.e2e.harness;

import java.nio.file.Path;
import java.util.Locale;

/** Which server program a {@link Member} runs: Etcetera's launcher or the real etcd 3.4. */
public enum Binary {
  /** {@code <repository root>/bin/etcetera}, the server under test. */
  ETCETERA,
  /** The real etcd ({@code /usr/bin/etcd}), the reference. */
  ETCD;

  /** System property choosing the binary for tests that can run against both (default: etcetera). */
  public static final String PROPERTY = "e2e.binary";

  /** The executable to start. */
  public Path executable() {
    return this == ETCD ? Tools.etcd() : Tools.launcher();
  }

  /** How long to wait for the member to become healthy: Etcetera's launcher may build first. */
  public long readyTimeoutSeconds() {
    if (this == ETCD) return 60;
    return Long.getLong("etcetera.startTimeoutSeconds", 60);
  }

  /** {@code -De2e.binary=etcd|etcetera}; defaults to {@link #ETCETERA}. */
  public static Binary fromSystemProperty() {
    String v = System.getProperty(PROPERTY, "etcetera").trim().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "etcd", "real", "real-etcd" -> ETCD;
      case "etcetera", "" -> ETCETERA;
      default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be etcd or etcetera, not " + v);
    };
  }
}
