// Certificate validity at the agent's own time (SPEC "Clock").
//
// A camera may boot at 1970, and on Debian's armhf libcrypto time_t is 32
// bits while the agent's is 64 (-D_TIME_BITS=64): X509_VERIFY_PARAM_set_time
// would take the agent's time_t through a mismatched ABI, and cannot name a
// time past January 2038 anyway. So OpenSSL's own clock is taken out of
// verification (X509_V_FLAG_NO_CHECK_TIME, which skips nothing else), and a
// verify callback makes the same validity check at a 64-bit time the agent
// passes in, with no time_t on the way: ASN1_TIME_to_tm gives the calendar
// fields, converted here. Chain building, signatures, purpose, host name,
// CA bundle and TLS versions are unchanged: the callback only ever turns an
// accepted certificate into a refused one, never the reverse.
#ifndef CAGENT_SHIM_TLS_H
#define CAGENT_SHIM_TLS_H

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/// One connection's clock: what the callback judges at, what it saw.
typedef struct {
  /// Seconds since the epoch at which validity is judged.
  int64_t check_time;
  /// 1: notBefore must be <= check_time (a synced clock). 0: the clock is
  /// only known to be at or after check_time (the time floor), so a
  /// certificate issued later than that is not evidence of anything; only
  /// "expired at check_time" can be decided.
  int check_not_before;
  /// Out: the earliest notAfter and latest notBefore of the verified chain;
  /// INT64_MAX / INT64_MIN until a chain was verified.
  int64_t chain_not_after;
  int64_t chain_not_before;
} ca_tls_clock;

static inline void ca_tls_clock_init(ca_tls_clock *clock, int64_t check_time, int check_not_before) {
  clock->check_time = check_time;
  clock->check_not_before = check_not_before;
  clock->chain_not_after = INT64_MAX;
  clock->chain_not_before = INT64_MIN;
}

/// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
/// (H. Hinnant's days_from_civil), exact for every 64-bit year in range.
static inline int64_t ca_days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/// An ASN1_TIME (UTCTime or GeneralizedTime) as seconds since the epoch.
/// 0, or -1 when OpenSSL cannot parse it.
static inline int ca_asn1_time_seconds(const ASN1_TIME *t, int64_t *out) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) return -1;
  *out = ca_days_from_civil((int64_t)tm.tm_year + 1900, (int64_t)tm.tm_mon + 1, tm.tm_mday) * 86400 +
         (int64_t)tm.tm_hour * 3600 + (int64_t)tm.tm_min * 60 + tm.tm_sec;
  return 0;
}

static inline int ca_tls_refuse(X509_STORE_CTX *store, int error) {
  X509_STORE_CTX_set_error(store, error);
  return 0;
}

/// Called by OpenSSL for every certificate of the chain (ok = 1 once it has
/// passed every other check) and for every error (ok = 0, passed through).
static inline int ca_tls_verify(int ok, X509_STORE_CTX *store) {
  if (!ok) return 0;
  SSL *ssl = (SSL *)X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
  ca_tls_clock *clock = ssl ? (ca_tls_clock *)SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
  // No clock means the handle was set up wrongly: refuse rather than
  // accept a chain whose dates nobody checked.
  if (clock == NULL) return ca_tls_refuse(store, X509_V_ERR_UNSPECIFIED);
  X509 *cert = X509_STORE_CTX_get_current_cert(store);
  if (cert == NULL) return ca_tls_refuse(store, X509_V_ERR_UNSPECIFIED);
  int64_t not_before, not_after;
  if (ca_asn1_time_seconds(X509_get0_notBefore(cert), &not_before) != 0)
    return ca_tls_refuse(store, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD);
  if (ca_asn1_time_seconds(X509_get0_notAfter(cert), &not_after) != 0)
    return ca_tls_refuse(store, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD);
  if (clock->check_not_before && clock->check_time < not_before)
    return ca_tls_refuse(store, X509_V_ERR_CERT_NOT_YET_VALID);
  if (clock->check_time > not_after) return ca_tls_refuse(store, X509_V_ERR_CERT_HAS_EXPIRED);
  if (not_after < clock->chain_not_after) clock->chain_not_after = not_after;
  if (not_before > clock->chain_not_before) clock->chain_not_before = not_before;
  return 1;
}

/// CURLOPT_SSL_CTX_FUNCTION: runs once per connection, after libcurl has
/// loaded the CA bundle and set SSL_VERIFY_PEER.
static inline CURLcode ca_tls_setup_context(CURL *curl, void *ssl_ctx, void *clock) {
  (void)curl;
  SSL_CTX *ctx = (SSL_CTX *)ssl_ctx;
  if (clock == NULL || SSL_CTX_set_app_data(ctx, clock) != 1) return CURLE_SSL_CERTPROBLEM;
  if (X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME) != 1)
    return CURLE_SSL_CERTPROBLEM;
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), ca_tls_verify);
#ifdef SSL_OP_CLEANSE_PLAINTEXT
  // OpenSSL 3: zero its copies of decrypted records (a token response)
  // once they are handed to libcurl, not only when the buffer is freed.
  SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT);
#endif
  return CURLE_OK;
}

/// Installs the clock on a handle (libcurl built with OpenSSL only:
/// CURLE_NOT_BUILT_IN otherwise, which the transport treats as a failure).
static inline CURLcode ca_curl_set_tls_clock(CURL *h, ca_tls_clock *clock) {
  CURLcode code = curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ca_tls_setup_context);
  if (code != CURLE_OK) return code;
  return curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, (void *)clock);
}

#endif
