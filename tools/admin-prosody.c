/* mod_cloud_notify's storage files read as data (admin-prosody.h). */
#include "admin-prosody.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ---- Lua values ------------------------------------------------------------ */

typedef enum { LV_NIL, LV_BOOL, LV_NUM, LV_STR, LV_TABLE } lv_type;

typedef struct lv {
  lv_type t;
  int line;
  double num;
  GString *str;
  GPtrArray *keys, *vals; /* LV_TABLE: pairs in file order */
} lv;

static void lv_free(gpointer p) {
  lv *v = p;
  if (!v)
    return;
  if (v->str)
    g_string_free(v->str, TRUE);
  if (v->keys) {
    g_ptr_array_free(v->keys, TRUE);
    g_ptr_array_free(v->vals, TRUE);
  }
  g_free(v);
}

static lv *lv_new(lv_type t, int line) {
  lv *v = g_new0(lv, 1);
  v->t = t;
  v->line = line;
  if (t == LV_TABLE) {
    v->keys = g_ptr_array_new_with_free_func(lv_free);
    v->vals = g_ptr_array_new_with_free_func(lv_free);
  }
  return v;
}

/* The value under string key k in table t, or NULL. */
static lv *lv_get(const lv *t, const char *k) {
  for (guint i = 0; i < t->keys->len; i++) {
    const lv *key = t->keys->pdata[i];
    if (key->t == LV_STR && key->str->len == strlen(k) && !memcmp(key->str->str, k, key->str->len))
      return t->vals->pdata[i];
  }
  return NULL;
}

/* ---- The parser -------------------------------------------------------------- */

#define LP_MAX_DEPTH 64

typedef struct lp {
  const char *s;
  size_t n, i;
  int line;
  char *err;
} lp;

static int lp_fail(lp *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int lp_fail(lp *p, const char *fmt, ...) {
  if (!p->err) {
    va_list ap;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p->err = g_strdup_printf("line %d: %s", p->line, m);
    g_free(m);
  }
  return -1;
}

static int peek(const lp *p, size_t off) {
  return p->i + off < p->n ? (unsigned char)p->s[p->i + off] : -1;
}

static void advance(lp *p) {
  if (p->s[p->i] == '\n')
    p->line++;
  p->i++;
}

/* "[" "="* "[" at p->i: the level (number of '='), or -1. */
static int long_open(const lp *p) {
  if (peek(p, 0) != '[')
    return -1;
  int lvl = 0;
  while (peek(p, 1 + (size_t)lvl) == '=')
    lvl++;
  return peek(p, 1 + (size_t)lvl) == '[' ? lvl : -1;
}

/* A long bracket body at its opening (level lvl); text into out (may be
 * NULL for comments). */
static int long_body(lp *p, int lvl, GString *out) {
  p->i += (size_t)lvl + 2;
  /* A newline right after the opening is not part of the string. */
  if (peek(p, 0) == '\r' || peek(p, 0) == '\n') {
    int c = peek(p, 0);
    advance(p);
    if ((peek(p, 0) == '\r' || peek(p, 0) == '\n') && peek(p, 0) != c)
      advance(p);
  }
  for (;;) {
    if (p->i >= p->n)
      return lp_fail(p, "unfinished long string or comment");
    if (p->s[p->i] == ']') {
      int k = 0;
      while (peek(p, 1 + (size_t)k) == '=')
        k++;
      if (k == lvl && peek(p, 1 + (size_t)k) == ']') {
        p->i += (size_t)lvl + 2;
        return 0;
      }
    }
    if (out)
      g_string_append_c(out, p->s[p->i]);
    advance(p);
  }
}

static int skip_space(lp *p) {
  for (;;) {
    int c = peek(p, 0);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      advance(p);
    } else if (c == '-' && peek(p, 1) == '-') {
      p->i += 2;
      int lvl = long_open(p);
      if (lvl >= 0) {
        if (long_body(p, lvl, NULL))
          return -1;
      } else {
        while (p->i < p->n && p->s[p->i] != '\n')
          p->i++;
      }
    } else {
      return 0;
    }
  }
}

static int quoted_string(lp *p, GString *out) {
  char q = p->s[p->i++];
  for (;;) {
    int c = peek(p, 0);
    if (c < 0 || c == '\n' || c == '\r')
      return lp_fail(p, "unfinished string");
    p->i++;
    if (c == q)
      return 0;
    if (c != '\\') {
      g_string_append_c(out, (char)c);
      continue;
    }
    int e = peek(p, 0);
    if (e < 0)
      return lp_fail(p, "unfinished string");
    switch (e) {
    case 'a':
      g_string_append_c(out, '\a');
      p->i++;
      break;
    case 'b':
      g_string_append_c(out, '\b');
      p->i++;
      break;
    case 'f':
      g_string_append_c(out, '\f');
      p->i++;
      break;
    case 'n':
      g_string_append_c(out, '\n');
      p->i++;
      break;
    case 'r':
      g_string_append_c(out, '\r');
      p->i++;
      break;
    case 't':
      g_string_append_c(out, '\t');
      p->i++;
      break;
    case 'v':
      g_string_append_c(out, '\v');
      p->i++;
      break;
    case '\\':
      g_string_append_c(out, '\\');
      p->i++;
      break;
    case '"':
      g_string_append_c(out, '"');
      p->i++;
      break;
    case '\'':
      g_string_append_c(out, '\'');
      p->i++;
      break;
    case '\n':
    case '\r':
      g_string_append_c(out, '\n');
      advance(p);
      if ((peek(p, 0) == '\n' || peek(p, 0) == '\r') && peek(p, 0) != e)
        advance(p);
      break;
    case 'x': {
      int h = peek(p, 1) >= 0 ? g_ascii_xdigit_value((char)peek(p, 1)) : -1;
      int l = peek(p, 2) >= 0 ? g_ascii_xdigit_value((char)peek(p, 2)) : -1;
      if (h < 0 || l < 0)
        return lp_fail(p, "\\x needs two hexadecimal digits");
      g_string_append_c(out, (char)(h * 16 + l));
      p->i += 3;
      break;
    }
    case 'z':
      p->i++;
      while (peek(p, 0) == ' ' || peek(p, 0) == '\t' || peek(p, 0) == '\n' || peek(p, 0) == '\r')
        advance(p);
      break;
    case 'u': {
      if (peek(p, 1) != '{')
        return lp_fail(p, "\\u needs {hex}");
      p->i += 2;
      guint32 cp = 0;
      int digits = 0;
      while (peek(p, 0) >= 0 && g_ascii_isxdigit((char)peek(p, 0))) {
        cp = cp * 16 + (guint32)g_ascii_xdigit_value(p->s[p->i++]);
        if (++digits > 6 || cp > 0x10ffff)
          return lp_fail(p, "\\u{} escape out of range");
      }
      if (!digits || peek(p, 0) != '}')
        return lp_fail(p, "malformed \\u{} escape");
      p->i++;
      char buf[6];
      g_string_append_len(out, buf, g_unichar_to_utf8(cp, buf));
      break;
    }
    default:
      if (g_ascii_isdigit((char)e)) {
        unsigned v = 0;
        for (int k = 0; k < 3 && peek(p, 0) >= 0 && g_ascii_isdigit((char)peek(p, 0)); k++)
          v = v * 10 + (unsigned)(p->s[p->i++] - '0');
        if (v > 255)
          return lp_fail(p, "decimal escape \\%u above 255", v);
        g_string_append_c(out, (char)v);
      } else {
        return lp_fail(p, "unknown escape in a string");
      }
    }
  }
}

static int number(lp *p, double *out) {
  size_t start = p->i;
  gboolean neg = FALSE;
  if (peek(p, 0) == '-') {
    neg = TRUE;
    p->i++;
  }
  size_t digits = p->i;
  if (peek(p, 0) == '0' && (peek(p, 1) == 'x' || peek(p, 1) == 'X')) {
    p->i += 2;
    guint64 v = 0;
    size_t d0 = p->i;
    while (peek(p, 0) >= 0 && g_ascii_isxdigit((char)peek(p, 0))) {
      if (p->i - d0 >= 16)
        return lp_fail(p, "hexadecimal number too long");
      v = v * 16 + (guint64)g_ascii_xdigit_value(p->s[p->i++]);
    }
    if (p->i == d0)
      return lp_fail(p, "malformed number");
    *out = neg ? -(double)v : (double)v;
    return 0;
  }
  while (peek(p, 0) >= 0 && (g_ascii_isdigit((char)peek(p, 0)) || peek(p, 0) == '.' ||
                             peek(p, 0) == 'e' || peek(p, 0) == 'E' ||
                             ((peek(p, 0) == '+' || peek(p, 0) == '-') && p->i > digits &&
                              (p->s[p->i - 1] == 'e' || p->s[p->i - 1] == 'E'))))
    p->i++;
  if (p->i == digits || p->i - start > 64)
    return lp_fail(p, "malformed number");
  char buf[72];
  memcpy(buf, p->s + start, p->i - start);
  buf[p->i - start] = 0;
  char *end = NULL;
  *out = g_ascii_strtod(buf, &end);
  if (!end || *end || !isfinite(*out))
    return lp_fail(p, "malformed number '%s'", buf);
  return 0;
}

static gboolean name_start(int c) {
  return c >= 0 && (g_ascii_isalpha((char)c) || c == '_');
}

static gboolean name_char(int c) {
  return c >= 0 && (g_ascii_isalnum((char)c) || c == '_');
}

static int value(lp *p, int depth, lv **out);

static int table(lp *p, int depth, lv **out) {
  lv *t = lv_new(LV_TABLE, p->line);
  double next = 1;
  p->i++; /* '{' */
  for (;;) {
    if (skip_space(p))
      goto fail;
    if (peek(p, 0) == '}') {
      p->i++;
      *out = t;
      return 0;
    }
    lv *k = NULL, *v = NULL;
    int lvl = long_open(p);
    if (peek(p, 0) == '[' && lvl < 0) {
      /* [key] = value */
      p->i++;
      if (value(p, depth + 1, &k))
        goto fail;
      if (skip_space(p) || peek(p, 0) != ']') {
        lv_free(k);
        lp_fail(p, "expected ']'");
        goto fail;
      }
      p->i++;
      if (skip_space(p) || peek(p, 0) != '=') {
        lv_free(k);
        lp_fail(p, "expected '='");
        goto fail;
      }
      p->i++;
    } else if (name_start(peek(p, 0))) {
      /* name = value, unless it is a keyword value (true, false, nil) */
      size_t j = p->i;
      while (name_char(j < p->n ? (unsigned char)p->s[j] : -1))
        j++;
      size_t save = p->i;
      int save_line = p->line;
      GString *name = g_string_new_len(p->s + p->i, (gssize)(j - p->i));
      p->i = j;
      if (skip_space(p)) {
        g_string_free(name, TRUE);
        goto fail;
      }
      if (peek(p, 0) == '=' && peek(p, 1) != '=') {
        p->i++;
        k = lv_new(LV_STR, save_line);
        k->str = name;
      } else {
        g_string_free(name, TRUE);
        p->i = save;
        p->line = save_line;
      }
    }
    if (!k) {
      k = lv_new(LV_NUM, p->line);
      k->num = next++;
    }
    if (k->t == LV_NIL || (k->t == LV_NUM && isnan(k->num))) {
      lv_free(k);
      lp_fail(p, "a table key cannot be nil");
      goto fail;
    }
    if (value(p, depth + 1, &v)) {
      lv_free(k);
      goto fail;
    }
    g_ptr_array_add(t->keys, k);
    g_ptr_array_add(t->vals, v);
    if (skip_space(p))
      goto fail;
    if (peek(p, 0) == ',' || peek(p, 0) == ';') {
      p->i++;
      continue;
    }
    if (peek(p, 0) == '}')
      continue;
    lp_fail(p, "expected ',', ';' or '}'");
    goto fail;
  }
fail:
  lv_free(t);
  return -1;
}

static int value(lp *p, int depth, lv **out) {
  if (depth > LP_MAX_DEPTH)
    return lp_fail(p, "tables nested too deeply");
  if (skip_space(p))
    return -1;
  int c = peek(p, 0);
  int lvl = long_open(p);
  if (c == '{')
    return table(p, depth, out);
  if (c == '"' || c == '\'' || lvl >= 0) {
    lv *v = lv_new(LV_STR, p->line);
    v->str = g_string_new(NULL);
    if (lvl >= 0 ? long_body(p, lvl, v->str) : quoted_string(p, v->str)) {
      lv_free(v);
      return -1;
    }
    *out = v;
    return 0;
  }
  if (c == '-' || c == '.' || (c >= 0 && g_ascii_isdigit((char)c))) {
    lv *v = lv_new(LV_NUM, p->line);
    if (number(p, &v->num)) {
      lv_free(v);
      return -1;
    }
    *out = v;
    return 0;
  }
  static const struct {
    const char *word;
    lv_type t;
    double b;
  } words[] = { { "true", LV_BOOL, 1 }, { "false", LV_BOOL, 0 }, { "nil", LV_NIL, 0 } };
  for (size_t k = 0; k < G_N_ELEMENTS(words); k++) {
    size_t l = strlen(words[k].word);
    if (p->n - p->i >= l && !memcmp(p->s + p->i, words[k].word, l) && !name_char(peek(p, l))) {
      p->i += l;
      *out = lv_new(words[k].t, p->line);
      (*out)->num = words[k].b;
      return 0;
    }
  }
  return lp_fail(p, "expected a value (a table, string, number, true, false or nil)");
}

/* ---- From a preserialised stanza to XML text ---------------------------------- */

static gboolean xml_name_ok(const GString *s) {
  if (!s->len || s->len > 1024)
    return FALSE;
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->str[i];
    if (c >= 0x80 || g_ascii_isalpha((char)c) || c == '_' || c == ':')
      continue;
    if (i > 0 && (g_ascii_isdigit((char)c) || c == '-' || c == '.'))
      continue;
    return FALSE;
  }
  return adm_utf8_valid(s->str, s->len);
}

/* Text XML can carry: UTF-8 without C0 controls other than tab, LF, CR. */
static gboolean xml_text_ok(const GString *s) {
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->str[i];
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
      return FALSE;
  }
  return adm_utf8_valid(s->str, s->len);
}

static void escape(GString *out, const GString *s, gboolean attr) {
  for (size_t i = 0; i < s->len; i++) {
    char c = s->str[i];
    switch (c) {
    case '&': g_string_append(out, "&amp;"); break;
    case '<': g_string_append(out, "&lt;"); break;
    case '>': g_string_append(out, "&gt;"); break;
    case '"': g_string_append(out, attr ? "&quot;" : "\""); break;
    case '\n': g_string_append(out, attr ? "&#10;" : "\n"); break;
    case '\r': g_string_append(out, "&#13;"); break;
    case '\t': g_string_append(out, attr ? "&#9;" : "\t"); break;
    default: g_string_append_c(out, c);
    }
  }
}

#define XML_NS "http://www.w3.org/XML/1998/namespace"

static int element(lp *p, const lv *e, int depth, GString *out) {
  p->line = e->line;
  if (depth > LP_MAX_DEPTH)
    return lp_fail(p, "form nested too deeply");
  if (e->t != LV_TABLE)
    return lp_fail(p, "a form element is not a table");
  const lv *name = lv_get(e, "name"), *attr = lv_get(e, "attr");
  if (!name || name->t != LV_STR || !xml_name_ok(name->str))
    return lp_fail(p, "a form element has no valid name");
  g_string_append_c(out, '<');
  g_string_append_len(out, name->str->str, (gssize)name->str->len);
  if (attr && attr->t != LV_TABLE)
    return lp_fail(p, "the attributes of <%s> are not a table", name->str->str);
  for (guint i = 0; attr && i < attr->keys->len; i++) {
    const lv *k = attr->keys->pdata[i], *v = attr->vals->pdata[i];
    p->line = v->line;
    if (k->t != LV_STR || v->t != LV_STR)
      return lp_fail(p, "an attribute of <%s> is not a string", name->str->str);
    /* Prosody names a namespaced attribute "namespace\1name". */
    const char *sep = memchr(k->str->str, '\1', k->str->len);
    GString *an = g_string_new(NULL);
    if (sep) {
      size_t nl = (size_t)(sep - k->str->str);
      if (nl != strlen(XML_NS) || memcmp(k->str->str, XML_NS, nl)) {
        g_string_free(an, TRUE);
        return lp_fail(p, "namespaced attribute outside xml: on <%s>", name->str->str);
      }
      g_string_append(an, "xml:");
      g_string_append_len(an, sep + 1, (gssize)(k->str->len - nl - 1));
    } else {
      g_string_append_len(an, k->str->str, (gssize)k->str->len);
    }
    gboolean ok = xml_name_ok(an) && xml_text_ok(v->str);
    if (ok) {
      g_string_append_c(out, ' ');
      g_string_append_len(out, an->str, (gssize)an->len);
      g_string_append(out, "=\"");
      escape(out, v->str, TRUE);
      g_string_append_c(out, '"');
    }
    g_string_free(an, TRUE);
    if (!ok)
      return lp_fail(p, "an attribute of <%s> is not valid XML", name->str->str);
  }
  g_string_append_c(out, '>');
  /* Children: the array part, in order. */
  for (double idx = 1;; idx++) {
    const lv *child = NULL;
    for (guint i = 0; i < e->keys->len && !child; i++) {
      const lv *k = e->keys->pdata[i];
      if (k->t == LV_NUM && k->num == idx)
        child = e->vals->pdata[i];
    }
    if (!child)
      break;
    if (child->t == LV_STR) {
      if (!xml_text_ok(child->str)) {
        p->line = child->line;
        return lp_fail(p, "text in <%s> is not valid XML text", name->str->str);
      }
      escape(out, child->str, FALSE);
    } else if (element(p, child, depth + 1, out)) {
      return -1;
    }
  }
  g_string_append(out, "</");
  g_string_append_len(out, name->str->str, (gssize)name->str->len);
  g_string_append_c(out, '>');
  return 0;
}

/* A string field of a registration: NULL when absent, an error when of
 * another type or not text a JID, node or client id can be. */
static int string_field(lp *p, const lv *reg, const char *key, char **out) {
  const lv *v = lv_get(reg, key);
  *out = NULL;
  if (!v || v->t == LV_NIL)
    return 0;
  p->line = v->line;
  if (v->t != LV_STR)
    return lp_fail(p, "\"%s\" is not a string", key);
  if (memchr(v->str->str, 0, v->str->len) || !adm_utf8_valid(v->str->str, v->str->len))
    return lp_fail(p, "\"%s\" is not UTF-8 text", key);
  *out = g_strndup(v->str->str, v->str->len);
  return 0;
}

static int registration(lp *p, const lv *key, const lv *reg, const char *account, adm_reg *r) {
  p->line = reg->line;
  if (key->t != LV_STR)
    return lp_fail(p, "a registration is not keyed by its identifier");
  if (reg->t != LV_TABLE)
    return lp_fail(p, "registration is not a table");
  r->account = g_strdup(account);
  r->line = reg->line;
  if (string_field(p, reg, "jid", &r->jid) || string_field(p, reg, "node", &r->node) ||
      string_field(p, reg, "client_id", &r->client_id))
    return -1;
  if (!r->jid || !*r->jid) {
    p->line = reg->line;
    return lp_fail(p, "registration without \"jid\"");
  }
  const lv *ts = lv_get(reg, "timestamp");
  if (ts && ts->t != LV_NIL) {
    p->line = ts->line;
    /* os.time(): seconds; 1e11 s is past the year 5000. */
    if (ts->t != LV_NUM || ts->num < 0 || ts->num > 1e11)
      return lp_fail(p, "\"timestamp\" is not a time in seconds");
    r->enabled_at_ms = (int64_t)llround(ts->num * 1000);
  }
  const lv *opts = lv_get(reg, "options");
  if (opts && opts->t != LV_NIL) {
    GString *x = g_string_new(NULL);
    if (element(p, opts, 0, x)) {
      g_string_free(x, TRUE);
      return -1;
    }
    r->form_len = x->len;
    r->form = g_string_free(x, FALSE);
  }
  return 0;
}

int adm_prosody_parse(const char *text, size_t len, const char *account, GPtrArray *regs,
                      char **err) {
  lp p = { text, len, 0, 1, NULL };
  lv *top = NULL;
  GPtrArray *got = g_ptr_array_new_with_free_func(adm_reg_free);
  if (len > ADM_PROSODY_MAX_FILE) {
    lp_fail(&p, "file larger than %u bytes", ADM_PROSODY_MAX_FILE);
    goto fail;
  }
  if (skip_space(&p))
    goto fail;
  if (p.n - p.i < 6 || memcmp(p.s + p.i, "return", 6) || name_char(peek(&p, 6))) {
    lp_fail(&p, "expected 'return' (not a Prosody storage file)");
    goto fail;
  }
  p.i += 6;
  if (value(&p, 0, &top))
    goto fail;
  if (skip_space(&p))
    goto fail;
  if (peek(&p, 0) == ';') {
    p.i++;
    if (skip_space(&p))
      goto fail;
  }
  if (p.i < p.n) {
    lp_fail(&p, "text after the returned value");
    goto fail;
  }
  if (top->t == LV_NIL)
    goto done; /* an account without registrations */
  if (top->t != LV_TABLE) {
    p.line = top->line;
    lp_fail(&p, "the file does not return a table");
    goto fail;
  }
  for (guint i = 0; i < top->keys->len; i++) {
    adm_reg *r = g_new0(adm_reg, 1);
    g_ptr_array_add(got, r);
    if (registration(&p, top->keys->pdata[i], top->vals->pdata[i], account, r))
      goto fail;
  }
done:
  for (guint i = 0; i < got->len; i++)
    g_ptr_array_add(regs, got->pdata[i]);
  g_ptr_array_set_free_func(got, NULL);
  g_ptr_array_free(got, TRUE);
  lv_free(top);
  return 0;
fail:
  g_ptr_array_free(got, TRUE);
  lv_free(top);
  *err = p.err ? p.err : g_strdup("malformed file");
  return -1;
}

char *adm_prosody_decode_name(const char *s) {
  GString *out = g_string_new(NULL);
  for (const char *c = s; *c; c++) {
    if (*c == '%') {
      int h = c[1] ? g_ascii_xdigit_value(c[1]) : -1;
      int l = h >= 0 && c[2] ? g_ascii_xdigit_value(c[2]) : -1;
      if (h < 0 || l < 0 || (h == 0 && l == 0)) {
        g_string_free(out, TRUE);
        return NULL;
      }
      g_string_append_c(out, (char)(h * 16 + l));
      c += 2;
    } else {
      g_string_append_c(out, *c);
    }
  }
  if (!adm_utf8_valid(out->str, out->len)) {
    g_string_free(out, TRUE);
    return NULL;
  }
  return g_string_free(out, FALSE);
}
