package dev.floe.check;

import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;

/** Settings shared by every client: fail within the test's time budget instead of retrying forever. */
final class ClientConfig {
  private ClientConfig() {}

  static Properties base(String bootstrap, String clientId) {
    Properties p = new Properties();
    p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
    p.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    p.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
    p.put(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, "1000");
    return p;
  }

  /** Producer settings: bounded metadata wait and delivery time. */
  static Properties producer(String bootstrap, String clientId) {
    Properties p = base(bootstrap, clientId);
    p.put("max.block.ms", "15000");
    p.put("delivery.timeout.ms", "30000");
    p.put("linger.ms", "5");
    return p;
  }
}
