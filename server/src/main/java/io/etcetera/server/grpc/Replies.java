package io.etcetera.server.grpc;

import io.etcetera.api.errors.EtcdException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends unary answers and turns failures into etcd's gRPC statuses: an EtcdException becomes its
 * exact code and text; anything else is an internal error, logged. Safe to call from any thread,
 * including after the client went away (the answer is then dropped). Stateless.
 */
final class Replies {
  private static final Logger log = LoggerFactory.getLogger(Replies.class);

  private Replies() {}

  static <T> void ok(StreamObserver<T> out, T value) {
    try {
      if (out instanceof ServerCallStreamObserver<T> s && s.isCancelled()) {
        return;
      }
      out.onNext(value);
      out.onCompleted();
    } catch (RuntimeException e) {
      log.debug("answer dropped: the call is gone", e);
    }
  }

  static void fail(StreamObserver<?> out, Throwable t) {
    try {
      out.onError(toStatus(t));
    } catch (RuntimeException e) {
      log.debug("error dropped: the call is gone", e);
    }
  }

  static StatusRuntimeException toStatus(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof EtcdException e) {
      return e.toStatusException();
    }
    if (t instanceof StatusRuntimeException s) {
      return s;
    }
    log.error("request failed", t);
    return Status.INTERNAL.withDescription(String.valueOf(t.getMessage())).withCause(t).asRuntimeException();
  }
}
