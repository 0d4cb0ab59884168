#ifndef CAGENT_SHIM_CURL_H
#define CAGENT_SHIM_CURL_H

// libcurl: curl_easy_setopt / curl_easy_getinfo are variadic, so each
// argument type gets its own typed wrapper.
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <string.h>

typedef size_t (*ca_curl_data_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode ca_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT); }

static inline CURLcode ca_curl_setopt_long(CURL *h, CURLoption opt, long value) {
  return curl_easy_setopt(h, opt, value);
}
static inline CURLcode ca_curl_setopt_off(CURL *h, CURLoption opt, int64_t value) {
  return curl_easy_setopt(h, opt, (curl_off_t)value);
}
static inline CURLcode ca_curl_setopt_str(CURL *h, CURLoption opt, const char *value) {
  return curl_easy_setopt(h, opt, value);
}
static inline CURLcode ca_curl_setopt_ptr(CURL *h, CURLoption opt, void *value) {
  return curl_easy_setopt(h, opt, value);
}
static inline CURLcode ca_curl_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *value) {
  return curl_easy_setopt(h, opt, value);
}
static inline CURLcode ca_curl_setopt_fn(CURL *h, CURLoption opt, ca_curl_data_fn fn) {
  return curl_easy_setopt(h, opt, fn);
}
static inline CURLcode ca_curl_response_code(CURL *h, long *code) {
  return curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
}
static inline long ca_curl_sslversion_tls12(void) { return CURL_SSLVERSION_TLSv1_2; }
static inline size_t ca_curl_error_size(void) { return CURL_ERROR_SIZE; }

/// curl_slist_free_all after zeroing every string: libcurl's copies of the
/// request headers (an `Authorization: DPoP <access token>`) would otherwise
/// stay in the freed heap.
static inline void ca_curl_slist_free_wiped(struct curl_slist *list) {
  for (struct curl_slist *node = list; node != NULL; node = node->next) {
    if (node->data != NULL) OPENSSL_cleanse(node->data, strlen(node->data));
  }
  curl_slist_free_all(list);
}

#endif
