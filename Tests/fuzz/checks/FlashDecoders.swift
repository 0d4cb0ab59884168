// Properties of the decoders for bytes read from flash: the slot frame, the
// vault record and the vault contents. Shared by the hosted libFuzzer targets
// and the armv7 replay program (Tests/fuzz/armv7/), so the same checks also
// run where Int is 32 bits wide and a conversion or a sum that passes
// Int32.max traps. Each returns nil when the property holds, else why not.
// Embedded-safe: no Foundation, no existentials, typed errors only.
@testable import AgentCore

/// The frame's header fields, read here independently of SlotFrame.
func frameLengthField(_ area: [UInt8]) -> UInt32? {
  guard area.count >= 12 else { return nil }
  return UInt32(area[4]) | UInt32(area[5]) << 8 | UInt32(area[6]) << 16 | UInt32(area[7]) << 24
}

/// Selector bits choose the alignment, whether trailing bytes are allowed, and
/// whether the length field is replaced by one near a 32-bit boundary (what a
/// forged header on a 32-bit board would hold).
func checkSlotFrame(_ input: [UInt8]) -> String? {
  guard let mode = input.first else { return nil }
  var area = Array(input.dropFirst())
  let alignments = [1, 2, 4, 8, 16, 64, 512, 2048]
  let alignment = alignments[Int(mode & 7)]
  let allowTrailing = mode & 8 == 0
  if mode & 0x30 != 0 && area.count >= 12 {
    let forged: [UInt32] = [0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF4]
    let value = forged[Int(mode >> 4 & 3)]
    for index in 0..<4 { area[4 + index] = UInt8(truncatingIfNeeded: value >> UInt32(8 * index)) }
  }
  let content = SlotFrame.parse(area, alignment: alignment, allowTrailingBytes: allowTrailing)
  let marker = SlotFrame.committedMarkerOffset(area, alignment: alignment)
  if case .record(let payload) = content {
    guard let length = frameLengthField(area), UInt64(length) == UInt64(payload.count) else {
      return "a parsed frame's payload is not its length field"
    }
    // Everything the frame covers fits in a 32-bit board's Int.
    guard payload.count <= Int(Int32.max) - 12 else { return "accepted a length past Int32.max" }
    let encoded = SlotFrame.encode(payload: payload, alignment: alignment)
    guard encoded.count <= area.count, Array(area[0..<encoded.count]) == encoded else {
      return "a parsed frame does not re-encode to the same bytes"
    }
    guard allowTrailing || encoded.count == area.count else {
      return "trailing bytes accepted in a slot file"
    }
    guard marker == SlotFrame.markerOffset(payloadCount: payload.count, alignment: alignment) else {
      return "committedMarkerOffset disagrees with parse"
    }
  }
  if case .empty = content, !area.allSatisfy({ $0 == 0xFF }) { return "non-erased area read as empty" }
  if let marker {
    guard marker >= 12, marker <= area.count - 4 else { return "marker offset out of the area" }
  }
  return nil
}

/// A record that parses serialises to the same bytes; a length field that
/// passes what is left (or Int32.max) is refused, not trapped on.
func checkVaultRecord(_ input: [UInt8]) -> String? {
  guard let mode = input.first else { return nil }
  var bytes = Array(input.dropFirst())
  // Header: magic 4, version 1, slot 1, reserved 2, generation 8, id length 1.
  if mode & 3 != 0 && bytes.count >= 17 {
    let idLength = Int(bytes[16])
    let lengthAt = 17 + idLength + 12
    if lengthAt + 4 <= bytes.count {
      let forged: [UInt32] = [0, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
      let value = forged[Int(mode & 3)]
      for index in 0..<4 { bytes[lengthAt + index] = UInt8(truncatingIfNeeded: value >> UInt32(8 * index)) }
    }
  }
  if mode & 4 != 0 && bytes.count >= 16 {
    for index in 8..<16 { bytes[index] = 0xFF }  // generation 2^64 - 1
  }
  guard let record = VaultRecord.parse(bytes) else { return nil }
  guard record.serialized() == bytes else { return "a parsed record does not serialise to the same bytes" }
  guard record.sealed.ciphertext.count <= Int(Int32.max) else { return "accepted a length past Int32.max" }
  if record.generation == UInt64.max {
    guard VaultRecord.generation(after: record.generation) == nil else {
      return "a generation after 2^64 - 1 was handed out"
    }
  } else {
    guard VaultRecord.generation(after: record.generation) == record.generation + 1 else {
      return "the next generation is not one more"
    }
  }
  let aad = VaultRecord.associatedData(
    slot: record.slot, generation: record.generation, deviceID: record.deviceID)
  guard Array(bytes[0..<aad.count]) == aad else { return "associated data is not the header" }
  return nil
}

/// Contents that decode encode to contents that decode to the same encoding;
/// input already in the encoder's field order is reproduced byte for byte.
func checkVaultContents(_ input: [UInt8]) -> String? {
  let contents: VaultContents
  do throws(VaultError) {
    contents = try VaultContents.decode(SecretBytes(input))
  } catch {
    return nil
  }
  let encoded = contents.encoded().revealCopy()
  let again: VaultContents
  do throws(VaultError) {
    again = try VaultContents.decode(SecretBytes(encoded))
  } catch {
    return "encoded contents do not decode"
  }
  guard again.encoded().revealCopy() == encoded else { return "encode(decode(encode(c))) != encode(c)" }
  if tagsAscending(input) && encoded != input {
    return "canonical contents do not re-encode to the same bytes"
  }
  return nil
}

func tagsAscending(_ bytes: [UInt8]) -> Bool {
  var index = 0
  var last: UInt8 = 0
  while bytes.count - index >= 3 {
    let tag = bytes[index]
    guard tag > last else { return false }
    last = tag
    index += 3 + (Int(bytes[index + 1]) | Int(bytes[index + 2]) << 8)
  }
  return index == bytes.count
}
