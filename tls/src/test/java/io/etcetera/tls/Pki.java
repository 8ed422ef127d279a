package io.etcetera.tls;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A small real-world PKI made with the openssl CLI: a root CA (EC SEC1 key with EC PARAMETERS), an
 * intermediate CA (RSA PKCS#8 key) signing a server leaf (RSA PKCS#1 key) and a client leaf (EC
 * PKCS#8 key) whose chain files hold leaf then intermediate; a CA bundle of the root and two
 * unrelated CAs; and a rogue CA, outside the bundle, with its own server and client leaves.
 */
public final class Pki {
  public final OpenSsl ssl;
  public final Path rootKey;
  public final Path rootCa;
  public final Path intKey;
  public final Path intCa;
  public final Path serverKey;
  public final Path serverLeaf;
  /** server leaf + intermediate. */
  public final Path serverChain;
  public final Path clientKey;
  public final Path clientLeaf;
  /** client leaf + intermediate. */
  public final Path clientChain;
  public final Path otherCa1;
  public final Path otherCa2;
  /** root + otherCa1 + otherCa2. */
  public final Path bundle;
  public final Path rogueKey;
  public final Path rogueCa;
  public final Path rogueServerKey;
  public final Path rogueServerCert;
  public final Path rogueClientKey;
  public final Path rogueClientCert;

  public Pki(Path dir) throws IOException {
    ssl = new OpenSsl(dir);
    rootKey = ssl.ecSec1("root.key");
    rootCa = ssl.selfSignedCa("root.pem", rootKey, "Test Root CA");
    intKey = ssl.rsaPkcs8("int.key");
    intCa = ssl.sign("int.pem", intKey, "Test Intermediate CA", rootCa, rootKey, OpenSsl.INTERMEDIATE_EXT);
    serverKey = ssl.rsaPkcs1("server.key");
    serverLeaf = ssl.sign("server-leaf.pem", serverKey, "server", intCa, intKey, OpenSsl.LEAF_EXT);
    serverChain = OpenSsl.concat(ssl.file("server.pem"), serverLeaf, intCa);
    clientKey = ssl.ecPkcs8("client.key");
    clientLeaf = ssl.sign("client-leaf.pem", clientKey, "alice", intCa, intKey, OpenSsl.LEAF_EXT);
    clientChain = OpenSsl.concat(ssl.file("client.pem"), clientLeaf, intCa);
    Path o1 = ssl.ecSec1("other1.key");
    otherCa1 = ssl.selfSignedCa("other1.pem", o1, "Other CA 1");
    Path o2 = ssl.rsaPkcs1("other2.key");
    otherCa2 = ssl.selfSignedCa("other2.pem", o2, "Other CA 2");
    bundle = OpenSsl.concat(ssl.file("bundle.pem"), otherCa1, rootCa, otherCa2);
    rogueKey = ssl.ecSec1("rogue.key");
    rogueCa = ssl.selfSignedCa("rogue.pem", rogueKey, "Rogue CA");
    rogueServerKey = ssl.ecPkcs8("rogue-server.key");
    rogueServerCert = ssl.sign("rogue-server.pem", rogueServerKey, "server", rogueCa, rogueKey, OpenSsl.LEAF_EXT);
    rogueClientKey = ssl.ecPkcs8("rogue-client.key");
    rogueClientCert = ssl.sign("rogue-client.pem", rogueClientKey, "alice", rogueCa, rogueKey, OpenSsl.LEAF_EXT);
  }
}
