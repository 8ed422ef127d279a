package io.etcetera.e2e.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * A TCP proxy in front of one member's peer listener, for network partitions without root: the
 * member advertises the proxy's address as its peer URL, so every peer connection to it passes
 * through here. A partition has to cut both directions, and the proxy of member B also carries the
 * connections that member A opens to B; since on loopback every connection comes from 127.0.0.1,
 * the proxy finds out which member process opened a connection from the kernel's socket tables
 * ({@code /proc/net/tcp[6]} gives the inode of the client-side socket, {@code /proc/<pid>/fd} the
 * process holding it). That works for any peer protocol (etcd's rafthttp, Ratis' gRPC), plain or TLS.
 *
 * <p>A connection from member A to member B's proxy is allowed while {@code allowed(A, B)}; when the
 * partition changes, {@link #enforce()} resets the connections that are no longer allowed, and new
 * ones are reset right after accept. Connections whose owner cannot be found are let through only
 * while there is no partition. Every decision is logged to the proxy's log file.
 */
final class FaultProxy implements AutoCloseable {

  /** Decides whether member {@code from} may talk to member {@code to} (1-based indexes; from = 0: unknown process). */
  interface Policy {
    boolean allowed(int from, int to);
  }

  private final int memberIndex;
  private final InetSocketAddress listen;
  private final InetSocketAddress target;
  private final Supplier<Map<Integer, Set<Long>>> memberPids;
  private final Policy policy;
  private final Path log;
  private final ServerSocket server;
  private final List<Conn> conns = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  private final class Conn {
    final Socket client;
    final Socket upstream;
    final int owner; // 0 = unknown
    final java.util.concurrent.atomic.AtomicInteger finished = new java.util.concurrent.atomic.AtomicInteger();

    Conn(Socket client, Socket upstream, int owner) {
      this.client = client;
      this.upstream = upstream;
      this.owner = owner;
    }

    void abort() {
      reset(client);
      reset(upstream);
      conns.remove(this);
    }
  }

  /**
   * Listens on {@code listen} and forwards to {@code target}. {@code memberPids} gives the current
   * pids of each member's process tree; {@code policy} decides.
   */
  FaultProxy(int memberIndex, InetSocketAddress listen, InetSocketAddress target,
      Supplier<Map<Integer, Set<Long>>> memberPids, Policy policy, Path log) {
    this.memberIndex = memberIndex;
    this.listen = listen;
    this.target = target;
    this.memberPids = memberPids;
    this.policy = policy;
    this.log = log;
    try {
      server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(listen, 128);
    } catch (IOException e) {
      throw new IllegalStateException("cannot listen on " + listen + " for the peer fault proxy of etcd" + memberIndex
          + " (is another process using it?)", e);
    }
    Thread acceptor = new Thread(this::acceptLoop, "fault-proxy-" + memberIndex);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Resets every connection the policy no longer allows. */
  void enforce() {
    for (Conn c : conns) {
      if (!allowed(c.owner)) {
        log("reset connection of etcd" + c.owner + " (" + c.client.getRemoteSocketAddress() + ") by partition");
        c.abort();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    for (Conn c : conns) c.abort();
  }

  // ---------------------------------------------------------------------------------------------

  private boolean allowed(int owner) {
    // a connection of unknown origin passes only while there is no partition at all
    return owner == 0 ? policy.allowed(0, memberIndex) : policy.allowed(owner, memberIndex);
  }

  private void acceptLoop() {
    while (!closed) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        if (!closed) log("accept failed: " + e);
        return;
      }
      Thread t = new Thread(() -> handle(s), "fault-proxy-" + memberIndex + "-conn");
      t.setDaemon(true);
      t.start();
    }
  }

  private void handle(Socket client) {
    int owner = ownerOf(client);
    String from = owner == 0 ? "unknown process" : "etcd" + owner;
    if (!allowed(owner)) {
      log("refused connection from " + from + " (" + client.getRemoteSocketAddress() + "): partitioned");
      reset(client);
      return;
    }
    Socket upstream = new Socket();
    try {
      upstream.connect(target, 5000);
      client.setTcpNoDelay(true);
      upstream.setTcpNoDelay(true);
    } catch (IOException e) {
      log("cannot reach " + target + " for " + from + ": " + e);
      reset(client);
      reset(upstream);
      return;
    }
    Conn c = new Conn(client, upstream, owner);
    conns.add(c);
    if (!allowed(owner)) { // the partition changed meanwhile
      c.abort();
      return;
    }
    log("connection from " + from + " (" + client.getRemoteSocketAddress() + ")");
    Thread back = new Thread(() -> pump(c, upstream, client), "fault-proxy-" + memberIndex + "-back");
    back.setDaemon(true);
    back.start();
    pump(c, client, upstream);
  }

  private void pump(Conn c, Socket from, Socket to) {
    byte[] buf = new byte[32 * 1024];
    try { // (closing a socket's stream would close the socket: the other direction may still run)
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      c.abort();
      return;
    }
    if (c.finished.incrementAndGet() == 2) c.abort(); // both directions ended normally
  }

  /** The member whose process opened {@code accepted} (its client side), or 0 if none of them. */
  private int ownerOf(Socket accepted) {
    for (int attempt = 0; attempt < 5; attempt++) {
      Long inode = inodeOf(accepted.getInetAddress(), accepted.getPort(), accepted.getLocalAddress(),
          accepted.getLocalPort());
      if (inode != null) {
        String link = "socket:[" + inode + "]";
        for (Map.Entry<Integer, Set<Long>> e : memberPids.get().entrySet()) {
          for (long pid : e.getValue()) {
            if (holds(pid, link)) return e.getKey();
          }
        }
      }
      sleep(20);
    }
    return 0;
  }

  /** The inode of the socket whose local end is {@code local:localPort} and remote end {@code remote:remotePort}. */
  private static Long inodeOf(InetAddress local, int localPort, InetAddress remote, int remotePort) {
    Set<String> locals = hexForms(local, localPort);
    Set<String> remotes = hexForms(remote, remotePort);
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Paths.get(table), StandardCharsets.US_ASCII);
      } catch (IOException e) {
        continue;
      }
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).trim().split("\\s+");
        if (f.length < 10) continue;
        if (locals.contains(f[1]) && remotes.contains(f[2])) return Long.parseLong(f[9]);
      }
    }
    return null;
  }

  /** How {@code /proc/net/tcp} and {@code /proc/net/tcp6} (IPv4-mapped) print an IPv4 address and port. */
  private static Set<String> hexForms(InetAddress a, int port) {
    byte[] b = a.getAddress();
    if (!(a instanceof Inet4Address)) return Set.of();
    String v4 = String.format("%02X%02X%02X%02X", b[3] & 0xff, b[2] & 0xff, b[1] & 0xff, b[0] & 0xff);
    String p = String.format(":%04X", port);
    return Set.of(v4 + p, "0000000000000000FFFF0000" + v4 + p);
  }

  private static boolean holds(long pid, String link) {
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Paths.get("/proc", Long.toString(pid), "fd"))) {
      for (Path fd : fds) {
        try {
          if (link.equals(Files.readSymbolicLink(fd).toString())) return true;
        } catch (IOException | UncheckedIOException ignored) {
          // fd closed meanwhile
        }
      }
    } catch (IOException | UncheckedIOException | java.nio.file.DirectoryIteratorException ignored) {
      // process gone
    }
    return false;
  }

  private static void reset(Socket s) {
    try {
      if (!s.isClosed() && s.isConnected()) s.setSoLinger(true, 0); // RST instead of FIN
    } catch (IOException ignored) {
      // closing anyway
    }
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  private synchronized void log(String line) {
    try {
      Files.writeString(log, Instant.now() + " proxy " + listen + " -> " + target + ": " + line + "\n",
          StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException ignored) {
      // diagnostics only
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
