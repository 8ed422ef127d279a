package io.etcetera.e2e.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One member of a {@link Cluster}: {@code etcd<N>} on {@code 127.0.1.<N>} with client port 2379 and
 * peer port 2380. Started, stopped and restarted through the {@link Cluster}; this object describes
 * it and gives access to its process state and log.
 */
public final class ClusterMember {

  private final int index;
  private final String host;
  private final String clientUrl;
  private final String peerUrl;
  private final String listenPeerUrl;
  private final Path dataDir;
  private final MemberProcess process;
  private volatile String id;
  private volatile boolean removed;

  ClusterMember(int index, String host, String clientUrl, String peerUrl, String listenPeerUrl, Path dataDir,
      MemberProcess process) {
    this.index = index;
    this.host = host;
    this.clientUrl = clientUrl;
    this.peerUrl = peerUrl;
    this.listenPeerUrl = listenPeerUrl;
    this.dataDir = dataDir;
    this.process = process;
  }

  /** 1-based position: member {@code N} is {@code etcdN} on {@code 127.0.1.N}. */
  public int index() {
    return index;
  }

  /** {@code etcd<N>}. */
  public String name() {
    return "etcd" + index;
  }

  /** {@code 127.0.1.<N>}. */
  public String host() {
    return host;
  }

  /** The client URL, {@code <scheme>://127.0.1.N:2379} (listened on and advertised). */
  public String clientUrl() {
    return clientUrl;
  }

  /** The advertised peer URL ({@code --initial-advertise-peer-urls}): {@code :2380}, or {@code :2381} (the fault proxy) with peer proxies. */
  public String peerUrl() {
    return peerUrl;
  }

  /** The URL of {@code --listen-peer-urls}, {@code <scheme>://127.0.1.N:2380}. */
  public String listenPeerUrl() {
    return listenPeerUrl;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** The member's stdout and stderr (appended to across restarts). */
  public Path log() {
    return process.log();
  }

  public String logTail(int lines) {
    return process.logTail(lines);
  }

  /** The command line the member process is started with (the same on every restart). */
  public List<String> command() {
    return process.command();
  }

  /** The member ID in etcdctl's hex form (e.g. {@code 8e9e05c52164694d}), as the cluster reported it. */
  public String id() {
    return id;
  }

  void id(String hex) {
    this.id = hex;
  }

  /** Whether the process is running. */
  public boolean isRunning() {
    return process.isAlive();
  }

  /** Whether the member was removed from the cluster ({@link Cluster#removeMember}). */
  public boolean isRemoved() {
    return removed;
  }

  void markRemoved() {
    removed = true;
  }

  /** The exit code of the last process, or null while it runs. */
  public Integer exitCode() {
    return process.exitCode();
  }

  /** Waits up to {@code timeout} for the process to exit on its own; its exit code, or null if it still runs. */
  public Integer awaitExit(Duration timeout) {
    return process.awaitExit(timeout);
  }

  MemberProcess process() {
    return process;
  }

  @Override
  public String toString() {
    return name() + " (" + clientUrl + (id == null ? "" : ", id " + id) + ")";
  }
}
