package io.etcetera.mvcc.watch;

import io.etcetera.api.mvccpb.Event;
import java.util.List;

/**
 * What a watch stream sends, in order: the server turns each into one WatchResponse (or several
 * fragments). Immutable values.
 */
public sealed interface Outbound {
  /** The answer to a create request; {@code canceled} with a reason when the watch was refused. */
  record Created(long watchId, long revision, boolean canceled, String cancelReason) implements Outbound {}

  /** Events of one or more whole revisions for one watcher; {@code revision} goes in the header. */
  record Events(Watcher watcher, List<Event> events, long revision, long bytes) implements Outbound {}

  /** A progress notification: every event up to {@code revision} has been sent (watch id -1: the whole stream). */
  record Progress(long watchId, long revision) implements Outbound {}

  /** The watcher is gone: canceled by the client, or compacted past its next revision. */
  record Canceled(long watchId, long revision, long compactRevision, String cancelReason) implements Outbound {}
}
