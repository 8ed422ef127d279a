package io.etcetera.server.json;

/**
 * JSON text as Go's encoding/json writes it, for the few documents Etcetera writes by hand in
 * etcd's exact shape (the /health answer, the member rows of a snapshot). Stateless.
 */
public final class GoJson {
  private GoJson() {}

  /**
   * {@code s} as a JSON string, quotes included, escaped as encoding/json does: quote, backslash,
   * control characters, and (its HTML-safe default) {@code <}, {@code >}, {@code &}.
   */
  public static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '<', '>', '&' -> b.append(String.format("\\u%04x", (int) c));
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
