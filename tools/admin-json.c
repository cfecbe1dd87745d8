/* JSON lines for cloudnotify-admin (admin-json.h).  A small strict
 * parser rather than a JSON library: the format is one flat object of
 * strings, integers and nulls, and every error must name its column. */
#include "admin-json.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>

void adm_reg_clear(adm_reg *r) {
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->form);
  g_free(r->client_id);
  memset(r, 0, sizeof *r);
}

void adm_reg_free(gpointer p) {
  adm_reg_clear(p);
  g_free(p);
}

cloudnotify_record adm_reg_record(const adm_reg *r) {
  cloudnotify_record rec = { .jid = r->jid,
                             .node = r->node,
                             .publish_options = r->form,
                             .publish_options_len = r->form ? r->form_len : 0,
                             .enabled_at_ms = r->enabled_at_ms,
                             .errors = r->errors,
                             .client_id = r->client_id };
  return rec;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned min, cp;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2, min = 0x80, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, min = 0x800, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, min = 0x10000, cp = c & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

int adm_utf8_valid(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t l = utf8_seq(u + i, n - i);
    if (!l)
      return 0;
    i += l;
  }
  return 1;
}

static void put_string(GString *out, const char *s, size_t n) {
  g_string_append_c(out, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': g_string_append(out, "\\\""); break;
    case '\\': g_string_append(out, "\\\\"); break;
    case '\n': g_string_append(out, "\\n"); break;
    case '\r': g_string_append(out, "\\r"); break;
    case '\t': g_string_append(out, "\\t"); break;
    case '\b': g_string_append(out, "\\b"); break;
    case '\f': g_string_append(out, "\\f"); break;
    default:
      if (c < 0x20)
        g_string_append_printf(out, "\\u%04x", c);
      else
        g_string_append_c(out, (char)c);
    }
  }
  g_string_append_c(out, '"');
}

static void put_field(GString *out, const char *name, const char *s, size_t n) {
  g_string_append_printf(out, ",\"%s\":", name);
  if (s)
    put_string(out, s, n);
  else
    g_string_append(out, "null");
}

int adm_json_write(GString *out, const char *account, const cloudnotify_record *rec,
                   const char **bad_field) {
  struct {
    const char *name, *s;
    size_t n;
  } f[] = {
    { "account", account, account ? strlen(account) : 0 },
    { "jid", rec->jid, rec->jid ? strlen(rec->jid) : 0 },
    { "node", rec->node, rec->node ? strlen(rec->node) : 0 },
    { "publish_options", rec->publish_options, rec->publish_options_len },
    { "client_id", rec->client_id, rec->client_id ? strlen(rec->client_id) : 0 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
    if (f[i].s && !adm_utf8_valid(f[i].s, f[i].n)) {
      *bad_field = f[i].name;
      return -1;
    }
  }
  g_string_append(out, "{\"account\":");
  put_string(out, account, f[0].n);
  put_field(out, "jid", rec->jid, f[1].n);
  put_field(out, "node", rec->node, f[2].n);
  put_field(out, "publish_options", rec->publish_options, f[3].n);
  g_string_append_printf(out, ",\"enabled_at_ms\":%" G_GINT64_FORMAT ",\"errors\":%u",
                         (gint64)rec->enabled_at_ms, rec->errors);
  put_field(out, "client_id", rec->client_id, f[4].n);
  g_string_append(out, "}\n");
  return 0;
}

/* ---- Parsing ------------------------------------------------------------ */

typedef struct jp {
  const char *s;
  size_t n, i;
  char *err;
} jp;

#define JP_MAX_DEPTH 32

static int jp_fail(jp *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int jp_fail(jp *p, const char *fmt, ...) {
  if (!p->err) {
    va_list ap;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p->err = g_strdup_printf("column %zu: %s", p->i + 1, m);
    g_free(m);
  }
  return -1;
}

static void jp_ws(jp *p) {
  while (p->i < p->n &&
         (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' || p->s[p->i] == '\n'))
    p->i++;
}

static int hex4(jp *p, unsigned *out) {
  if (p->n - p->i < 4)
    return jp_fail(p, "truncated \\u escape");
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    int d = g_ascii_xdigit_value(p->s[p->i + (size_t)k]);
    if (d < 0)
      return jp_fail(p, "\\u needs four hexadecimal digits");
    v = v * 16 + (unsigned)d;
  }
  p->i += 4;
  *out = v;
  return 0;
}

/* A string at p->i (which is '"'); its bytes into out (NUL allowed). */
static int jp_string(jp *p, GString *out) {
  p->i++;
  for (;;) {
    if (p->i >= p->n)
      return jp_fail(p, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->i];
    if (c == '"') {
      p->i++;
      return 0;
    }
    if (c < 0x20)
      return jp_fail(p, "control character 0x%02x in a string (escape it)", c);
    if (c != '\\') {
      size_t l = utf8_seq((const unsigned char *)p->s + p->i, p->n - p->i);
      if (!l)
        return jp_fail(p, "invalid UTF-8 in a string");
      g_string_append_len(out, p->s + p->i, (gssize)l);
      p->i += l;
      continue;
    }
    if (++p->i >= p->n)
      return jp_fail(p, "unterminated escape");
    char e = p->s[p->i++];
    switch (e) {
    case '"': g_string_append_c(out, '"'); break;
    case '\\': g_string_append_c(out, '\\'); break;
    case '/': g_string_append_c(out, '/'); break;
    case 'b': g_string_append_c(out, '\b'); break;
    case 'f': g_string_append_c(out, '\f'); break;
    case 'n': g_string_append_c(out, '\n'); break;
    case 'r': g_string_append_c(out, '\r'); break;
    case 't': g_string_append_c(out, '\t'); break;
    case 'u': {
      unsigned cp;
      if (hex4(p, &cp))
        return -1;
      if (cp >= 0xdc00 && cp <= 0xdfff)
        return jp_fail(p, "lone low surrogate \\u%04x", cp);
      if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned lo;
        if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
          return jp_fail(p, "high surrogate \\u%04x without its low half", cp);
        p->i += 2;
        if (hex4(p, &lo))
          return -1;
        if (lo < 0xdc00 || lo > 0xdfff)
          return jp_fail(p, "high surrogate \\u%04x followed by \\u%04x", cp, lo);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      if (cp == 0) {
        g_string_append_c(out, 0);
      } else {
        char buf[6];
        g_string_append_len(out, buf, g_unichar_to_utf8(cp, buf));
      }
      break;
    }
    default: p->i--; return jp_fail(p, "unknown escape \\%c", g_ascii_isprint(e) ? e : '?');
    }
  }
}

/* An integer at p->i: no fraction, no exponent, within [min, max]. */
static int jp_int(jp *p, int64_t min, int64_t max, int64_t *out) {
  size_t start = p->i;
  gboolean neg = p->i < p->n && p->s[p->i] == '-';
  if (neg)
    p->i++;
  if (p->i >= p->n || !g_ascii_isdigit(p->s[p->i]))
    return jp_fail(p, "expected an integer");
  if (p->s[p->i] == '0' && p->i + 1 < p->n && g_ascii_isdigit(p->s[p->i + 1]))
    return jp_fail(p, "leading zero in a number");
  uint64_t v = 0;
  while (p->i < p->n && g_ascii_isdigit(p->s[p->i])) {
    unsigned d = (unsigned)(p->s[p->i] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      p->i = start;
      return jp_fail(p, "number out of range");
    }
    v = v * 10 + d;
    p->i++;
  }
  if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
    return jp_fail(p, "expected an integer, not a fraction or exponent");
  int64_t value;
  if (neg)
    value =
        v > (uint64_t)INT64_MAX + 1 ? 0 : (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v);
  else
    value = v > (uint64_t)INT64_MAX ? 0 : (int64_t)v;
  if ((neg && v > (uint64_t)INT64_MAX + 1) || (!neg && v > (uint64_t)INT64_MAX) || value < min ||
      value > max) {
    p->i = start;
    return jp_fail(p, "number out of range");
  }
  *out = value;
  return 0;
}

static int jp_literal(jp *p, const char *word) {
  size_t l = strlen(word);
  if (p->n - p->i < l || memcmp(p->s + p->i, word, l))
    return -1;
  p->i += l;
  return 0;
}

/* Skip any JSON value (an unknown field's, kept for later versions). */
static int jp_skip(jp *p, int depth) {
  if (depth > JP_MAX_DEPTH)
    return jp_fail(p, "nested too deeply");
  jp_ws(p);
  if (p->i >= p->n)
    return jp_fail(p, "expected a value");
  char c = p->s[p->i];
  if (c == '"') {
    GString *tmp = g_string_new(NULL);
    int rc = jp_string(p, tmp);
    g_string_free(tmp, TRUE);
    return rc;
  }
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    p->i++;
    jp_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
      p->i++;
      return 0;
    }
    for (;;) {
      if (c == '{') {
        jp_ws(p);
        if (p->i >= p->n || p->s[p->i] != '"')
          return jp_fail(p, "expected a member name");
        if (jp_skip(p, depth + 1))
          return -1;
        jp_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':')
          return jp_fail(p, "expected ':'");
        p->i++;
      }
      if (jp_skip(p, depth + 1))
        return -1;
      jp_ws(p);
      if (p->i < p->n && p->s[p->i] == ',') {
        p->i++;
        continue;
      }
      if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return 0;
      }
      return jp_fail(p, "expected ',' or '%c'", close);
    }
  }
  if (!jp_literal(p, "true") || !jp_literal(p, "false") || !jp_literal(p, "null"))
    return 0;
  if (c == '-' || g_ascii_isdigit(c)) {
    /* Any number: digits, fraction, exponent. */
    size_t start = p->i;
    if (p->s[p->i] == '-')
      p->i++;
    while (p->i < p->n && (g_ascii_isdigit(p->s[p->i]) || strchr(".eE+-", p->s[p->i])))
      p->i++;
    if (p->i == start + (c == '-'))
      return jp_fail(p, "expected a number");
    return 0;
  }
  return jp_fail(p, "expected a value");
}

enum { F_ACCOUNT, F_JID, F_NODE, F_FORM, F_AT, F_ERRORS, F_CLIENT, F_N };
static const char *const field_names[F_N] = {
  "account", "jid", "node", "publish_options", "enabled_at_ms", "errors", "client_id",
};

/* A string field, or null when nullable; *out owned, *len its length. */
static int jp_string_field(jp *p, const char *name, gboolean nullable, gboolean nul_ok, char **out,
                           size_t *len) {
  if (p->i < p->n && p->s[p->i] == 'n') {
    if (jp_literal(p, "null"))
      return jp_fail(p, "expected a string or null for \"%s\"", name);
    if (!nullable)
      return jp_fail(p, "\"%s\" cannot be null", name);
    *out = NULL;
    return 0;
  }
  if (p->i >= p->n || p->s[p->i] != '"')
    return jp_fail(
        p, nullable ? "expected a string or null for \"%s\"" : "expected a string for \"%s\"",
        name);
  size_t at = p->i;
  GString *s = g_string_new(NULL);
  if (jp_string(p, s)) {
    g_string_free(s, TRUE);
    return -1;
  }
  if (!nul_ok && memchr(s->str, 0, s->len)) {
    g_string_free(s, TRUE);
    p->i = at;
    return jp_fail(p, "\"%s\" holds a NUL character", name);
  }
  if (len)
    *len = s->len;
  *out = g_string_free(s, FALSE);
  return 0;
}

int adm_json_parse(const char *line, size_t len, adm_reg *r, char **err) {
  adm_reg_clear(r);
  jp p = { line, len, 0, NULL };
  gboolean seen[F_N] = { FALSE };
  jp_ws(&p);
  if (p.i >= p.n || p.s[p.i] != '{') {
    jp_fail(&p, "expected '{' (one JSON object per line)");
    goto fail;
  }
  p.i++;
  jp_ws(&p);
  if (p.i < p.n && p.s[p.i] == '}') {
    p.i++;
  } else {
    for (;;) {
      jp_ws(&p);
      if (p.i >= p.n || p.s[p.i] != '"') {
        jp_fail(&p, "expected a member name");
        goto fail;
      }
      size_t name_at = p.i;
      GString *name = g_string_new(NULL);
      if (jp_string(&p, name)) {
        g_string_free(name, TRUE);
        goto fail;
      }
      int f = -1;
      for (int k = 0; k < F_N; k++)
        if (name->len == strlen(field_names[k]) && !memcmp(name->str, field_names[k], name->len))
          f = k;
      g_string_free(name, TRUE);
      jp_ws(&p);
      if (p.i >= p.n || p.s[p.i] != ':') {
        jp_fail(&p, "expected ':'");
        goto fail;
      }
      p.i++;
      jp_ws(&p);
      if (f >= 0 && seen[f]) {
        p.i = name_at;
        jp_fail(&p, "\"%s\" given twice", field_names[f]);
        goto fail;
      }
      if (f >= 0)
        seen[f] = TRUE;
      int rc = 0;
      int64_t v = 0;
      switch (f) {
      case F_ACCOUNT: rc = jp_string_field(&p, "account", FALSE, FALSE, &r->account, NULL); break;
      case F_JID: rc = jp_string_field(&p, "jid", FALSE, FALSE, &r->jid, NULL); break;
      case F_NODE: rc = jp_string_field(&p, "node", TRUE, FALSE, &r->node, NULL); break;
      case F_FORM:
        rc = jp_string_field(&p, "publish_options", TRUE, TRUE, &r->form, &r->form_len);
        break;
      case F_CLIENT: rc = jp_string_field(&p, "client_id", TRUE, FALSE, &r->client_id, NULL); break;
      case F_AT:
        rc = jp_int(&p, INT64_MIN, INT64_MAX, &v);
        r->enabled_at_ms = v;
        break;
      case F_ERRORS:
        rc = jp_int(&p, 0, UINT_MAX, &v);
        r->errors = (unsigned)v;
        break;
      default: rc = jp_skip(&p, 1); break;
      }
      if (rc)
        goto fail;
      jp_ws(&p);
      if (p.i < p.n && p.s[p.i] == ',') {
        p.i++;
        continue;
      }
      if (p.i < p.n && p.s[p.i] == '}') {
        p.i++;
        break;
      }
      jp_fail(&p, "expected ',' or '}'");
      goto fail;
    }
  }
  jp_ws(&p);
  if (p.i < p.n) {
    jp_fail(&p, "text after the object");
    goto fail;
  }
  static const int required[] = { F_ACCOUNT, F_JID, F_AT };
  for (size_t k = 0; k < G_N_ELEMENTS(required); k++) {
    if (!seen[required[k]]) {
      p.i = 0;
      jp_fail(&p, "\"%s\" is missing", field_names[required[k]]);
      goto fail;
    }
  }
  if (!*r->account || !*r->jid) {
    p.i = 0;
    jp_fail(&p, "\"%s\" is empty", *r->account ? "jid" : "account");
    goto fail;
  }
  return 0;
fail:
  adm_reg_clear(r);
  *err = p.err;
  return -1;
}
