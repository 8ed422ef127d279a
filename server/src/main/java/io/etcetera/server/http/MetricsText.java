package io.etcetera.server.http;

import io.etcetera.mvcc.backend.Backend;
import io.etcetera.mvcc.kv.MvccStore;
import io.etcetera.raft.RaftGateway;
import io.etcetera.server.Version;
import io.etcetera.server.cluster.MemberIdentity;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Renders {@code /metrics} in Prometheus' text format (version 0.0.4) under etcd's metric names, for
 * the values Etcetera keeps: leadership and leader changes, Raft commit and apply progress,
 * backend size, quota and commit latency, MVCC revisions, health-check counts, the client
 * listeners' gRPC counters (go-grpc-prometheus' names and labels), and the process' CPU, memory and
 * file descriptors. Only metrics whose meaning matches etcd's are exported; nothing is made up.
 *
 * <p>Threading: stateless; reads volatile or atomic values of the components, so it may run on any
 * thread.
 */
public final class MetricsText {

  /** The Content-Type Prometheus expects for this format. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final MemberIdentity id;
  private final RaftGateway raft;
  private final MvccStore store;
  private final Backend backend;
  private final HealthChecks health;
  private final long quotaBytes;
  private final io.etcetera.server.grpc.GrpcCallCounts calls;
  private final double startSeconds = ManagementFactory.getRuntimeMXBean().getStartTime() / 1000.0;

  /**
   * @param quotaBytes the backend quota in force ({@code --quota-backend-bytes} as etcd applies it)
   * @param calls the client listeners' gRPC counters
   */
  public MetricsText(MemberIdentity id, RaftGateway raft, MvccStore store, Backend backend, HealthChecks health,
      long quotaBytes, io.etcetera.server.grpc.GrpcCallCounts calls) {
    this.quotaBytes = quotaBytes;
    this.calls = calls;
    this.id = id;
    this.raft = raft;
    this.store = store;
    this.backend = backend;
    this.health = health;
  }

  public String render() {
    StringBuilder out = new StringBuilder(4096);
    long leader = raft.leaderId();
    gauge(out, "etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.", leader != 0 ? 1 : 0);
    gauge(out, "etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
        leader != 0 && leader == raft.memberId() ? 1 : 0);
    gauge(out, "etcd_server_is_learner", "Whether or not this member is a learner. 1 if is, 0 otherwise.", raft.isLearner() ? 1 : 0);
    labeled(out, "etcd_server_id", "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
        "server_id", MemberIdentity.hex(id.memberId()));
    labeled(out, "etcd_server_version", "Which version is running. 1 for 'server_version' label with current version.",
        "server_version", Version.ETCD_API);
    labeled(out, "etcd_cluster_version", "Which version is running. 1 for 'cluster_version' label with current cluster version",
        "cluster_version", Version.ETCD_CLUSTER.substring(0, Version.ETCD_CLUSTER.lastIndexOf('.')));
    gauge(out, "etcd_server_proposals_committed_total", "The total number of consensus proposals committed.", raft.committedIndex());
    gauge(out, "etcd_server_proposals_applied_total", "The total number of consensus proposals applied.", raft.appliedIndex());
    counter(out, "etcd_server_health_success", "The total number of successful health checks", health.successes());
    counter(out, "etcd_server_health_failures", "The total number of failed health checks", health.failures());
    gauge(out, "etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.",
        backend.sizeOnDisk());
    gauge(out, "etcd_mvcc_db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in bytes.",
        backend.sizeInUse());
    gauge(out, "etcd_debugging_mvcc_current_revision", "The current revision of store.", store.currentRevision());
    gauge(out, "etcd_debugging_mvcc_compact_revision", "The revision of the last compaction in store.", store.compactRevision());
    counter(out, "etcd_server_leader_changes_seen_total", "The number of leader changes seen.", raft.leaderChangesSeen());
    gauge(out, "etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.", quotaBytes);
    histogram(out, "etcd_disk_backend_commit_duration_seconds",
        "The latency distributions of commit called by backend.", backend.commitDurations().snapshot());
    grpc(out);
    process(out);
    return out.toString();
  }

  /** go-grpc-prometheus' server counters, labels in its (alphabetical) order. */
  private void grpc(StringBuilder out) {
    header(out, "grpc_server_started_total", "Total number of RPCs started on the server.", "counter");
    calls.started().forEach((m, n) -> out.append("grpc_server_started_total{").append(labels(m)).append("} ").append(n).append('\n'));
    header(out, "grpc_server_handled_total",
        "Total number of RPCs completed on the server, regardless of success or failure.", "counter");
    calls.handled().forEach((h, n) -> out.append("grpc_server_handled_total{grpc_code=\"").append(h.code()).append("\",")
        .append(labels(h.method())).append("} ").append(n).append('\n'));
    header(out, "grpc_server_msg_received_total", "Total number of RPC stream messages received on the server.", "counter");
    calls.received().forEach((m, n) -> out.append("grpc_server_msg_received_total{").append(labels(m)).append("} ").append(n).append('\n'));
    header(out, "grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.", "counter");
    calls.sent().forEach((m, n) -> out.append("grpc_server_msg_sent_total{").append(labels(m)).append("} ").append(n).append('\n'));
  }

  private static String labels(io.etcetera.server.grpc.GrpcCallCounts.MethodLabels m) {
    return "grpc_method=\"" + m.method() + "\",grpc_service=\"" + m.service() + "\",grpc_type=\"" + m.type() + "\"";
  }

  private static void histogram(StringBuilder out, String name, String help, io.etcetera.mvcc.backend.DurationHistogram.Snapshot h) {
    header(out, name, help, "histogram");
    for (int i = 0; i < h.bounds().length; i++) {
      out.append(name).append("_bucket{le=\"").append(bound(h.bounds()[i])).append("\"} ").append(h.cumulative(i)).append('\n');
    }
    out.append(name).append("_bucket{le=\"+Inf\"} ").append(h.count()).append('\n');
    out.append(name).append("_sum ").append(h.sumSeconds()).append('\n');
    out.append(name).append("_count ").append(h.count()).append('\n');
  }

  /** A bucket bound as Go's Prometheus client prints it (shortest form: 0.001, 0.002, ..., 8.192). */
  private static String bound(double v) {
    return new java.math.BigDecimal(Double.toString(v)).stripTrailingZeros().toPlainString();
  }

  private void process(StringBuilder out) {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      counter(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
          os.getProcessCpuTime() / 1e9);
    }
    Long rss = residentBytes();
    if (rss != null) {
      gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", rss);
    }
    Path fds = Path.of("/proc/self/fd");
    if (Files.isDirectory(fds)) {
      try (Stream<Path> open = Files.list(fds)) {
        gauge(out, "process_open_fds", "Number of open file descriptors.", open.count());
      } catch (IOException e) {
        // not exported when /proc cannot be read
      }
    }
    gauge(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", startSeconds);
  }

  private static Long residentBytes() {
    try {
      List<String> status = Files.readAllLines(Path.of("/proc/self/status"));
      for (String line : status) {
        if (line.startsWith("VmRSS:")) {
          String[] parts = line.substring(6).trim().split("\\s+");
          return Long.parseLong(parts[0]) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not on Linux
    }
    return null;
  }

  private static void header(StringBuilder out, String name, String help, String type) {
    out.append("# HELP ").append(name).append(' ').append(help).append('\n');
    out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static void gauge(StringBuilder out, String name, String help, double value) {
    header(out, name, help, "gauge");
    out.append(name).append(' ').append(number(value)).append('\n');
  }

  private static void counter(StringBuilder out, String name, String help, double value) {
    header(out, name, help, "counter");
    out.append(name).append(' ').append(number(value)).append('\n');
  }

  private static void labeled(StringBuilder out, String name, String help, String label, String value) {
    header(out, name, help, "gauge");
    out.append(name).append('{').append(label).append("=\"").append(value).append("\"} 1\n");
  }

  private static String number(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}
