package io.etcetera.server.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * etcd's {@code --config-file}: a YAML document whose keys are the flags' names, read into the
 * same name → value map the command line gives (so every flag keeps one parser). As in etcd,
 * {@code client-transport-security} and {@code peer-transport-security} hold the TLS flags
 * ({@code cert-file}, {@code key-file}, {@code client-cert-auth}, {@code trusted-ca-file},
 * {@code auto-tls}; the peer ones get the {@code peer-} prefix), lists are what a flag takes
 * comma-separated, and durations are Go's {@code time.Duration} numbers (nanoseconds). Keys etcd
 * would ignore are reported and ignored. Stateless.
 */
final class EtcdConfigFile {
  /** Flags etcd's config struct holds as time.Duration: a number in YAML is nanoseconds. */
  private static final Set<String> DURATIONS = Set.of("grpc-keepalive-min-time", "grpc-keepalive-interval",
      "grpc-keepalive-timeout", "backend-batch-interval", "experimental-corrupt-check-time",
      "experimental-warning-apply-duration", "experimental-watch-progress-notify-interval");
  private static final List<String> TLS_KEYS = List.of("cert-file", "key-file", "client-cert-auth", "trusted-ca-file", "auto-tls");

  private EtcdConfigFile() {}

  /**
   * The flags {@code file} sets, by name (booleans as "true"/"false").
   *
   * @param known the flag names Etcetera knows
   * @param warn receives a line for each key that is ignored
   */
  static Map<String, String> read(Path file, Set<String> known, Consumer<String> warn) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new FlagException("cannot read the config file " + file + ": " + e.getMessage());
    }
    Object doc;
    try {
      doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
    } catch (RuntimeException e) {
      throw new FlagException("error converting YAML to JSON in " + file + ": " + e.getMessage().lines().findFirst().orElse(""));
    }
    Map<String, String> flags = new LinkedHashMap<>();
    if (doc == null) {
      return flags;
    }
    if (!(doc instanceof Map<?, ?> top)) {
      throw new FlagException("the config file " + file + " is not a YAML mapping of etcd's settings");
    }
    for (Map.Entry<?, ?> e : top.entrySet()) {
      String key = String.valueOf(e.getKey());
      Object value = e.getValue();
      if (key.equals("client-transport-security") || key.equals("peer-transport-security")) {
        if (value == null) {
          continue;
        }
        if (!(value instanceof Map<?, ?> tls)) {
          throw new FlagException("config file " + file + ": " + key + " must be a mapping");
        }
        String prefix = key.startsWith("peer") ? "peer-" : "";
        for (Map.Entry<?, ?> t : tls.entrySet()) {
          String name = String.valueOf(t.getKey());
          if (TLS_KEYS.contains(name)) {
            put(flags, file, prefix + name, t.getValue());
          } else {
            warn.accept("config file " + file + ": " + key + "." + name + " is not one of etcd's settings; ignored");
          }
        }
      } else if (key.equals("config-file")) {
        warn.accept("config file " + file + ": config-file inside a config file is ignored");
      } else if (known.contains(key)) {
        put(flags, file, key, value);
      } else {
        warn.accept("config file " + file + ": " + key + " is not one of etcd's settings; ignored");
      }
    }
    return flags;
  }

  private static void put(Map<String, String> flags, Path file, String name, Object value) {
    if (value == null) {
      return; // "key:" with nothing: Go leaves the default
    }
    String text;
    if (value instanceof List<?> list) {
      List<String> parts = new ArrayList<>();
      for (Object o : list) {
        parts.add(String.valueOf(o));
      }
      text = String.join(",", parts);
    } else if (value instanceof Map<?, ?>) {
      throw new FlagException("config file " + file + ": " + name + " must be a value, not a mapping");
    } else if (value instanceof Number n && DURATIONS.contains(name)) {
      text = n.longValue() + "ns";
    } else {
      text = String.valueOf(value);
    }
    flags.put(name, text);
  }
}
