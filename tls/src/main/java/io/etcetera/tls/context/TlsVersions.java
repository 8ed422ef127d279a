package io.etcetera.tls.context;

import java.util.ArrayList;
import java.util.List;

/**
 * etcd's {@code --tls-min-version}/{@code --tls-max-version} (TLS1.2, TLS1.3) and
 * {@code --cipher-suites} (Go's names, the IANA names Java also uses) mapped to JSSE. Stateless.
 */
public final class TlsVersions {
  private TlsVersions() {}

  /** The JSSE protocol names from {@code min} to {@code max} (empty max: the newest). */
  public static String[] protocols(String min, String max) {
    List<String> all = List.of("TLSv1.2", "TLSv1.3");
    int lo = index(min.isEmpty() ? "TLS1.2" : min);
    int hi = max.isEmpty() ? all.size() - 1 : index(max);
    if (lo > hi) {
      throw new IllegalArgumentException("--tls-min-version " + min + " is above --tls-max-version " + max);
    }
    return all.subList(lo, hi + 1).toArray(new String[0]);
  }

  private static int index(String v) {
    return switch (v) {
      case "TLS1.2" -> 0;
      case "TLS1.3" -> 1;
      default -> throw new IllegalArgumentException("unsupported TLS version " + v + " (TLS1.2 or TLS1.3)");
    };
  }

  /** Cipher suites from etcd's comma-separated list; null for the JDK's defaults. */
  public static List<String> cipherSuites(String csv) {
    if (csv == null || csv.isBlank()) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (String s : csv.split(",")) {
      String t = s.trim();
      if (!t.isEmpty()) {
        out.add(t);
      }
    }
    return out;
  }
}
