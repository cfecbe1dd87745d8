%% Test helper for the ejabberd integration runs (the counterpart of
%% modules/mod_test_ping.lua): registers the test users when it starts and
%% answers <sessions user='...'/> (namespace urn:test:cloudnotify) with the
%% user's c2s sessions and whether stream management holds them pending
%% (hibernating).  Loaded only into the private test servers.
-module(mod_test_ping).
-behaviour(gen_mod).
-export([start/2, stop/1, reload/3, depends/2, mod_options/1, mod_opt_type/1, mod_doc/0]).
-export([process_iq/1, decode_iq_subel/1, register_users/0]).

-include("logger.hrl").
-include("xmpp.hrl").

-define(NS, <<"urn:test:cloudnotify">>).

%% The authentication tables exist only once ejabberd has started: register
%% the users then, and say so in the log (the driver waits for that line).
start(Host, Opts) ->
    persistent_term:put({?MODULE, Host}, {gen_mod:get_opt(users, Opts), gen_mod:get_opt(password, Opts)}),
    ejabberd_hooks:add(ejabberd_started, ?MODULE, register_users, 50),
    gen_iq_handler:add_iq_handler(ejabberd_local, Host, ?NS, ?MODULE, process_iq),
    ok.

register_users() ->
    [begin
         {Users, Pass} = persistent_term:get({?MODULE, Host}),
         [ejabberd_auth:try_register(U, Host, Pass) || U <- Users]
     end || Host <- ejabberd_option:hosts()],
    ?INFO_MSG("mod_test_ping: test users registered", []).

stop(Host) ->
    gen_iq_handler:remove_iq_handler(ejabberd_local, Host, ?NS).

reload(_, _, _) -> ok.
depends(_, _) -> [].
mod_opt_type(users) -> econf:list(econf:binary());
mod_opt_type(password) -> econf:binary().
mod_options(_) -> [{users, []}, {password, <<"password">>}].
mod_doc() -> #{desc => ["integration test helper"]}.

decode_iq_subel(El) -> El.

process_iq(#iq{type = get, to = #jid{lserver = S},
               sub_els = [#xmlel{name = <<"sessions">>} = El]} = IQ) ->
    User = fxml:get_tag_attr_s(<<"user">>, El),
    Items = [session_el(R, ejabberd_sm:get_session_pid(User, S, R))
             || R <- ejabberd_sm:get_user_resources(User, S)],
    xmpp:make_iq_result(IQ, #xmlel{name = <<"sessions">>,
                                   attrs = [{<<"xmlns">>, ?NS}, {<<"user">>, User}],
                                   children = [I || I <- Items, I /= none]});
process_iq(IQ) ->
    xmpp:make_error(IQ, xmpp:err_feature_not_implemented()).

session_el(_R, none) ->
    none;
session_el(R, Pid) ->
    St = try sys:get_state(Pid, 2000) catch _:_ -> #{} end,
    Mgmt = maps:get(mgmt_state, St, undefined),
    Hib = case Mgmt of pending -> <<"true">>; _ -> <<"false">> end,
    Timeout = case maps:get(mgmt_timeout, St, undefined) of
                  T when is_integer(T) -> integer_to_binary(T div 1000);
                  _ -> <<"">>
              end,
    #xmlel{name = <<"session">>,
           attrs = [{<<"resource">>, R}, {<<"hibernating">>, Hib},
                    {<<"smacks">>, atom_to_binary(Mgmt =/= undefined andalso Mgmt =/= inactive)},
                    {<<"resume_timeout">>, Timeout}]}.
