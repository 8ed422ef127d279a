package io.etcetera.mvcc.apply;

import io.etcetera.api.errors.EtcdError;
import io.etcetera.api.etcdserverpb.AuthDisableResponse;
import io.etcetera.api.etcdserverpb.AuthEnableResponse;
import io.etcetera.api.etcdserverpb.AuthRoleAddResponse;
import io.etcetera.api.etcdserverpb.AuthRoleDeleteResponse;
import io.etcetera.api.etcdserverpb.AuthRoleGetResponse;
import io.etcetera.api.etcdserverpb.AuthRoleGrantPermissionResponse;
import io.etcetera.api.etcdserverpb.AuthRoleListResponse;
import io.etcetera.api.etcdserverpb.AuthRoleRevokePermissionResponse;
import io.etcetera.api.etcdserverpb.AuthStatusResponse;
import io.etcetera.api.etcdserverpb.AuthUserAddResponse;
import io.etcetera.api.etcdserverpb.AuthUserChangePasswordResponse;
import io.etcetera.api.etcdserverpb.AuthUserDeleteResponse;
import io.etcetera.api.etcdserverpb.AuthUserGetResponse;
import io.etcetera.api.etcdserverpb.AuthUserGrantRoleResponse;
import io.etcetera.api.etcdserverpb.AuthUserListResponse;
import io.etcetera.api.etcdserverpb.AuthUserRevokeRoleResponse;
import io.etcetera.api.etcdserverpb.AuthenticateResponse;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;
import io.etcetera.api.etcdserverpb.ResponseHeader;
import io.etcetera.api.authpb.Role;
import io.etcetera.api.authpb.User;
import io.etcetera.mvcc.auth.AuthInfo;
import io.etcetera.mvcc.auth.AuthStore;
import io.etcetera.mvcc.auth.TokenProvider;
import io.etcetera.mvcc.kv.ApplyBatch;
import io.etcetera.mvcc.kv.MvccStore;

/**
 * Applies the auth entries of the log, as etcd's applier with its auth decorator: the entries that
 * need the root role are refused otherwise (checked against the proposer's identity carried in
 * the entry header), a user may read their own user and roles, and Authenticate assigns the
 * token minted before proposing. Deterministic apart from token bookkeeping; apply thread only.
 */
public final class AuthApplier {
  private final MvccStore store;
  private final AuthStore auth;
  private final TokenProvider tokens;

  public AuthApplier(MvccStore store, AuthStore auth, TokenProvider tokens) {
    this.store = store;
    this.auth = auth;
    this.tokens = tokens;
  }

  static boolean isAuthRequest(InternalRaftRequest r) {
    return r.hasAuthEnable() || r.hasAuthDisable() || r.hasAuthenticate() || r.hasAuthStatus()
        || r.hasAuthUserAdd() || r.hasAuthUserDelete() || r.hasAuthUserGet() || r.hasAuthUserChangePassword()
        || r.hasAuthUserGrantRole() || r.hasAuthUserRevokeRole() || r.hasAuthUserList() || r.hasAuthRoleList()
        || r.hasAuthRoleAdd() || r.hasAuthRoleDelete() || r.hasAuthRoleGet() || r.hasAuthRoleGrantPermission()
        || r.hasAuthRoleRevokePermission();
  }

  /** etcd's needAdminPermission. */
  private static boolean needsAdmin(InternalRaftRequest r) {
    return r.hasAuthEnable() || r.hasAuthDisable() || r.hasAuthUserAdd() || r.hasAuthUserDelete()
        || r.hasAuthUserChangePassword() || r.hasAuthUserGrantRole() || r.hasAuthUserRevokeRole()
        || r.hasAuthRoleAdd() || r.hasAuthRoleGrantPermission() || r.hasAuthRoleRevokePermission()
        || r.hasAuthRoleDelete() || r.hasAuthUserList() || r.hasAuthRoleList();
  }

  private ResponseHeader header() {
    return ResponseHeader.newBuilder().setRevision(store.writeRevision()).build();
  }

  Applied apply(ApplyBatch batch, InternalRaftRequest r, AuthInfo who, long index) {
    if (needsAdmin(r)) {
      auth.checkAdmin(who);
    }
    AuthStore.AuthWrites w = writes(batch);
    if (r.hasAuthEnable()) {
      auth.enable(w);
      return Applied.of(AuthEnableResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthDisable()) {
      auth.disable(w);
      tokens.clear();
      return Applied.of(AuthDisableResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthStatus()) {
      return Applied.of(AuthStatusResponse.newBuilder().setHeader(header())
          .setEnabled(auth.isEnabled()).setAuthRevision(auth.revision()).build());
    }
    if (r.hasAuthenticate()) {
      var a = r.getAuthenticate();
      if (!auth.isEnabled()) {
        throw EtcdError.AUTH_NOT_ENABLED.exception();
      }
      User u = auth.state().users().get(a.getName());
      if (u == null || u.getOptions().getNoPassword()) {
        throw EtcdError.AUTH_FAILED.exception();
      }
      String token = tokens.assign(a.getSimpleToken(), index, a.getName(), auth.revision());
      return Applied.of(AuthenticateResponse.newBuilder().setHeader(header()).setToken(token).build());
    }
    if (r.hasAuthUserAdd()) {
      var a = r.getAuthUserAdd();
      auth.userAdd(w, a.getName(), a.getHashedPassword(), a.getOptions());
      return Applied.of(AuthUserAddResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthUserDelete()) {
      auth.userDelete(w, r.getAuthUserDelete().getName());
      tokens.invalidateUser(r.getAuthUserDelete().getName());
      return Applied.of(AuthUserDeleteResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthUserChangePassword()) {
      var a = r.getAuthUserChangePassword();
      auth.userChangePassword(w, a.getName(), a.getHashedPassword());
      tokens.invalidateUser(a.getName());
      return Applied.of(AuthUserChangePasswordResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthUserGrantRole()) {
      auth.userGrantRole(w, r.getAuthUserGrantRole().getUser(), r.getAuthUserGrantRole().getRole());
      return Applied.of(AuthUserGrantRoleResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthUserRevokeRole()) {
      auth.userRevokeRole(w, r.getAuthUserRevokeRole().getName(), r.getAuthUserRevokeRole().getRole());
      return Applied.of(AuthUserRevokeRoleResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthUserGet()) {
      String name = r.getAuthUserGet().getName();
      if (!name.equals(who.username())) {
        auth.checkAdmin(who); // a user may read their own roles
      }
      User u = auth.state().users().get(name);
      if (u == null) {
        throw EtcdError.USER_NOT_FOUND.exception();
      }
      return Applied.of(AuthUserGetResponse.newBuilder().setHeader(header()).addAllRoles(u.getRolesList()).build());
    }
    if (r.hasAuthUserList()) {
      return Applied.of(AuthUserListResponse.newBuilder().setHeader(header())
          .addAllUsers(auth.state().users().keySet()).build());
    }
    if (r.hasAuthRoleAdd()) {
      auth.roleAdd(w, r.getAuthRoleAdd().getName());
      return Applied.of(AuthRoleAddResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthRoleDelete()) {
      auth.roleDelete(w, r.getAuthRoleDelete().getRole());
      return Applied.of(AuthRoleDeleteResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthRoleGet()) {
      String role = r.getAuthRoleGet().getRole();
      if (!auth.hasRole(who.username(), role)) {
        auth.checkAdmin(who); // a user may read the roles they hold
      }
      Role ro = auth.state().roles().get(role);
      if (ro == null) {
        throw EtcdError.ROLE_NOT_FOUND.exception();
      }
      return Applied.of(AuthRoleGetResponse.newBuilder().setHeader(header()).addAllPerm(ro.getKeyPermissionList()).build());
    }
    if (r.hasAuthRoleList()) {
      return Applied.of(AuthRoleListResponse.newBuilder().setHeader(header())
          .addAllRoles(auth.state().roles().keySet()).build());
    }
    if (r.hasAuthRoleGrantPermission()) {
      var a = r.getAuthRoleGrantPermission();
      auth.roleGrantPermission(w, a.getName(), a.getPerm());
      return Applied.of(AuthRoleGrantPermissionResponse.newBuilder().setHeader(header()).build());
    }
    if (r.hasAuthRoleRevokePermission()) {
      var a = r.getAuthRoleRevokePermission();
      auth.roleRevokePermission(w, a.getRole(), a.getKey(), a.getRangeEnd());
      return Applied.of(AuthRoleRevokePermissionResponse.newBuilder().setHeader(header()).build());
    }
    throw new IllegalArgumentException("not an auth request");
  }

  private AuthStore.AuthWrites writes(ApplyBatch batch) {
    return new AuthStore.AuthWrites() {
      @Override
      public void put(byte[] key, byte[] value) {
        store.stage(batch, store.backend().auth(), key, value);
      }

      @Override
      public void delete(byte[] key) {
        store.stage(batch, store.backend().auth(), key, null);
      }
    };
  }
}
