%% Erlang side of the libcloudnotify NIF (bindings/erlang/c_src).
%%
%% Every call that can change the library's state returns {Rc, Actions}:
%% Rc is 0 or a negative cloudnotify_error (see strerror/1) and Actions
%% the output the library produced during the call, in order, for the
%% caller to carry out (a NIF cannot call Erlang):
%%   {send, client, SessionTag, To, Xml}   reply to a client IQ
%%   {send, app, Account, To, Xml}         publish to an app server
%%   {timer, Ms}                           call tick/1 after Ms (-1: none)
%%   {hibernation_timeout, SessionTag, Seconds}   (-1: the normal one)
%%   {added, SessionTag, Account, Jid, Node, added | replaced}
%%   {removed, Account, Jid, Node, Reason, ErrorType, ErrorCondition}
%%   {outcome, Account, Jid, Node, Id, Outcome, ErrorType, ErrorCondition, Errors}
%%   {log, Level, Id, Message}
%% Strings the library leaves out are the atom undefined.
%%
%% The shared object is looked up next to this module's beam file, or in
%% the directory named by the environment variable CLOUDNOTIFY_NIF_DIR.
-module(cloudnotify_nif).

-export([ctx_new/0, set_option/3, tick/1, handle_app_reply/2, is_outstanding_id/2,
         message_offline/3, message_archived/4, message_groupchat_bare/3,
         account_remove_all/2, account_has_push/2, counter/2,
         session_new/4, session_free/1, session_retag/2, session_sm_enabled/1,
         session_hibernated/2, session_queued/2, session_ack_requested/1,
         session_acked/2, session_ack_delayed/2, session_resumed/1,
         session_has_push/1, handle_client_iq/2, strerror/1, version/0]).

-on_load(init/0).

-define(nif, erlang:nif_error({not_loaded, ?MODULE})).

init() ->
    Dir = case os:getenv("CLOUDNOTIFY_NIF_DIR") of
              false -> filename:dirname(code:which(?MODULE));
              D -> D
          end,
    erlang:load_nif(filename:join(Dir, "cloudnotify_nif"), 0).

ctx_new() -> ?nif.
set_option(_Ctx, _Name, _Value) -> ?nif.
tick(_Ctx) -> ?nif.
handle_app_reply(_Ctx, _Xml) -> ?nif.
is_outstanding_id(_Ctx, _Id) -> ?nif.
message_offline(_Ctx, _Account, _Xml) -> ?nif.
message_archived(_Ctx, _Account, _Xml, _ArchiveId) -> ?nif.
message_groupchat_bare(_Ctx, _Account, _Xml) -> ?nif.
account_remove_all(_Ctx, _Account) -> ?nif.
account_has_push(_Ctx, _Account) -> ?nif.
counter(_Ctx, _Which) -> ?nif.
session_new(_Ctx, _Account, _Resource, _Tag) -> ?nif.
session_free(_Sess) -> ?nif.
session_retag(_Sess, _Tag) -> ?nif.
session_sm_enabled(_Sess) -> ?nif.
session_hibernated(_Sess, _Queue) -> ?nif.
session_queued(_Sess, _Xml) -> ?nif.
session_ack_requested(_Sess) -> ?nif.
session_acked(_Sess, _H) -> ?nif.
session_ack_delayed(_Sess, _Queue) -> ?nif.
session_resumed(_Sess) -> ?nif.
session_has_push(_Sess) -> ?nif.
handle_client_iq(_Sess, _Xml) -> ?nif.
strerror(_Rc) -> ?nif.
version() -> ?nif.
