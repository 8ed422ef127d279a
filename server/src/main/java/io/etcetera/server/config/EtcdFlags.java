package io.etcetera.server.config;

import static io.etcetera.server.config.EtcdFlag.noEffect;
import static io.etcetera.server.config.EtcdFlag.noEffectBool;
import static io.etcetera.server.config.EtcdFlag.notYet;
import static io.etcetera.server.config.EtcdFlag.notYetBool;
import static io.etcetera.server.config.EtcdFlag.used;
import static io.etcetera.server.config.EtcdFlag.usedBool;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * etcd's server flags, parsed as etcd parses them: {@code --flag=value}, {@code --flag value},
 * a single dash as well, booleans alone or with {@code =true|false}, the last occurrence wins,
 * {@code ETCD_*} environment variables for flags not given on the command line, and an unknown
 * flag is an error. Stateless.
 */
public final class EtcdFlags {
  private static final String TLS = "a later TLS issue";
  private static final String RAFT = "the Raft issue";
  private static final String OPS = "the operations issue";

  /** Every flag of etcd 3.4 and the 3.5 ones a 3.5 unit may carry. */
  static final List<EtcdFlag> FLAGS = List.of(
      used("config-file", ""),
      // member
      used("name", "default"),
      used("data-dir", ""),
      noEffect("wal-dir", ""),
      used("listen-peer-urls", "http://localhost:2380"),
      used("listen-client-urls", "http://localhost:2379"),
      notYet("listen-client-http-urls", "", OPS),
      used("listen-metrics-urls", ""),
      noEffect("max-snapshots", "5"),
      noEffect("max-wals", "5"),
      used("snapshot-count", "100000"),
      used("heartbeat-interval", "100"),
      used("election-timeout", "1000"),
      noEffect("initial-election-tick-advance", "true"),
      used("quota-backend-bytes", "0"),
      noEffect("backend-batch-interval", "0"),
      noEffect("backend-batch-limit", "0"),
      used("max-txn-ops", "128"),
      used("max-request-bytes", "1572864"),
      used("grpc-keepalive-min-time", "5s"),
      used("grpc-keepalive-interval", "2h0m0s"),
      used("grpc-keepalive-timeout", "20s"),
      used("max-concurrent-streams", "4294967295"),
      noEffectBool("socket-reuse-port"),
      noEffectBool("socket-reuse-address"),
      // clustering
      used("initial-advertise-peer-urls", "http://localhost:2380"),
      used("advertise-client-urls", "http://localhost:2379"),
      notYet("discovery", "", RAFT),
      noEffect("discovery-fallback", "proxy"),
      notYet("discovery-proxy", "", RAFT),
      notYet("discovery-srv", "", RAFT),
      notYet("discovery-srv-name", "", RAFT),
      used("initial-cluster", ""),
      used("initial-cluster-token", "etcd-cluster"),
      used("initial-cluster-state", "new"),
      noEffect("strict-reconfig-check", "true"),
      notYetBool("enable-v2", "never: Etcetera serves only the v3 API"),
      noEffect("pre-vote", "false"),
      // proxy (v2 proxy mode is not served)
      new EtcdFlag("proxy", "off", false, FlagSupport.NOT_YET, "never: etcd's v2 proxy mode is not served"),
      noEffect("proxy-failure-wait", "5000"),
      noEffect("proxy-refresh-interval", "30000"),
      noEffect("proxy-dial-timeout", "1000"),
      noEffect("proxy-write-timeout", "5000"),
      noEffect("proxy-read-timeout", "0"),
      // security
      used("cert-file", ""),
      used("key-file", ""),
      usedBool("client-cert-auth"),
      used("client-crl-file", ""),
      used("client-cert-allowed-hostname", ""),
      used("trusted-ca-file", ""),
      usedBool("auto-tls"),
      used("peer-cert-file", ""),
      used("peer-key-file", ""),
      usedBool("peer-client-cert-auth"),
      used("peer-trusted-ca-file", ""),
      usedBool("peer-auto-tls"),
      used("peer-crl-file", ""),
      used("peer-cert-allowed-cn", ""),
      used("peer-cert-allowed-hostname", ""),
      notYetBool("experimental-peer-skip-client-san-verification", TLS),
      used("cipher-suites", ""),
      used("tls-min-version", "TLS1.2"),
      used("tls-max-version", ""),
      noEffect("self-signed-cert-validity", "1"),
      noEffect("cors", "*"),
      noEffect("host-whitelist", "*"),
      // logging
      used("logger", "zap"),
      used("log-output", "default"),
      used("log-outputs", "default"),
      usedBool("debug"),
      used("log-level", "info"),
      noEffect("log-package-levels", ""),
      noEffect("log-format", "json"),
      noEffectBool("enable-log-rotation"),
      noEffect("log-rotation-config-json", ""),
      // version
      usedBool("version"),
      // compaction
      used("auto-compaction-retention", "0"),
      used("auto-compaction-mode", "periodic"),
      // profiling and monitoring
      noEffectBool("enable-pprof"),
      noEffect("metrics", "basic"),
      // auth
      used("auth-token", "simple"),
      used("bcrypt-cost", "10"),
      used("auth-token-ttl", "300"),
      // gateway, experimental
      noEffect("enable-grpc-gateway", "true"),
      noEffectBool("experimental-initial-corrupt-check"),
      noEffect("experimental-corrupt-check-time", "0s"),
      noEffectBool("experimental-enable-v2v3"),
      noEffect("experimental-backend-bbolt-freelist-type", "map"),
      noEffectBool("experimental-enable-lease-checkpoint"),
      noEffectBool("experimental-enable-lease-checkpoint-persist"),
      noEffect("experimental-compaction-batch-limit", "1000"),
      noEffect("experimental-compaction-sleep-interval", "10ms"),
      used("experimental-watch-progress-notify-interval", "10m0s"),
      noEffect("experimental-warning-apply-duration", "100ms"),
      noEffect("experimental-warning-unary-request-duration", "300ms"),
      noEffectBool("experimental-memory-mlock"),
      noEffectBool("experimental-txn-mode-write-with-shared-buffer"),
      noEffect("experimental-snapshot-catchup-entries", "5000"),
      noEffect("experimental-max-learners", "1"),
      noEffect("experimental-downgrade-check-time", "5s"),
      noEffect("experimental-wait-cluster-ready-timeout", "5s"),
      noEffectBool("experimental-enable-distributed-tracing"),
      noEffect("experimental-distributed-tracing-address", "localhost:4317"),
      noEffect("experimental-distributed-tracing-service-name", "etcd"),
      noEffect("experimental-distributed-tracing-instance-id", ""),
      noEffect("experimental-distributed-tracing-sampling-rate", "0"),
      noEffectBool("experimental-stop-grpc-service-on-defrag"),
      noEffect("experimental-bootstrap-defrag-threshold-megabytes", "0"),
      noEffectBool("experimental-compact-hash-check-enabled"),
      noEffect("experimental-compact-hash-check-time", "1m0s"),
      // unsafe
      usedBool("unsafe-no-fsync"),
      usedBool("force-new-cluster"));

  private EtcdFlags() {}

  /** The parsed flags: every flag's value, and which ones the user gave (command line or environment). */
  /**
   * @param notes lines to log once logging is set up (the config file in use, keys it ignored)
   */
  public record Parsed(Map<String, String> values, Map<String, String> given, boolean help, List<String> notes) {
    public Parsed(Map<String, String> values, Map<String, String> given, boolean help) {
      this(values, given, help, List.of());
    }

    public String get(String name) {
      String v = values.get(name);
      if (v == null) {
        throw new IllegalArgumentException("no flag " + name);
      }
      return v;
    }

    public boolean isSet(String name) {
      return given.containsKey(name);
    }

    public boolean bool(String name) {
      return Boolean.parseBoolean(get(name));
    }
  }

  /** Parses {@code args} and {@code env}; throws FlagException with etcd-style text on a bad flag. */
  public static Parsed parse(String[] args, Map<String, String> env) {
    CommandSpec spec = CommandSpec.create().name("etcetera");
    spec.parser().overwrittenOptionsAllowed(true);
    spec.parser().unmatchedOptionsArePositionalParams(false);
    for (EtcdFlag f : FLAGS) {
      OptionSpec.Builder b = OptionSpec.builder("--" + f.name(), "-" + f.name());
      if (f.bool()) {
        b.type(String.class).arity("0..1").fallbackValue("true");
      } else {
        b.type(String.class).arity("1");
      }
      spec.addOption(b.build());
    }
    spec.addOption(OptionSpec.builder("--help", "-h", "-help").arity("0").type(boolean.class).build());
    ParseResult pr;
    try {
      pr = new CommandLine(spec).parseArgs(args);
    } catch (CommandLine.UnmatchedArgumentException e) {
      List<String> unmatched = e.getUnmatched();
      String first = unmatched.isEmpty() ? "?" : unmatched.get(0);
      if (first.startsWith("-")) {
        throw new FlagException("flag provided but not defined: " + first.replaceFirst("=.*", ""));
      }
      throw new FlagException("'" + first + "' is not a valid flag");
    } catch (CommandLine.ParameterException e) {
      throw new FlagException(e.getMessage());
    }
    Map<String, String> given = new LinkedHashMap<>();
    for (EtcdFlag f : FLAGS) {
      OptionSpec o = spec.findOption("--" + f.name());
      if (pr.hasMatchedOption(o)) {
        String v = pr.matchedOptionValue("--" + f.name(), (String) null);
        if (f.bool()) {
          v = parseBool(f, v == null ? "true" : v);
        }
        given.put(f.name(), v);
      }
    }
    for (EtcdFlag f : FLAGS) {
      String v = env.get(f.envName());
      if (v != null && !given.containsKey(f.name())) {
        given.put(f.name(), f.bool() ? parseBool(f, v) : v);
      }
    }
    List<String> notes = new java.util.ArrayList<>();
    String configFile = given.get("config-file");
    if (configFile != null && !configFile.isEmpty()) {
      // etcd: the file replaces the command line and the environment
      Map<String, EtcdFlag> byName = new LinkedHashMap<>();
      FLAGS.forEach(f -> byName.put(f.name(), f));
      Map<String, String> fromFile = EtcdConfigFile.read(java.nio.file.Path.of(configFile), byName.keySet(), notes::add);
      given = new LinkedHashMap<>();
      given.put("config-file", configFile);
      for (Map.Entry<String, String> e : fromFile.entrySet()) {
        EtcdFlag f = byName.get(e.getKey());
        given.put(f.name(), f.bool() ? parseBool(f, e.getValue()) : e.getValue());
      }
      notes.add(0, "loaded server configuration from " + configFile
          + "; other configuration command line flags and environment variables are ignored");
    }
    Map<String, String> values = new LinkedHashMap<>();
    for (EtcdFlag f : FLAGS) {
      values.put(f.name(), given.getOrDefault(f.name(), f.defaultValue()));
    }
    for (EtcdFlag f : FLAGS) {
      if (f.support() == FlagSupport.NOT_YET && given.containsKey(f.name())
          && !given.get(f.name()).equals(f.defaultValue())) {
        throw new FlagException("flag --" + f.name() + " is not supported by Etcetera yet (planned in "
            + f.later() + ")");
      }
    }
    return new Parsed(values, given, pr.hasMatchedOption("--help"), List.copyOf(notes));
  }

  private static String parseBool(EtcdFlag f, String v) {
    return switch (v.toLowerCase(java.util.Locale.ROOT)) {
      case "true", "1", "t" -> "true";
      case "false", "0", "f" -> "false";
      default -> throw new FlagException("invalid boolean value \"" + v + "\" for -" + f.name());
    };
  }

  /** Usage text: etcd's flags with their defaults and Etcetera's support. */
  public static String usage() {
    StringBuilder b = new StringBuilder("Usage: etcetera [flags]\n\nStarts an Etcetera member with etcd's flags"
        + " (also read from ETCD_* environment variables).\n\n");
    for (EtcdFlag f : FLAGS) {
      b.append("  --").append(f.name());
      if (!f.bool()) {
        b.append(" '").append(f.defaultValue()).append('\'');
      }
      switch (f.support()) {
        case NO_EFFECT -> b.append("  (accepted; no effect in Etcetera)");
        case NOT_YET -> b.append("  (not supported yet: ").append(f.later()).append(')');
        default -> { }
      }
      b.append('\n');
    }
    return b.toString();
  }
}
