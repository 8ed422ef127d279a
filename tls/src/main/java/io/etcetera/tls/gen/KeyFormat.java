package io.etcetera.tls.gen;

/** How a generated private key is written: PKCS#8, or the traditional PKCS#1 (RSA) / SEC1 (EC) form. */
public enum KeyFormat {
  PKCS8,
  TRADITIONAL
}
