package dev.floe.check;

import static dev.floe.check.CheckFailed.expect;
import static dev.floe.check.CheckFailed.expectEqual;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.PartitionReassignment;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ElectionNotNeededException;
import org.apache.kafka.common.errors.UnsupportedVersionException;

/**
 * Admin calls newer clients make: describeTopics (DescribeTopicPartitions on 3.8+ clients, paged
 * here by a small partition limit), describeLogDirs, electLeaders, partition reassignments, and
 * describeMetadataQuorum (not served by Floe: the client must refuse it itself).
 */
final class AdminApisCheck {
  private AdminApisCheck() {}

  private static final int PARTITIONS = 5;

  static String run(String bootstrap) throws Exception {
    String topic = "java-admin-apis-" + UUID.randomUUID().toString().substring(0, 8);
    Map<String, Object> out = Json.obj();
    out.put("check", "admin-apis");
    out.put("clientVersion", ClientVersion.get());
    try (Admin admin = Admin.create(ClientConfig.base(bootstrap, "floe-check-admin-apis"))) {
      Node node = get(admin.describeCluster().nodes(), "describeCluster").iterator().next();
      get(admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all(), "createTopics");

      // A limit of 2 makes the client follow the cursor through three responses.
      TopicDescription desc = get(admin.describeTopics(List.of(topic), new DescribeTopicsOptions().partitionSizeLimitPerResponse(2))
          .allTopicNames(), "describeTopics").get(topic);
      expectEqual(PARTITIONS, desc.partitions().size(), "describeTopics partitions");
      for (int p = 0; p < PARTITIONS; p++) {
        expectEqual(p, desc.partitions().get(p).partition(), "describeTopics partition order");
        expectEqual(node.id(), desc.partitions().get(p).leader().id(), "describeTopics leader");
      }
      out.put("describedPartitions", desc.partitions().size());

      Map<String, LogDirDescription> dirs = get(admin.describeLogDirs(List.of(node.id())).allDescriptions(), "describeLogDirs").get(node.id());
      expectEqual(1, dirs.size(), "describeLogDirs: one log dir");
      LogDirDescription dir = dirs.values().iterator().next();
      expect(dir.error() == null, "describeLogDirs error: " + dir.error());
      expect(dir.replicaInfos().containsKey(new TopicPartition(topic, 0)), "describeLogDirs lists the topic");
      expect(dir.totalBytes().isPresent() && dir.totalBytes().getAsLong() > 0, "describeLogDirs totalBytes");
      out.put("logDirs", dirs.size());

      TopicPartition tp = new TopicPartition(topic, 0);
      Map<TopicPartition, Optional<Throwable>> elected = get(admin.electLeaders(ElectionType.PREFERRED, Set.of(tp)).partitions(), "electLeaders");
      Throwable why = elected.get(tp).orElse(null);
      expect(why instanceof ElectionNotNeededException, "electLeaders: expected ElectionNotNeededException, got " + why);
      out.put("election", "not-needed");

      Map<TopicPartition, PartitionReassignment> ongoing = get(admin.listPartitionReassignments().reassignments(), "listPartitionReassignments");
      expect(ongoing.isEmpty(), "listPartitionReassignments: " + ongoing);
      get(admin.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(List.of(node.id()))))).all(), "alterPartitionReassignments");
      out.put("reassignments", ongoing.size());

      try {
        admin.describeMetadataQuorum().quorumInfo().get();
        throw new CheckFailed("describeMetadataQuorum: expected UnsupportedVersionException");
      } catch (ExecutionException e) {
        expect(e.getCause() instanceof UnsupportedVersionException, "describeMetadataQuorum: " + e.getCause());
      }
      out.put("quorum", "unsupported");
    }
    out.put("ok", true);
    return Json.write(out);
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
