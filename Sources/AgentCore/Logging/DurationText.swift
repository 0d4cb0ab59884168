/// Durations as log lines show them.
public enum DurationText {
  /// `1234` ms as `1.234`; whole seconds without a fraction; sub-second
  /// jitter stays visible, so a log shows that retries did not line up.
  public static func seconds(_ milliseconds: Int64) -> String {
    let whole = milliseconds.magnitude / 1_000
    let fraction = milliseconds.magnitude % 1_000
    var text = milliseconds < 0 ? "-\(whole)" : "\(whole)"
    guard fraction != 0 else { return text }
    var digits = "\(fraction)"
    while digits.utf8.count < 3 { digits = "0" + digits }
    text += ".\(digits)"
    return text
  }
}
