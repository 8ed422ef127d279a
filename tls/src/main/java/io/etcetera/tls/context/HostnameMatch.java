package io.etcetera.tls.context;

import java.net.InetAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Whether a certificate is valid for a host name, as Go's {@code x509.Certificate.VerifyHostname}
 * decides: an IP address must be one of its IP subject alternative names; a name must match one of
 * its DNS names (case-insensitively; a leading {@code *.} matches exactly one label). Stateless.
 */
final class HostnameMatch {
  private static final int DNS = 2;
  private static final int IP = 7;

  private HostnameMatch() {}

  static boolean matches(X509Certificate c, String host) {
    Collection<List<?>> sans;
    try {
      sans = c.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return false;
    }
    if (sans == null) {
      return false;
    }
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    boolean isIp = h.matches("[0-9.]+") || h.contains(":");
    for (List<?> san : sans) {
      int type = (Integer) san.get(0);
      String value = String.valueOf(san.get(1));
      if (isIp && type == IP && sameAddress(value, h)) {
        return true;
      }
      if (!isIp && type == DNS && dnsMatch(value, h)) {
        return true;
      }
    }
    return false;
  }

  private static boolean sameAddress(String a, String b) {
    try {
      return InetAddress.getByName(a).equals(InetAddress.getByName(b));
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private static boolean dnsMatch(String pattern, String host) {
    String p = pattern.toLowerCase(Locale.ROOT);
    String h = host.toLowerCase(Locale.ROOT);
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    if (p.startsWith("*.")) {
      int dot = h.indexOf('.');
      return dot > 0 && h.substring(dot).equals(p.substring(1));
    }
    return p.equals(h);
  }
}
