package io.etcetera.server.json;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GoJsonTest {
  @Test
  void stringsAreQuotedAsGoEncodingJsonQuotesThem() {
    assertEquals("\"plain\"", GoJson.quote("plain"));
    assertEquals("\"a\\\"b\\\\c\\nd\\te\\u0001\"", GoJson.quote("a\"b\\c\nd\te\u0001"));
    assertEquals("\"\\u003cb\\u003e\\u0026\"", GoJson.quote("<b>&"), "HTML-safe, as json.Marshal");
    assertEquals("\"ünïcode\"", GoJson.quote("ünïcode"));
  }
}
