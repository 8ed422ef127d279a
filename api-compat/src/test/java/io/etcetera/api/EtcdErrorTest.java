package io.etcetera.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.errors.EtcdException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class EtcdErrorTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            EMPTY_KEY           | INVALID_ARGUMENT    | etcdserver: key is not provided
            COMPACTED           | OUT_OF_RANGE        | etcdserver: mvcc: required revision has been compacted
            FUTURE_REV          | OUT_OF_RANGE        | etcdserver: mvcc: required revision is a future revision
            NO_SPACE            | RESOURCE_EXHAUSTED  | etcdserver: mvcc: database space exceeded
            REQUEST_TOO_LARGE   | INVALID_ARGUMENT    | etcdserver: request is too large
            TOO_MANY_TXN_OPS    | INVALID_ARGUMENT    | etcdserver: too many operations in txn request
            DUPLICATE_KEY       | INVALID_ARGUMENT    | etcdserver: duplicate key given in txn request
            LEASE_NOT_FOUND     | NOT_FOUND           | etcdserver: requested lease not found
            LEASE_TTL_TOO_LARGE | OUT_OF_RANGE        | etcdserver: too large lease TTL
            PEER_URL_EXIST      | FAILED_PRECONDITION | etcdserver: Peer URLs already exists
            INVALID_AUTH_TOKEN  | UNAUTHENTICATED     | etcdserver: invalid auth token
            PERMISSION_DENIED   | PERMISSION_DENIED   | etcdserver: permission denied
            NO_LEADER           | UNAVAILABLE         | etcdserver: no leader
            NOT_LEADER          | FAILED_PRECONDITION | etcdserver: not leader
            CORRUPT             | DATA_LOSS           | etcdserver: corrupt cluster
            WATCH_CANCELED      | CANCELLED           | etcdserver: watch canceled
            AUTH_FAILED         | INVALID_ARGUMENT    | etcdserver: authentication failed, invalid user ID or password
            TIMEOUT_WAIT_APPLIED_INDEX | UNAVAILABLE  | etcdserver: request timed out, waiting for the applied index took too long
            DOWNGRADE_IN_PROCESS | FAILED_PRECONDITION | etcdserver: cluster has a downgrade job in progress
            """)
    void codeAndExactText(EtcdError error, Status.Code code, String text) {
        assertEquals(code, error.code());
        assertEquals(text, error.message());
        assertEquals(code, error.status().getCode());
        assertEquals(text, error.status().getDescription());
    }

    @ParameterizedTest
    @EnumSource(EtcdError.class)
    void fromMessageRoundTrips(EtcdError error) {
        assertEquals(Optional.of(error), EtcdError.fromMessage(error.message()));
        assertEquals(Optional.of(error), EtcdError.fromStatus(error.status()));
        assertTrue(error.message().startsWith("etcdserver: ") || error.code() == io.grpc.Status.Code.UNKNOWN,
            error.message());

        StatusRuntimeException sre = error.asException();
        assertEquals(error.code(), sre.getStatus().getCode());
        assertEquals(error.message(), sre.getStatus().getDescription());

        EtcdException ex = error.exception();
        assertSame(error, ex.error());
        assertEquals(error.message(), ex.getMessage());
        assertEquals(0, ex.getStackTrace().length);
        assertEquals(error.status().getCode(), ex.toStatusException().getStatus().getCode());
        assertEquals(error.message(), ex.toStatusException().getStatus().getDescription());
    }

    @Test
    void unknownTextsAreNotMatched() {
        assertFalse(EtcdError.fromMessage("etcdserver: key is not provided ").isPresent());
        assertFalse(EtcdError.fromMessage("ETCDSERVER: KEY IS NOT PROVIDED").isPresent());
        assertFalse(EtcdError.fromMessage(null).isPresent());
        assertFalse(EtcdError.fromStatus(Status.UNAVAILABLE.withDescription("etcdserver: key is not provided"))
                .isPresent());
    }

    @Test
    void textsAreUnique() {
        Set<String> seen = new HashSet<>();
        for (EtcdError e : EtcdError.values()) {
            assertTrue(seen.add(e.message()), e.message());
        }
        // 52 ErrGRPC* errors in etcd 3.4.23 + 7 added by 3.5 + 6 unmapped errors sent as Unknown
        // (four auth ones, leader transfer timing out, a proposal's deadline without a leader)
        assertEquals(65, EtcdError.values().length);
    }

    @Test
    void exceptionKeepsCauseWithoutStack() {
        RuntimeException cause = new RuntimeException("boom");
        EtcdException ex = new EtcdException(EtcdError.TIMEOUT, cause);
        assertSame(cause, ex.getCause());
        assertEquals(0, ex.getStackTrace().length);
        ex.addSuppressed(new RuntimeException());
        assertEquals(0, ex.getSuppressed().length);
        assertNull(new EtcdException(EtcdError.STOPPED).getCause());
    }
}
