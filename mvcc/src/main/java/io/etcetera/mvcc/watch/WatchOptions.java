package io.etcetera.mvcc.watch;

/** The options of a watch create request. Immutable. */
public record WatchOptions(boolean noPut, boolean noDelete, boolean prevKv, boolean progressNotify, boolean fragment) {}
