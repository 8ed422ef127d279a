package io.etcetera.e2e.differential;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A differential run's transcript: one normalised {@link Observation} per etcdctl step, and the
 * field-by-field comparison of two transcripts (real etcd against Etcetera, or etcd against etcd
 * as a self-check of the normalisation), with a readable report. Shared by the differential tests.
 */
public final class Transcript {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private Transcript() {}

  /** What one step produced, normalised. */
  public record Observation(String command, int exitCode, JsonNode json, String text, List<String> errors) {
    public String render() {
      StringBuilder sb = new StringBuilder();
      sb.append("exit ").append(exitCode).append('\n');
      if (json != null) {
        try {
          sb.append(JSON.writeValueAsString(sorted(json))).append('\n');
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      } else if (!text.isEmpty()) {
        sb.append(text.endsWith("\n") ? text : text + "\n(no newline at end)\n");
      }
      for (String e : errors) sb.append("stderr: ").append(e).append('\n');
      return sb.toString();
    }
  }

  public static JsonNode sorted(JsonNode n) {
    if (n.isObject()) {
      ObjectNode o = JSON.createObjectNode();
      TreeMap<String, JsonNode> fields = new TreeMap<>();
      n.fields().forEachRemaining(e -> fields.put(e.getKey(), sorted(e.getValue())));
      fields.forEach(o::set);
      return o;
    }
    if (n.isArray()) {
      ArrayNode a = JSON.createArrayNode();
      n.forEach(e -> a.add(sorted(e)));
      return a;
    }
    return n;
  }

  // comparing

  /** Human-readable differences between two runs; empty when they agree. */
  public static List<String> compare(String leftName, List<Observation> left, String rightName, List<Observation> right) {
    List<String> report = new ArrayList<>();
    for (int i = 0; i < Math.min(left.size(), right.size()); i++) {
      Observation l = left.get(i);
      Observation r = right.get(i);
      List<String> diffs = new ArrayList<>();
      if (l.exitCode() != r.exitCode()) {
        diffs.add("exit code: " + leftName + "=" + l.exitCode() + " " + rightName + "=" + r.exitCode());
      }
      if (l.json() != null && r.json() != null) {
        diffJson("$", l.json(), r.json(), leftName, rightName, diffs);
      } else if (!Objects.equals(l.text(), r.text()) || (l.json() == null) != (r.json() == null)) {
        diffs.add("stdout differs");
      }
      if (!l.errors().equals(r.errors())) diffs.add("stderr differs");
      if (!diffs.isEmpty()) {
        StringBuilder sb = new StringBuilder();
        sb.append("#").append(i + 1).append(' ').append(l.command()).append('\n');
        for (String d : diffs) sb.append("    ").append(d).append('\n');
        sb.append("  --- ").append(leftName).append(":\n").append(indent(l.render()));
        sb.append("  --- ").append(rightName).append(":\n").append(indent(r.render()));
        report.add(sb.toString());
      }
    }
    if (left.size() != right.size()) {
      report.add("different number of steps: " + left.size() + " vs " + right.size());
    }
    return report;
  }

  private static void diffJson(String path, JsonNode l, JsonNode r, String ln, String rn, List<String> out) {
    if (l.isObject() && r.isObject()) {
      TreeMap<String, Boolean> names = new TreeMap<>();
      l.fieldNames().forEachRemaining(f -> names.put(f, true));
      r.fieldNames().forEachRemaining(f -> names.put(f, true));
      for (String f : names.keySet()) {
        JsonNode lv = l.get(f);
        JsonNode rv = r.get(f);
        if (lv == null || rv == null) {
          out.add(path + "." + f + ": " + ln + "=" + show(f, lv) + " " + rn + "=" + show(f, rv));
        } else {
          diffJson(path + "." + f, lv, rv, ln, rn, out);
        }
      }
    } else if (l.isArray() && r.isArray()) {
      if (l.size() != r.size()) out.add(path + ": " + ln + " has " + l.size() + " elements, " + rn + " has " + r.size());
      for (int i = 0; i < Math.min(l.size(), r.size()); i++) diffJson(path + "[" + i + "]", l.get(i), r.get(i), ln, rn, out);
    } else if (!l.equals(r)) {
      String field = path.substring(path.lastIndexOf('.') + 1);
      out.add(path + ": " + ln + "=" + show(field, l) + " " + rn + "=" + show(field, r));
    }
  }

  /** A value for the report; base64 keys and values are shown decoded as well. */
  private static String show(String field, JsonNode v) {
    if (v == null) return "(absent)";
    if (v.isTextual() && (field.equals("key") || field.equals("value"))) {
      try {
        String decoded = new String(Base64.getDecoder().decode(v.asText()), StandardCharsets.UTF_8);
        if (decoded.length() > 40) decoded = decoded.substring(0, 40) + "...";
        return v + " (" + decoded + ")";
      } catch (IllegalArgumentException e) {
        return v.toString();
      }
    }
    String s = v.toString();
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  private static String indent(String s) {
    return ("      " + s.strip()).replace("\n", "\n      ") + "\n";
  }

  public static void assertSame(String leftName, List<Observation> left, String rightName, List<Observation> right,
      Path dir) {
    List<String> report = compare(leftName, left, rightName, right);
    if (!report.isEmpty()) {
      String msg = report.size() + " of " + left.size() + " commands differ between " + leftName + " and " + rightName
          + " (later differences may follow from the first; transcripts in " + dir + ")\n\n"
          + String.join("\n", report);
      try {
        Files.writeString(dir.resolve("differences.txt"), msg);
      } catch (IOException e) {
        // debugging aid only
      }
      System.err.println(msg);
      throw new AssertionError(msg);
    }
  }

}
