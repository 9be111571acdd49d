package dev.floe.check;

import static dev.floe.check.CheckFailed.expect;
import static dev.floe.check.CheckFailed.expectEqual;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Idempotent, compressed produce of varied records to partition 0, then an assign()-based read-back. */
final class ProduceConsumeCheck {
  private ProduceConsumeCheck() {}

  static final int COUNT = 100;
  private static final int NULL_KEY_AT = 7;
  private static final int NULL_VALUE_AT = 11;
  private static final int EMPTY_VALUE_AT = 13;
  private static final int NULL_HEADER_AT = 17;
  private static final int NO_HEADERS_AT = 19;

  private record Expected(byte[] key, byte[] value, List<Header> headers, long timestamp) {}

  static String run(String bootstrap, String topic, String codec) throws Exception {
    boolean created = ensureTopic(bootstrap, topic);
    long base = System.currentTimeMillis() - 60_000;
    List<Expected> expected = new ArrayList<>();
    for (int i = 0; i < COUNT; i++) {
      expected.add(make(i, codec, base));
    }
    TopicPartition tp = new TopicPartition(topic, 0);

    long firstOffset;
    Properties pp = ClientConfig.producer(bootstrap, "floe-check-producer");
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    pp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      // Two flushes, so the partition holds at least two batches.
      for (int i = 0; i < COUNT; i++) {
        Expected e = expected.get(i);
        acks.add(producer.send(new ProducerRecord<>(topic, 0, e.timestamp, e.key, e.value, e.headers)));
        if (i == COUNT / 2) {
          producer.flush();
        }
      }
      producer.flush();
      firstOffset = get(acks.get(0)).offset();
      for (int i = 0; i < COUNT; i++) {
        RecordMetadata md = get(acks.get(i));
        expectEqual(0, md.partition(), "ack partition of record " + i);
        expectEqual(firstOffset + i, md.offset(), "ack offset of record " + i);
      }
    }

    Properties cp = ClientConfig.base(bootstrap, "floe-check-consumer");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    int consumed = 0;
    int polls = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.currentTimeMillis() + 30_000;
      long next = firstOffset;
      while (consumed < COUNT) {
        expect(System.currentTimeMillis() < deadline,
            "timed out reading back: got " + consumed + " of " + COUNT + " records");
        polls++;
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500)).records(tp)) {
          if (r.offset() < firstOffset) {
            continue; // data from an earlier run on a reused topic
          }
          expectEqual(next, r.offset(), "offset (gap or duplicate)");
          int i = (int) (r.offset() - firstOffset);
          expect(i < COUNT, "unexpected extra record at offset " + r.offset());
          compare(i, expected.get(i), r);
          next++;
          consumed++;
        }
      }
    }

    Map<String, Object> out = Json.obj();
    out.put("check", "produce-consume");
    out.put("client", "java");
    out.put("clientVersion", ClientVersion.get());
    out.put("topic", topic);
    out.put("codec", codec);
    out.put("topicCreated", created);
    out.put("produced", COUNT);
    out.put("consumed", consumed);
    out.put("firstOffset", firstOffset);
    out.put("lastOffset", firstOffset + COUNT - 1);
    out.put("polls", polls);
    return Json.write(out);
  }

  private static Expected make(int i, String codec, long base) {
    byte[] key = i == NULL_KEY_AT ? null : bytes("key-" + i);
    byte[] value;
    if (i == NULL_VALUE_AT) {
      value = null;
    } else if (i == EMPTY_VALUE_AT) {
      value = new byte[0];
    } else {
      value = bytes(("value-" + i + "-" + codec + " ").repeat(1 + i % 5));
    }
    List<Header> headers = new ArrayList<>();
    if (i != NO_HEADERS_AT) {
      headers.add(new RecordHeader("seq", bytes(Integer.toString(i))));
      if (i % 3 == 0) {
        headers.add(new RecordHeader("dup", bytes("a")));
        headers.add(new RecordHeader("dup", bytes("b")));
      }
      if (i == NULL_HEADER_AT) {
        headers.add(new RecordHeader("nullh", null));
      }
    }
    return new Expected(key, value, headers, base + i);
  }

  private static void compare(int i, Expected e, ConsumerRecord<byte[], byte[]> r) {
    String at = "record " + i + " (offset " + r.offset() + ")";
    expect(Arrays.equals(e.key, r.key()), at + ": key " + show(e.key) + " != " + show(r.key()));
    expect(Arrays.equals(e.value, r.value()), at + ": value " + show(e.value) + " != " + show(r.value()));
    expectEqual(TimestampType.CREATE_TIME, r.timestampType(), at + ": timestamp type");
    expectEqual(e.timestamp, r.timestamp(), at + ": timestamp");
    Header[] got = r.headers().toArray();
    expectEqual(e.headers.size(), got.length, at + ": header count");
    for (int h = 0; h < got.length; h++) {
      Header want = e.headers.get(h);
      expectEqual(want.key(), got[h].key(), at + ": header " + h + " key");
      expect(Arrays.equals(want.value(), got[h].value()),
          at + ": header " + want.key() + " value " + show(want.value()) + " != " + show(got[h].value()));
    }
  }

  /** Creates a 1-partition topic; falls back to auto-creation if CreateTopics fails. */
  private static boolean ensureTopic(String bootstrap, String topic) {
    try (Admin admin = Admin.create(ClientConfig.base(bootstrap, "floe-check-admin"))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
      return true;
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        System.err.println("warning: createTopics failed, relying on auto-create: " + e.getCause());
      }
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckFailed("interrupted");
    }
  }

  private static <T> T get(Future<T> f) throws Exception {
    try {
      return f.get();
    } catch (ExecutionException e) {
      throw new CheckFailed("produce failed: " + e.getCause());
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String show(byte[] b) {
    if (b == null) {
      return "null";
    }
    String s = new String(b, StandardCharsets.UTF_8);
    return "\"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"(" + b.length + ")";
  }
}
