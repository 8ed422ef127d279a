package io.etcetera.server;

/** Versions this build reports. */
public final class Version {
  /** The etcd version Etcetera speaks for (clients gate features such as watch progress on ≥ 3.5.13). */
  public static final String ETCD_API = "3.5.17";
  /** The etcd cluster version (major.minor). */
  public static final String ETCD_CLUSTER = "3.5.0";
  /** Etcetera's own version. */
  public static final String ETCETERA = "0.1.0";

  private Version() {}
}
