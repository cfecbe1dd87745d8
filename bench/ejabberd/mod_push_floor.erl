%% mod_push_floor: the least a push module can cost ejabberd, for
%% bench/ejabberd-push-cost.py.  NOT a push module: no summary, no
%% de-duplication, no reply handling, no storage, no sessions.
%%
%% An enable IQ (XEP-0357) builds, once, the publish for that account's app
%% server and node and keeps it in a persistent term; every offline message
%% to the account then routes that same stanza.  What is left is what any
%% push module must pay for in ejabberd: a hook on the offline path, one
%% lookup, and one IQ routed to the app server, whose result ejabberd_local
%% drops (nothing waits for it).
-module(mod_push_floor).
-behaviour(gen_mod).
-export([start/2, stop/1, reload/3, depends/2, mod_options/1, mod_doc/0]).
-export([process_iq/1, decode_iq_subel/1, offline_message/1]).

-include("xmpp.hrl").

start(Host, _Opts) ->
    gen_iq_handler:add_iq_handler(ejabberd_sm, Host, ?NS_PUSH_0, ?MODULE, process_iq),
    ejabberd_hooks:add(offline_message_hook, Host, ?MODULE, offline_message, 55),
    ok.

stop(Host) ->
    ejabberd_hooks:delete(offline_message_hook, Host, ?MODULE, offline_message, 55),
    gen_iq_handler:remove_iq_handler(ejabberd_sm, Host, ?NS_PUSH_0).

reload(_, _, _) -> ok.
depends(_, _) -> [].
mod_options(_) -> [].
mod_doc() -> #{desc => ["bench floor push module"]}.

%% the raw element, no codec
decode_iq_subel(El) -> El.

process_iq(#iq{type = set, from = #jid{luser = U, lserver = S},
               sub_els = [#xmlel{name = <<"enable">>} = El]} = IQ) ->
    To = jid:decode(fxml:get_tag_attr_s(<<"jid">>, El)),
    Node = fxml:get_tag_attr_s(<<"node">>, El),
    Publish = #iq{type = set, id = <<"floor">>, from = jid:make(S), to = To,
                  sub_els = [#xmlel{name = <<"pubsub">>,
                                    attrs = [{<<"xmlns">>, ?NS_PUBSUB}],
                                    children = [#xmlel{name = <<"publish">>,
                                                       attrs = [{<<"node">>, Node}],
                                                       children = [#xmlel{name = <<"item">>,
                                                                          children = [#xmlel{name = <<"notification">>,
                                                                                             attrs = [{<<"xmlns">>, ?NS_PUSH_0}]}]}]}]}]},
    persistent_term:put({?MODULE, U, S}, Publish),
    xmpp:make_iq_result(IQ);
process_iq(IQ) ->
    xmpp:make_error(IQ, xmpp:err_feature_not_implemented()).

offline_message({_, #message{to = #jid{luser = U, lserver = S}}} = Acc) ->
    case persistent_term:get({?MODULE, U, S}, undefined) of
        undefined -> ok;
        Publish -> ejabberd_router:route(Publish)
    end,
    Acc;
offline_message(Acc) ->
    Acc.
