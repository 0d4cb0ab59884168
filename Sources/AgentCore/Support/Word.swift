/// A name the agent matches exactly as written: a command, an option, a
/// configuration key or value, a protocol token, a provider name.
///
/// Why not `String ==`: String equality is Unicode canonical equivalence,
/// and in an Embedded binary it links the stdlib's normalization machinery
/// and tables (about 32 KB of a camera's flash budget, issue 14). Every name
/// compared here is ASCII, spelled one way, so byte equality is both the
/// cheaper and the stricter test: a look-alike spelled with other code
/// points is not the name. `switch Word(text) { case "run": … }` keeps the
/// shape of a switch on strings (the literal patterns become `Word`s).
public struct Word: Equatable, ExpressibleByStringLiteral {
  public let text: String

  public init(_ text: String) { self.text = text }
  public init(stringLiteral value: String) { text = value }

  public static func == (lhs: Word, rhs: Word) -> Bool {
    lhs.text.utf8.elementsEqual(rhs.text.utf8)
  }

  /// Whether `list` holds `text` byte for byte (`[String].contains` is
  /// String equality again).
  public static func isIn(_ list: [String], _ text: String) -> Bool {
    list.contains { $0.utf8.elementsEqual(text.utf8) }
  }

  /// Optional names: equal when both are absent or both hold the same bytes.
  public static func same(_ a: String?, _ b: String?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let x?, let y?): return Word(x) == Word(y)
    case (nil, _?), (_?, nil): return false
    }
  }

  /// Whether `text` ends with `suffix`, byte for byte (`String.hasSuffix`
  /// compares Characters: Unicode equality again).
  public static func hasSuffix(_ text: String, _ suffix: String) -> Bool {
    text.utf8.count >= suffix.utf8.count && text.utf8.suffix(suffix.utf8.count).elementsEqual(suffix.utf8)
  }

  /// Whether `list` is exactly the one name `text` (`list == ["--json"]`).
  public static func isOnly(_ list: [String], _ text: Word) -> Bool {
    list.count == 1 && Word(list[0]) == text
  }
}
