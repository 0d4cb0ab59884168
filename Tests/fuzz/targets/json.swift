// JSON reader: any document that parses re-serialises to one that parses to
// the same value, and serialising is a fixed point (RFC 8259).
@testable import AgentCore

func serialise(_ value: JSONValue, into out: inout [UInt8]) {
  switch value {
  case .null: out += Array("null".utf8)
  case .bool(let b): out += Array((b ? "true" : "false").utf8)
  case .number(let n): out += Array(n.text.utf8)
  case .string(let s):
    var writer = JSONWriter()
    writer.string(s)
    out += writer.bytes
  case .array(let items):
    out.append(UInt8(ascii: "["))
    for (i, item) in items.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      serialise(item, into: &out)
    }
    out.append(UInt8(ascii: "]"))
  case .object(let object):
    out.append(UInt8(ascii: "{"))
    for (i, member) in object.members.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      var writer = JSONWriter()
      writer.string(member.key)
      out += writer.bytes
      out.append(UInt8(ascii: ":"))
      serialise(member.value, into: &out)
    }
    out.append(UInt8(ascii: "}"))
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  let value: JSONValue
  do throws(JSONError) {
    value = try JSONReader.parse(bytes)
  } catch {
    requireLogSafe(error.description, "JSONError")
    return 0
  }
  var once: [UInt8] = []
  serialise(value, into: &once)
  // The serialised form is at most as deep and has as many members, but its
  // escapes can make it longer than the input: parse it without the size cap.
  let again: JSONValue
  do throws(JSONError) {
    again = try JSONReader.parse(once, limits: JSONReader.Limits(maxBytes: Int.max))
  } catch {
    fatalError("property failed: re-serialised JSON does not parse: \(error.description)")
  }
  require(again == value, "parse(serialise(v)) == v")
  var twice: [UInt8] = []
  serialise(again, into: &twice)
  require(twice == once, "serialise is a fixed point")
  return 0
}
