import Testing

@testable import AgentCore

/// `Word` is byte equality, never Unicode equivalence: that is what keeps
/// the normalization tables out of the binary, and it is the stricter test
/// for names (a look-alike spelling is not the name).
@Suite struct WordTests {
  @Test func equalBytesAreEqualAndOthersAreNot() {
    #expect(Word("run") == "run")
    #expect(Word("run") != "Run")
    #expect(Word("run") != "run ")
    #expect(Word("") == "")
    // U+00E9 and U+0065 U+0301 are canonically equivalent: String says
    // equal, Word says not (different bytes).
    let composed = "caf\u{E9}"
    let decomposed = "cafe\u{301}"
    #expect(composed == decomposed)
    #expect(Word(composed) != Word(decomposed))
  }

  @Test func literalPatternsMatchInASwitch() {
    func kind(_ text: String) -> Int {
      switch Word(text) {
      case "file": return 1
      case "mtd": return 2
      default: return 0
      }
    }
    #expect(kind("file") == 1)
    #expect(kind("mtd") == 2)
    #expect(kind("MTD") == 0)
    #expect(kind("fil\u{65}\u{301}") == 0)
  }

  @Test func listsOptionalsAndSuffixes() {
    #expect(Word.isIn(["a", "bc"], "bc"))
    #expect(!Word.isIn(["a", "bc"], "b"))
    #expect(Word.isOnly(["--json"], "--json"))
    #expect(!Word.isOnly(["--json", "--json"], "--json"))
    #expect(!Word.isOnly([], "--json"))
    #expect(Word.same(nil, nil))
    #expect(Word.same("/dev/log", "/dev/log"))
    #expect(!Word.same("/dev/log", nil))
    #expect(!Word.same(nil, "/dev/log"))
    #expect(Word.hasSuffix("3.rec.tmp", ".rec.tmp"))
    #expect(!Word.hasSuffix("3.rec", ".rec.tmp"))
    #expect(Word.hasSuffix(".rec.tmp", ".rec.tmp"))
  }
}
