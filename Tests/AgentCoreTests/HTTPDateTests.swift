import AgentCore
import Testing

@Suite struct HTTPDateTests {
  @Test(
    arguments: [
      // RFC 9110 §5.6.7's example.
      ("Sun, 06 Nov 1994 08:49:37 GMT", Int64(784_111_777)),
      ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
      ("Sun, 29 Nov 2026 10:20:11 GMT", 1_795_947_611),
      ("Thu, 29 Feb 2024 12:00:00 GMT", 1_709_208_000),
      ("Tue, 29 Feb 2000 00:00:00 GMT", 951_782_400),
      ("Thu, 01 Jan 2037 00:00:00 GMT", 2_114_380_800),
      // Past the 32-bit time_t limit: an armv7 Int would overflow here.
      ("Tue, 19 Jan 2038 03:14:08 GMT", 2_147_483_648),
      ("Fri, 31 Dec 9999 23:59:59 GMT", 253_402_300_799),
      // A leap second reads as the next day's first second.
      ("Wed, 31 Dec 2008 23:59:60 GMT", 1_230_768_000),
      // A header value's surrounding whitespace is not part of it.
      ("  Sun, 06 Nov 1994 08:49:37 GMT\t", 784_111_777),
    ])
  func imfFixdate(text: String, epoch: Int64) {
    #expect(HTTPDate.parse(text) == epoch)
  }

  @Test(arguments: [
    "",
    "Sun, 06 Nov 1994 08:49:37",
    // The obsolete forms RFC 9110 §5.6.7 lets recipients accept; this one refuses.
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    // Inconsistent or out of range.
    "Mon, 06 Nov 1994 08:49:37 GMT",
    "Fri, 29 Feb 2023 00:00:00 GMT",
    "Fri, 29 Feb 2100 00:00:00 GMT",
    "Thu, 31 Apr 2026 00:00:00 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:00:00 GMT",
    "Sun, 06 Nov 1994 08:60:37 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT",
    "Wed, 31 Dec 1969 23:59:59 GMT",
    // Near misses of the syntax.
    "sun, 06 nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 gmt",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun,  06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 94 08:49:37 GMT",
    "Sun, 06 Nov 1994 8:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT+1",
    "Sun, 06 Nov 1994 08:49:37 +0000",
    "Sun, +6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08.49.37 GMT",
    "Sun; 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT\r\nX: y",
    "Sun, 06 N\u{f6}v 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
  ])
  func refused(text: String) {
    #expect(HTTPDate.parse(text) == nil)
  }

  @Test func formatRoundTrips() throws {
    #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    #expect(HTTPDate.format(253_402_300_799) == "Fri, 31 Dec 9999 23:59:59 GMT")
    #expect(HTTPDate.format(-1) == nil)
    #expect(HTTPDate.format(253_402_300_800) == nil)
    var generator = SeededGenerator(state: 42)
    for _ in 0..<20_000 {
      let epoch = Int64(generator.next() % 253_402_300_800)
      let text = try #require(HTTPDate.format(epoch))
      #expect(HTTPDate.parse(text) == epoch, "\(text)")
    }
    // Every day of four years around a leap year, at noon.
    for day in Int64(10_957)..<Int64(10_957 + 4 * 366) {
      let epoch = day * 86_400 + 43_200
      #expect(HTTPDate.parse(try #require(HTTPDate.format(epoch))) == epoch)
    }
  }

  @Test func hostileInputNeverTraps() {
    var generator = SeededGenerator(state: 7)
    let seed = Array("Sun, 06 Nov 1994 08:49:37 GMT".utf8)
    let alphabet = Array("0123456789 :,SunMonNovDecGMT\u{0}".utf8) + [0xff]
    for _ in 0..<20_000 {
      var bytes = seed
      bytes[generator.below(bytes.count)] = alphabet[generator.below(alphabet.count)]
      bytes[generator.below(bytes.count)] = alphabet[generator.below(alphabet.count)]
      _ = HTTPDate.parse(String(decoding: bytes, as: UTF8.self))
    }
    #expect(HTTPDate.parse(String(repeating: "9", count: 29)) == nil)
    #expect(HTTPDate.parse(String(repeating: "Sun, 06 Nov 1994 08:49:37 GMT", count: 100_000)) == nil)
  }
}
