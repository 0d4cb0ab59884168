import AgentCore
import Testing

/// Real libcurl against a real TLS server on loopback.
@Suite(.serialized) struct CurlTransportTests {
  let fixture: TLSFixture

  init() throws { fixture = try TLSFixture() }

  func transport(ca: String? = nil, maxBytes: Int = 64 * 1024) -> CurlTransport {
    CurlTransport(
      policy: HTTPPolicy(
        caFile: ca ?? fixture.caFile, connectTimeoutMs: 2_000, totalTimeoutMs: 2_000,
        maxResponseBytes: maxBytes))
  }

  @Test func getAndPostWithVerifiedCertificate() throws {
    var client = transport()
    let response = try client.send(HTTPRequest(method: .get, url: fixture.url("/")))
    #expect(response.status == 200)
    #expect(String(decoding: response.body, as: UTF8.self) == "hello from the camera-agent TLS fixture\n")
    #expect(response.header("content-length") == "40")
    let echoed = try client.send(
      HTTPRequest(method: .post, url: fixture.url("/echo"), body: Array("{\"a\":1}".utf8)))
    #expect(echoed.body == Array("{\"a\":1}".utf8))
  }

  @Test func otherCAIsRejected() {
    var client = transport(ca: fixture.otherCAFile)
    #expect {
      _ = try client.send(HTTPRequest(method: .get, url: fixture.url("/")))
    } throws: { error in
      if case HTTPError.certificateRejected = error { return true }
      return false
    }
  }

  @Test func redirectIsNotFollowed() {
    var client = transport()
    #expect(throws: HTTPError.redirectRefused(status: 302, location: "https://elsewhere.invalid/")) {
      _ = try client.send(HTTPRequest(method: .get, url: fixture.url("/redirect")))
    }
  }

  @Test func oversizedBodyIsAborted() {
    var client = transport(maxBytes: 64 * 1024)
    #expect(throws: HTTPError.responseTooLarge(limit: 64 * 1024)) {
      _ = try client.send(HTTPRequest(method: .get, url: fixture.url("/big")))
    }
  }

  @Test func slowServerTimesOut() {
    var client = transport()
    #expect(throws: HTTPError.timedOut) {
      _ = try client.send(HTTPRequest(method: .get, url: fixture.url("/slow")))
    }
  }

  @Test func plainHTTPIsRefusedBeforeConnecting() {
    var client = transport()
    #expect {
      _ = try client.send(HTTPRequest(method: .get, url: "http://127.0.0.1:\(fixture.port)/"))
    } throws: { error in
      if case HTTPError.urlRefused = error { return true }
      return false
    }
  }

  @Test func refusedConnection() {
    var client = transport()
    // Port 1 on loopback: nothing listens there.
    #expect {
      _ = try client.send(HTTPRequest(method: .get, url: "https://127.0.0.1:1/"))
    } throws: { error in
      if case HTTPError.connect = error { return true }
      return false
    }
  }
}
