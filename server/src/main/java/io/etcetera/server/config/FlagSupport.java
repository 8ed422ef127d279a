package io.etcetera.server.config;

/** How Etcetera treats one of etcd's flags. */
enum FlagSupport {
  /** Etcetera acts on it as etcd does. */
  USED,
  /** Accepted and without effect: it tunes something Etcetera does not have (bbolt, WAL files, v2). */
  NO_EFFECT,
  /** Accepted at its default only; another value is refused until the named issue lands. */
  NOT_YET
}
