package io.etcetera.server.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The gRPC server counters etcd exports through go-grpc-prometheus: calls started and handled (by
 * gRPC code), messages received and sent, per method ({@code grpc_type}, {@code grpc_service},
 * {@code grpc_method}). Installed as the outermost interceptor of the client listeners, so calls
 * refused by the others count too. A call cancelled by its client counts as handled with
 * {@code Canceled}, as in go-grpc-prometheus.
 *
 * <p>Threading: any gRPC thread records; counters are {@link LongAdder}s in concurrent maps, read
 * by the metrics renderer at any time.
 */
public final class GrpcCallCounts implements ServerInterceptor {

  /** The labels of a method, as go-grpc-prometheus names them. */
  public record MethodLabels(String type, String service, String method) implements Comparable<MethodLabels> {
    @Override
    public int compareTo(MethodLabels o) {
      int c = service.compareTo(o.service);
      return c != 0 ? c : method.compareTo(o.method);
    }
  }

  /** A method and the gRPC code its calls ended with. */
  public record Handled(MethodLabels method, String code) implements Comparable<Handled> {
    @Override
    public int compareTo(Handled o) {
      int c = method.compareTo(o.method);
      return c != 0 ? c : code.compareTo(o.code);
    }
  }

  private final Map<MethodLabels, LongAdder> started = new ConcurrentHashMap<>();
  private final Map<Handled, LongAdder> handled = new ConcurrentHashMap<>();
  private final Map<MethodLabels, LongAdder> received = new ConcurrentHashMap<>();
  private final Map<MethodLabels, LongAdder> sent = new ConcurrentHashMap<>();

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    MethodDescriptor<Q, A> d = call.getMethodDescriptor();
    MethodLabels m = new MethodLabels(type(d.getType()), d.getServiceName(), d.getBareMethodName());
    add(started, m);
    AtomicBoolean done = new AtomicBoolean();
    ServerCall<Q, A> counted = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void sendMessage(A message) {
        add(sent, m);
        super.sendMessage(message);
      }

      @Override
      public void close(Status status, Metadata trailers) {
        if (done.compareAndSet(false, true)) {
          add(handled, new Handled(m, code(status.getCode())));
        }
        super.close(status, trailers);
      }
    };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(counted, headers)) {
      @Override
      public void onMessage(Q message) {
        add(received, m);
        super.onMessage(message);
      }

      @Override
      public void onCancel() {
        if (done.compareAndSet(false, true)) {
          add(handled, new Handled(m, "Canceled"));
        }
        super.onCancel();
      }
    };
  }

  private static <K> void add(Map<K, LongAdder> counts, K key) {
    counts.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  /** go-grpc-prometheus' grpc_type label. */
  static String type(MethodDescriptor.MethodType t) {
    return switch (t) {
      case UNARY -> "unary";
      case CLIENT_STREAMING -> "client_stream";
      case SERVER_STREAMING -> "server_stream";
      default -> "bidi_stream";
    };
  }

  /** Go's name of a gRPC code ({@code codes.Code.String()}): "OK", "Canceled", "DeadlineExceeded"... */
  static String code(Status.Code c) {
    if (c == Status.Code.CANCELLED) {
      return "Canceled";
    }
    if (c == Status.Code.OK) {
      return "OK";
    }
    StringBuilder b = new StringBuilder();
    for (String part : c.name().split("_")) {
      b.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
    }
    return b.toString();
  }

  public Map<MethodLabels, Long> started() {
    return snapshot(started);
  }

  public Map<Handled, Long> handled() {
    return snapshot(handled);
  }

  public Map<MethodLabels, Long> received() {
    return snapshot(received);
  }

  public Map<MethodLabels, Long> sent() {
    return snapshot(sent);
  }

  private static <K extends Comparable<K>> Map<K, Long> snapshot(Map<K, LongAdder> counts) {
    Map<K, Long> out = new TreeMap<>();
    counts.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }
}
