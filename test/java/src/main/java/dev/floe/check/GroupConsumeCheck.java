package dev.floe.check;

import static dev.floe.check.CheckFailed.expect;
import static dev.floe.check.CheckFailed.expectEqual;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** subscribe()-based group member: reads expectedCount records, commits after every poll, verifies commits. */
final class GroupConsumeCheck {
  private GroupConsumeCheck() {}

  static String run(String bootstrap, String topic, String group, int expectedCount) {
    Properties cp = ClientConfig.base(bootstrap, "floe-check-group");
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
    cp.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");

    List<Object> records = new ArrayList<>();
    Map<Integer, Long> nextByPartition = new TreeMap<>();
    Map<Integer, Integer> countByPartition = new TreeMap<>();
    Map<String, Object> committedOut = new TreeMap<>();
    Set<TopicPartition> assignment;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 45_000;
      int consumed = 0;
      // One extra poll after the target, so surplus records would be noticed.
      boolean extraPollDone = false;
      while (!extraPollDone) {
        // Only finish once the group has handed us partitions, so "nothing left" means the commits held.
        if (consumed >= expectedCount && !consumer.assignment().isEmpty()) {
          extraPollDone = true;
        }
        expect(System.currentTimeMillis() < deadline,
            "timed out: consumed " + consumed + " of " + expectedCount + " (assignment " + consumer.assignment() + ")");
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(extraPollDone ? 1000 : 500));
        for (ConsumerRecord<byte[], byte[]> r : batch) {
          Long prev = nextByPartition.get(r.partition());
          expect(prev == null || prev == r.offset(),
              "partition " + r.partition() + ": expected offset " + prev + " got " + r.offset());
          nextByPartition.put(r.partition(), r.offset() + 1);
          countByPartition.merge(r.partition(), 1, Integer::sum);
          Map<String, Object> rec = Json.obj();
          rec.put("partition", r.partition());
          rec.put("offset", r.offset());
          rec.put("key", r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8));
          rec.put("value", r.value() == null ? null : new String(r.value(), StandardCharsets.UTF_8));
          records.add(rec);
          consumed++;
        }
        if (!batch.isEmpty()) {
          consumer.commitSync();
        }
      }
      expectEqual(expectedCount, consumed, "records consumed");
      assignment = consumer.assignment();
      Set<TopicPartition> done = new java.util.HashSet<>();
      for (Integer p : nextByPartition.keySet()) {
        done.add(new TopicPartition(topic, p));
      }
      Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(done, Duration.ofSeconds(15));
      for (Map.Entry<Integer, Long> e : nextByPartition.entrySet()) {
        OffsetAndMetadata c = committed.get(new TopicPartition(topic, e.getKey()));
        expect(c != null, "no committed offset for partition " + e.getKey());
        expectEqual(e.getValue(), c.offset(), "committed offset of partition " + e.getKey());
        committedOut.put(Integer.toString(e.getKey()), c.offset());
      }
    }

    Map<String, Object> out = Json.obj();
    out.put("check", "group-consume");
    out.put("client", "java");
    out.put("clientVersion", ClientVersion.get());
    out.put("topic", topic);
    out.put("group", group);
    out.put("consumed", records.size());
    List<Integer> assigned = new ArrayList<>();
    for (TopicPartition tp : assignment) {
      assigned.add(tp.partition());
    }
    assigned.sort(null);
    out.put("assignment", assigned);
    Map<String, Object> counts = new TreeMap<>();
    countByPartition.forEach((p, n) -> counts.put(Integer.toString(p), n));
    out.put("perPartition", counts);
    out.put("committed", committedOut);
    out.put("records", records);
    return Json.write(out);
  }
}
