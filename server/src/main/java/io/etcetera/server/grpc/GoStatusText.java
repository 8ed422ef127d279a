package io.etcetera.server.grpc;

import io.etcetera.api.errors.EtcdError;
import io.grpc.Status;

/**
 * The text grpc-go gives a status error, {@code rpc error: code = PermissionDenied desc = …}:
 * etcd puts it, not the bare message, in a refused watch's cancel reason. Stateless.
 */
final class GoStatusText {
  private GoStatusText() {}

  static String of(EtcdError e) {
    return "rpc error: code = " + goName(e.code()) + " desc = " + e.message();
  }

  static String goName(Status.Code c) {
    return switch (c) {
      case OK -> "OK";
      case CANCELLED -> "Canceled";
      case UNKNOWN -> "Unknown";
      case INVALID_ARGUMENT -> "InvalidArgument";
      case DEADLINE_EXCEEDED -> "DeadlineExceeded";
      case NOT_FOUND -> "NotFound";
      case ALREADY_EXISTS -> "AlreadyExists";
      case PERMISSION_DENIED -> "PermissionDenied";
      case RESOURCE_EXHAUSTED -> "ResourceExhausted";
      case FAILED_PRECONDITION -> "FailedPrecondition";
      case ABORTED -> "Aborted";
      case OUT_OF_RANGE -> "OutOfRange";
      case UNIMPLEMENTED -> "Unimplemented";
      case INTERNAL -> "Internal";
      case UNAVAILABLE -> "Unavailable";
      case DATA_LOSS -> "DataLoss";
      case UNAUTHENTICATED -> "Unauthenticated";
    };
  }
}
