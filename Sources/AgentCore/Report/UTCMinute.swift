/// RFC 3339 UTC timestamps at minute precision ("2026-11-28T09:41Z"), the
/// report's `last_activation`: precise enough for the cloud, coarse enough
/// not to fingerprint the device's clock.
public enum UTCMinute {
  /// Formats seconds since the epoch; nil before 1970 or after 9999.
  public static func format(_ seconds: Int64) -> String? {
    guard seconds >= 0, seconds < 253_402_300_800 else { return nil }
    let days = seconds / 86_400
    let secondOfDay = seconds % 86_400
    let (year, month, day) = civil(fromDays: days)
    return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(secondOfDay / 3600, 2) + ":"
      + pad(secondOfDay % 3600 / 60, 2) + "Z"
  }

  /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
  static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    return (year, month, day)
  }

  private static func pad(_ value: Int64, _ width: Int) -> String {
    var text = String(value)
    while text.utf8.count < width { text = "0" + text }
    return text
  }
}
