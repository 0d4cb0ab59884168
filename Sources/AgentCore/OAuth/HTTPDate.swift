/// The IMF-fixdate form of an HTTP date (RFC 9110 §5.6.7), e.g.
/// `Sun, 29 Nov 2026 10:20:11 GMT`, as epoch seconds.
///
/// A camera boots at 1970 until NTP syncs, so the server's `Date` header is
/// how it dates its DPoP proofs and client assertions. Only the one form
/// servers must send is accepted; the obsolete RFC 850 and asctime forms
/// (two-digit years, ambiguous spacing) and any inconsistency (a weekday that
/// does not match the date, 31 April) are refused, since a wrong time here
/// makes every proof fail.
public enum HTTPDate {
  private static let dayNames: [String] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
  private static let monthNames: [String] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  ]

  /// Seconds since 1970-01-01T00:00:00Z, or nil for anything that is not an
  /// IMF-fixdate from 1970 to 9999. Leading and trailing spaces and tabs (a
  /// header value's OWS) are ignored.
  public static func parse(_ text: String) -> Int64? {
    // Bounded before trimming copies anything.
    guard text.utf8.count <= 64 else { return nil }
    let bytes = Array(ASCII.trimmed(text).utf8)
    // "Sun, 29 Nov 2026 10:20:11 GMT" is always 29 bytes.
    guard bytes.count == 29 else { return nil }
    guard bytes[3] == UInt8(ascii: ","), bytes[4] == 0x20, bytes[7] == 0x20, bytes[11] == 0x20,
      bytes[16] == 0x20, bytes[19] == UInt8(ascii: ":"), bytes[22] == UInt8(ascii: ":"), bytes[25] == 0x20,
      bytes[26] == UInt8(ascii: "G"), bytes[27] == UInt8(ascii: "M"), bytes[28] == UInt8(ascii: "T")
    else { return nil }
    guard let weekday = index(of: bytes[0..<3], in: dayNames),
      let month = index(of: bytes[8..<11], in: monthNames),
      let day = digits(bytes[5..<7]), let year = digits(bytes[12..<16]),
      let hour = digits(bytes[17..<19]), let minute = digits(bytes[20..<22]),
      let second = digits(bytes[23..<25])
    else { return nil }
    // Second 60 is a leap second (RFC 5322 §3.3); it reads as the next minute's 0.
    guard year >= 1970, day >= 1, day <= daysIn(month: month + 1, year: year), hour <= 23, minute <= 59,
      second <= 60
    else { return nil }
    let days = daysSinceEpoch(year: year, month: month + 1, day: day)
    // 1970-01-01 was a Thursday (index 3 with Monday as 0).
    guard (days + 3) % 7 == Int64(weekday) else { return nil }
    return days * 86_400 + hour * 3_600 + minute * 60 + second
  }

  /// The IMF-fixdate for epoch seconds from 1970 to 9999 (for tests and
  /// diagnostics; the agent never sends a date).
  public static func format(_ epochSeconds: Int64) -> String? {
    guard epochSeconds >= 0, epochSeconds < 253_402_300_800 else { return nil }
    let days = epochSeconds / 86_400
    let secondsOfDay = epochSeconds % 86_400
    let (year, month, day) = civilDate(daysSinceEpoch: days)
    var out = dayNames[Int((days + 3) % 7)] + ", " + twoDigits(day) + " " + monthNames[Int(month - 1)] + " "
    out += String(year) + " " + twoDigits(secondsOfDay / 3_600) + ":"
    out += twoDigits(secondsOfDay % 3_600 / 60) + ":" + twoDigits(secondsOfDay % 60) + " GMT"
    return out
  }

  private static func twoDigits(_ value: Int64) -> String {
    value < 10 ? "0" + String(value) : String(value)
  }

  private static func index(of slice: ArraySlice<UInt8>, in names: [String]) -> Int? {
    for (index, name) in names.enumerated() where name.utf8.elementsEqual(slice) { return index }
    return nil
  }

  private static func digits(_ slice: ArraySlice<UInt8>) -> Int64? {
    var value: Int64 = 0
    for byte in slice {
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
      value = value * 10 + Int64(byte - UInt8(ascii: "0"))
    }
    return value
  }

  private static func isLeap(_ year: Int64) -> Bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
  }

  private static func daysIn(month: Int, year: Int64) -> Int64 {
    switch month {
    case 2: return isLeap(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days from 1970-01-01 in the proleptic Gregorian calendar (the
  /// `days_from_civil` algorithm of H. Hinnant, for years >= 0 only).
  private static func daysSinceEpoch(year: Int64, month: Int, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = y / 400
    let yearOfEra = y - era * 400
    let m = Int64(month)
    let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  /// The inverse of `daysSinceEpoch` (`civil_from_days`), for days >= 0.
  private static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = days + 719_468
    let era = z / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }
}
