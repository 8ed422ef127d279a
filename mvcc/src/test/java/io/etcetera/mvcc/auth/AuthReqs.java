package io.etcetera.mvcc.auth;

import com.google.protobuf.ByteString;
import io.etcetera.api.authpb.Permission;
import io.etcetera.api.authpb.UserAddOptions;
import io.etcetera.api.etcdserverpb.AuthDisableRequest;
import io.etcetera.api.etcdserverpb.AuthEnableRequest;
import io.etcetera.api.etcdserverpb.AuthRoleAddRequest;
import io.etcetera.api.etcdserverpb.AuthRoleDeleteRequest;
import io.etcetera.api.etcdserverpb.AuthRoleGetRequest;
import io.etcetera.api.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etcetera.api.etcdserverpb.AuthRoleListRequest;
import io.etcetera.api.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etcetera.api.etcdserverpb.AuthStatusRequest;
import io.etcetera.api.etcdserverpb.AuthUserAddRequest;
import io.etcetera.api.etcdserverpb.AuthUserChangePasswordRequest;
import io.etcetera.api.etcdserverpb.AuthUserDeleteRequest;
import io.etcetera.api.etcdserverpb.AuthUserGetRequest;
import io.etcetera.api.etcdserverpb.AuthUserGrantRoleRequest;
import io.etcetera.api.etcdserverpb.AuthUserListRequest;
import io.etcetera.api.etcdserverpb.AuthUserRevokeRoleRequest;
import io.etcetera.api.etcdserverpb.InternalAuthenticateRequest;
import io.etcetera.api.etcdserverpb.InternalRaftRequest;

/** Auth log entries as the API layer proposes them (passwords already hashed). */
final class AuthReqs {
  private AuthReqs() {}

  private static InternalRaftRequest.Builder r() {
    return InternalRaftRequest.newBuilder();
  }

  static InternalRaftRequest enable() {
    return r().setAuthEnable(AuthEnableRequest.getDefaultInstance()).build();
  }

  static InternalRaftRequest disable() {
    return r().setAuthDisable(AuthDisableRequest.getDefaultInstance()).build();
  }

  static InternalRaftRequest status() {
    return r().setAuthStatus(AuthStatusRequest.getDefaultInstance()).build();
  }

  static InternalRaftRequest userAdd(String name, String password) {
    return r().setAuthUserAdd(AuthUserAddRequest.newBuilder().setName(name)
        .setHashedPassword(Passwords.hash(password, AuthRig.COST))).build();
  }

  static InternalRaftRequest userAddNoPassword(String name) {
    return r().setAuthUserAdd(AuthUserAddRequest.newBuilder().setName(name)
        .setOptions(UserAddOptions.newBuilder().setNoPassword(true))).build();
  }

  static InternalRaftRequest userDelete(String name) {
    return r().setAuthUserDelete(AuthUserDeleteRequest.newBuilder().setName(name)).build();
  }

  static InternalRaftRequest userGet(String name) {
    return r().setAuthUserGet(AuthUserGetRequest.newBuilder().setName(name)).build();
  }

  static InternalRaftRequest userList() {
    return r().setAuthUserList(AuthUserListRequest.getDefaultInstance()).build();
  }

  static InternalRaftRequest changePassword(String name, String password) {
    return r().setAuthUserChangePassword(AuthUserChangePasswordRequest.newBuilder().setName(name)
        .setHashedPassword(Passwords.hash(password, AuthRig.COST))).build();
  }

  static InternalRaftRequest grantRole(String user, String role) {
    return r().setAuthUserGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser(user).setRole(role)).build();
  }

  static InternalRaftRequest revokeRole(String user, String role) {
    return r().setAuthUserRevokeRole(AuthUserRevokeRoleRequest.newBuilder().setName(user).setRole(role)).build();
  }

  static InternalRaftRequest roleAdd(String name) {
    return r().setAuthRoleAdd(AuthRoleAddRequest.newBuilder().setName(name)).build();
  }

  static InternalRaftRequest roleDelete(String name) {
    return r().setAuthRoleDelete(AuthRoleDeleteRequest.newBuilder().setRole(name)).build();
  }

  static InternalRaftRequest roleGet(String name) {
    return r().setAuthRoleGet(AuthRoleGetRequest.newBuilder().setRole(name)).build();
  }

  static InternalRaftRequest roleList() {
    return r().setAuthRoleList(AuthRoleListRequest.getDefaultInstance()).build();
  }

  static InternalRaftRequest grantPermission(String role, Permission p) {
    return r().setAuthRoleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder().setName(role).setPerm(p)).build();
  }

  static InternalRaftRequest revokePermission(String role, String key, String end) {
    return r().setAuthRoleRevokePermission(AuthRoleRevokePermissionRequest.newBuilder().setRole(role)
        .setKey(ByteString.copyFromUtf8(key)).setRangeEnd(ByteString.copyFromUtf8(end))).build();
  }

  static InternalRaftRequest authenticate(String name, String prefix) {
    return r().setAuthenticate(InternalAuthenticateRequest.newBuilder().setName(name).setSimpleToken(prefix)).build();
  }
}
