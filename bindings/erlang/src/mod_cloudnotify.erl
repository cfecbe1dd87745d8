%% mod_cloudnotify: XEP-0357 push notifications for ejabberd through
%% libcloudnotify (the NIF in cloudnotify_nif).  It replaces mod_push and
%% mod_push_keepalive: remove both from the modules section (they register
%% the same IQ handler, and the last one registered wins).
%%
%% One gen_server per virtual host owns the library context; every call
%% into the library is made by that process, so the context is used from
%% one thread at a time as the library requires.  Hooks run in the c2s
%% processes and only cast to it: the library's answers (replies, publishes,
%% timer changes, hibernation timeouts) come back as actions from the NIF
%% call and are carried out here.
%%
%% Registrations live in the library's store (see docs/ejabberd.md).
-module(mod_cloudnotify).
-author('libcloudnotify').

-behaviour(gen_mod).
-behaviour(gen_server).

%% gen_mod
-export([start/2, stop/1, reload/3, depends/2, mod_opt_type/1, mod_options/1, mod_doc/0]).
%% hooks and IQ handler
-export([process_iq/1, decode_iq_subel/1, disco_sm_features/5,
         c2s_session_opened/1, c2s_session_pending/1, c2s_copy_session/2,
         c2s_session_resumed/1, c2s_handle_cast/2, c2s_handle_send/3,
         c2s_self_presence/1, user_send_packet/1, sm_receive_packet/1,
         offline_message/1, mam_message/7, bounce_sm_packet/1,
         remove_user/2]).
%% operators
-export([counters/1]).
%% ejabberdctl cloudnotify_counters HOST, cloudnotify_explain USER HOST
-export([get_commands_spec/0, ctl_counters/1, ctl_explain/2]).
%% gen_server
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2, code_change/3]).

-include("logger.hrl").
-include("xmpp.hrl").
-include("ejabberd_commands.hrl").

%% The library's own options, passed through by name (the text form of
%% cloudnotify_ctx_set_option).  undefined leaves the library's default.
-define(LIB_INT_OPTS, [push_max_errors, push_max_devices, push_max_hibernation_timeout,
                       push_coalesce_ms, push_max_outstanding, push_publish_timeout,
                       push_max_cached_users, push_max_stanza_size, push_max_xml_depth,
                       push_max_form_size, push_max_form_fields,
                       push_max_remembered_stanzas, push_max_session_queue,
                       push_wake_before_expiry,
                       %% 0.3: calls, quiet devices, error policy
                       push_call_max_age, push_grace_period, push_visible_interval,
                       push_silent_per_hour, push_backoff, push_registration_ttl]).
-define(LIB_BOOL_OPTS, [push_notification_with_body, push_notification_with_sender,
                        push_publish_from_bare,
                        push_quiet, push_clear_on_fetch, push_tigase_extensions]).
-define(LIB_STR_OPTS, [push_notification_important_body, push_id_prefix, push_log_level,
                       push_store, push_transient_errors]).

-define(NS_JMI_0, <<"urn:xmpp:jingle-message:0">>).
-define(NS_JMI_1, <<"urn:xmpp:jingle-message:1">>).
-define(NS_IGNORE_UNKNOWN, <<"tigase:push:filter:ignore-unknown:0">>).

%%--------------------------------------------------------------------
%% gen_mod
%%--------------------------------------------------------------------
start(Host, Opts) ->
    case gen_mod:start_child(?MODULE, Host, Opts) of
        {ok, _} ->
            register_hooks(Host),
            gen_iq_handler:add_iq_handler(ejabberd_sm, Host, ?NS_PUSH_0, ?MODULE, process_iq),
            ejabberd_commands:register_commands(?MODULE, get_commands_spec()),
            ok;
        Err ->
            Err
    end.

stop(Host) ->
    gen_iq_handler:remove_iq_handler(ejabberd_sm, Host, ?NS_PUSH_0),
    unregister_hooks(Host),
    case gen_mod:is_loaded_elsewhere(Host, ?MODULE) of
        false -> ejabberd_commands:unregister_commands(get_commands_spec());
        true -> ok
    end,
    gen_mod:stop_child(?MODULE, Host).

reload(Host, NewOpts, _OldOpts) ->
    gen_server:cast(proc(Host), {options, NewOpts}).

depends(_Host, _Opts) ->
    [{mod_stream_mgmt, soft}].

mod_opt_type(include_body) -> econf:either(econf:bool(), econf:binary());
mod_opt_type(include_sender) -> econf:bool();
mod_opt_type(resume_timeout) -> econf:timeout(second);
mod_opt_type(wake_on_timeout) -> econf:bool();
mod_opt_type(push_store) -> econf:binary();
mod_opt_type(push_id_prefix) -> econf:binary();
mod_opt_type(push_notification_important_body) -> econf:binary();
mod_opt_type(push_log_level) -> econf:enum([debug, info, warn, error, none]);
%% conditions as "a,b" or a list
mod_opt_type(push_transient_errors) -> econf:either(econf:binary(), econf:list(econf:binary()));
mod_opt_type(Opt) ->
    case lists:member(Opt, ?LIB_BOOL_OPTS) of
        true -> econf:bool();
        false -> econf:non_neg_int()
    end.

mod_options(_Host) ->
    [{include_body, undefined}, {include_sender, undefined}, {resume_timeout, undefined},
     {wake_on_timeout, undefined}]
    ++ [{O, undefined} || O <- ?LIB_INT_OPTS ++ ?LIB_BOOL_OPTS ++ ?LIB_STR_OPTS].

mod_doc() ->
    #{desc => ["XEP-0357 push notifications through libcloudnotify; "
               "replaces mod_push and mod_push_keepalive."]}.

proc(Host) -> gen_mod:get_module_proc(Host, ?MODULE).

%% What the owner publishes for the hooks, which run in other processes:
%% the disco features (they follow the options) and whether the
%% ignore-unknown filter is on offer (then hooks read the sender's roster
%% entry before handing a message over).
features_key(Host) -> {?MODULE, features, Host}.

features(Host) -> persistent_term:get(features_key(Host), [?NS_PUSH_0]).

wants_roster(Host) -> lists:member(?NS_IGNORE_UNKNOWN, features(Host)).

%% ejabberdctl debug / monitoring: every public counter of Host's context.
counters(Host) ->
    gen_server:call(proc(Host), counters).

register_hooks(Host) ->
    lists:foreach(fun({Hook, Fun, Prio}) -> ejabberd_hooks:add(Hook, Host, ?MODULE, Fun, Prio) end,
                  hooks()).

unregister_hooks(Host) ->
    lists:foreach(fun({Hook, Fun, Prio}) -> ejabberd_hooks:delete(Hook, Host, ?MODULE, Fun, Prio) end,
                  hooks()).

hooks() ->
    [{disco_sm_features, disco_sm_features, 50},
     {c2s_session_opened, c2s_session_opened, 50},
     {c2s_session_pending, c2s_session_pending, 50},
     {c2s_copy_session, c2s_copy_session, 50},
     {c2s_session_resumed, c2s_session_resumed, 50},
     {c2s_handle_cast, c2s_handle_cast, 50},
     {c2s_handle_send, c2s_handle_send, 50},
     {store_mam_message, mam_message, 50},
     {offline_message_hook, offline_message, 55},
     {bounce_sm_packet, bounce_sm_packet, 50},
     {user_send_packet, user_send_packet, 50},
     %% before mod_offline's (50), which routes the stored messages
     {c2s_self_presence, c2s_self_presence, 40},
     %% before delivery or offline storage
     {sm_receive_packet, sm_receive_packet, 40},
     {remove_user, remove_user, 50}].

%%--------------------------------------------------------------------
%% IQ handler: the raw element goes to the library, which validates it
%% and answers (through a {send, client, ...} action).
%%--------------------------------------------------------------------
decode_iq_subel(El) -> El.

process_iq(#iq{from = #jid{luser = U, lserver = S, lresource = R}} = IQ) ->
    case ejabberd_sm:get_session_pid(U, S, R) of
        Pid when is_pid(Pid) ->
            %% Mark the c2s process so that its hooks report to us; harmless
            %% if the IQ turns out to be a disable or an error.
            ejabberd_c2s:cast(Pid, cloudnotify_mark),
            gen_server:cast(proc(S), {client_iq, Pid, <<U/binary, $@, S/binary>>, R,
                                      to_xml(IQ)}),
            ignore;
        none ->
            xmpp:make_error(IQ, xmpp:err_not_allowed())
    end.

disco_sm_features(empty, From, To, Node, Lang) ->
    disco_sm_features({result, []}, From, To, Node, Lang);
disco_sm_features({result, Features}, _From, #jid{lserver = S}, <<"">>, _Lang) ->
    %% urn:xmpp:push:0 and the extensions the library accepts (Tigase's)
    {result, features(S) ++ Features};
disco_sm_features(Acc, _From, _To, _Node, _Lang) ->
    Acc.

%%--------------------------------------------------------------------
%% c2s hooks (run in the c2s process; the state map is theirs)
%%--------------------------------------------------------------------
c2s_handle_cast(State, cloudnotify_mark) ->
    {stop, State#{cloudnotify => true}};
c2s_handle_cast(State, {cloudnotify_push, HasPush}) ->
    %% the owner says whether a registration is bound to this session:
    %% only then are stanzas queued while pending serialised for it
    {stop, State#{cloudnotify_push => HasPush}};
c2s_handle_cast(#{mgmt_timeout := Cur} = State, {cloudnotify_timeout, Seconds}) ->
    %% The library asks for the extended hibernation (Seconds >= 0) or the
    %% normal one back (-1), as mod_push_keepalive does with the resume
    %% timeout of mod_stream_mgmt.
    State1 = case Seconds of
                 -1 ->
                     case maps:take(cloudnotify_orig_timeout, State) of
                         {Orig, S1} -> mod_stream_mgmt:set_resume_timeout(S1, Orig);
                         error -> State
                     end;
                 _ ->
                     S1 = case maps:is_key(cloudnotify_orig_timeout, State) of
                              true -> State;
                              false -> State#{cloudnotify_orig_timeout => Cur}
                          end,
                     mod_stream_mgmt:set_resume_timeout(S1, Seconds * 1000)
             end,
    {stop, State1};
c2s_handle_cast(State, {cloudnotify_timeout, _}) ->
    {stop, State};
c2s_handle_cast(State, _) ->
    State.

%% Every bound session gets a library session with the client's identity
%% (ejabberd 23.01 has no SASL2/Bind2 client id: the resource), so that a
%% registration enabled in an earlier session of the same client is
%% recognised and its device is not pushed while it is online.
c2s_session_opened(#{jid := #jid{luser = U, lserver = S, lresource = R}} = State) ->
    gen_server:cast(proc(S), {opened, self(), <<U/binary, $@, S/binary>>, R}),
    State#{cloudnotify => true};
c2s_session_opened(State) ->
    State.

c2s_session_pending(#{cloudnotify := true, jid := #jid{luser = U, lserver = S},
                      mgmt_queue := Queue} = State) ->
    Pkts = [Pkt || {_N, _T, Pkt} <- p1_queue:to_list(Queue), is_stanza(Pkt)],
    gen_server:cast(proc(S), {hibernated, self(), <<U/binary, $@, S/binary>>,
                              [to_xml(P) || P <- Pkts], known_senders(U, S, Pkts)}),
    State;
c2s_session_pending(State) ->
    State.

%% Stanzas queued while hibernated (mod_stream_mgmt keeps them); the
%% library only counts them for a session with a registration bound to it
%% (cloudnotify_session_has_push), so others are not serialised.
c2s_handle_send(#{cloudnotify := true, cloudnotify_push := true, mgmt_state := pending,
                  jid := #jid{luser = U, lserver = S}} = State, Pkt, _Res) ->
    case is_stanza(Pkt) of
        true -> gen_server:cast(proc(S), {queued, self(), <<U/binary, $@, S/binary>>,
                                          to_xml(Pkt), known_senders(U, S, [Pkt])});
        false -> ok
    end,
    State;
c2s_handle_send(#{mgmt_state := pending} = State, _Pkt, _Res) ->
    State;
c2s_handle_send(#{jid := #jid{luser = U, lserver = S}} = State,
                #message{type = T, sub_els = Els} = Pkt, _Res) when T == chat; T == normal ->
    %% A call (Jingle Message Initiation <propose/>, either namespace)
    %% delivered to this live session: the account's devices that are not
    %% connected ring now (ejabberd 23.01's mod_mam archives no bodyless
    %% message, so no archive hook sees it).  Every live session of the
    %% account reports it; the library pushes one call once.  The check is
    %% a walk over the top-level children: this runs for every stanza.
    case is_propose(Els) of
        true -> gen_server:cast(proc(S), {delivered, <<U/binary, $@, S/binary>>, to_xml(Pkt),
                                          known_senders(U, S, [Pkt])});
        false -> ok
    end,
    State;
c2s_handle_send(State, _Pkt, _Res) ->
    State.

is_propose([#xmlel{name = <<"propose">>} = El | Rest]) ->
    case fxml:get_tag_attr_s(<<"xmlns">>, El) of
        ?NS_JMI_0 -> true;
        ?NS_JMI_1 -> true;
        _ -> is_propose(Rest)
    end;
is_propose([_ | Rest]) -> is_propose(Rest);
is_propose([]) -> false.

%% What the client sends: a message or a chat state shows its user is at
%% it (push_grace_period for the account's other devices, the message
%% count of this one); a flexible offline fetch (XEP-0013) is an offline
%% fetch.
user_send_packet({#message{type = T, body = Body, sub_els = Els}, #{cloudnotify := true} = State} = Acc)
  when T /= error ->
    case Body /= [] orelse has_ns(?NS_CHATSTATES, Els) of
        true -> gen_server:cast(proc(maps:get(lserver, State)), {active, self()});
        false -> ok
    end,
    Acc;
user_send_packet({#iq{type = get, sub_els = [El]},
                  #{jid := #jid{luser = U, lserver = S}}} = Acc) ->
    case xmpp:get_ns(El) == ?NS_FLEX_OFFLINE andalso is_offline_fetch(El) of
        true -> gen_server:cast(proc(S), {offline_fetched, <<U/binary, $@, S/binary>>});
        false -> ok
    end,
    Acc;
user_send_packet(Acc) ->
    Acc.

is_offline_fetch(El) ->
    try xmpp:decode(El) of
        #offline{fetch = Fetch} -> Fetch
    catch _:_ -> false
    end.

has_ns(NS, [El | Rest]) ->
    case xmpp:get_ns(El) of
        NS -> true;
        _ -> has_ns(NS, Rest)
    end;
has_ns(_, []) -> false.

%% mod_offline routes the stored messages when the first available
%% presence with a non-negative priority comes (its own condition, and
%% not when the client fetches through XEP-0013 instead).  Run before it
%% so that the messages are still counted: a login with nothing stored
%% fetched nothing.
c2s_self_presence({#presence{type = available} = Pres,
                   #{jid := #jid{luser = U, lserver = S}} = State} = Acc) ->
    Last = case maps:get(pres_last, State, undefined) of
               undefined -> -1;
               LastPres -> prio(LastPres)
           end,
    case maps:get(resend_offline, State, true) /= false andalso Last < 0
        andalso prio(Pres) >= 0 andalso gen_mod:is_loaded(S, mod_offline)
        andalso mod_offline:count_offline_messages(U, S) > 0 of
        true -> gen_server:cast(proc(S), {offline_fetched, <<U/binary, $@, S/binary>>});
        false -> ok
    end,
    Acc;
c2s_self_presence(Acc) ->
    Acc.

prio(#presence{priority = undefined}) -> 0;
prio(#presence{priority = P}) -> P.

%% XEP-0357 section 8: an app server says a node's affiliation is now
%% none.  Such a message to an account's bare JID with a pubsub child goes
%% to the library, which removes the registration when the sender is its
%% push service and says whether it consumed the message (then it is not
%% delivered nor stored).  Asked synchronously, but only for a message to a
%% bare JID carrying a pubsub child, which nothing else sends there.
sm_receive_packet(#message{to = #jid{luser = U, lserver = S, lresource = <<"">>},
                           type = T, sub_els = Els} = Pkt) when U /= <<"">>, T /= error ->
    case has_pubsub(Els) andalso whereis(proc(S)) /= self() of
        true ->
            try gen_server:call(proc(S), {app_message, <<U/binary, $@, S/binary>>, to_xml(Pkt)},
                                5000) of
                consumed -> drop;
                _ -> Pkt
            catch exit:_ -> Pkt
            end;
        false ->
            Pkt
    end;
sm_receive_packet(Pkt) ->
    Pkt.

has_pubsub([El | Rest]) ->
    case xmpp:get_ns(El) of
        <<"http://jabber.org/protocol/pubsub", _/binary>> -> true;
        _ -> has_pubsub(Rest)
    end;
has_pubsub([]) -> false.

%% The sender_known answers for the messages handed over (Tigase's
%% ignore-unknown filter): a roster subscription in either direction makes
%% a sender known.  Read here, in the hook's process, through ejabberd's
%% roster hook (mod_roster's cache), and only when the filter is on offer;
%% group chats are exempt from the filter.
known_senders(U, S, Pkts) ->
    case wants_roster(S) of
        false ->
            [];
        true ->
            Senders = lists:usort(
                        [jid:remove_resource(jid:tolower(F))
                         || #message{from = #jid{} = F, type = T} <- Pkts, T /= groupchat,
                            {F#jid.luser, F#jid.lserver} /= {U, S}]),
            [{jid:encode(Bare), is_known(U, S, Bare)} || Bare <- Senders]
    end.

is_known(U, S, {_, _, _} = LBare) ->
    {Sub, _Ask, _Groups} = ejabberd_hooks:run_fold(roster_get_jid_info, S, {none, none, []},
                                                   [U, S, jid:make(LBare)]),
    Sub == to orelse Sub == from orelse Sub == both.

%% Resumption moves the session into a new c2s process: the old pid is in
%% the old state's sid; the library session follows in c2s_session_resumed.
c2s_copy_session(State, #{cloudnotify := true, sid := {_, OldPid}} = Old) ->
    State1 = State#{cloudnotify => true, cloudnotify_prev => OldPid,
                    cloudnotify_push => maps:get(cloudnotify_push, Old, false)},
    case maps:find(cloudnotify_orig_timeout, Old) of
        {ok, T} -> State1#{cloudnotify_orig_timeout => T};
        error -> State1
    end;
c2s_copy_session(State, _Old) ->
    State.

c2s_session_resumed(#{cloudnotify := true, cloudnotify_prev := OldPid, lserver := S} = State) ->
    gen_server:cast(proc(S), {resumed, OldPid, self()}),
    maps:remove(cloudnotify_prev, State);
c2s_session_resumed(State) ->
    State.

%%--------------------------------------------------------------------
%% Message hooks
%%--------------------------------------------------------------------
offline_message({offlined, #message{to = #jid{luser = U, lserver = S}} = Pkt} = Acc) ->
    %% Also for messages MAM archived already: the library pushes a stanza
    %% at most once per registration, whatever path reports it first.
    gen_server:cast(proc(S), {offline, <<U/binary, $@, S/binary>>, to_xml(Pkt),
                              known_senders(U, S, [Pkt])}),
    Acc;
offline_message(Acc) ->
    Acc.

%% ejabberd_sm never delivers a groupchat message addressed to a bare JID
%% to a session: it bounces it through this hook (priority 100 answers the
%% sender), so such a message always reached the bare JID with no resource
%% to take it.
bounce_sm_packet({_, #message{type = groupchat,
                              to = #jid{luser = U, lserver = S, lresource = <<"">>}} = Pkt} = Acc)
  when U /= <<"">> ->
    gen_server:cast(proc(S), {groupchat_bare, <<U/binary, $@, S/binary>>, to_xml(Pkt)}),
    Acc;
bounce_sm_packet(Acc) ->
    Acc.

mam_message(#message{} = Pkt, U, S, _Peer, _Nick, _Type, recv) ->
    Id = case xmpp:get_meta(Pkt, stanza_id, undefined) of
             undefined -> undefined;
             I when is_integer(I) -> integer_to_binary(I);
             I -> I
         end,
    gen_server:cast(proc(S), {archived, <<U/binary, $@, S/binary>>, to_xml(Pkt), Id,
                              known_senders(U, S, [Pkt])}),
    Pkt;
mam_message(Pkt, _U, _S, _Peer, _Nick, _Type, _Dir) ->
    Pkt.

remove_user(U, S) ->
    gen_server:cast(proc(S), {remove_user, <<U/binary, $@, S/binary>>}).

%%--------------------------------------------------------------------
%% The context's owner
%%--------------------------------------------------------------------
-record(st, {host :: binary(),
             ctx,
             %% pid => {Tag, Session, Monitor, HasPush}; HasPush is what the
             %% c2s process was last told (cloudnotify_push)
             sessions = #{} :: #{pid() => {integer(), term(), reference(), boolean()}},
             tags = #{} :: #{integer() => pid()},
             next_tag = 1 :: integer(),
             timer :: reference() | undefined}).

init([Host, Opts]) ->
    process_flag(trap_exit, true),
    {ok, Ctx} = cloudnotify_nif:ctx_new(),
    St = #st{host = Host, ctx = Ctx},
    St1 = apply_options(Opts, St),
    ?INFO_MSG("mod_cloudnotify on ~ts: libcloudnotify ~ts", [Host, cloudnotify_nif:version()]),
    {ok, St1}.

handle_call({app_message, Account, Xml}, _From, #st{ctx = Ctx} = St) ->
    {Rc, _} = R = cloudnotify_nif:handle_app_message(Ctx, Account, Xml),
    {reply, case Rc of 0 -> consumed; _ -> deliver end, run(R, app_message, St)};
handle_call(counters, _From, #st{ctx = Ctx} = St) ->
    {reply, cloudnotify_nif:counters(Ctx), St};
handle_call({explain, Account}, From, #st{ctx = Ctx} = St) ->
    %% The test push goes out now; the answer is handled by this process
    %% (handle_info iq_reply), so the caller is answered later, once no
    %% publish to the account awaits a reply or after 5 s.
    {Sent, Actions} = cloudnotify_nif:diag_test_push(Ctx, Account),
    St1 = do_actions(Actions, St),
    Note = case Sent of
               N when N > 0 -> io_lib:format("test push sent to ~b registration(s)", [N]);
               Rc -> ["no test push sent: ", cloudnotify_nif:strerror(Rc)]
           end,
    Deadline = erlang:monotonic_time(millisecond) + 5000,
    {noreply, explain_poll(From, Account, Deadline, Note, St1)};
handle_call(_Req, _From, St) ->
    {reply, {error, badarg}, St}.

handle_cast({options, Opts}, St) ->
    {noreply, apply_options(Opts, St)};
handle_cast({opened, Pid, Account, Resource}, St) ->
    case session(Pid, Account, Resource, St) of
        {ok, _Sess, St1} -> {noreply, St1};
        {error, Rc} ->
            ?WARNING_MSG("mod_cloudnotify: no session for ~ts/~ts: ~ts",
                         [Account, Resource, cloudnotify_nif:strerror(Rc)]),
            {noreply, St}
    end;
handle_cast({active, Pid}, St) ->
    {noreply, with_session(Pid, fun(S) -> cloudnotify_nif:session_active(S) end, active, St)};
handle_cast({delivered, Account, Xml, Known}, #st{ctx = Ctx} = St) ->
    known(Ctx, Account, Known),
    {noreply, run(cloudnotify_nif:message_delivered(Ctx, Account, Xml), delivered, St)};
handle_cast({offline_fetched, Account}, #st{ctx = Ctx} = St) ->
    {noreply, run(cloudnotify_nif:offline_fetched(Ctx, Account), offline_fetched, St)};
handle_cast({client_iq, Pid, Account, Resource, Xml}, St) ->
    case session(Pid, Account, Resource, St) of
        {ok, Sess, St1} ->
            St2 = run(cloudnotify_nif:handle_client_iq(Sess, Xml), client_iq, St1),
            {noreply, push_flag(Pid, St2)};
        {error, Rc} ->
            ?WARNING_MSG("mod_cloudnotify: no session for ~ts/~ts: ~ts",
                         [Account, Resource, cloudnotify_nif:strerror(Rc)]),
            {noreply, St}
    end;
handle_cast({hibernated, Pid, Account, Xmls, Known}, #st{ctx = Ctx} = St) ->
    known(Ctx, Account, Known),
    St1 = with_session(Pid, fun(S) -> cloudnotify_nif:session_hibernated(S, Xmls) end,
                       hibernated, St),
    {noreply, push_flag(Pid, St1)};
handle_cast({queued, Pid, Account, Xml, Known}, #st{ctx = Ctx} = St) ->
    known(Ctx, Account, Known),
    {noreply, with_session(Pid, fun(S) -> cloudnotify_nif:session_queued(S, Xml) end,
                           queued, St)};
handle_cast({resumed, OldPid, NewPid}, #st{sessions = Ss, tags = Tags} = St) ->
    case maps:take(OldPid, Ss) of
        {{Tag, Sess, Mon, HasPush}, Ss1} ->
            erlang:demonitor(Mon, [flush]),
            Mon1 = erlang:monitor(process, NewPid),
            %% the new process starts with the old one's state, flag included
            St1 = St#st{sessions = Ss1#{NewPid => {Tag, Sess, Mon1, HasPush}},
                        tags = Tags#{Tag => NewPid}},
            {noreply, push_flag(NewPid, run(cloudnotify_nif:session_resumed(Sess), resumed, St1))};
        error ->
            {noreply, St}
    end;
handle_cast({offline, Account, Xml, Known}, #st{ctx = Ctx} = St) ->
    known(Ctx, Account, Known),
    {noreply, run(cloudnotify_nif:message_offline(Ctx, Account, Xml), offline, St)};
handle_cast({groupchat_bare, Account, Xml}, #st{ctx = Ctx} = St) ->
    {noreply, run(cloudnotify_nif:message_groupchat_bare(Ctx, Account, Xml), groupchat_bare, St)};
handle_cast({archived, Account, Xml, Id, Known}, #st{ctx = Ctx} = St) ->
    known(Ctx, Account, Known),
    {noreply, run(cloudnotify_nif:message_archived(Ctx, Account, Xml, Id), archived, St)};
handle_cast({remove_user, Account}, #st{ctx = Ctx} = St) ->
    {noreply, run(cloudnotify_nif:account_remove_all(Ctx, Account), remove_user, St)};
handle_cast(_Msg, St) ->
    {noreply, St}.

handle_info(tick, #st{ctx = Ctx} = St) ->
    {noreply, run(cloudnotify_nif:tick(Ctx), tick, St#st{timer = undefined})};
handle_info({iq_reply, #iq{} = Reply, LibId}, #st{ctx = Ctx} = St) ->
    %% ejabberd_router:route_iq gave the publish an id of its own: put the
    %% library's back before the reply is matched.
    Xml = to_xml(Reply#iq{id = LibId}),
    {noreply, run(cloudnotify_nif:handle_app_reply(Ctx, Xml), app_reply, St)};
handle_info({iq_reply, timeout, _LibId}, St) ->
    %% The library expires unanswered publishes itself (push_publish_timeout).
    {noreply, St};
handle_info({'DOWN', _Mon, process, Pid, _Reason}, #st{sessions = Ss, tags = Tags} = St) ->
    case maps:take(Pid, Ss) of
        {{Tag, Sess, _, _}, Ss1} ->
            St1 = St#st{sessions = Ss1, tags = maps:remove(Tag, Tags)},
            {noreply, run(cloudnotify_nif:session_free(Sess), closed, St1)};
        error ->
            {noreply, St}
    end;
handle_info({explain_poll, From, Account, Deadline, Note}, St) ->
    {noreply, explain_poll(From, Account, Deadline, Note, St)};
handle_info(_Info, St) ->
    {noreply, St}.

terminate(_Reason, #st{host = Host}) ->
    persistent_term:erase(features_key(Host)),
    ok.

code_change(_Old, St, _Extra) ->
    {ok, St}.

%%--------------------------------------------------------------------
%% Internals
%%--------------------------------------------------------------------
session(Pid, Account, Resource, #st{sessions = Ss} = St) ->
    case Ss of
        #{Pid := {_, Sess, _, _}} ->
            {ok, Sess, St};
        _ ->
            #st{ctx = Ctx, next_tag = Tag, tags = Tags} = St,
            case cloudnotify_nif:session_new(Ctx, Account, Resource, Tag) of
                {ok, Sess} ->
                    %% Every c2s process of ejabberd 23.01 can have stream
                    %% management; without it hibernation never comes.
                    {_, _} = cloudnotify_nif:session_sm_enabled(Sess),
                    Mon = erlang:monitor(process, Pid),
                    St1 = St#st{sessions = Ss#{Pid => {Tag, Sess, Mon, false}},
                                tags = Tags#{Tag => Pid}, next_tag = Tag + 1},
                    %% The client's identity: ejabberd 23.01 has no SASL2 /
                    %% Bind2 client id, so the resource, which clients that
                    %% care keep stable across sessions.
                    St2 = run(cloudnotify_nif:session_set_client_id(Sess, Resource), client_id, St1),
                    {ok, Sess, push_flag(Pid, St2)};
                {error, _} = Err ->
                    Err
            end
    end.

with_session(Pid, Fun, What, #st{sessions = Ss} = St) ->
    case Ss of
        #{Pid := {_, Sess, _, _}} -> run(Fun(Sess), What, St);
        _ -> St
    end.

%% Tell the c2s process when whether a registration is bound to its session
%% changed (see c2s_handle_send).
push_flag(Pid, #st{sessions = Ss} = St) ->
    case Ss of
        #{Pid := {Tag, Sess, Mon, Was}} ->
            case cloudnotify_nif:session_has_push(Sess) of
                Was -> St;
                Now ->
                    ejabberd_c2s:cast(Pid, {cloudnotify_push, Now}),
                    St#st{sessions = Ss#{Pid => {Tag, Sess, Mon, Now}}}
            end;
        _ -> St
    end.

known(_Ctx, _Account, []) -> ok;
known(Ctx, Account, Known) -> cloudnotify_nif:senders_known(Ctx, Account, Known).

apply_options(Opts, #st{ctx = Ctx, host = Host} = St) ->
    Pairs = lib_options(Opts),
    St1 = lists:foldl(
            fun({Name, Value}, StAcc) ->
                    {Rc, Actions} = cloudnotify_nif:set_option(Ctx, Name, Value),
                    Rc == 0 orelse ?ERROR_MSG("mod_cloudnotify on ~ts: option ~ts = ~ts: ~ts",
                                              [Host, Name, Value, cloudnotify_nif:strerror(Rc)]),
                    do_actions(Actions, StAcc)
            end, St, Pairs),
    persistent_term:put(features_key(Host), cloudnotify_nif:disco_features(Ctx)),
    St1.

%% mod_push / mod_push_keepalive option names mapped to the library's,
%% then the library's own (which win when both are given).
lib_options(Opts) ->
    Get = fun(K) -> gen_mod:get_opt(K, Opts) end,
    Mapped =
        case Get(include_body) of
            undefined -> [];
            true -> [{"push_notification_with_body", "true"}];
            false -> [{"push_notification_important_body", ""}];
            Text -> [{"push_notification_important_body", Text}]
        end
        ++ case Get(include_sender) of
               undefined -> [];
               B -> [{"push_notification_with_sender", atom_to_list(B)}]
           end
        ++ case Get(resume_timeout) of
               undefined -> [];
               Ms -> [{"push_max_hibernation_timeout", integer_to_list(Ms div 1000)}]
           end
        ++ case Get(wake_on_timeout) of
               true -> [{"push_wake_before_expiry", "120"}];
               _ -> []
           end,
    Own = [{atom_to_list(K), text(V)}
           || K <- ?LIB_INT_OPTS ++ ?LIB_BOOL_OPTS ++ ?LIB_STR_OPTS,
              (V = Get(K)) /= undefined],
    Mapped ++ log_threshold(Get(push_log_level)) ++ Own.

%% Without push_log_level the library's threshold follows ejabberd's
%% loglevel (read at start and reload): otherwise every push formats debug
%% lines and turns them into terms that ?DEBUG then drops.
log_threshold(undefined) ->
    Level = case ejabberd_option:loglevel() of
                debug -> "debug";
                info -> "info";
                L when L == notice; L == warning -> "warn";
                none -> "none";
                _ -> "error"
            end,
    [{"push_log_level", Level}];
log_threshold(_) ->
    [].

text(V) when is_integer(V) -> integer_to_list(V);
text(V) when is_atom(V) -> atom_to_list(V);
text(V) when is_binary(V) -> V;
text(V) when is_list(V) -> lists:join(",", [text(X) || X <- V]).

run({Rc, Actions}, What, St) ->
    case Rc of
        0 -> ok;
        -504 -> ok;          % not for us: nothing to do
        _ -> ?DEBUG("mod_cloudnotify: ~p: ~ts", [What, cloudnotify_nif:strerror(Rc)])
    end,
    do_actions(Actions, St).

do_actions(Actions, St) ->
    lists:foldl(fun do_action/2, St, Actions).

do_action({send, client, _Tag, _To, Xml}, St) ->
    case from_xml(Xml) of
        {ok, Pkt} -> ejabberd_router:route(Pkt);
        error -> ok
    end,
    St;
do_action({send, app, _Account, _To, Xml}, St) ->
    case from_xml(Xml) of
        {ok, #iq{id = LibId} = IQ} -> ejabberd_router:route_iq(IQ, LibId, self());
        _ -> ok
    end,
    St;
do_action({timer, Ms}, #st{timer = Old} = St) ->
    Old == undefined orelse erlang:cancel_timer(Old),
    receive tick -> ok after 0 -> ok end,
    case Ms of
        _ when Ms < 0 -> St#st{timer = undefined};
        _ -> St#st{timer = erlang:send_after(Ms, self(), tick)}
    end;
do_action({hibernation_timeout, Tag, Seconds}, #st{tags = Tags} = St) ->
    case Tags of
        #{Tag := Pid} -> ejabberd_c2s:cast(Pid, {cloudnotify_timeout, Seconds});
        _ -> ok
    end,
    St;
do_action({removed, Account, Jid, Node, Reason, EType, ECond}, St) ->
    ?INFO_MSG("mod_cloudnotify: removed push registration ~ts (~p) of ~ts: ~p ~p ~p",
              [Jid, Node, Account, Reason, EType, ECond]),
    St;
do_action({log, Level, Id, Msg}, St) ->
    case Level of
        debug -> ?DEBUG("cloudnotify [~ts] ~ts", [Id, Msg]);
        info -> ?INFO_MSG("cloudnotify [~ts] ~ts", [Id, Msg]);
        warning -> ?WARNING_MSG("cloudnotify [~ts] ~ts", [Id, Msg]);
        _ -> ?ERROR_MSG("cloudnotify [~ts] ~ts", [Id, Msg])
    end,
    St;
do_action(_Other, St) ->
    %% added, outcome: nothing to carry out
    St.

is_stanza(#message{}) -> true;
is_stanza(#presence{}) -> true;
is_stanza(#iq{}) -> true;
is_stanza(#xmlel{name = N}) -> N == <<"message">> orelse N == <<"presence">> orelse N == <<"iq">>;
is_stanza(_) -> false.

to_xml(#xmlel{} = El) -> fxml:element_to_binary(El);
to_xml(Pkt) -> fxml:element_to_binary(xmpp:encode(Pkt, ?NS_CLIENT)).

from_xml(Xml) ->
    case fxml_stream:parse_element(Xml) of
        #xmlel{} = El ->
            try {ok, xmpp:decode(El, ?NS_CLIENT, [ignore_els])}
            catch _:_ -> error
            end;
        _ ->
            error
    end.

%%--------------------------------------------------------------------
%% ejabberdctl: counters and diagnosis (docs/features.md, "Metrics and
%% diagnosis")
%%--------------------------------------------------------------------
get_commands_spec() ->
    [#ejabberd_commands{name = cloudnotify_counters, tags = [stats],
                        desc = "libcloudnotify's counters for a host, one 'name value' per line",
                        module = ?MODULE, function = ctl_counters,
                        args = [{host, binary}], args_example = [<<"example.org">>],
                        args_desc = ["Virtual host running mod_cloudnotify"],
                        result = {counters, string}},
     #ejabberd_commands{name = cloudnotify_explain, tags = [stats],
                        desc = "An account's push registrations with their last outcome and "
                               "error count, after a test push whose answer is awaited (5 s)",
                        module = ?MODULE, function = ctl_explain,
                        args = [{user, binary}, {host, binary}],
                        args_example = [<<"juliet">>, <<"example.org">>],
                        args_desc = ["User name", "Virtual host running mod_cloudnotify"],
                        result = {explanation, string}}].

ctl_counters(Host) ->
    try counters(Host) of
        M when is_map(M) ->
            lists:flatten([io_lib:format("~s ~b~n", [K, V]) || {K, V} <- lists:sort(maps:to_list(M))]);
        _ -> "mod_cloudnotify is not running on " ++ binary_to_list(Host)
    catch exit:_ -> "mod_cloudnotify is not running on " ++ binary_to_list(Host)
    end.

ctl_explain(User, Host) ->
    Account = <<User/binary, $@, Host/binary>>,
    try gen_server:call(proc(Host), {explain, Account}, 10000)
    catch exit:_ -> "mod_cloudnotify is not running on " ++ binary_to_list(Host)
    end.

%% Reply once nothing to the account awaits an answer (or at the deadline).
explain_poll(From, Account, Deadline, Note, #st{ctx = Ctx} = St) ->
    case cloudnotify_nif:diag_registrations(Ctx, Account) of
        {ok, Regs} ->
            Waiting = lists:any(fun(#{outstanding := O}) -> O > 0 end, Regs),
            case Waiting andalso erlang:monotonic_time(millisecond) < Deadline of
                true ->
                    erlang:send_after(100, self(), {explain_poll, From, Account, Deadline, Note});
                false ->
                    gen_server:reply(From, lists:flatten([Note, "\n", explain_lines(Regs)]))
            end;
        {error, Rc} ->
            gen_server:reply(From, lists:flatten([Note, "\ncannot list: ",
                                                  cloudnotify_nif:strerror(Rc)]))
    end,
    St.

explain_lines([]) -> "no push registration\n";
explain_lines(Regs) -> [explain_line(R) || R <- Regs].

explain_line(#{jid := Jid, node := Node, client_id := Client, enabled_at := Enabled,
               errors := Errors, last_outcome := Last} = R) ->
    LastText = case Last of
                   undefined -> "none yet";
                   _ ->
                       Err = case {maps:get(last_error_type, R), maps:get(last_error_condition, R)} of
                                 {undefined, undefined} -> "";
                                 {T, C} -> [" ", opt(T), "/", opt(C)]
                             end,
                       Text = case maps:get(last_error_text, R) of
                                  undefined -> "";
                                  X -> [" \"", X, "\""]
                              end,
                       Test = case maps:get(last_test, R) of true -> " (test push)"; _ -> "" end,
                       [atom_to_list(Last), Err, Text, Test, " at ", iso(maps:get(last_at, R))]
               end,
    Backoff = case maps:get(backoff_left_ms, R) of
                  0 -> "";
                  B -> io_lib:format(" backoff=~bs", [B div 1000])
              end,
    Ext = case maps:get(extensions, R) of
              <<>> -> "";
              E -> [" extensions=", binary:replace(E, <<" ">>, <<",">>, [global])]
          end,
    Enc = case maps:get(encrypted, R) of true -> " encrypted"; _ -> "" end,
    io_lib:format("~ts node=~ts client=~ts enabled=~ts errors=~b last=~ts~ts~ts~ts~n",
                  [Jid, opt(Node), opt(Client), iso(Enabled), Errors, LastText, Backoff, Ext, Enc]).

opt(undefined) -> "-";
opt(B) -> B.

iso(0) -> "-";
iso(Ms) ->
    {{Y, Mo, D}, {H, Mi, S}} = calendar:system_time_to_universal_time(Ms, millisecond),
    io_lib:format("~4..0b-~2..0b-~2..0bT~2..0b:~2..0b:~2..0bZ", [Y, Mo, D, H, Mi, S]).
