package io.etcetera.tls.context;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TlsVersionsTest {
  @Test
  void ranges() {
    assertArrayEquals(new String[] {"TLSv1.2", "TLSv1.3"}, TlsVersions.protocols("TLS1.2", ""));
    assertArrayEquals(new String[] {"TLSv1.2", "TLSv1.3"}, TlsVersions.protocols("", ""));
    assertArrayEquals(new String[] {"TLSv1.2", "TLSv1.3"}, TlsVersions.protocols("", "TLS1.3"));
    assertArrayEquals(new String[] {"TLSv1.2"}, TlsVersions.protocols("", "TLS1.2"));
    assertArrayEquals(new String[] {"TLSv1.2"}, TlsVersions.protocols("TLS1.2", "TLS1.2"));
    assertArrayEquals(new String[] {"TLSv1.3"}, TlsVersions.protocols("TLS1.3", ""));
    assertArrayEquals(new String[] {"TLSv1.3"}, TlsVersions.protocols("TLS1.3", "TLS1.3"));
  }

  @Test
  void everyNameIsAJsseProtocol() throws Exception {
    List<String> supported = List.of(SSLContext.getDefault().getSupportedSSLParameters().getProtocols());
    for (String p : TlsVersions.protocols("", "")) {
      assertTrue(supported.contains(p), p);
    }
  }

  @Test
  void minAboveMaxIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TlsVersions.protocols("TLS1.3", "TLS1.2"));
    assertTrue(e.getMessage().contains("TLS1.3") && e.getMessage().contains("TLS1.2"), e.getMessage());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "TLS1.1|''", "TLS1.0|''", "''|TLS1.1", "tls1.2|''", "TLSv1.2|''", "''|TLSv1.3", "1.2|''", "TLS1.4|''", "' TLS1.2'|''"})
  void badVersionsAreRejected(String min, String max) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TlsVersions.protocols(min, max));
    assertTrue(e.getMessage().contains("unsupported TLS version"), e.getMessage());
  }

  @Test
  void cipherSuites() {
    assertNull(TlsVersions.cipherSuites(null));
    assertNull(TlsVersions.cipherSuites(""));
    assertNull(TlsVersions.cipherSuites("  "));
    assertEquals(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        TlsVersions.cipherSuites(" TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ,, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"));
    assertEquals(List.of("TLS_AES_128_GCM_SHA256"), TlsVersions.cipherSuites("TLS_AES_128_GCM_SHA256"));
  }
}
