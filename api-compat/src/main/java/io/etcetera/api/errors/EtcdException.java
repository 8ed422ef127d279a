package io.etcetera.api.errors;

import io.grpc.StatusRuntimeException;
import java.util.Objects;

/**
 * An etcd-defined failure ({@link EtcdError}) raised inside the server.
 *
 * <p>These are ordinary outcomes on hot paths (compacted revision, missing lease,
 * permission denied, ...), so no stack trace is captured and suppression is
 * disabled. The message is always the error's exact etcd text.
 */
public final class EtcdException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final EtcdError error;

    public EtcdException(EtcdError error) {
        this(error, null);
    }

    public EtcdException(EtcdError error, Throwable cause) {
        super(Objects.requireNonNull(error, "error").message(), cause, false, false);
        this.error = error;
    }

    public EtcdError error() {
        return error;
    }

    /** The gRPC exception to hand to a {@code StreamObserver.onError}. */
    public StatusRuntimeException toStatusException() {
        return error.asException();
    }
}
