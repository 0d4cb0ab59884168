import AgentCore
import CAgentSys
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

  /// Certificate dates are judged at the caller's time, not OpenSSL's
  /// clock (the fixture's certificates run from now for two days): an exact
  /// time must fall inside every certificate's window; a floor (inexact)
  /// time is only a lower bound, so only expiry can refuse. Whatever passes
  /// reports the chain's common window.
  @Test func certificatesAreJudgedAtTheGivenTime() throws {
    let now = ca_wall_seconds()
    let day: Int64 = 86_400
    let cases: [(Int64, Bool, Bool)] = [
      (now, true, true), (now, false, true), (now - 10 * day, false, true), (now + day, true, true),
      (now - 10 * day, true, false), (now + 3 * day, true, false), (now + 3 * day, false, false),
      (0, false, true), (253_402_300_799, false, false),
    ]
    for (seconds, exact, accepted) in cases {
      var client = transport()
      let request = HTTPRequest(
        method: .get, url: fixture.url("/"),
        certificateCheckTime: CertificateCheckTime(seconds: seconds, isExact: exact))
      if accepted {
        let response = try client.send(request)
        let validity = try #require(response.peerValidity)
        #expect(abs(validity.notBefore - now) < 600)
        #expect(abs(validity.notAfter - (now + 2 * day)) < 600)
      } else {
        #expect {
          _ = try client.send(request)
        } throws: { error in
          guard case HTTPError.certificateRejected(let message) = error else { return false }
          return message.contains(seconds < now ? "not yet valid" : "expired")
        }
      }
    }
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
