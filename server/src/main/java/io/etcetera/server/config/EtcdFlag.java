package io.etcetera.server.config;

/**
 * One of etcd's server flags: its name (also {@code ETCD_NAME_IN_CAPS} in the environment), its
 * default as etcd prints it, whether it is a boolean (given alone, or as {@code =true/false}),
 * and how Etcetera supports it ({@code later} names the issue that brings a NOT_YET flag).
 * Immutable.
 */
record EtcdFlag(String name, String defaultValue, boolean bool, FlagSupport support, String later) {
  static EtcdFlag used(String name, String def) {
    return new EtcdFlag(name, def, false, FlagSupport.USED, null);
  }

  static EtcdFlag usedBool(String name) {
    return new EtcdFlag(name, "false", true, FlagSupport.USED, null);
  }

  static EtcdFlag noEffect(String name, String def) {
    return new EtcdFlag(name, def, false, FlagSupport.NO_EFFECT, null);
  }

  static EtcdFlag noEffectBool(String name) {
    return new EtcdFlag(name, "false", true, FlagSupport.NO_EFFECT, null);
  }

  static EtcdFlag notYet(String name, String def, String later) {
    return new EtcdFlag(name, def, false, FlagSupport.NOT_YET, later);
  }

  static EtcdFlag notYetBool(String name, String later) {
    return new EtcdFlag(name, "false", true, FlagSupport.NOT_YET, later);
  }

  String envName() {
    return "ETCD_" + name.toUpperCase(java.util.Locale.ROOT).replace('-', '_');
  }
}
