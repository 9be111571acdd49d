package dev.floe.check;

import static dev.floe.check.CheckFailed.expect;
import static dev.floe.check.CheckFailed.expectEqual;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Walks the AdminClient API over one fresh topic and verifies each answer. */
final class AdminCheck {
  private AdminCheck() {}

  private static final int RECORDS = 10;
  private static final long TS_STEP = 10;

  static String run(String bootstrap) throws Exception {
    String topic = "java-admin-" + UUID.randomUUID().toString().substring(0, 8);
    Map<String, Object> out = Json.obj();
    out.put("check", "admin");
    out.put("client", "java");
    out.put("clientVersion", ClientVersion.get());
    out.put("topic", topic);

    try (Admin admin = Admin.create(ClientConfig.base(bootstrap, "floe-check-admin"))) {
      // describeCluster first: broker configs are addressed by node id.
      DescribeClusterResult cluster = admin.describeCluster();
      Collection<Node> nodes = get(cluster.nodes(), "describeCluster.nodes");
      expect(!nodes.isEmpty(), "describeCluster: no nodes");
      String clusterId = get(cluster.clusterId(), "describeCluster.clusterId");
      expect(clusterId != null && !clusterId.isEmpty(), "describeCluster: empty cluster id");
      Node controller = get(cluster.controller(), "describeCluster.controller");
      Node node = nodes.iterator().next();
      expectEqual("127.0.0.1", node.host(), "describeCluster: advertised host");
      out.put("clusterId", clusterId);
      out.put("nodes", nodes.size());
      out.put("controller", controller == null ? null : controller.id());

      // createTopics with configs
      Map<String, String> configs = Map.of("retention.ms", "3600000", "max.message.bytes", "2000000",
          "cleanup.policy", "delete");
      CreateTopicsResult created = admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1).configs(configs)));
      get(created.all(), "createTopics");
      expectEqual(2, get(created.numPartitions(topic), "createTopics.numPartitions"), "createTopics partitions");
      Config createdConfig = get(created.config(topic), "createTopics.config");
      expectEqual("3600000", value(createdConfig, "retention.ms"), "createTopics returned retention.ms");

      // listTopics
      Set<String> names = get(admin.listTopics().names(), "listTopics");
      expect(names.contains(topic), "listTopics does not contain " + topic + ": " + names);

      // describeTopics
      TopicDescription desc = describe(admin, topic);
      expectEqual(2, desc.partitions().size(), "describeTopics partitions");
      for (TopicPartitionInfo p : desc.partitions()) {
        expect(p.leader() != null && p.leader().id() >= 0, "describeTopics: partition " + p.partition() + " has no leader");
        expect(!p.replicas().isEmpty(), "describeTopics: partition " + p.partition() + " has no replicas");
        expect(!p.isr().isEmpty(), "describeTopics: partition " + p.partition() + " has no ISR");
      }
      expect(desc.topicId() != null, "describeTopics: no topic id");

      // describeConfigs: topic
      ConfigResource topicRes = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config tc = describeConfig(admin, topicRes);
      ConfigEntry retention = tc.get("retention.ms");
      expect(retention != null, "describeConfigs(topic): no retention.ms");
      expectEqual("3600000", retention.value(), "describeConfigs(topic) retention.ms");
      expectEqual(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, retention.source(), "retention.ms source");
      expectEqual("2000000", value(tc, "max.message.bytes"), "describeConfigs(topic) max.message.bytes");
      expectEqual("delete", value(tc, "cleanup.policy"), "describeConfigs(topic) cleanup.policy");
      out.put("topicConfigs", tc.entries().size());

      // describeConfigs: broker
      ConfigResource brokerRes = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(node.id()));
      Config bc = describeConfig(admin, brokerRes);
      expect(!bc.entries().isEmpty(), "describeConfigs(broker " + node.id() + "): no entries");
      out.put("brokerConfigs", bc.entries().size());

      // incrementalAlterConfigs: SET one, DELETE another, then read back
      Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(topicRes, List.of(
          new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("max.message.bytes", ""), AlterConfigOp.OpType.DELETE)));
      get(admin.incrementalAlterConfigs(ops).all(), "incrementalAlterConfigs");
      Config altered = describeConfig(admin, topicRes);
      expectEqual("7200000", value(altered, "retention.ms"), "retention.ms after incrementalAlterConfigs");
      ConfigEntry mmb = altered.get("max.message.bytes");
      expect(mmb == null || mmb.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
          "max.message.bytes still a topic override after DELETE: " + mmb);
      expectEqual("delete", value(altered, "cleanup.policy"), "cleanup.policy untouched by incrementalAlterConfigs");

      // createPartitions 2 -> 3
      get(admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all(), "createPartitions");
      expectEqual(3, describe(admin, topic).partitions().size(), "partitions after createPartitions");

      // data with known timestamps for listOffsets
      long base = System.currentTimeMillis() - 600_000;
      produce(bootstrap, topic, base);
      TopicPartition tp = new TopicPartition(topic, 0);
      expectEqual(0L, listOffset(admin, tp, OffsetSpec.earliest()).offset(), "listOffsets earliest");
      expectEqual((long) RECORDS, listOffset(admin, tp, OffsetSpec.latest()).offset(), "listOffsets latest");
      ListOffsetsResultInfo max = listOffset(admin, tp, OffsetSpec.maxTimestamp());
      expectEqual((long) RECORDS - 1, max.offset(), "listOffsets maxTimestamp offset");
      expectEqual(base + (RECORDS - 1) * TS_STEP, max.timestamp(), "listOffsets maxTimestamp timestamp");
      // First record with timestamp >= base+45 is record 5 (base+50).
      ListOffsetsResultInfo byTime = listOffset(admin, tp, OffsetSpec.forTimestamp(base + 45));
      expectEqual(5L, byTime.offset(), "listOffsets forTimestamp offset");
      expectEqual(base + 50, byTime.timestamp(), "listOffsets forTimestamp timestamp");
      ListOffsetsResultInfo future = listOffset(admin, tp, OffsetSpec.forTimestamp(base + 1_000_000));
      expectEqual(-1L, future.offset(), "listOffsets forTimestamp beyond the last record");
      expectEqual(0L, listOffset(admin, new TopicPartition(topic, 2), OffsetSpec.latest()).offset(),
          "listOffsets latest on the new partition 2");

      // deleteRecords before offset 4
      Map<TopicPartition, KafkaFuture<org.apache.kafka.clients.admin.DeletedRecords>> lw =
          admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks();
      expectEqual(4L, get(lw.get(tp), "deleteRecords").lowWatermark(), "deleteRecords low watermark");
      expectEqual(4L, listOffset(admin, tp, OffsetSpec.earliest()).offset(), "listOffsets earliest after deleteRecords");
      expectEqual((long) RECORDS, listOffset(admin, tp, OffsetSpec.latest()).offset(), "latest after deleteRecords");

      // deleteTopics; metadata may lag a moment
      get(admin.deleteTopics(List.of(topic)).all(), "deleteTopics");
      long deadline = System.currentTimeMillis() + 10_000;
      while (get(admin.listTopics().names(), "listTopics after delete").contains(topic)) {
        expect(System.currentTimeMillis() < deadline, "topic still listed 10 s after deleteTopics");
        Thread.sleep(200);
      }
    }
    out.put("steps", List.of("describeCluster", "createTopics", "listTopics", "describeTopics",
        "describeConfigs(topic)", "describeConfigs(broker)", "incrementalAlterConfigs", "createPartitions",
        "listOffsets(earliest,latest,maxTimestamp,forTimestamp)", "deleteRecords", "deleteTopics"));
    out.put("ok", true);
    return Json.write(out);
  }

  private static void produce(String bootstrap, String topic, long base) throws Exception {
    Properties pp = ClientConfig.producer(bootstrap, "floe-check-admin-producer");
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Future<RecordMetadata>> acks = new ArrayList<>();
      for (int i = 0; i < RECORDS; i++) {
        byte[] v = ("v" + i).getBytes(StandardCharsets.UTF_8);
        acks.add(producer.send(new ProducerRecord<>(topic, 0, base + i * TS_STEP, null, v)));
      }
      producer.flush();
      for (int i = 0; i < RECORDS; i++) {
        expectEqual((long) i, get(acks.get(i), "produce").offset(), "produce offset");
      }
    }
  }

  private static TopicDescription describe(Admin admin, String topic) {
    Map<String, TopicDescription> all = get(admin.describeTopics(List.of(topic)).allTopicNames(), "describeTopics");
    TopicDescription d = all.get(topic);
    expect(d != null, "describeTopics: no description for " + topic);
    return d;
  }

  private static Config describeConfig(Admin admin, ConfigResource res) {
    Config c = get(admin.describeConfigs(List.of(res)).all(), "describeConfigs " + res).get(res);
    expect(c != null, "describeConfigs: nothing for " + res);
    return c;
  }

  private static ListOffsetsResultInfo listOffset(Admin admin, TopicPartition tp, OffsetSpec spec) {
    return get(admin.listOffsets(Map.of(tp, spec)).partitionResult(tp), "listOffsets " + tp);
  }

  private static String value(Config c, String name) {
    ConfigEntry e = c.get(name);
    return e == null ? null : e.value();
  }

  private static <T> T get(Future<T> f, String what) {
    try {
      return f.get();
    } catch (ExecutionException e) {
      throw new CheckFailed(what + " failed: " + e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CheckFailed(what + " interrupted");
    }
  }
}
