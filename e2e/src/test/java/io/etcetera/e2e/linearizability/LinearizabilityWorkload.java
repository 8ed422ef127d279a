package io.etcetera.e2e.linearizability;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.ResponseOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.TxnResponse;
import io.etcetera.e2e.linearizability.Operation.Kind;
import io.etcetera.e2e.linearizability.Operation.Outcome;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Clients hammering a few keys with READ / WRITE / CAS through raw gRPC, recording a {@link
 * History} for {@link LinearizabilityChecker}.
 *
 * <pre>{@code
 * LinearizabilityWorkload.Handle w = LinearizabilityWorkload.start(endpoints, null, 8, 4);
 * ... kill / partition / restart members ...
 * History h = w.stop();
 * LinearizabilityChecker.Result r = LinearizabilityChecker.check(h);
 * assertTrue(r.ok(), r.describe());
 * }</pre>
 *
 * <p>Each client is a thread with its own channel to one endpoint (client {@code i} starts at
 * endpoint {@code i % n}) issuing, on a random key of {@code lin/<run id>/k<j>} (fresh keys, so they
 * start absent):
 *
 * <ul>
 *   <li>READ (40%): a linearizable Range of the key;
 *   <li>WRITE (30%): a Put of a unique value {@code c<client>-<counter>};
 *   <li>CAS (30%): a Txn {@code if value(key) == expected then put(key, new)}, where {@code expected}
 *       is what the client last saw of the key ({@code if create_revision(key) == 0}, i.e. absent,
 *       if it never saw it; the failure branch reads the key so the next CAS has a fresh guess).
 * </ul>
 *
 * <p>Every call has a {@link #CALL_DEADLINE} deadline. A call that fails is UNKNOWN (may or may
 * not have taken effect: it stays open forever in the history) unless its status code proves the
 * server rejected it without applying anything (INVALID_ARGUMENT, PERMISSION_DENIED,
 * UNAUTHENTICATED, UNIMPLEMENTED: FAILED); DEADLINE_EXCEEDED, UNAVAILABLE, UNKNOWN, INTERNAL,
 * CANCELLED, RESOURCE_EXHAUSTED... are UNKNOWN. After an error the client moves to the next endpoint
 * (a fresh channel) and pauses {@link #ERROR_PAUSE}, so a dead or partitioned member does not
 * stall it.
 */
public final class LinearizabilityWorkload {

  /** Deadline of every call. */
  public static final Duration CALL_DEADLINE = Duration.ofSeconds(3);
  /** Pause after a failed call, so a down endpoint does not turn into a tight loop of UNKNOWN ops. */
  public static final Duration ERROR_PAUSE = Duration.ofMillis(100);

  private LinearizabilityWorkload() {}

  /** {@link #start(List, ClientTls, int, int, long)} with a random seed. */
  public static Handle start(List<String> endpoints, ClientTls tlsOrNull, int clients, int keys) {
    return start(endpoints, tlsOrNull, clients, keys, ThreadLocalRandom.current().nextLong());
  }

  /**
   * Starts {@code clients} client threads on {@code keys} keys against {@code endpoints}
   * ({@code http://host:port}, {@code https://host:port} or {@code host:port}); TLS (with {@code
   * tlsOrNull}'s files) iff {@code tlsOrNull} is not null. {@code seed} drives the clients' choices
   * (not the timing).
   */
  public static Handle start(List<String> endpoints, ClientTls tlsOrNull, int clients, int keys, long seed) {
    if (endpoints.isEmpty()) throw new IllegalArgumentException("no endpoints");
    if (clients < 1 || keys < 1) throw new IllegalArgumentException("clients and keys must be positive");
    List<URI> uris = new ArrayList<>();
    for (String e : endpoints) {
      URI u = URI.create(e.contains("://") ? e : "http://" + e);
      if (u.getHost() == null || u.getPort() < 0) throw new IllegalArgumentException("endpoint without host:port: " + e);
      if ("https".equals(u.getScheme()) && tlsOrNull == null) {
        throw new IllegalArgumentException("endpoint " + e + " is https but no ClientTls was given");
      }
      uris.add(u);
    }
    SslContext ssl = tlsOrNull == null ? null : tlsOrNull.sslContext();
    String run = HexFormat.of().toHexDigits(new Random(seed).nextInt());
    List<String> keyNames = new ArrayList<>();
    for (int k = 0; k < keys; k++) keyNames.add("lin/" + run + "/k" + k);
    Handle h = new Handle(List.copyOf(keyNames), seed);
    for (int c = 0; c < clients; c++) {
      Client client = new Client(c, uris, ssl, h, new Random(seed * 1_000_003L + c));
      Thread t = new Thread(client, "lin-client-" + c);
      t.setDaemon(true);
      h.threads.add(t);
    }
    for (Thread t : h.threads) t.start();
    return h;
  }

  /** The running workload. */
  public static final class Handle implements AutoCloseable {
    private final History history = new History();
    private final List<String> keys;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final long seed;

    private Handle(List<String> keys, long seed) {
      this.keys = keys;
      this.seed = seed;
    }

    /** The seed of the clients' choices (keys, operations; not the timing). */
    public long seed() {
      return seed;
    }

    /** The keys the clients use. */
    public List<String> keys() {
      return keys;
    }

    /** The history so far (live; complete once {@link #stop()} returned). */
    public History history() {
      return history;
    }

    /** How the operations so far ended (for logging progress). */
    public History.Counts counts() {
      return history.counts();
    }

    /**
     * Stops the clients (each finishes the call in progress, at most {@link #CALL_DEADLINE}) and
     * returns the history. Idempotent.
     */
    public History stop() {
      stopping.set(true);
      long deadline = System.nanoTime() + CALL_DEADLINE.toNanos() + TimeUnit.SECONDS.toNanos(10);
      for (Thread t : threads) {
        try {
          t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
          if (t.isAlive()) {
            t.interrupt(); // a call interrupted this way is recorded as UNKNOWN
            t.join(5000);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted stopping the workload", e);
        }
        if (t.isAlive()) throw new IllegalStateException(t.getName() + " does not stop");
      }
      return history;
    }

    @Override
    public void close() {
      stop();
    }

    /** Counts and the errors seen, e.g. for a test log. */
    public String summary() {
      return history.counts() + (history.errors().isEmpty() ? "" : "; errors: " + history.errors());
    }

    boolean stopping() {
      return stopping.get();
    }
  }

  /** One client: a thread issuing one operation at a time. */
  private static final class Client implements Runnable {
    private final int id;
    private final List<URI> endpoints;
    private final SslContext ssl;
    private final Handle handle;
    private final Random rnd;
    private final Map<String, String> lastSeen = new HashMap<>();
    private int endpoint;
    private long counter;
    private ManagedChannel channel;

    Client(int id, List<URI> endpoints, SslContext ssl, Handle handle, Random rnd) {
      this.id = id;
      this.endpoints = endpoints;
      this.ssl = ssl;
      this.handle = handle;
      this.rnd = rnd;
      this.endpoint = id % endpoints.size();
    }

    @Override
    public void run() {
      channel = open(endpoints.get(endpoint));
      try {
        while (!handle.stopping()) once();
      } finally {
        channel.shutdownNow();
      }
    }

    private void once() {
      String key = handle.keys.get(rnd.nextInt(handle.keys.size()));
      int p = rnd.nextInt(100);
      Kind kind = p < 40 ? Kind.READ : p < 70 ? Kind.WRITE : Kind.CAS;
      String value = kind == Kind.READ ? null : "c" + id + "-" + (++counter);
      String expected = kind == Kind.CAS ? lastSeen.get(key) : null;
      KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel);
      long invoke = System.nanoTime();
      try {
        kv = kv.withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        switch (kind) {
          case READ -> {
            RangeResponse r = kv.range(RangeRequest.newBuilder().setKey(bytes(key)).build());
            long response = System.nanoTime();
            String out = valueOf(r);
            handle.history.add(Operation.read(id, key, invoke, response, out));
            lastSeen.put(key, out);
          }
          case WRITE -> {
            kv.put(PutRequest.newBuilder().setKey(bytes(key)).setValue(bytes(value)).build());
            long response = System.nanoTime();
            handle.history.add(Operation.write(id, key, value, invoke, response));
            lastSeen.put(key, value);
          }
          case CAS -> {
            TxnResponse t = kv.txn(casRequest(key, expected, value));
            long response = System.nanoTime();
            handle.history.add(Operation.cas(id, key, expected, value, invoke, response, t.getSucceeded()));
            if (t.getSucceeded()) {
              lastSeen.put(key, value);
            } else if (t.getResponsesCount() == 1 && t.getResponses(0).getResponseCase() == ResponseOp.ResponseCase.RESPONSE_RANGE) {
              lastSeen.put(key, valueOf(t.getResponses(0).getResponseRange()));
            }
          }
        }
      } catch (RuntimeException e) {
        long response = System.nanoTime();
        Status status = Status.fromThrowable(e);
        String error = e instanceof StatusRuntimeException
            ? status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription())
            : e.toString();
        if (error.length() > 160) error = error.substring(0, 160) + "...";
        if (definitelyNotApplied(e)) {
          handle.history.add(Operation.failed(id, kind, key, expected, value, invoke, response, error));
        } else {
          handle.history.add(Operation.unknown(id, kind, key, expected, value, invoke, error));
        }
        nextEndpoint();
        pause();
      }
    }

    /** Only errors that prove the request was rejected before anything was applied. */
    static boolean definitelyNotApplied(RuntimeException e) {
      if (!(e instanceof StatusRuntimeException s)) return false;
      return switch (s.getStatus().getCode()) {
        case INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED -> true;
        default -> false;
      };
    }

    private void nextEndpoint() {
      if (endpoints.size() == 1) return; // the channel reconnects by itself
      channel.shutdownNow();
      endpoint = (endpoint + 1) % endpoints.size();
      channel = open(endpoints.get(endpoint));
    }

    private void pause() {
      if (handle.stopping()) return;
      try {
        Thread.sleep(ERROR_PAUSE.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    private ManagedChannel open(URI endpoint) {
      NettyChannelBuilder b = NettyChannelBuilder.forAddress(endpoint.getHost(), endpoint.getPort());
      if (ssl != null) b.sslContext(ssl);
      else b.usePlaintext();
      return b.build();
    }
  }

  /** {@code if value(key) == expected (or: key absent) then put(key, value) else range(key)}. */
  static TxnRequest casRequest(String key, String expected, String value) {
    Compare cmp = expected == null
        ? Compare.newBuilder().setKey(bytes(key)).setTarget(Compare.CompareTarget.CREATE)
            .setResult(Compare.CompareResult.EQUAL).setCreateRevision(0).build()
        : Compare.newBuilder().setKey(bytes(key)).setTarget(Compare.CompareTarget.VALUE)
            .setResult(Compare.CompareResult.EQUAL).setValue(bytes(expected)).build();
    return TxnRequest.newBuilder()
        .addCompare(cmp)
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bytes(key)).setValue(bytes(value))))
        .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bytes(key))))
        .build();
  }

  private static String valueOf(RangeResponse r) {
    return r.getKvsCount() == 0 ? null : r.getKvs(0).getValue().toString(StandardCharsets.UTF_8);
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }
}
