package io.etcetera.mvcc.kv;

import io.etcetera.api.mvccpb.KeyValue;
import io.etcetera.mvcc.Revision;
import java.util.List;

/** Where the rows of a set of revisions are read from: disk, or disk plus a write batch in progress. */
interface RowSource {
  /** The rows of {@code revisions}, in order; null where a row is gone (compacted meanwhile). */
  List<KeyValue> rows(List<Revision> revisions);
}
