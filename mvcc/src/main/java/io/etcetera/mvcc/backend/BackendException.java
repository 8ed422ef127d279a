package io.etcetera.mvcc.backend;

/** A storage failure: the member cannot go on safely (disk full, corruption, I/O error). */
public final class BackendException extends RuntimeException {
  public BackendException(String message, Throwable cause) {
    super(message, cause);
  }
}
