/**
 * The bbolt database file format, the one etcd uses for its backend ({@code member/snap/db}) and
 * for {@code etcdctl snapshot save} files: {@link io.etcetera.mvcc.bolt.BoltWriter} writes a new
 * file from sorted buckets and rows, streaming; {@link io.etcetera.mvcc.bolt.BoltReader} reads the
 * top-level buckets and their rows page by page. Self-contained: no bbolt code and no native
 * library; only top-level buckets are written, nested buckets are skipped when reading.
 */
package io.etcetera.mvcc.bolt;
