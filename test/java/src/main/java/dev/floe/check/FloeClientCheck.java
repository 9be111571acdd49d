package dev.floe.check;

import java.util.Arrays;

/**
 * Drives the Apache Kafka Java client against a broker. Each sub-command prints one JSON line on
 * success (exit 0) or a message on stderr and exits 1.
 */
public final class FloeClientCheck {
  private FloeClientCheck() {}

  public static void main(String[] args) {
    // Client logging goes to stderr, kept quiet unless something is wrong.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
        System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    if (args.length == 0) {
      usage();
      return;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    try {
      String json;
      switch (args[0]) {
        case "produce-consume":
          need(rest, 3);
          json = ProduceConsumeCheck.run(rest[0], rest[1], rest[2]);
          break;
        case "admin":
          need(rest, 1);
          json = AdminCheck.run(rest[0]);
          break;
        case "admin-apis":
          need(rest, 1);
          json = AdminApisCheck.run(rest[0]);
          break;
        case "group-consume":
          need(rest, 4);
          json = GroupConsumeCheck.run(rest[0], rest[1], rest[2], Integer.parseInt(rest[3]));
          break;
        case "member":
          if (rest.length < 3) {
            usage();
          }
          GroupMemberProcess.run(rest[0], rest[1], rest[2], Arrays.copyOfRange(rest, 3, rest.length));
          System.exit(0);
          return;
        default:
          usage();
          return;
      }
      System.out.println(json);
      System.out.flush();
      System.exit(0);
    } catch (CheckFailed e) {
      System.err.println("FAILED: " + e.getMessage());
      System.exit(1);
    } catch (Throwable t) {
      System.err.println("FAILED with exception: " + t);
      t.printStackTrace(System.err);
      System.exit(1);
    }
  }

  private static void need(String[] rest, int n) {
    if (rest.length != n) {
      usage();
    }
  }

  private static void usage() {
    System.err.println("usage: FloeClientCheck produce-consume <bootstrap> <topic> <codec>\n"
        + "       FloeClientCheck admin <bootstrap>\n"
        + "       FloeClientCheck admin-apis <bootstrap>\n"
        + "       FloeClientCheck group-consume <bootstrap> <topic> <group> <expectedCount>\n"
        + "       FloeClientCheck member <bootstrap> <topic> <group> [assignor=..] [instance=..] [session=ms] [client=..]");
    System.exit(2);
  }
}
