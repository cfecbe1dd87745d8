/* Error codes, their descriptions, and the library version. */
#include "cloudnotify/cloudnotify.h"

const char *cloudnotify_strerror(int error) {
  switch (error) {
  case CLOUDNOTIFY_OK: return "success";
  case CLOUDNOTIFY_ERR_INVALID_ARGUMENT: return "invalid argument";
  case CLOUDNOTIFY_ERR_XML: return "input is not an acceptable XML stanza";
  case CLOUDNOTIFY_ERR_TOO_LARGE: return "input exceeds a configured bound";
  case CLOUDNOTIFY_ERR_NOT_MINE: return "stanza is not handled by libcloudnotify";
  case CLOUDNOTIFY_ERR_JID_MALFORMED: return "malformed JID";
  case CLOUDNOTIFY_ERR_STORE: return "storage backend failed";
  case CLOUDNOTIFY_ERR_VTABLE_SIZE: return "vtable size unknown to this library version";
  case CLOUDNOTIFY_ERR_SEND: return "send callback failed";
  case CLOUDNOTIFY_ERR_UNKNOWN_OPTION: return "unknown option";
  case CLOUDNOTIFY_ERR_OPTION_VALUE: return "invalid option value";
  case CLOUDNOTIFY_ERR_REENTRANT: return "called from inside a callback";
  case CLOUDNOTIFY_ERR_STATE: return "call does not fit the session state";
  case CLOUDNOTIFY_ERR_FOREIGN_SENDER: return "reply from a JID other than the registered one";
  case CLOUDNOTIFY_ERR_OP_DONE: return "operation already answered";
  case CLOUDNOTIFY_ERR_OP_CANCELLED: return "operation cancelled";
  case CLOUDNOTIFY_ERR_GONE: return "the operation's context was freed";
  case CLOUDNOTIFY_ERR_BUSY: return "too much work parked waiting for the host";
  case CLOUDNOTIFY_ERR_OP_UNKNOWN: return "not an operation, or not of this kind";
  case CLOUDNOTIFY_ERR_PG_CONNINFO: return "PostgreSQL connection string does not parse";
  case CLOUDNOTIFY_ERR_PG_UNAVAILABLE: return "PostgreSQL server unreachable (reconnecting)";
  case CLOUDNOTIFY_ERR_PG_QUERY: return "PostgreSQL server refused a statement";
  case CLOUDNOTIFY_ERR_PG_SCHEMA: return "PostgreSQL schema not set up, or from a newer version";
  default: return "unknown error code";
  }
}

int cloudnotify_is_usage_error(int error) {
  switch (error) {
  case CLOUDNOTIFY_ERR_INVALID_ARGUMENT:
  case CLOUDNOTIFY_ERR_VTABLE_SIZE:
  case CLOUDNOTIFY_ERR_UNKNOWN_OPTION:
  case CLOUDNOTIFY_ERR_OPTION_VALUE:
  case CLOUDNOTIFY_ERR_REENTRANT:
  /* Completing an operation twice, or something that is no operation of
   * that kind, is the host's bug; CANCELLED, GONE and BUSY are races and
   * load a host meets in normal running. */
  case CLOUDNOTIFY_ERR_OP_DONE:
  case CLOUDNOTIFY_ERR_OP_UNKNOWN: return 1;
  default: return 0;
  }
}

const char *cloudnotify_version_string(void) {
  return CN_VERSION_STRING;
}

uint32_t cloudnotify_version_number(void) {
  return CLOUDNOTIFY_VERSION_NUMBER;
}
