package io.etcetera.server.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses durations written as Go writes them ("5s", "2h0m0s", "100ms", "1.5h"). Stateless. */
public final class GoDuration {
  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

  private GoDuration() {}

  public static Duration parse(String flag, String s) {
    String t = s.trim();
    if (t.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = PART.matcher(t);
    double nanos = 0;
    int pos = 0;
    while (pos < t.length() && m.find(pos) && m.start() == pos) {
      double n = Double.parseDouble(m.group(1));
      nanos += n * switch (m.group(2)) {
        case "ns" -> 1d;
        case "us", "µs" -> 1e3;
        case "ms" -> 1e6;
        case "s" -> 1e9;
        case "m" -> 60e9;
        default -> 3600e9;
      };
      pos = m.end();
    }
    if (pos != t.length() || t.isEmpty()) {
      throw new FlagException("invalid value \"" + s + "\" for flag -" + flag + ": parse error");
    }
    return Duration.ofNanos((long) nanos);
  }
}
