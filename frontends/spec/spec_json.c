/* Is this text JSON? A syntax check that allocates nothing.
 *
 * cJSON returns NULL both for text that is not JSON and when it runs out of
 * memory. When a parse fails, this check tells the two apart: text it
 * accepts is standard JSON (RFC 8259) that cJSON accepts too, given memory,
 * so the failure was memory. It is as strict as the standard and as cJSON
 * (nesting below CJSON_NESTING_LIMIT, UTF-16 escapes in valid surrogate
 * pairs), never more lenient, so a syntax error is never called "out of
 * memory". */
#include "spec_internal.h"

#include <string.h>

typedef struct json_scan {
  const char *p;
  int depth;
} json_scan;

static void skip_ws(json_scan *s) { s->p += strspn(s->p, " \t\r\n"); }

static bool hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char ch = p[i];
    unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                 : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                 : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                          : 16u;
    if (d == 16) return false;
    v = v * 16 + d;
  }
  *out = v;
  return true;
}

static bool scan_string(json_scan *s) {
  if (*s->p != '"') return false;
  for (s->p++;; s->p++) {
    unsigned char ch = (unsigned char)*s->p;
    if (ch == '"') {
      s->p++;
      return true;
    }
    if (ch < 0x20) return false; /* the end of the text, or a raw control character */
    if (ch != '\\') continue;
    s->p++;
    if (*s->p && strchr("\"\\/bfnrt", *s->p)) continue;
    unsigned u, lo;
    if (*s->p != 'u' || !hex4(s->p + 1, &u)) return false;
    s->p += 4;
    if (u >= 0xDC00 && u <= 0xDFFF) return false;
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (s->p[1] != '\\' || s->p[2] != 'u' || !hex4(s->p + 3, &lo) || lo < 0xDC00 ||
          lo > 0xDFFF)
        return false;
      s->p += 6;
    }
  }
}

static bool scan_digits(json_scan *s) {
  size_t n = strspn(s->p, "0123456789");
  s->p += n;
  return n > 0;
}

static bool scan_number(json_scan *s) {
  if (*s->p == '-') s->p++;
  if (*s->p == '0') s->p++;
  else if (!scan_digits(s)) return false;
  if (*s->p == '.') {
    s->p++;
    if (!scan_digits(s)) return false;
  }
  if (*s->p == 'e' || *s->p == 'E') {
    s->p++;
    if (*s->p == '+' || *s->p == '-') s->p++;
    if (!scan_digits(s)) return false;
  }
  return true;
}

static bool scan_value(json_scan *s);

/* An array or object: open, items separated by commas, close. */
static bool scan_container(json_scan *s, char close, bool members) {
  if (++s->depth >= CJSON_NESTING_LIMIT) return false;
  s->p++;
  skip_ws(s);
  if (*s->p == close) {
    s->p++;
    s->depth--;
    return true;
  }
  for (;;) {
    if (members) {
      if (!scan_string(s)) return false;
      skip_ws(s);
      if (*s->p++ != ':') return false;
      skip_ws(s);
    }
    if (!scan_value(s)) return false;
    skip_ws(s);
    if (*s->p == close) {
      s->p++;
      s->depth--;
      return true;
    }
    if (*s->p++ != ',') return false;
    skip_ws(s);
  }
}

static bool scan_value(json_scan *s) {
  switch (*s->p) {
  case '{': return scan_container(s, '}', true);
  case '[': return scan_container(s, ']', false);
  case '"': return scan_string(s);
  case 't': return strncmp(s->p, "true", 4) == 0 && (s->p += 4);
  case 'f': return strncmp(s->p, "false", 5) == 0 && (s->p += 5);
  case 'n': return strncmp(s->p, "null", 4) == 0 && (s->p += 4);
  default: return scan_number(s);
  }
}

bool spec_json_valid(const char *text) {
  json_scan s = {text, 0};
  skip_ws(&s);
  if (!scan_value(&s)) return false;
  skip_ws(&s);
  return *s.p == '\0';
}
