import AgentCore
import Testing

/// `camera-agent pair`'s rule for signalling the vault lock's holder
/// (PairPermission), checked over every combination of a small id space
/// that holds root, the agent's user and group, and a third user; and the
/// /proc/PID/status reader it feeds on.
@Suite struct PairPermissionTests {
  static let ids: [UInt32] = [0, 100, 65534]
  static func tuples() -> [[UInt32]] {
    var out: [[UInt32]] = []
    for a in ids { for b in ids { for c in ids { for d in ids { out.append([a, b, c, d]) } } } }
    return out
  }

  /// Properties, each from the policy rather than from the code:
  /// - allowed never means root signals a root process unless the vault is a
  ///   root-owned directory (a board that runs the agent as root);
  /// - allowed means the holder has the vault owner's uid in every slot, or
  ///   (a root-owned device) the device's group in every gid slot, a group
  ///   that is not root's, and no uid 0;
  /// - a holder with capabilities is allowed only as root on a root directory;
  /// - with vault_owner set, an allowed holder is that user in every slot.
  @Test func everyCombinationFollowsTheRule() {
    let tuples = Self.tuples()
    var allowedCount = 0
    var checked = 0
    for kind in [PairPermission.ObjectKind.directory, .device] {
      for vaultUID in Self.ids {
        for vaultGID in Self.ids {
          let vault = PairPermission.VaultObject(kind: kind, uid: vaultUID, gid: vaultGID)
          for agentUser in [nil, UInt32(0), UInt32(100)] as [UInt32?] {
            for uids in tuples {
              for gids in [
                [0, 0, 0, 0], [100, 100, 100, 100], [65534, 65534, 65534, 65534], [100, 100, 0, 100],
              ]
                as [[UInt32]]
              {
                for caps in [UInt64(0), UInt64(1) << 21] {
                  let process = ProcessCredentials(uids: uids, gids: gids, effectiveCapabilities: caps)
                  let verdict = PairPermission.check(vault: vault, process: process, agentUser: agentUser)
                  checked += 1
                  guard verdict == .allowed else { continue }
                  allowedCount += 1
                  let rootDirectory = vaultUID == 0 && kind == .directory
                  if uids.contains(0) { #expect(rootDirectory && uids == [0, 0, 0, 0]) }
                  if caps != 0 { #expect(rootDirectory) }
                  if let agentUser { #expect(uids.allSatisfy { $0 == agentUser }) }
                  if vaultUID != 0 || kind == .directory {
                    #expect(uids.allSatisfy { $0 == vaultUID })
                  } else {
                    #expect(vaultGID != 0 && gids.allSatisfy { $0 == vaultGID } && !uids.contains(0))
                  }
                }
              }
            }
          }
        }
      }
    }
    #expect(checked == 2 * 9 * 3 * 81 * 4 * 2)
    // The rule is not "refuse everything": the board's cases are allowed.
    #expect(allowedCount > 0)
  }

  @Test func theBoardsOwnSetupsAreAllowed() {
    let agent = ProcessCredentials(
      uids: [100, 100, 100, 100], gids: [100, 100, 100, 100], effectiveCapabilities: 0)
    let root = ProcessCredentials(
      uids: [0, 0, 0, 0], gids: [0, 0, 0, 0], effectiveCapabilities: 0x1ff_ffff_ffff)
    // armv7-cortex-a7-camera: /dev/mtd4 root:camera-agent 0660, agent as camera-agent (100:100).
    let node = PairPermission.VaultObject(kind: .device, uid: 0, gid: 100)
    #expect(PairPermission.check(vault: node, process: agent, agentUser: nil) == .allowed)
    #expect(PairPermission.check(vault: node, process: root, agentUser: nil) != .allowed)
    // The file backend given to vault_owner: the agent as that user.
    let directory = PairPermission.VaultObject(kind: .directory, uid: 100, gid: 100)
    #expect(PairPermission.check(vault: directory, process: agent, agentUser: 100) == .allowed)
    #expect(PairPermission.check(vault: directory, process: root, agentUser: nil) != .allowed)
    // A root agent on a root vault directory (a board without RUN_AS).
    let rootDirectory = PairPermission.VaultObject(kind: .directory, uid: 0, gid: 0)
    #expect(PairPermission.check(vault: rootDirectory, process: root, agentUser: nil) == .allowed)
    #expect(PairPermission.check(vault: rootDirectory, process: agent, agentUser: nil) != .allowed)
    // A setuid-style holder (one uid slot differs) is refused.
    let mixed = ProcessCredentials(
      uids: [100, 0, 100, 100], gids: [100, 100, 100, 100], effectiveCapabilities: 0)
    #expect(PairPermission.check(vault: node, process: mixed, agentUser: nil) != .allowed)
    #expect(PairPermission.check(vault: directory, process: mixed, agentUser: nil) != .allowed)
  }

  static let status = """
    Name:\tcamera-agent
    Umask:\t0077
    State:\tS (sleeping)
    Tgid:\t4242
    Pid:\t4242
    PPid:\t1
    Uid:\t100\t101\t102\t103
    Gid:\t200\t201\t202\t203
    Groups:\t200 300
    CapInh:\t0000000000000000
    CapPrm:\t0000000000000000
    CapEff:\t000001ffffffffff
    CapBnd:\t000001ffffffffff

    """

  @Test func readsProcStatus() {
    let parsed = ProcessCredentials.parse(status: Array(Self.status.utf8))
    #expect(
      parsed
        == ProcessCredentials(
          uids: [100, 101, 102, 103], gids: [200, 201, 202, 203], effectiveCapabilities: 0x1ff_ffff_ffff))
  }

  /// Every text with one line dropped, duplicated or damaged is refused or
  /// reads the same; never a different set of credentials.
  @Test func malformedStatusIsRefusedNeverGuessed() {
    let lines = Self.status.split(separator: "\n").map(String.init)
    let wanted = ProcessCredentials.parse(status: Array(Self.status.utf8))
    for index in lines.indices {
      var dropped = lines
      dropped.remove(at: index)
      let key = lines[index].split(separator: ":").first.map(String.init) ?? ""
      let withoutLine = ProcessCredentials.parse(status: Array(dropped.joined(separator: "\n").utf8))
      if ["Uid", "Gid", "CapEff"].contains(key) {
        #expect(withoutLine == nil, "without \(key)")
      } else {
        #expect(withoutLine == wanted)
      }
      var doubled = lines
      doubled.insert(lines[index], at: index)
      let twice = ProcessCredentials.parse(status: Array(doubled.joined(separator: "\n").utf8))
      #expect(["Uid", "Gid", "CapEff"].contains(key) ? twice == nil : twice == wanted, "\(key) twice")
    }
    for bad in [
      "Uid:\t100\t100\t100", "Uid:\t100\t100\t100\t100\t100", "Uid:\t-1\t100\t100\t100",
      "Uid:\t4294967296\t1\t1\t1",
      "Uid:\t1x\t1\t1\t1", "Uid:\t\t\t\t", "Gid:\t0\t0\t0", "CapEff:\tzz", "CapEff:\t00000000000000000",
      "CapEff:\t0 0",
    ] {
      let key = bad.split(separator: ":")[0]
      let text = lines.map { $0.hasPrefix(key + ":") ? bad : $0 }.joined(separator: "\n")
      #expect(ProcessCredentials.parse(status: Array(text.utf8)) == nil, "\(bad)")
    }
  }

  /// Random bytes never crash the reader, and what it accepts round-trips:
  /// the ids it returns are the ones written in its lines.
  @Test func randomStatusTexts() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<2_000 {
      let uids = (0..<4).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
      let gids = (0..<4).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
      let caps = UInt64.random(in: 0...UInt64.max, using: &generator)
      let text =
        "Name:\tx\nUid:\t\(uids.map(String.init).joined(separator: "\t"))\nGid:\t\(gids.map(String.init).joined(separator: "\t"))\nCapEff:\t\(String(caps, radix: 16))\n"
      #expect(
        ProcessCredentials.parse(status: Array(text.utf8))
          == ProcessCredentials(uids: uids, gids: gids, effectiveCapabilities: caps))
      var noise = Array(text.utf8)
      noise[Int.random(in: 0..<noise.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
      if let parsed = ProcessCredentials.parse(status: noise) {
        #expect(parsed.uids.count == 4 && parsed.gids.count == 4)
      }
    }
  }
}
