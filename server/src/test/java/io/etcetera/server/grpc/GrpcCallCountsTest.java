package io.etcetera.server.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.MethodDescriptor;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class GrpcCallCountsTest {
  @Test
  void codesAndTypesAreNamedAsGoGrpcPrometheusNamesThem() {
    assertEquals("OK", GrpcCallCounts.code(Status.Code.OK));
    assertEquals("Canceled", GrpcCallCounts.code(Status.Code.CANCELLED));
    assertEquals("DeadlineExceeded", GrpcCallCounts.code(Status.Code.DEADLINE_EXCEEDED));
    assertEquals("OutOfRange", GrpcCallCounts.code(Status.Code.OUT_OF_RANGE));
    assertEquals("Unavailable", GrpcCallCounts.code(Status.Code.UNAVAILABLE));
    assertEquals("FailedPrecondition", GrpcCallCounts.code(Status.Code.FAILED_PRECONDITION));
    assertEquals("unary", GrpcCallCounts.type(MethodDescriptor.MethodType.UNARY));
    assertEquals("bidi_stream", GrpcCallCounts.type(MethodDescriptor.MethodType.BIDI_STREAMING));
    assertEquals("server_stream", GrpcCallCounts.type(MethodDescriptor.MethodType.SERVER_STREAMING));
    assertEquals("client_stream", GrpcCallCounts.type(MethodDescriptor.MethodType.CLIENT_STREAMING));
  }
}
