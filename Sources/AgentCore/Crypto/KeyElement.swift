import CAgentSys

/// A secure element (TPM 2.0, later a PKCS#11 token) reached through an
/// OpenSSL 3 provider, in a library context of its own.
///
/// Why a context of its own: freeing it tears the provider down, which closes
/// its connection to the element, so an element that went away (a TPM reset,
/// swtpm restarted) is reopened by opening a new `KeyElement`; and keys of one
/// element never resolve through another's provider. Keys made or loaded here
/// hold the element, so the context outlives them.
///
/// Resource note for TPMs: while a key is loaded the provider keeps it (and
/// transiently its parent) in the TPM's few object slots. Behind the kernel's
/// resource manager (/dev/tpmrm0) that is invisible; on a raw TPM or swtpm
/// without one (three slots) hold one element key at a time.
public final class KeyElement {
  /// The provider's name, as OpenSSL knows it ("tpm2").
  public let provider: String
  let context: OpaquePointer
  private let elementProvider: OpaquePointer
  private let defaultProvider: OpaquePointer

  /// The variable tpm2-openssl reads its TCTI from when it initialises.
  public static let tpm2TCTIVariable = "TPM2OPENSSL_TCTI"

  private init(
    provider: String, context: OpaquePointer, elementProvider: OpaquePointer,
    defaultProvider: OpaquePointer
  ) {
    self.provider = provider
    self.context = context
    self.elementProvider = elementProvider
    self.defaultProvider = defaultProvider
  }

  deinit {
    ca_provider_unload(elementProvider)
    ca_provider_unload(defaultProvider)
    ca_libctx_free(context)
  }

  /// Loads `provider` (plus "default", which providers lean on for hashing,
  /// encoding and public-key operations) into a new library context.
  /// `environment`, when given, is set for the provider's initialisation only
  /// and restored afterwards (see shim_provider.h for why tpm2 needs it).
  public static func open(
    provider: String, environment: (name: String, value: String)? = nil
  ) throws(CryptoError) -> KeyElement {
    guard !provider.isEmpty, provider.utf8.count <= 64, !provider.utf8.contains(0) else {
      throw .invalidInput("provider name")
    }
    guard let context = ca_libctx_new() else { throw CryptoError.fromQueue("library context") }
    guard let defaultProvider = ca_provider_load(context, "default", nil, nil) else {
      ca_libctx_free(context)
      throw CryptoError.fromQueue("loading the default provider")
    }
    let loaded: OpaquePointer?
    if let environment {
      loaded = ca_provider_load(context, provider, environment.name, environment.value)
    } else {
      loaded = ca_provider_load(context, provider, nil, nil)
    }
    guard let elementProvider = loaded else {
      let error = CryptoError.fromQueue("loading provider \(provider)")
      ca_provider_unload(defaultProvider)
      ca_libctx_free(context)
      throw error
    }
    return KeyElement(
      provider: provider, context: context, elementProvider: elementProvider,
      defaultProvider: defaultProvider)
  }

  /// The TPM 2.0 through tpm2-openssl. `tcti` names how to reach it (e.g.
  /// "device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321"); nil leaves the
  /// TSS default (/dev/tpmrm0, /dev/tpm0, then localhost:2321).
  public static func tpm2(tcti: String? = nil) throws(CryptoError) -> KeyElement {
    if let tcti {
      return try open(provider: "tpm2", environment: (name: tpm2TCTIVariable, value: tcti))
    }
    return try open(provider: "tpm2")
  }
}
