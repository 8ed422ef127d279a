package io.etcetera.raft.ratis;

import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.ratis.thirdparty.io.grpc.NameResolver;
import org.apache.ratis.thirdparty.io.grpc.NameResolverProvider;
import org.apache.ratis.thirdparty.io.grpc.NameResolverRegistry;
import org.apache.ratis.thirdparty.io.grpc.Status;

/**
 * Where each member's Raft peer is reached now: the host and port of its first peer URL, as the
 * member table says (or {@code --initial-cluster} before there is a table).
 *
 * <p>Ratis stores a peer's address in its configuration, compares configurations by peer ID only
 * and keeps one connection per peer ID, so a {@code member update} that moves a member would never
 * reach its transport. Ratis peers therefore carry a logical address,
 * {@code etcetera-member:///<member ID in hex>} ({@link #logicalAddress}), which never changes; the
 * gRPC name resolver registered here turns it into the member's current host and port whenever
 * Ratis builds a channel, and the caller resets Ratis' channels to a member whose address changed
 * (see {@link RatisGateway}). The resolved name is also the channel's authority, so TLS checks the
 * peer's certificate against the current host.
 *
 * <p>One book per JVM, because gRPC's resolver registry is: in-process members of one cluster
 * share it (they read the same replicated table). A member's ID is derived from its first peer
 * URLs, so two clusters in one JVM do not collide. Thread-safe.
 */
final class PeerAddressBook {
  static final String SCHEME = "etcetera-member";
  private static final Map<Long, String> ADDRESSES = new ConcurrentHashMap<>();

  static {
    NameResolverRegistry.getDefaultRegistry().register(new Provider());
  }

  private PeerAddressBook() {}

  /** The address Ratis keeps for member {@code memberId}, resolved through this book. */
  static String logicalAddress(long memberId) {
    return SCHEME + ":///" + Long.toHexString(memberId);
  }

  /**
   * Records that member {@code memberId} is reached at {@code hostPort}.
   *
   * @return whether that changes the member's address (it had another one before)
   */
  static boolean put(long memberId, String hostPort) {
    String before = ADDRESSES.put(memberId, hostPort);
    return before != null && !before.equals(hostPort);
  }

  /** The host and port member {@code memberId} is reached at, or null if no member table or flag named it. */
  static String address(long memberId) {
    return ADDRESSES.get(memberId);
  }

  /** Resolves {@code etcetera-member:///<id>} through the DNS resolver of the member's current address. */
  private static final class Provider extends NameResolverProvider {
    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }

    @Override
    protected String getScheme() {
      return SCHEME;
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }

    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      if (!SCHEME.equals(target.getScheme())) {
        return null;
      }
      String id = target.getPath().startsWith("/") ? target.getPath().substring(1) : target.getPath();
      String hostPort;
      try {
        hostPort = address(Long.parseUnsignedLong(id, 16));
      } catch (NumberFormatException e) {
        hostPort = null;
      }
      if (hostPort == null) {
        return new Unknown(target.toString());
      }
      NameResolverProvider dns = NameResolverRegistry.getDefaultRegistry().getProviderForScheme("dns");
      return dns.newNameResolver(URI.create("dns:///" + hostPort), args);
    }
  }

  /** A member this book does not know: every resolution fails (Ratis retries as for an unreachable peer). */
  private static final class Unknown extends NameResolver {
    private final String target;

    Unknown(String target) {
      this.target = target;
    }

    @Override
    public String getServiceAuthority() {
      return "unknown-member.invalid";
    }

    @Override
    public void start(Listener2 listener) {
      listener.onError(Status.UNAVAILABLE.withDescription("no peer URL known for " + target));
    }

    @Override
    public void shutdown() {}
  }
}
