package io.etcetera.e2e.watch;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/** Plain grpc-java plumbing shared by the watch tests (jetcd-grpc's generated etcd stubs). */
final class WatchRpc {

  private WatchRpc() {}

  /** A plaintext channel to {@code host:port} that accepts large (catch-up) responses. */
  static ManagedChannel channel(String host, int port) {
    return NettyChannelBuilder.forAddress(host, port)
        .usePlaintext()
        .maxInboundMessageSize(1024 * 1024 * 1024)
        .build();
  }

  static void close(ManagedChannel ch) {
    if (ch == null) return;
    ch.shutdownNow();
    try {
      ch.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  /** etcd's prefix range end: the prefix with its last byte incremented (ASCII prefixes only). */
  static String prefixEnd(String prefix) {
    char last = prefix.charAt(prefix.length() - 1);
    return prefix.substring(0, prefix.length() - 1) + (char) (last + 1);
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
