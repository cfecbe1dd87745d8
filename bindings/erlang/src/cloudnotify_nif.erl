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
%% Strings the library leaves out are the atom undefined.  Reason is one of
%% disabled, errors, evicted, account, remote, expired, client_replaced;
%% Outcome one of ok, error, wait, expired, dropped, forgotten, refused,
%% vetoed, transient.
%%
%% The library's sender_known question (is the sender in the account's
%% roster, for tigase:push:filter:ignore-unknown:0) is answered from a
%% cache the caller fills with senders_known/3 before each trigger: a NIF
%% cannot ask Erlang while the library runs.  A sender missing from the
%% cache counts as known.
%%
%% The shared object is looked up next to this module's beam file, or in
%% the directory named by the environment variable CLOUDNOTIFY_NIF_DIR.
-module(cloudnotify_nif).

-export([ctx_new/0, set_option/3, tick/1, handle_app_reply/2, is_outstanding_id/2,
         message_offline/3, message_archived/4, message_groupchat_bare/3,
         message_delivered/3, handle_app_message/3, offline_fetched/2,
         disco_features/1, senders_known/3,
         account_remove_all/2, account_has_push/2, counter/2, counter_id/1, counters/1,
         session_new/4, session_free/1, session_retag/2, session_sm_enabled/1,
         session_hibernated/2, session_queued/2, session_ack_requested/1,
         session_acked/2, session_ack_delayed/2, session_resumed/1,
         session_active/1, session_set_client_id/2,
         session_has_push/1, handle_client_iq/2, strerror/1, version/0]).
%% diagnosis (after 0.3): diag_registrations(Ctx, Account) -> {ok, [Map]} |
%% {error, Rc}; diag_test_push(Ctx, Account) -> {Sent | Rc, Actions}
-export([diag_registrations/2, diag_test_push/2]).

-on_load(init/0).

-define(nif, erlang:nif_error({not_loaded, ?MODULE})).

%% The public counters (cloudnotify_counter) by name.
-define(COUNTERS,
        [{publishes_sent, 1}, {publishes_vetoed, 2}, {publishes_refused, 3},
         {publishes_deduplicated, 4}, {publishes_expired, 5}, {publishes_dropped, 6},
         {publishes_forgotten, 7}, {replies_ok, 8}, {replies_error, 9}, {replies_wait, 10},
         {replies_foreign, 11}, {replies_not_mine, 12}, {enables, 13}, {disables, 14},
         {store_failures, 15}, {cache_hits, 16}, {cache_misses, 17}, {inputs_rejected, 18},
         {store_records_rejected, 19}, {log_messages, 20},
         {suppressed_quiet, 21}, {suppressed_grace, 22}, {suppressed_rate, 23},
         {suppressed_filter, 24}, {suppressed_backoff, 25}, {calls_pushed, 26},
         {calls_stale, 27}, {replies_transient, 28}, {publishes_encrypted, 29},
         {removed_disabled, 16#101}, {removed_errors, 16#102}, {removed_evicted, 16#103},
         {removed_account, 16#104}, {removed_remote, 16#105}, {removed_expired, 16#106},
         {removed_client_replaced, 16#107}]).

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
message_delivered(_Ctx, _Account, _Xml) -> ?nif.
handle_app_message(_Ctx, _Account, _Xml) -> ?nif.
offline_fetched(_Ctx, _Account) -> ?nif.
disco_features(_Ctx) -> ?nif.
senders_known(_Ctx, _Account, _Pairs) -> ?nif.

%% counter(Ctx, Name | Number) -> {ok, N} | {error, Rc}
counter(Ctx, Name) when is_atom(Name) -> counter_nif(Ctx, counter_id(Name));
counter(Ctx, Which) -> counter_nif(Ctx, Which).
counter_nif(_Ctx, _Which) -> ?nif.

%% The number of a counter by name (error badarg for an unknown name).
counter_id(Name) ->
    case lists:keyfind(Name, 1, ?COUNTERS) of
        {_, N} -> N;
        false -> erlang:error(badarg)
    end.

%% Every public counter by name, as a map (for ejabberdctl / monitoring).
counters(Ctx) ->
    maps:from_list([{Name, V} || {Name, N} <- ?COUNTERS, {ok, V} <- [counter_nif(Ctx, N)]]).
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
session_active(_Sess) -> ?nif.
session_set_client_id(_Sess, _Id) -> ?nif.
session_has_push(_Sess) -> ?nif.
handle_client_iq(_Sess, _Xml) -> ?nif.
strerror(_Rc) -> ?nif.
version() -> ?nif.
diag_registrations(_Ctx, _Account) -> ?nif.
diag_test_push(_Ctx, _Account) -> ?nif.
