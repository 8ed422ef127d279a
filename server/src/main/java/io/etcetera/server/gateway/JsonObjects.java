package io.etcetera.server.gateway;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a request body that holds several JSON objects one after the other (how a gateway
 * client sends the messages of a client stream) into the text of each, by brace depth outside
 * strings. Whitespace between objects is skipped; anything else there is an error. Stateless.
 */
final class JsonObjects {
  private JsonObjects() {}

  static List<String> split(String text) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    int start = -1;
    boolean inString = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (inString) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inString = false;
        }
        continue;
      }
      if (depth == 0 && Character.isWhitespace(c)) {
        continue;
      }
      if (depth == 0 && c != '{') {
        throw new IllegalArgumentException("expected a JSON object at offset " + i);
      }
      if (c == '"') {
        inString = true;
      } else if (c == '{') {
        if (depth++ == 0) {
          start = i;
        }
      } else if (c == '}') {
        if (--depth == 0) {
          out.add(text.substring(start, i + 1));
        }
      }
    }
    if (depth != 0 || inString) {
      throw new IllegalArgumentException("unexpected end of JSON input");
    }
    return out;
  }
}
