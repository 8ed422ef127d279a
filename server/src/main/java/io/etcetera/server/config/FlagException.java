package io.etcetera.server.config;

/** A flag or flag combination the server refuses, with the text shown to the operator. */
public final class FlagException extends RuntimeException {
  public FlagException(String message) {
    super(message);
  }
}
