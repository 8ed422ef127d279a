package io.etcetera.e2e.harness;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Hands out loopback addresses for members: a distinct host in 127.0.0.0/8 and a client port
 * whose successor (the peer port, see {@link Member}) is free as well. Every call returns a new
 * host/port pair, so tests never share an address with each other; the ports are probed by
 * binding, so a leftover process holding a port is skipped rather than talked to.
 *
 * <pre>{@code
 * Ports.Address a = Ports.allocate();
 * try (Member m = Member.etcetera(tmp.resolve("m1"), a.host(), a.port())) { ... }
 * }</pre>
 */
public final class Ports {

  /** A loopback host and a client port; {@code port + 1} is reserved for the peer URL. */
  public record Address(String host, int port) {
    public int peerPort() {
      return port + 1;
    }

    public String clientUrl() {
      return "http://" + host + ":" + port;
    }

    public String peerUrl() {
      return "http://" + host + ":" + peerPort();
    }
  }

  private static final int FIRST_PORT = 20000;
  private static final int LAST_PORT = 59998;

  private static final Set<String> handedOut = new HashSet<>();
  // start at a random point so two JVMs (or a leftover process from an earlier run) rarely collide
  private static int nextHost = 2 + (int) (ProcessHandle.current().pid() % 200);
  private static int nextPort =
      FIRST_PORT + 2 * ThreadLocalRandom.current().nextInt((LAST_PORT - FIRST_PORT) / 2);
  private static Boolean multiLoopback;

  private Ports() {}

  /** A fresh host/port pair with both {@code port} and {@code port + 1} free on that host. */
  public static synchronized Address allocate() {
    for (int attempt = 0; attempt < 2000; attempt++) {
      String host = nextHost();
      int port = nextPort;
      nextPort += 2;
      if (nextPort > LAST_PORT) nextPort = FIRST_PORT;
      String id = host + ":" + port;
      if (handedOut.contains(id)) continue;
      if (isFree(host, port) && isFree(host, port + 1)) {
        handedOut.add(id);
        handedOut.add(host + ":" + (port + 1));
        return new Address(host, port);
      }
    }
    throw new IllegalStateException("no free loopback port pair found");
  }

  /** Whether a TCP listener can be bound on {@code host:port} right now. */
  public static boolean isFree(String host, int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String nextHost() {
    if (multiLoopback == null) {
      // Linux routes all of 127/8 to lo; other systems may only have 127.0.0.1
      multiLoopback = canBind("127.0.0.77");
    }
    if (!multiLoopback) return "127.0.0.1";
    String host = "127.0.0." + nextHost;
    nextHost = nextHost >= 254 ? 2 : nextHost + 1;
    return host;
  }

  private static boolean canBind(String host) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
