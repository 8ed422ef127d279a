package io.etcetera.mvcc.kv;

import io.etcetera.api.mvccpb.Event;
import java.util.List;

/**
 * The events of one main revision, in sub-revision order: a PUT carries the full key-value, a
 * DELETE the key and the deleting revision, as etcd's watchable store makes them. Immutable.
 */
public record RevisionEvents(long revision, List<Event> events) {}
