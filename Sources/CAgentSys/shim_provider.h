#ifndef CAGENT_SHIM_PROVIDER_H
#define CAGENT_SHIM_PROVIDER_H

// Keys whose private half lives in a secure element reached through an
// OpenSSL 3 provider (TPM 2.0 through tpm2-openssl, later PKCS#11). Only
// libcrypto APIs: the cross sysroots carry OpenSSL 3 headers and nothing of
// the TSS stack, which the provider module loads by itself at run time.
//
// Each element gets its own OSSL_LIB_CTX. Freeing it tears the provider down
// (closing its connection to the TPM) so that a TPM that went away can be
// reopened, and keys of one element never resolve through another's provider.
//
// How tpm2-openssl finds the TPM (Debian 12, tpm2-openssl 1.1.1): its init
// reads the environment variable TPM2OPENSSL_TCTI (e.g.
// "swtpm:host=127.0.0.1,port=2321" or "device:/dev/tpmrm0"). It also asks the
// core for a "tcti" parameter from an openssl.cnf provider section, but in
// 1.1.1 that lookup passes the wrong pointer and never yields a value (tried:
// a section with "tcti = swtpm:..." still falls back to the default). Without
// either, the TSS TCTI loader tries /dev/tpmrm0, /dev/tpm0, then swtpm and
// mssim on localhost:2321, which is right on a board whose kernel exposes the
// TPM. So a TCTI, when given, is set in the environment for the duration of
// the load only (the provider reads it once, at init) and the old value is
// put back; it names a device, it is no secret.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <stdlib.h>
#include <string.h>

// The largest reference the agent accepts: a TSS2 PRIVATE KEY for P-256 is
// about 243 bytes; RSA or policy-bearing blobs could be a little larger.
#define CA_PROVIDER_REF_MAX 4096

static inline OSSL_LIB_CTX *ca_libctx_new(void) { return OSSL_LIB_CTX_new(); }
static inline void ca_libctx_free(OSSL_LIB_CTX *lib) { OSSL_LIB_CTX_free(lib); }

/// Loads provider `name` into `lib`. When `envName` is not NULL, `envValue`
/// is set as that environment variable while the provider initialises, and
/// the previous value (or its absence) is restored afterwards.
static inline OSSL_PROVIDER *ca_provider_load(OSSL_LIB_CTX *lib, const char *name,
                                              const char *envName, const char *envValue) {
  char *saved = NULL;
  int hadSaved = 0;
  OSSL_PROVIDER *prov;
  if (envName != NULL && envValue != NULL) {
    const char *old = getenv(envName);
    if (old != NULL) {
      saved = OPENSSL_strdup(old);
      if (saved == NULL) return NULL;
      hadSaved = 1;
    }
    if (setenv(envName, envValue, 1) != 0) {
      OPENSSL_free(saved);
      return NULL;
    }
  }
  prov = OSSL_PROVIDER_load(lib, name);
  if (envName != NULL && envValue != NULL) {
    if (hadSaved) {
      setenv(envName, saved, 1);
    } else {
      unsetenv(envName);
    }
    OPENSSL_free(saved);
  }
  return prov;
}

static inline void ca_provider_unload(OSSL_PROVIDER *prov) { OSSL_PROVIDER_unload(prov); }

/// "provider=NAME" (or "?provider=NAME" when `preferOnly`) into buf; 1 on success.
static inline int ca_provider_propq(const char *name, int preferOnly, char *buf, size_t cap) {
  const char *prefix = preferOnly ? "?provider=" : "provider=";
  size_t a = strlen(prefix), b = strlen(name);
  if (a + b + 1 > cap) return 0;
  memcpy(buf, prefix, a);
  memcpy(buf + a, name, b + 1);
  return 1;
}

/// A P-256 key generated inside provider `provName` of `lib`: the private
/// half never leaves it (for tpm2 the key is created under the owner
/// hierarchy's primary key and only its wrapped blob is ever returned).
static inline EVP_PKEY *ca_p256_generate_in(OSSL_LIB_CTX *lib, const char *provName) {
  char propq[96];
  if (ca_provider_propq(provName, 0, propq, sizeof propq) != 1) return NULL;
  return ca_p256_generate_ex(lib, propq);
}

/// 1 when the key's implementation comes from provider `provName`.
static inline int ca_pkey_from_provider(EVP_PKEY *key, const char *provName) {
  const OSSL_PROVIDER *prov = EVP_PKEY_get0_provider(key);
  const char *name = prov != NULL ? OSSL_PROVIDER_get0_name(prov) : NULL;
  return name != NULL && strcmp(name, provName) == 0 ? 1 : 0;
}

/// `key` when it is a P-256 key of provider `provName`; otherwise frees it
/// and returns NULL (a reference or URI that named some other key).
static inline EVP_PKEY *ca_pkey_keep_if_p256_from(EVP_PKEY *key, const char *provName) {
  char group[32];
  size_t groupLen = 0;
  if (key != NULL &&
      (ca_pkey_from_provider(key, provName) != 1 ||
       EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &groupLen) != 1 ||
       strcmp(group, "prime256v1") != 0)) {
    EVP_PKEY_free(key);
    key = NULL;
  }
  return key;
}

/// The reference the vault can hold: the provider's own private-key encoding
/// (for tpm2, DER "TSS2 PRIVATE KEY": the public area and the private area
/// encrypted by the TPM's parent key, useless without that TPM). Only the
/// key's own provider's encoder is asked, so a software key is never written
/// out here. Returns the length, 0 on error or when `cap` is too small.
static inline size_t ca_pkey_encode_reference(EVP_PKEY *key, const char *provName,
                                              unsigned char *out, size_t cap) {
  char propq[96];
  OSSL_ENCODER_CTX *enc;
  unsigned char *data = NULL;
  size_t len = 0, result = 0;
  if (ca_pkey_from_provider(key, provName) != 1) return 0;
  if (ca_provider_propq(provName, 0, propq, sizeof propq) != 1) return 0;
  enc = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", propq);
  if (enc == NULL) return 0;
  if (OSSL_ENCODER_CTX_get_num_encoders(enc) > 0 && OSSL_ENCODER_to_data(enc, &data, &len) == 1 &&
      len > 0 && len <= cap) {
    memcpy(out, data, len);
    result = len;
  }
  OPENSSL_free(data);
  OSSL_ENCODER_CTX_free(enc);
  return result;
}

/// Loads a reference written by ca_pkey_encode_reference through provider
/// `provName` only. The bytes are untrusted: bounded, consumed whole, and the
/// result must be a P-256 key implemented by that provider.
static inline EVP_PKEY *ca_pkey_decode_reference(OSSL_LIB_CTX *lib, const char *provName,
                                                 const unsigned char *der, size_t len) {
  char propq[96];
  OSSL_DECODER_CTX *dec;
  EVP_PKEY *key = NULL;
  const unsigned char *p = der;
  size_t left = len;
  if (der == NULL || len == 0 || len > CA_PROVIDER_REF_MAX) return NULL;
  if (ca_provider_propq(provName, 0, propq, sizeof propq) != 1) return NULL;
  dec = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", NULL, "EC", EVP_PKEY_KEYPAIR, lib, propq);
  if (dec == NULL) return NULL;
  if (OSSL_DECODER_CTX_get_num_decoders(dec) == 0 || OSSL_DECODER_from_data(dec, &p, &left) != 1 ||
      key == NULL || left != 0) {
    EVP_PKEY_free(key);
    key = NULL;
  }
  OSSL_DECODER_CTX_free(dec);
  return ca_pkey_keep_if_p256_from(key, provName);
}

/// The authValue a "?pass" URI asks for, handed to the store's UI method.
struct ca_store_pass {
  const unsigned char *bytes;
  size_t len;
};

/// PEM-style passphrase callback: `u` is the store's UI data. Returns the
/// length copied, or -1 (no passphrase given, or it does not fit).
static inline int ca_store_pass_cb(char *buf, int size, int rwflag, void *u) {
  const struct ca_store_pass *pass = (const struct ca_store_pass *)u;
  (void)rwflag;
  if (pass == NULL || pass->bytes == NULL || size < 0 || pass->len >= (size_t)size) return -1;
  memcpy(buf, pass->bytes, pass->len);
  return (int)pass->len;
}

/// Loads the first private key behind an OSSL_STORE URI (for tpm2:
/// "handle:0x81000CA1?pass" for a persistent key, "object:..." for a blob
/// file), through provider `provName` only. `auth` (may be NULL) answers a
/// passphrase prompt: for tpm2 the key's authValue. The key must be P-256
/// from that provider.
static inline EVP_PKEY *ca_pkey_load_uri(OSSL_LIB_CTX *lib, const char *provName, const char *uri,
                                         const unsigned char *auth, size_t authLen) {
  char propq[96];
  OSSL_STORE_CTX *store;
  EVP_PKEY *key = NULL;
  UI_METHOD *ui = NULL;
  struct ca_store_pass pass = {auth, authLen};
  if (uri == NULL || strlen(uri) > 1024) return NULL;
  if (ca_provider_propq(provName, 0, propq, sizeof propq) != 1) return NULL;
  if (auth != NULL) {
    ui = UI_UTIL_wrap_read_pem_callback(ca_store_pass_cb, 0);
    if (ui == NULL) return NULL;
  }
  store = OSSL_STORE_open_ex(uri, lib, propq, ui, auth != NULL ? &pass : NULL, NULL, NULL, NULL);
  if (store != NULL) {
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    while (key == NULL && OSSL_STORE_eof(store) != 1) {
      OSSL_STORE_INFO *info = OSSL_STORE_load(store);
      if (info == NULL) {
        if (OSSL_STORE_error(store) == 1) break;
        continue;
      }
      if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY) key = OSSL_STORE_INFO_get1_PKEY(info);
      OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
  }
  if (ui != NULL) UI_destroy_method(ui);
  return ca_pkey_keep_if_p256_from(key, provName);
}

/// ES256 with a provider key: SHA-256 of msg in software (the message never
/// goes to the element, and one TPM command instead of a hash sequence), then
/// the digest signed by the key's own provider; written as raw r||s.
static inline int ca_pkey_sign_es256_in(OSSL_LIB_CTX *lib, EVP_PKEY *key, const unsigned char *msg,
                                        size_t len, unsigned char sig[64]) {
  const OSSL_PROVIDER *prov = EVP_PKEY_get0_provider(key);
  const char *provName = prov != NULL ? OSSL_PROVIDER_get0_name(prov) : NULL;
  char propq[96];
  unsigned char digest[32];
  unsigned int digestLen = 0;
  unsigned char der[80];
  size_t derLen = sizeof der;
  EVP_PKEY_CTX *ctx = NULL;
  int ok = 0;
  if (provName == NULL || ca_provider_propq(provName, 1, propq, sizeof propq) != 1) return 0;
  if (EVP_Digest(msg, len, digest, &digestLen, EVP_sha256(), NULL) != 1 || digestLen != 32) return 0;
  ctx = EVP_PKEY_CTX_new_from_pkey(lib, key, propq);
  if (ctx == NULL) return 0;
  if (EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
      EVP_PKEY_sign(ctx, der, &derLen, digest, sizeof digest) == 1) {
    ok = ca_ecdsa_der_to_raw(der, derLen, sig);
  }
  EVP_PKEY_CTX_free(ctx);
  return ok ? 1 : 0;
}

#endif
