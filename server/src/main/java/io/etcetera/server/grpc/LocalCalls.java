package io.etcetera.server.grpc;

import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Calls this member's own gRPC methods in memory, as etcd's server-side services (v3lock,
 * v3election) call its KV and Watch through an in-process client, and as its JSON gateway calls them: the method's handler gets a minimal {@link ServerCall}
 * whose messages and closing status come back to the caller. A call started inside a gRPC
 * {@link Context} runs in it, so the services see the caller's identity.
 *
 * <p>Threading: the returned futures and receivers complete on whatever thread the service
 * answers on.
 */
public final class LocalCalls {
  private LocalCalls() {}

  /** How a call ended, with the last message it sent (a unary call's response). */
  public record Outcome<A>(Status status, A response) {}

  /** The method {@code fullName} of {@code service}; an error if it has none. */
  @SuppressWarnings("unchecked")
  public static <Q, A> ServerMethodDefinition<Q, A> method(ServerServiceDefinition service, String fullName) {
    ServerMethodDefinition<?, ?> m = service.getMethod(fullName);
    if (m == null) {
      throw new IllegalArgumentException("no method " + fullName + " in " + service.getServiceDescriptor().getName());
    }
    return (ServerMethodDefinition<Q, A>) m;
  }

  /** Calls a unary method in the current context. */
  public static <Q, A> CompletableFuture<Outcome<A>> unary(ServerMethodDefinition<Q, A> method, Metadata headers, Q request) {
    CompletableFuture<Outcome<A>> outcome = new CompletableFuture<>();
    Call<Q, A> call = new Call<>(method.getMethodDescriptor(), m -> { }, outcome, () -> true);
    ServerCall.Listener<Q> listener = method.getServerCallHandler().startCall(call, headers);
    listener.onReady();
    listener.onMessage(request);
    listener.onHalfClose();
    outcome.whenComplete((o, e) -> listener.onComplete());
    return outcome;
  }

  /** An open streaming call: send requests, cancel it; its messages went to the receiver. */
  public static final class Stream<Q> {
    private final ServerCall.Listener<Q> listener;
    private final Call<Q, ?> call;

    private Stream(ServerCall.Listener<Q> listener, Call<Q, ?> call) {
      this.listener = listener;
      this.call = call;
    }

    public void send(Q request) {
      listener.onMessage(request);
    }

    /** The client has sent all its requests. */
    public void halfClose() {
      listener.onHalfClose();
    }

    /** The client can take more messages again (after {@code ready} said no). */
    public void ready() {
      listener.onReady();
    }

    /** Cancels the call (as a client going away); nothing more reaches the receiver. */
    public void cancel() {
      if (call.end()) {
        listener.onCancel();
      }
    }
  }

  /** Opens a streaming method in the current context; {@code messages} receives what it sends. */
  public static <Q, A> Stream<Q> stream(ServerMethodDefinition<Q, A> method, Metadata headers, Consumer<A> messages,
      CompletableFuture<Outcome<A>> ended) {
    return stream(method, headers, messages, ended, () -> true);
  }

  /**
   * {@link #stream} for a receiver that can be full: the service sends while {@code ready} says
   * so, and again after {@link Stream#ready}.
   */
  public static <Q, A> Stream<Q> stream(ServerMethodDefinition<Q, A> method, Metadata headers, Consumer<A> messages,
      CompletableFuture<Outcome<A>> ended, java.util.function.BooleanSupplier ready) {
    Call<Q, A> call = new Call<>(method.getMethodDescriptor(), messages, ended, ready);
    ServerCall.Listener<Q> listener = method.getServerCallHandler().startCall(call, headers);
    listener.onReady();
    return new Stream<>(listener, call);
  }

  /** The in-memory server side of a local call. */
  private static final class Call<Q, A> extends ServerCall<Q, A> {
    private final MethodDescriptor<Q, A> descriptor;
    private final Consumer<A> messages;
    private final CompletableFuture<Outcome<A>> outcome;
    private final java.util.function.BooleanSupplier ready;
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile A last;

    Call(MethodDescriptor<Q, A> descriptor, Consumer<A> messages, CompletableFuture<Outcome<A>> outcome,
        java.util.function.BooleanSupplier ready) {
      this.descriptor = descriptor;
      this.messages = messages;
      this.outcome = outcome;
      this.ready = ready;
    }

    boolean end() {
      return ended.compareAndSet(false, true);
    }

    @Override
    public void request(int numMessages) {}

    @Override
    public void sendHeaders(Metadata headers) {}

    @Override
    public void sendMessage(A message) {
      if (!ended.get()) {
        last = message;
        messages.accept(message);
      }
    }

    @Override
    public void close(Status status, Metadata trailers) {
      ended.set(true);
      outcome.complete(new Outcome<>(status, last));
    }

    @Override
    public boolean isCancelled() {
      return ended.get() && !outcome.isDone();
    }

    @Override
    public boolean isReady() {
      return ready.getAsBoolean();
    }

    @Override
    public Attributes getAttributes() {
      return Attributes.EMPTY;
    }

    @Override
    public MethodDescriptor<Q, A> getMethodDescriptor() {
      return descriptor;
    }
  }
}
