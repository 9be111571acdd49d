package dev.floe.check;

/** A verification that did not hold; reported as a one-line failure. */
final class CheckFailed extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CheckFailed(String message) {
    super(message);
  }

  static void expect(boolean ok, String message) {
    if (!ok) {
      throw new CheckFailed(message);
    }
  }

  static void expectEqual(Object expected, Object actual, String what) {
    if (expected == null ? actual != null : !expected.equals(actual)) {
      throw new CheckFailed(what + ": expected " + expected + " but got " + actual);
    }
  }
}
