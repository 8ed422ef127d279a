package io.etcetera.server.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The member's configuration, typed and checked, from etcd's flags. Immutable.
 *
 * @param initialCluster member name → its peer URLs, from {@code --initial-cluster}
 */
public record ServerConfig(
    String name,
    Path dataDir,
    List<URI> listenClientUrls,
    List<URI> advertiseClientUrls,
    List<URI> listenPeerUrls,
    List<URI> initialAdvertisePeerUrls,
    Map<String, List<String>> initialCluster,
    String initialClusterToken,
    String initialClusterState,
    long maxRequestBytes,
    int maxTxnOps,
    long quotaBackendBytes,
    Duration grpcKeepaliveMinTime,
    Duration grpcKeepaliveInterval,
    Duration grpcKeepaliveTimeout,
    long maxConcurrentStreams,
    String logLevel,
    boolean unsafeNoFsync,
    boolean forceNewCluster,
    Duration watchProgressNotifyInterval,
    long heartbeatMillis,
    long electionTimeoutMillis,
    ClientTls clientTls,
    ClientTls peerTls,
    String authToken,
    int bcryptCost,
    long authTokenTtlSeconds,
    long snapshotCount,
    List<URI> listenMetricsUrls,
    AutoCompactionPolicy autoCompaction) {

  /**
   * One side's TLS flags: certificate and key files (or {@code autoTls}), the CA bundle that
   * verifies the other side, whether a verified certificate is required, and the allowed
   * versions and cipher suites (shared by both sides, as in etcd). Immutable.
   */
  public record ClientTls(String certFile, String keyFile, String trustedCaFile, boolean clientCertAuth,
      boolean autoTls, String cipherSuites, String minVersion, String maxVersion, ClientChecks checks) {
    public boolean hasCert() {
      return !certFile.isEmpty() && !keyFile.isEmpty();
    }

    public boolean isEmpty() {
      return !hasCert() && !autoTls;
    }
  }

  /**
   * etcd's extra checks of the certificates a listener's clients present: a revocation list
   * ({@code --client-crl-file}, {@code --peer-crl-file}), the only Common Name accepted
   * ({@code --peer-cert-allowed-cn}) and a host name the certificate must be valid for
   * ({@code --client-cert-allowed-hostname}, {@code --peer-cert-allowed-hostname}). Empty: not
   * asked. Immutable.
   */
  public record ClientChecks(String crlFile, String allowedCn, String allowedHostname) {
    public static final ClientChecks NONE = new ClientChecks("", "", "");
  }

  /** etcd's default {@code --max-request-bytes}: 1.5 MiB. */
  public static final long DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024;

  public static ServerConfig from(EtcdFlags.Parsed f) {
    String name = f.get("name");
    String dataDir = f.get("data-dir").isEmpty() ? name + ".etcd" : f.get("data-dir");
    if (f.isSet("listen-client-urls") && !f.isSet("advertise-client-urls")) {
      throw new FlagException("--advertise-client-urls is required when --listen-client-urls is set explicitly");
    }
    List<URI> peerUrls = urls("initial-advertise-peer-urls", f.get("initial-advertise-peer-urls"));
    Map<String, List<String>> cluster = f.get("initial-cluster").isEmpty()
        ? Map.of(name, peerUrls.stream().map(URI::toString).toList())
        : parseCluster(f.get("initial-cluster"));
    if (!cluster.containsKey(name)) {
      throw new FlagException("couldn't find local name \"" + name + "\" in the initial cluster configuration");
    }
    String state = f.get("initial-cluster-state");
    if (!state.equals("new") && !state.equals("existing")) {
      throw new FlagException("invalid value \"" + state + "\" for flag -initial-cluster-state: valid values are new, existing");
    }
    long maxRequestBytes = number("max-request-bytes", f.get("max-request-bytes"));
    long maxTxnOps = number("max-txn-ops", f.get("max-txn-ops"));
    if (maxTxnOps <= 0 || maxTxnOps > Integer.MAX_VALUE) {
      throw new FlagException("invalid value for --max-txn-ops: " + maxTxnOps);
    }
    return new ServerConfig(
        name,
        Path.of(dataDir),
        urls("listen-client-urls", f.get("listen-client-urls")),
        urls("advertise-client-urls", f.get("advertise-client-urls")),
        urls("listen-peer-urls", f.get("listen-peer-urls")),
        peerUrls,
        cluster,
        f.get("initial-cluster-token"),
        state,
        maxRequestBytes,
        (int) maxTxnOps,
        number("quota-backend-bytes", f.get("quota-backend-bytes")),
        GoDuration.parse("grpc-keepalive-min-time", f.get("grpc-keepalive-min-time")),
        GoDuration.parse("grpc-keepalive-interval", f.get("grpc-keepalive-interval")),
        GoDuration.parse("grpc-keepalive-timeout", f.get("grpc-keepalive-timeout")),
        number("max-concurrent-streams", f.get("max-concurrent-streams")),
        f.bool("debug") ? "debug" : f.get("log-level"),
        f.bool("unsafe-no-fsync"),
        f.bool("force-new-cluster"),
        GoDuration.parse("experimental-watch-progress-notify-interval",
            f.get("experimental-watch-progress-notify-interval")),
        number("heartbeat-interval", f.get("heartbeat-interval")),
        number("election-timeout", f.get("election-timeout")),
        tls(f, ""),
        tls(f, "peer-"),
        authToken(f.get("auth-token")),
        (int) number("bcrypt-cost", f.get("bcrypt-cost")),
        number("auth-token-ttl", f.get("auth-token-ttl")),
        positive("snapshot-count", number("snapshot-count", f.get("snapshot-count"))),
        f.get("listen-metrics-urls").isEmpty() ? List.of() : urls("listen-metrics-urls", f.get("listen-metrics-urls")),
        autoCompaction(f.get("auto-compaction-mode"), f.get("auto-compaction-retention")));
  }

  private static AutoCompactionPolicy autoCompaction(String mode, String retention) {
    return AutoCompactionPolicy.parse(mode, retention.isEmpty() ? "0" : retention);
  }


  private static ClientTls tls(EtcdFlags.Parsed f, String prefix) {
    ClientTls t = new ClientTls(f.get(prefix + "cert-file"), f.get(prefix + "key-file"), f.get(prefix + "trusted-ca-file"),
        f.bool(prefix + "client-cert-auth"), f.bool(prefix + "auto-tls"), f.get("cipher-suites"),
        f.get("tls-min-version"), f.get("tls-max-version"), prefix.isEmpty()
            ? new ClientChecks(f.get("client-crl-file"), "", f.get("client-cert-allowed-hostname"))
            : new ClientChecks(f.get("peer-crl-file"), f.get("peer-cert-allowed-cn"), f.get("peer-cert-allowed-hostname")));
    if (!t.checks().allowedCn().isEmpty() && !t.checks().allowedHostname().isEmpty()) {
      throw new FlagException("AllowedCN and AllowedHostname are mutually exclusive (cn=\"" + t.checks().allowedCn()
          + "\", hostname=\"" + t.checks().allowedHostname() + "\")");
    }
    if (t.certFile().isEmpty() != t.keyFile().isEmpty()) {
      throw new FlagException("--" + prefix + "cert-file and --" + prefix + "key-file must be given together");
    }
    for (String v : new String[] {t.minVersion(), t.maxVersion()}) {
      if (!v.isEmpty() && !v.equals("TLS1.2") && !v.equals("TLS1.3")) {
        throw new FlagException("unexpected TLS version " + v + " (only TLS1.2 and TLS1.3 are supported)");
      }
    }
    return t;
  }

  private static String authToken(String v) {
    String kind = v.split(",", 2)[0];
    if (!kind.equals("simple") && !kind.equals("jwt")) {
      throw new FlagException("--auth-token=" + v + ": unknown token type (simple or jwt)");
    }
    return v;
  }

  /**
   * etcd's minimum lease TTL: 1.5 election timeouts (counted in whole heartbeat ticks), rounded up
   * to seconds; 2 s with the default flags.
   */
  public long minLeaseTtlSeconds() {
    long ticks = Math.max(1, electionTimeoutMillis / Math.max(1, heartbeatMillis));
    long millis = (3 * ticks) / 2 * heartbeatMillis;
    return (millis + 999) / 1000;
  }

  /** This member's peer URLs as listed in the initial cluster. */
  public List<String> localPeerUrls() {
    return initialCluster.get(name);
  }

  private static long positive(String flag, long v) {
    if (v <= 0) {
      throw new FlagException("invalid value \"" + v + "\" for flag -" + flag + ": must be positive");
    }
    return v;
  }

  static long number(String flag, String v) {
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new FlagException("invalid value \"" + v + "\" for flag -" + flag + ": parse error");
    }
  }

  /** The socket address a listen URL binds: all interfaces for an empty, {@code 0.0.0.0} or {@code ::} host. */
  public static java.net.InetSocketAddress bindAddress(URI u) {
    if (u.getPort() < 0) {
      throw new FlagException("listen URL " + u + " needs a port");
    }
    String host = u.getHost();
    if (host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("[::]") || host.equals("::")) {
      return new java.net.InetSocketAddress(u.getPort());
    }
    return new java.net.InetSocketAddress(host, u.getPort());
  }

  static List<URI> urls(String flag, String v) {
    List<URI> out = new ArrayList<>();
    for (String s : v.split(",")) {
      String t = s.trim();
      if (t.isEmpty()) {
        continue;
      }
      URI u;
      try {
        u = new URI(t);
      } catch (java.net.URISyntaxException e) {
        throw new FlagException("invalid value \"" + v + "\" for flag -" + flag + ": " + e.getMessage());
      }
      if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")
          || u.getScheme().equals("unix") || u.getScheme().equals("unixs"))) {
        throw new FlagException("invalid value \"" + v + "\" for flag -" + flag + ": URL scheme must be http, https, unix, or unixs: " + t);
      }
      if (u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/")) {
        throw new FlagException("invalid value \"" + v + "\" for flag -" + flag + ": URL must not contain a path: " + t);
      }
      out.add(u);
    }
    if (out.isEmpty()) {
      throw new FlagException("flag -" + flag + " needs at least one URL");
    }
    return List.copyOf(out);
  }

  static Map<String, List<String>> parseCluster(String v) {
    Map<String, List<String>> m = new LinkedHashMap<>();
    for (String part : v.split(",")) {
      String t = part.trim();
      if (t.isEmpty()) {
        continue;
      }
      int eq = t.indexOf('=');
      if (eq <= 0) {
        throw new FlagException("invalid value \"" + v + "\" for flag -initial-cluster: missing '=' in " + t);
      }
      String url = t.substring(eq + 1);
      urls("initial-cluster", url);
      m.computeIfAbsent(t.substring(0, eq), k -> new ArrayList<>()).add(url);
    }
    return m;
  }
}
