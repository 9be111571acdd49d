// The Apache Kafka Java client through a leader change (run as a single-file program with the
// floe-client-check fat jar on the class path): an idempotent acks=all producer runs for a while
// (the test SIGKILLs a partition leader meanwhile), then an assign() consumer reads it all back.
// Prints {"event":"acked","count":n} every 50 acknowledgements, then one summary line (JSON).
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class FailoverClient {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0], topic = args[1];
    int partitions = Integer.parseInt(args[2]);
    long millis = (long) (Double.parseDouble(args[3]) * 1000);
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", "failover-java");
    p.put("enable.idempotence", "true");
    p.put("acks", "all");
    p.put("linger.ms", "5");
    p.put("delivery.timeout.ms", "90000");
    p.put("request.timeout.ms", "5000");
    p.put("retry.backoff.ms", "100");
    p.put("metadata.max.age.ms", "1000");
    Map<String, String> acked = new ConcurrentHashMap<>();
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger count = new AtomicInteger();
    int sent = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      long deadline = System.currentTimeMillis() + millis;
      while (System.currentTimeMillis() < deadline) {
        String value = "java-" + sent;
        producer.send(new ProducerRecord<>(topic, sent % partitions, "k-" + sent, value), (md, err) -> {
          if (err != null) { errors.add(err.toString()); return; }
          acked.put(md.partition() + "@" + md.offset(), value);
          if (count.incrementAndGet() % 50 == 0) System.out.println("{\"event\":\"acked\",\"count\":" + count.get() + "}");
        });
        sent++;
        Thread.sleep(5);
      }
      producer.flush();
    }
    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", "failover-java-reader");
    c.put("enable.auto.commit", "false");
    c.put("auto.offset.reset", "earliest");
    Map<Integer, Long> want = new HashMap<>();
    for (String k : acked.keySet()) {
      String[] pk = k.split("@");
      want.merge(Integer.parseInt(pk[0]), Long.parseLong(pk[1]), Math::max);
    }
    Map<String, String> seen = new HashMap<>();
    Map<Integer, Long> upTo = new HashMap<>();
    int redelivered = 0;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      long deadline = System.currentTimeMillis() + 60_000;
      while (System.currentTimeMillis() < deadline && want.entrySet().stream().anyMatch(e -> upTo.getOrDefault(e.getKey(), -1L) < e.getValue())) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          if (seen.put(r.partition() + "@" + r.offset(), r.value()) != null) redelivered++;
          upTo.merge(r.partition(), r.offset(), Math::max);
        }
      }
    }
    int missing = 0;
    List<String> sample = new ArrayList<>();
    for (Map.Entry<String, String> e : acked.entrySet()) {
      if (!e.getValue().equals(seen.get(e.getKey()))) { missing++; if (sample.size() < 5) sample.add(e.getKey()); }
    }
    int dupValues = seen.size() - new HashSet<>(seen.values()).size();
    System.out.println("{\"client\":\"java\",\"sent\":" + sent + ",\"acked\":" + acked.size() + ",\"errorCount\":" + errors.size()
        + ",\"consumed\":" + seen.size() + ",\"duplicateValues\":" + dupValues + ",\"redelivered\":" + redelivered
        + ",\"missing\":" + missing + ",\"missingSample\":\"" + String.join(" ", sample) + "\",\"firstError\":\""
        + (errors.isEmpty() ? "" : errors.get(0).replace("\"", "'")) + "\"}");
  }
}
