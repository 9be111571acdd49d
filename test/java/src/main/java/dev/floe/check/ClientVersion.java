package dev.floe.check;

import java.io.InputStream;
import java.util.Properties;

/** kafka-clients version from its own jar resource (AppInfoParser moved packages in 4.0). */
final class ClientVersion {
  private ClientVersion() {}

  static String get() {
    try (InputStream in = ClientVersion.class.getResourceAsStream("/kafka/kafka-version.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }
}
