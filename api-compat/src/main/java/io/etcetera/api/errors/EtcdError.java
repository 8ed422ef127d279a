package io.etcetera.api.errors;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Every error etcd's gRPC server can return from its own code (etcd's
 * {@code rpctypes.ErrGRPC*} table), with etcd's gRPC status code and message text.
 *
 * <p>The message texts are part of the wire contract: etcd clients (clientv3's
 * {@code rpctypes.Error}, etcdctl, jetcd) recognise an error by comparing the
 * status description to these strings <em>exactly</em>, so a text must never be
 * reworded, re-cased or given extra detail. Codes and texts are taken verbatim
 * from etcd 3.4's {@code rpctypes/error.go}; the constants marked "since 3.5"
 * come from etcd 3.5's table.
 */
public enum EtcdError {
    // ---- KV / txn
    EMPTY_KEY(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided"),
    KEY_NOT_FOUND(Status.Code.INVALID_ARGUMENT, "etcdserver: key not found"),
    VALUE_PROVIDED(Status.Code.INVALID_ARGUMENT, "etcdserver: value is provided"),
    LEASE_PROVIDED(Status.Code.INVALID_ARGUMENT, "etcdserver: lease is provided"),
    TOO_MANY_TXN_OPS(Status.Code.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
    DUPLICATE_KEY(Status.Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
    COMPACTED(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
    FUTURE_REV(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
    NO_SPACE(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),

    // ---- lease
    LEASE_NOT_FOUND(Status.Code.NOT_FOUND, "etcdserver: requested lease not found"),
    LEASE_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: lease already exists"),
    LEASE_TTL_TOO_LARGE(Status.Code.OUT_OF_RANGE, "etcdserver: too large lease TTL"),

    // ---- watch
    WATCH_CANCELED(Status.Code.CANCELLED, "etcdserver: watch canceled"),

    // ---- cluster membership
    MEMBER_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: member ID already exist"),
    PEER_URL_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
    MEMBER_NOT_ENOUGH_STARTED(Status.Code.FAILED_PRECONDITION,
            "etcdserver: re-configuration failed due to not enough started members"),
    MEMBER_BAD_URLS(Status.Code.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
    MEMBER_NOT_FOUND(Status.Code.NOT_FOUND, "etcdserver: member not found"),
    MEMBER_NOT_LEARNER(Status.Code.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
    LEARNER_NOT_READY(Status.Code.FAILED_PRECONDITION,
            "etcdserver: can only promote a learner member which is in sync with leader"),
    TOO_MANY_LEARNERS(Status.Code.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),

    // ---- request limits
    REQUEST_TOO_LARGE(Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large"),
    TOO_MANY_REQUESTS(Status.Code.RESOURCE_EXHAUSTED, "etcdserver: too many requests"),

    // ---- auth
    ROOT_USER_NOT_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: root user does not exist"),
    ROOT_ROLE_NOT_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: root user does not have root role"),
    USER_ALREADY_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: user name already exists"),
    USER_EMPTY(Status.Code.INVALID_ARGUMENT, "etcdserver: user name is empty"),
    USER_NOT_FOUND(Status.Code.FAILED_PRECONDITION, "etcdserver: user name not found"),
    ROLE_ALREADY_EXIST(Status.Code.FAILED_PRECONDITION, "etcdserver: role name already exists"),
    ROLE_NOT_FOUND(Status.Code.FAILED_PRECONDITION, "etcdserver: role name not found"),
    ROLE_EMPTY(Status.Code.INVALID_ARGUMENT, "etcdserver: role name is empty"),
    AUTH_FAILED(Status.Code.INVALID_ARGUMENT, "etcdserver: authentication failed, invalid user ID or password"),
    PERMISSION_DENIED(Status.Code.PERMISSION_DENIED, "etcdserver: permission denied"),
    ROLE_NOT_GRANTED(Status.Code.FAILED_PRECONDITION, "etcdserver: role is not granted to the user"),
    PERMISSION_NOT_GRANTED(Status.Code.FAILED_PRECONDITION, "etcdserver: permission is not granted to the role"),
    AUTH_NOT_ENABLED(Status.Code.FAILED_PRECONDITION, "etcdserver: authentication is not enabled"),
    INVALID_AUTH_TOKEN(Status.Code.UNAUTHENTICATED, "etcdserver: invalid auth token"),
    INVALID_AUTH_MGMT(Status.Code.INVALID_ARGUMENT, "etcdserver: invalid auth management"),
    AUTH_OLD_REVISION(Status.Code.INVALID_ARGUMENT, "etcdserver: revision of auth store is old"),

    // ---- server / leadership
    NO_LEADER(Status.Code.UNAVAILABLE, "etcdserver: no leader"),
    NOT_LEADER(Status.Code.FAILED_PRECONDITION, "etcdserver: not leader"),
    LEADER_CHANGED(Status.Code.UNAVAILABLE, "etcdserver: leader changed"),
    NOT_CAPABLE(Status.Code.UNAVAILABLE, "etcdserver: not capable"),
    STOPPED(Status.Code.UNAVAILABLE, "etcdserver: server stopped"),
    TIMEOUT(Status.Code.UNAVAILABLE, "etcdserver: request timed out"),
    TIMEOUT_DUE_TO_LEADER_FAIL(Status.Code.UNAVAILABLE,
            "etcdserver: request timed out, possibly due to previous leader failure"),
    TIMEOUT_DUE_TO_CONNECTION_LOST(Status.Code.UNAVAILABLE,
            "etcdserver: request timed out, possibly due to connection lost"),
    TIMEOUT_WAIT_APPLIED_INDEX(Status.Code.UNAVAILABLE,
            "etcdserver: request timed out, waiting for the applied index took too long"),
    UNHEALTHY(Status.Code.UNAVAILABLE, "etcdserver: unhealthy cluster"),
    CORRUPT(Status.Code.DATA_LOSS, "etcdserver: corrupt cluster"),
    NOT_SUPPORTED_FOR_LEARNER(Status.Code.UNAVAILABLE, "etcdserver: rpc not supported for learner"),
    BAD_LEADER_TRANSFEREE(Status.Code.FAILED_PRECONDITION, "etcdserver: bad leader transferee"),
    /** Not in etcd's gRPC table: it reaches clients as Unknown with etcdserver's text. */
    TIMEOUT_LEADER_TRANSFER(Status.Code.UNKNOWN, "etcdserver: request timed out, leader transfer took too long"),
    /**
     * Not an etcd error constant: what etcd answers when a proposal waited out its request timeout
     * on a member that knows no leader (raft never took it; the context's own error reaches the
     * client as Unknown).
     */
    PROPOSAL_DEADLINE_NO_LEADER(Status.Code.UNKNOWN, "context deadline exceeded"),

    // ---- downgrade (since 3.5)
    CLUSTER_VERSION_UNAVAILABLE(Status.Code.UNAVAILABLE, "etcdserver: cluster version not found during downgrade"),
    WRONG_DOWNGRADE_VERSION_FORMAT(Status.Code.INVALID_ARGUMENT, "etcdserver: wrong downgrade target version format"),
    INVALID_DOWNGRADE_TARGET_VERSION(Status.Code.INVALID_ARGUMENT, "etcdserver: invalid downgrade target version"),
    DOWNGRADE_IN_PROCESS(Status.Code.FAILED_PRECONDITION, "etcdserver: cluster has a downgrade job in progress"),
    NO_INFLIGHT_DOWNGRADE(Status.Code.FAILED_PRECONDITION, "etcdserver: no inflight downgrade job"),

    // ---- request context (since 3.5)
    CANCELED(Status.Code.CANCELLED, "etcdserver: request canceled"),
    DEADLINE_EXCEEDED(Status.Code.DEADLINE_EXCEEDED, "etcdserver: context deadline exceeded"),

    // Errors etcd returns without an rpctypes mapping: gRPC code Unknown with the auth package's text.
    NO_PASSWORD_USER(Status.Code.UNKNOWN, "auth: authentication failed, password was given for no password user"),
    // etcd's authMaintenanceServer (Defragment, Snapshot, Hash, HashKV) returns the auth store's
    // errors untranslated
    AUTH_RAW_USER_EMPTY(Status.Code.UNKNOWN, "auth: user name is empty"),
    AUTH_RAW_USER_NOT_FOUND(Status.Code.UNKNOWN, "auth: user name not found"),
    AUTH_RAW_PERMISSION_DENIED(Status.Code.UNKNOWN, "auth: permission denied");

    private static final Map<String, EtcdError> BY_MESSAGE = new HashMap<>();

    static {
        for (EtcdError e : values()) {
            if (BY_MESSAGE.put(e.message, e) != null) {
                throw new ExceptionInInitializerError("duplicate etcd error text: " + e.message);
            }
        }
    }

    private final Status.Code code;
    private final String message;
    private final Status status;

    EtcdError(Status.Code code, String message) {
        this.code = code;
        this.message = message;
        this.status = code.toStatus().withDescription(message);
    }

    /** etcd's gRPC status code for this error. */
    public Status.Code code() {
        return code;
    }

    /** etcd's exact message text (the gRPC status description). */
    public String message() {
        return message;
    }

    /** The gRPC status to send: {@link #code()} with {@link #message()} as description. */
    public Status status() {
        return status;
    }

    /** A fresh gRPC exception carrying {@link #status()}. */
    public StatusRuntimeException asException() {
        return status.asRuntimeException();
    }

    /** A fresh, stack-trace-free {@link EtcdException} for this error. */
    public EtcdException exception() {
        return new EtcdException(this);
    }

    /** The error whose text is exactly {@code message}, if any. */
    public static Optional<EtcdError> fromMessage(String message) {
        return message == null ? Optional.empty() : Optional.ofNullable(BY_MESSAGE.get(message));
    }

    /** The error carried by a gRPC status: same code and exactly the same description. */
    public static Optional<EtcdError> fromStatus(Status status) {
        return fromMessage(status.getDescription()).filter(e -> e.code == status.getCode());
    }
}
