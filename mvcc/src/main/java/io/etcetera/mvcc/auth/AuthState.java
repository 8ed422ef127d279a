package io.etcetera.mvcc.auth;

import io.etcetera.api.authpb.Permission;
import io.etcetera.api.authpb.Role;
import io.etcetera.api.authpb.User;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One version of the auth store: the enabled flag, the auth revision, users and roles by name
 * (sorted, as etcd lists them), and each user's merged range permissions. Immutable: the apply
 * thread makes a new one per change, readers take whichever is current.
 */
public record AuthState(boolean enabled, long revision, SortedMap<String, User> users, SortedMap<String, Role> roles,
    Map<String, RangePermissions> permissions) {

  public static final String ROOT = "root";

  public static AuthState empty() {
    return new AuthState(false, 0, new TreeMap<>(), new TreeMap<>(), Map.of());
  }

  AuthState with(boolean enabled, long revision, SortedMap<String, User> users, SortedMap<String, Role> roles) {
    Map<String, RangePermissions> perms = new HashMap<>();
    for (User u : users.values()) {
      List<Permission> all = new ArrayList<>();
      for (String r : u.getRolesList()) {
        Role role = roles.get(r);
        if (role != null) {
          all.addAll(role.getKeyPermissionList());
        }
      }
      perms.put(u.getName().toStringUtf8(), RangePermissions.of(all));
    }
    return new AuthState(enabled, revision, users, roles, Map.copyOf(perms));
  }

  static boolean hasRootRole(User u) {
    return u.getRolesList().contains(ROOT);
  }
}
