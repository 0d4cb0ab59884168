import CAgentSys

/// HTTPS through libcurl, locked down per `HTTPPolicy`: peer and host
/// verified against the configured CA only, TLS 1.2 or newer, no proxies from
/// the environment, no redirects followed, bounded body and header sizes,
/// connect and total timeouts.
public struct CurlTransport: HTTPTransport {
  public let policy: HTTPPolicy
  /// Caps the header block, which `maxResponseBytes` does not cover.
  static let maxHeaderBytes = 16 * 1024

  public init(policy: HTTPPolicy) {
    self.policy = policy
    Self.initialiseOnce()
  }

  nonisolated(unsafe) private static var initialised = false
  private static func initialiseOnce() {
    if !initialised {
      _ = ca_curl_global_init()
      initialised = true
    }
  }

  public mutating func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
    try checkScheme(request.url)
    guard let handle = curl_easy_init() else { throw .transport(code: -1, message: "curl_easy_init failed") }
    defer { curl_easy_cleanup(handle) }

    let sink = ResponseSink(maxBody: policy.maxResponseBytes, maxHeaders: Self.maxHeaderBytes)
    let sinkPointer = Unmanaged.passRetained(sink)
    defer { sinkPointer.release() }

    var headerList: UnsafeMutablePointer<curl_slist>? = nil
    // libcurl's copies of the header lines are zeroed before they are freed.
    defer { ca_curl_slist_free_wiped(headerList) }
    for header in request.headers {
      guard let appended = Self.appendHeader(header, to: headerList) else {
        throw .transport(code: -1, message: "out of memory building headers")
      }
      headerList = appended
    }
    // libcurl adds "Expect: 100-continue" to larger POSTs; an empty value removes it.
    if let appended = curl_slist_append(headerList, "Expect:") { headerList = appended }

    var errorBuffer = [CChar](repeating: 0, count: ca_curl_error_size())
    let protocols = policy.allowPlainHTTP ? "http,https" : "https"
    var setupFailed = false
    func set(_ code: CURLcode) { if code != CURLE_OK { setupFailed = true } }

    set(ca_curl_setopt_str(handle, CURLOPT_URL, request.url))
    set(ca_curl_setopt_str(handle, CURLOPT_PROTOCOLS_STR, protocols))
    set(ca_curl_setopt_str(handle, CURLOPT_REDIR_PROTOCOLS_STR, "https"))
    set(ca_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
    set(ca_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
    set(ca_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
    set(ca_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
    set(ca_curl_setopt_long(handle, CURLOPT_SSLVERSION, ca_curl_sslversion_tls12()))
    set(ca_curl_setopt_str(handle, CURLOPT_CAINFO, policy.caFile))
    // Only the configured CA: never the distribution's CA directory.
    set(ca_curl_setopt_str(handle, CURLOPT_CAPATH, nil))
    // Never a proxy from http_proxy/https_proxy in the environment.
    set(ca_curl_setopt_str(handle, CURLOPT_PROXY, ""))
    set(ca_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, policy.connectTimeoutMs))
    set(ca_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, policy.totalTimeoutMs))
    set(ca_curl_setopt_off(handle, CURLOPT_MAXFILESIZE_LARGE, Int64(policy.maxResponseBytes)))
    set(ca_curl_setopt_str(handle, CURLOPT_USERAGENT, "camera-agent/" + AgentVersion.string))
    set(ca_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
    set(ca_curl_setopt_fn(handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
    set(ca_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPointer.toOpaque()))
    set(ca_curl_setopt_fn(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
    set(ca_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, sinkPointer.toOpaque()))
    switch request.method {
    case .get:
      set(ca_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
    case .post:
      set(ca_curl_setopt_long(handle, CURLOPT_POST, 1))
      // CURLOPT_POSTFIELDS (set below, around the transfer) points at the
      // body: COPYPOSTFIELDS would make a copy of a refresh token that
      // nobody zeroes.
      set(ca_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, Int64(request.body.count)))
    }
    // Certificate dates are judged by shim_tls.h at the caller's time, never
    // by OpenSSL's own clock; the chain's validity window comes back.
    let check =
      request.certificateCheckTime ?? CertificateCheckTime(seconds: ca_wall_seconds(), isExact: true)
    let tlsClock = UnsafeMutablePointer<ca_tls_clock>.allocate(capacity: 1)
    defer { tlsClock.deallocate() }
    ca_tls_clock_init(tlsClock, check.seconds, check.isExact ? 1 : 0)
    if ASCII.hasPrefixIgnoringCase(request.url, "https://") { set(ca_curl_set_tls_clock(handle, tlsClock)) }
    // The body must outlive the transfer: libcurl reads it in place.
    let code = request.body.withUnsafeBufferPointer { body -> CURLcode in
      if request.method == .post {
        set(
          ca_curl_setopt_ptr(
            handle, CURLOPT_POSTFIELDS,
            UnsafeMutableRawPointer(mutating: body.baseAddress ?? UnsafePointer(bitPattern: 1)!)))
      }
      return errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
        set(ca_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress))
        if setupFailed { return CURLE_FAILED_INIT }
        return curl_easy_perform(handle)
      }
    }
    if code != CURLE_OK {
      let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw Self.classify(code, detail: detail, sink: sink, limit: policy.maxResponseBytes)
    }
    var status = 0
    _ = ca_curl_response_code(handle, &status)
    if status >= 300 && status < 400 {
      var location = ""
      for header in sink.headers where ASCII.equalsIgnoringCase(header.name, "Location") {
        location = header.value
      }
      throw .redirectRefused(status: status, location: location)
    }
    var validity: PeerValidity? = nil
    if tlsClock.pointee.chain_not_after != Int64.max {
      validity = PeerValidity(
        notBefore: tlsClock.pointee.chain_not_before, notAfter: tlsClock.pointee.chain_not_after)
    }
    return HTTPResponse(status: status, headers: sink.headers, body: sink.body, peerValidity: validity)
  }

  /// `name: value` built in one exactly sized C buffer (no `String`
  /// concatenation, whose copies of an Authorization value would be freed
  /// unzeroed); libcurl copies it, and the buffer is zeroed at once.
  private static func appendHeader(
    _ header: HTTPHeader, to list: UnsafeMutablePointer<curl_slist>?
  ) -> UnsafeMutablePointer<curl_slist>? {
    let name = header.name.utf8
    let value = header.value.utf8
    let line = UnsafeMutablePointer<CChar>.allocate(capacity: name.count + 2 + value.count + 1)
    defer {
      ca_cleanse(line, name.count + 2 + value.count + 1)
      line.deallocate()
    }
    var index = 0
    for byte in name {
      line[index] = CChar(bitPattern: byte)
      index += 1
    }
    line[index] = CChar(bitPattern: UInt8(ascii: ":"))
    line[index + 1] = CChar(bitPattern: UInt8(ascii: " "))
    index += 2
    for byte in value {
      line[index] = CChar(bitPattern: byte)
      index += 1
    }
    line[index] = 0
    return curl_slist_append(list, line)
  }

  private func checkScheme(_ url: String) throws(HTTPError) {
    if ASCII.hasPrefixIgnoringCase(url, "https://") { return }
    if ASCII.hasPrefixIgnoringCase(url, "http://") {
      if policy.allowPlainHTTP { return }
      throw .urlRefused("plain http is refused (allow_insecure_http is off)")
    }
    throw .urlRefused("not an https URL")
  }

  private static func classify(_ code: CURLcode, detail: String, sink: ResponseSink, limit: Int)
    -> HTTPError
  {
    let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    if sink.overflowed || code == CURLE_FILESIZE_EXCEEDED { return .responseTooLarge(limit: limit) }
    switch code {
    case CURLE_PEER_FAILED_VERIFICATION: return .certificateRejected(message)
    case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE:
      return .tls(message)
    case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
      return .connect(message)
    case CURLE_OPERATION_TIMEDOUT: return .timedOut
    case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: return .urlRefused(message)
    default: return .transport(code: Int(code.rawValue), message: message)
    }
  }
}

/// Collects one response; refuses to grow past its caps.
final class ResponseSink {
  let maxBody: Int
  let maxHeaders: Int
  var body: [UInt8] = []
  var headers: [HTTPHeader] = []
  var headerBytes = 0
  var overflowed = false

  init(maxBody: Int, maxHeaders: Int) {
    self.maxBody = maxBody
    self.maxHeaders = maxHeaders
  }

  func appendBody(_ chunk: UnsafeRawBufferPointer) -> Bool {
    guard body.count + chunk.count <= maxBody else {
      overflowed = true
      return false
    }
    // A token response: grown without leaving stale partial copies
    // (CloudClient zeroes the whole body once the tokens are out).
    SecretBytes.append(chunk, to: &body)
    return true
  }

  func appendHeaderLine(_ line: UnsafeRawBufferPointer) -> Bool {
    headerBytes += line.count
    guard headerBytes <= maxHeaders else {
      overflowed = true
      return false
    }
    let bytes = Array(line)
    if bytes.starts(with: Array("HTTP/".utf8)) {
      // A new status line (after 100 Continue or similar) starts a new header block.
      headers.removeAll()
      return true
    }
    guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return true }
    let name = String(decoding: bytes[0..<colon], as: UTF8.self)
    let value = ASCII.trimmed(String(decoding: bytes[(colon + 1)...], as: UTF8.self))
    headers.append(HTTPHeader(name, value))
    return true
  }
}

private let curlWriteBody: ca_curl_data_fn = { data, size, count, context in
  let total = size * count
  guard let context else { return 0 }
  let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
  let chunk = UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: total)
  return sink.appendBody(chunk) ? total : 0
}

private let curlWriteHeader: ca_curl_data_fn = { data, size, count, context in
  let total = size * count
  guard let context else { return 0 }
  let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
  let line = UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: total)
  return sink.appendHeaderLine(line) ? total : 0
}
