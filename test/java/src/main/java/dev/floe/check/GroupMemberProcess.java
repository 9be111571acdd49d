package dev.floe.check;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A long-running group member for the group tests: subscribes, prints every processed record and
 * every successful commit as JSON lines on stdout (flushed, so a SIGKILL loses nothing printed),
 * commits synchronously after each poll, and leaves the group cleanly on SIGTERM.
 * Options (key=value): assignor=range|roundrobin|cooperative-sticky, instance=<group.instance.id>,
 * session=<ms>, client=<client.id>, commitEvery=<n> (commit after every n-th poll; a large n widens the
 * at-least-once window a crash leaves).
 */
final class GroupMemberProcess {
  private GroupMemberProcess() {}

  private static synchronized void emit(Map<String, Object> event) {
    System.out.println(Json.write(event));
    System.out.flush();
  }

  private static Map<String, Object> event(String name) {
    Map<String, Object> e = Json.obj();
    e.put("event", name);
    return e;
  }

  private static List<Integer> partitions(Collection<TopicPartition> tps) {
    List<Integer> out = new ArrayList<>();
    for (TopicPartition tp : tps) {
      out.add(tp.partition());
    }
    out.sort(null);
    return out;
  }

  static void run(String bootstrap, String topic, String group, String[] options) throws InterruptedException {
    Map<String, String> opt = new HashMap<>();
    for (String o : options) {
      int i = o.indexOf('=');
      if (i <= 0) {
        throw new CheckFailed("option must be key=value: " + o);
      }
      opt.put(o.substring(0, i), o.substring(i + 1));
    }
    Properties cp = ClientConfig.base(bootstrap, opt.getOrDefault("client", "floe-member"));
    cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, opt.getOrDefault("session", "6000"));
    cp.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
    cp.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "20000");
    cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "200");
    String assignor = opt.getOrDefault("assignor", "range");
    String assignorClass = switch (assignor) {
      case "range" -> "org.apache.kafka.clients.consumer.RangeAssignor";
      case "roundrobin" -> "org.apache.kafka.clients.consumer.RoundRobinAssignor";
      case "cooperative-sticky" -> "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
      default -> throw new CheckFailed("unknown assignor " + assignor);
    };
    cp.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignorClass);
    if (opt.containsKey("instance")) {
      cp.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, opt.get("instance"));
    }

    int commitEvery = Integer.parseInt(opt.getOrDefault("commitEvery", "1"));
    KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    CountDownLatch closed = new CountDownLatch(1);
    final boolean[] stopping = {false};
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      synchronized (stopping) {
        stopping[0] = true;
      }
      consumer.wakeup();
      try {
        closed.await(15, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));

    try {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> tps) {
          Map<String, Object> e = event("revoked");
          e.put("partitions", partitions(tps));
          emit(e);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> tps) {
          Map<String, Object> e = event("assigned");
          e.put("partitions", partitions(tps));
          e.put("owned", partitions(consumer.assignment()));
          e.put("generation", consumer.groupMetadata().generationId());
          e.put("memberId", consumer.groupMetadata().memberId());
          emit(e);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> tps) {
          Map<String, Object> e = event("lost");
          e.put("partitions", partitions(tps));
          emit(e);
        }
      });
      emit(event("started"));
      long batches = 0;
      while (true) {
        synchronized (stopping) {
          if (stopping[0]) {
            break;
          }
        }
        ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(200));
        if (batch.isEmpty()) {
          continue;
        }
        List<Object> recs = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batch) {
          recs.add(List.of(r.partition(), r.offset()));
          next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        Map<String, Object> e = event("records");
        e.put("records", recs);
        emit(e);
        if (++batches % commitEvery != 0) {
          continue;
        }
        try {
          consumer.commitSync(next);
          Map<String, Object> c = event("committed");
          Map<String, Object> offsets = new TreeMap<>();
          next.forEach((tp, om) -> offsets.put(Integer.toString(tp.partition()), om.offset()));
          c.put("offsets", offsets);
          emit(c);
        } catch (FencedInstanceIdException ex) {
          Map<String, Object> f = event("fenced");
          f.put("error", ex.toString());
          emit(f);
          break;
        } catch (WakeupException ex) {
          throw ex;
        } catch (KafkaException ex) {
          // Rebalanced away before the commit landed: the records will be read again elsewhere.
          Map<String, Object> f = event("commit-failed");
          f.put("error", ex.toString());
          emit(f);
        }
      }
    } catch (WakeupException ex) {
      // SIGTERM: fall through to close(), which leaves the group.
    } finally {
      consumer.close(Duration.ofSeconds(10));
      emit(event("closed"));
      closed.countDown();
    }
  }
}
