package io.etcetera.mvcc.watch;

/** A watch create request refused, with etcd's reason text (sent as the created response's cancel reason). */
public final class WatchException extends RuntimeException {
  public static final String DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream";
  public static final String EMPTY_RANGE = "mvcc: watcher range is empty";

  public WatchException(String reason) {
    super(reason, null, false, false);
  }
}
