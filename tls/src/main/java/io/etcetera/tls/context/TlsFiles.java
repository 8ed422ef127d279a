package io.etcetera.tls.context;

import java.nio.file.Path;

/**
 * One side's TLS files and options, as etcd's flags give them (client side: {@code --cert-file
 * --key-file --trusted-ca-file --client-cert-auth}; peer side: the {@code --peer-*} ones).
 * Immutable.
 *
 * @param trustedCaFile null when no CA is given (then client certificates are not verified)
 */
public record TlsFiles(Path certFile, Path keyFile, Path trustedCaFile, boolean clientCertAuth) {}
