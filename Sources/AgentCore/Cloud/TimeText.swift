/// Times as the agent's log lines and `version` print them: RFC 3339 UTC to
/// the second ("2026-12-01T20:16:24Z"); a value outside years 0000-9999 as
/// plain seconds, so that a hostile or broken clock still reads as what it is.
public enum TimeText {
  public static func utc(_ seconds: Int64) -> String {
    guard seconds >= -62_167_219_200, seconds < 253_402_300_800 else { return "\(seconds) s since 1970" }
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    let (year, month, day) = UTCMinute.civil(fromDays: days)
    return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(secondOfDay / 3600, 2) + ":"
      + pad(secondOfDay % 3600 / 60, 2) + ":" + pad(secondOfDay % 60, 2) + "Z"
  }

  private static func pad(_ value: Int64, _ width: Int) -> String {
    var text = String(value)
    while text.utf8.count < width { text = "0" + text }
    return text
  }
}
