/// The only thing `Logger` accepts. It is built by string interpolation, and
/// its interpolation takes text, numbers and errors' descriptions only: a
/// `SecretBytes` (a key or a token) in a log line is a compile-time error,
/// not a runtime leak. Text that merely looks like a token is masked later
/// by `LogMask`, whatever its type was.
public struct LogMessage: ExpressibleByStringInterpolation {
  public var text: String

  public init(stringLiteral value: String) { text = value }

  public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

  public struct Interpolation: StringInterpolationProtocol {
    var text = ""

    public init(literalCapacity: Int, interpolationCount: Int) {
      text.reserveCapacity(literalCapacity + 16 * interpolationCount)
    }

    public mutating func appendLiteral(_ literal: String) { text += literal }

    public mutating func appendInterpolation(_ value: String) { text += value }

    public mutating func appendInterpolation<T: BinaryInteger>(_ value: T) { text += "\(value)" }

    @available(*, unavailable, message: "secrets are never logged")
    public mutating func appendInterpolation(_ secret: SecretBytes) {}
  }
}
