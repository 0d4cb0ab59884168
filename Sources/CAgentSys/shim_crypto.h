#ifndef CAGENT_SHIM_CRYPTO_H
#define CAGENT_SHIM_CRYPTO_H

// OpenSSL 3 libcrypto: AES-256-GCM, HKDF-SHA256, ECDSA P-256, SHA-256,
// randomness. Each wrapper returns 1 on success and 0 (or -1) on failure; the
// Swift side turns that into a typed error.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

static inline void ca_cleanse(void *p, size_t n) { OPENSSL_cleanse(p, n); }

static inline int ca_rand_bytes(unsigned char *out, size_t n) {
  return RAND_bytes(out, (int)n) == 1 ? 1 : 0;
}

static inline unsigned long ca_err_get(void) { return ERR_get_error(); }
static inline void ca_err_string(unsigned long code, char *buf, size_t len) {
  ERR_error_string_n(code, buf, len);
}
static inline void ca_err_clear(void) { ERR_clear_error(); }

static inline int ca_sha256(const unsigned char *data, size_t len, unsigned char out[32]) {
  unsigned int outLen = 0;
  if (EVP_Digest(data, len, out, &outLen, EVP_sha256(), NULL) != 1) return 0;
  return outLen == 32 ? 1 : 0;
}

/// HKDF-SHA256 (RFC 5869), extract-then-expand.
static inline int ca_hkdf_sha256(const unsigned char *salt, size_t saltLen,
                                 const unsigned char *ikm, size_t ikmLen,
                                 const unsigned char *info, size_t infoLen,
                                 unsigned char *out, size_t outLen) {
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
  int ok = 0;
  if (ctx == NULL) return 0;
  size_t len = outLen;
  if (EVP_PKEY_derive_init(ctx) == 1 &&
      EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
      EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, (int)saltLen) == 1 &&
      EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikmLen) == 1 &&
      (infoLen == 0 || EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)infoLen) == 1) &&
      EVP_PKEY_derive(ctx, out, &len) == 1 && len == outLen) {
    ok = 1;
  }
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

static inline int ca_aes256gcm_seal(const unsigned char key[32],
                                    const unsigned char *iv, size_t ivLen,
                                    const unsigned char *aad, size_t aadLen,
                                    const unsigned char *pt, size_t ptLen,
                                    unsigned char *ct, unsigned char tag[16]) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int ok = 0, len = 0;
  if (ctx == NULL) return 0;
  if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)ivLen, NULL) == 1 &&
      EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
      (aadLen == 0 || EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aadLen) == 1) &&
      (ptLen == 0 || EVP_EncryptUpdate(ctx, ct, &len, pt, (int)ptLen) == 1) &&
      EVP_EncryptFinal_ex(ctx, ct + (ptLen == 0 ? 0 : len), &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1) {
    ok = 1;
  }
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

/// Returns 1 when authentic, 0 when the tag does not verify, -1 on error.
static inline int ca_aes256gcm_open(const unsigned char key[32],
                                    const unsigned char *iv, size_t ivLen,
                                    const unsigned char *aad, size_t aadLen,
                                    const unsigned char *ct, size_t ctLen,
                                    const unsigned char tag[16], unsigned char *pt) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int result = -1, len = 0;
  if (ctx == NULL) return -1;
  if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)ivLen, NULL) == 1 &&
      EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
      (aadLen == 0 || EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aadLen) == 1) &&
      (ctLen == 0 || EVP_DecryptUpdate(ctx, pt, &len, ct, (int)ctLen) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1) {
    result = EVP_DecryptFinal_ex(ctx, pt + (ctLen == 0 ? 0 : len), &len) == 1 ? 1 : 0;
  }
  EVP_CIPHER_CTX_free(ctx);
  if (result != 1 && ctLen > 0) OPENSSL_cleanse(pt, ctLen);
  return result;
}

// ECDSA P-256. Keys travel as EVP_PKEY* (an opaque pointer in Swift).

/// A new P-256 key from library context `lib` (NULL: the default one) and
/// the implementation `propq` selects (NULL: any; "provider=tpm2": made
/// inside that provider's element).
static inline EVP_PKEY *ca_p256_generate_ex(OSSL_LIB_CTX *lib, const char *propq) {
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(lib, "EC", propq);
  EVP_PKEY *key = NULL;
  if (ctx == NULL) return NULL;
  if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_group_name(ctx, "P-256") != 1 ||
      EVP_PKEY_generate(ctx, &key) != 1) {
    key = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  return key;
}

static inline EVP_PKEY *ca_p256_generate(void) { return ca_p256_generate_ex(NULL, NULL); }

static inline void ca_pkey_free(EVP_PKEY *key) { EVP_PKEY_free(key); }

/// Serialises the private key (RFC 5915 ECPrivateKey DER). Returns the length, 0 on error
/// or when `cap` is too small.
static inline size_t ca_p256_private_der(EVP_PKEY *key, unsigned char *out, size_t cap) {
  int len = i2d_PrivateKey(key, NULL);
  if (len <= 0 || (size_t)len > cap) return 0;
  unsigned char *p = out;
  if (i2d_PrivateKey(key, &p) != len) return 0;
  return (size_t)len;
}

static inline int ca_p256_is_p256(EVP_PKEY *key) {
  char name[32];
  size_t len = 0;
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return 0;
  return strcmp(name, "prime256v1") == 0 ? 1 : 0;
}

/// 1 when the key's private scalar and public point belong together (and both
/// are valid for the curve), else 0. An RFC 5915 blob carries the public point
/// beside the scalar, and d2i_PrivateKey takes it as is: a mismatched pair signs,
/// but its signatures never verify with the public half that is published.
static inline int ca_pkey_check_pair(EVP_PKEY *key) {
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
  int ok;
  if (ctx == NULL) return 0;
  ok = EVP_PKEY_check(ctx) == 1 && EVP_PKEY_pairwise_check(ctx) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok ? 1 : 0;
}

static inline EVP_PKEY *ca_p256_from_private_der(const unsigned char *der, size_t len) {
  const unsigned char *p = der;
  if (len > 4096) return NULL;  // an ECPrivateKey is about 121 bytes; d2i takes a long
  EVP_PKEY *key = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)len);
  if (key == NULL) return NULL;
  if (p != der + len || ca_p256_is_p256(key) != 1 || ca_pkey_check_pair(key) != 1) {
    EVP_PKEY_free(key);
    return NULL;
  }
  return key;
}

static inline int ca_p256_public_xy(EVP_PKEY *key, unsigned char x[32], unsigned char y[32]) {
  BIGNUM *bx = NULL, *by = NULL;
  int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
           EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
           BN_bn2binpad(bx, x, 32) == 32 && BN_bn2binpad(by, y, 32) == 32;
  BN_free(bx);
  BN_free(by);
  return ok ? 1 : 0;
}

static inline EVP_PKEY *ca_p256_from_public_xy(const unsigned char x[32], const unsigned char y[32]) {
  unsigned char point[65];
  point[0] = 0x04;
  memcpy(point + 1, x, 32);
  memcpy(point + 33, y, 32);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *key = NULL;
  if (bld == NULL) return NULL;
  if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) == 1 &&
      (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
      (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) != NULL &&
      EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

/// A DER ECDSA-Sig-Value (what OpenSSL signs) as raw r||s (64 bytes, what
/// JWS wants): 1 when it is exactly one signature whose r and s fit 32 bytes.
static inline int ca_ecdsa_der_to_raw(const unsigned char *der, size_t derLen, unsigned char sig[64]) {
  const unsigned char *p = der;
  ECDSA_SIG *ecdsa = d2i_ECDSA_SIG(NULL, &p, (long)derLen);
  int ok = 0;
  if (ecdsa != NULL && p == der + derLen) {
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(ecdsa, &r, &s);
    ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
  }
  ECDSA_SIG_free(ecdsa);
  return ok;
}

/// ES256 signature over SHA-256(msg), written as raw r||s (64 bytes), as JWS wants.
static inline int ca_p256_sign_raw(EVP_PKEY *key, const unsigned char *msg, size_t len,
                                   unsigned char sig[64]) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char der[80];
  size_t derLen = sizeof der;
  int ok = 0;
  if (md == NULL) return 0;
  if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
      EVP_DigestSign(md, der, &derLen, msg, len) == 1) {
    ok = ca_ecdsa_der_to_raw(der, derLen, sig);
  }
  EVP_MD_CTX_free(md);
  return ok ? 1 : 0;
}

/// 1 when `sig` (raw r||s) is a valid ES256 signature of msg, 0 when not, -1 on error.
static inline int ca_p256_verify_raw(EVP_PKEY *key, const unsigned char *msg, size_t len,
                                     const unsigned char sig[64]) {
  ECDSA_SIG *ecdsa = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char *der = NULL;
  int result = -1;
  if (ecdsa == NULL || r == NULL || s == NULL || md == NULL) goto done;
  if (ECDSA_SIG_set0(ecdsa, r, s) != 1) goto done;
  r = s = NULL;  // owned by ecdsa now
  int derLen = i2d_ECDSA_SIG(ecdsa, &der);
  if (derLen <= 0) goto done;
  if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1) goto done;
  result = EVP_DigestVerify(md, der, (size_t)derLen, msg, len) == 1 ? 1 : 0;
done:
  OPENSSL_free(der);
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(ecdsa);
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  return result;
}

#endif
