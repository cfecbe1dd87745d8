%% Smoke test of the NIF from Erlang: every kind of action comes back from
%% the call that caused it, errors come back as codes, a freed or collected
%% session never crashes the VM.  Run by meson (suite erlang):
%%   erl -noshell -pa <build>/bindings/erlang -s cloudnotify_nif_smoke run
-module(cloudnotify_nif_smoke).
-export([run/0]).

-define(ACC, <<"alice@localhost">>).
-define(PUSH, <<"push.example">>).
-define(NS0, <<"urn:xmpp:push:0">>).

run() ->
    try
        tests(),
        phone_tests(),
        io:format("cloudnotify_nif_smoke: all passed~n"),
        halt(0)
    catch C:R:St ->
        io:format("cloudnotify_nif_smoke: FAILED ~p:~p~n~p~n", [C, R, St]),
        halt(1)
    end.

check(Label, true) -> io:format("ok   ~s~n", [Label]);
check(Label, Other) -> error({check_failed, Label, Other}).

find(Pred, Actions) -> [A || A <- Actions, Pred(A)].

xml_attr(Name, Xml) ->
    {match, [V]} = re:run(Xml, <<" ", Name/binary, "=['\"]([^'\"]*)['\"]">>,
                          [{capture, all_but_first, binary}]),
    V.

enable_iq(Id, Node) ->
    <<"<iq xmlns='jabber:client' type='set' id='", Id/binary,
      "' from='alice@localhost/phone'><enable xmlns='urn:xmpp:push:0' jid='push.example' node='",
      Node/binary, "'/></iq>">>.

enable_iq(Id, Node, Res, Extra) ->
    <<"<iq xmlns='jabber:client' type='set' id='", Id/binary,
      "' from='alice@localhost/", Res/binary, "'><enable xmlns='urn:xmpp:push:0' jid='push.example' node='",
      Node/binary, "'>", Extra/binary, "</enable></iq>">>.

publishes(Actions) -> [X || {send, app, _, _, X} <- Actions].

%% A context with one registration (node N, client id Res) and no session
%% left: what a phone looks like while it is away.
away_phone(Node, Res, Extra, Opts) ->
    {ok, Ctx} = cloudnotify_nif:ctx_new(),
    [{0, _} = cloudnotify_nif:set_option(Ctx, K, V) || {K, V} <- Opts],
    {ok, S} = cloudnotify_nif:session_new(Ctx, ?ACC, Res, 1),
    {0, _} = cloudnotify_nif:session_set_client_id(S, Res),
    {0, A} = cloudnotify_nif:handle_client_iq(S, enable_iq(<<"e">>, Node, Res, Extra)),
    [R] = [X || {send, client, _, _, X} <- A],
    <<"result">> = xml_attr(<<"type">>, R),
    {0, _} = cloudnotify_nif:session_free(S),
    Ctx.

message(Id, Body) ->
    <<"<message xmlns='jabber:client' type='chat' id='", Id/binary,
      "' from='bob@localhost/pc' to='alice@localhost'><body>", Body/binary, "</body></message>">>.

tests() ->
    io:format("library ~s~n", [cloudnotify_nif:version()]),
    {ok, Ctx} = cloudnotify_nif:ctx_new(),
    check("unknown option is UNKNOWN_OPTION",
          element(1, cloudnotify_nif:set_option(Ctx, "no_such_option", "1")) =:= -509),
    check("option value out of range is OPTION_VALUE",
          element(1, cloudnotify_nif:set_option(Ctx, "push_max_errors", "0")) =:= -510),
    {0, _} = cloudnotify_nif:set_option(Ctx, "push_max_errors", "1"),
    {0, _} = cloudnotify_nif:set_option(Ctx, "push_max_hibernation_timeout", "600"),
    %% These tests are about the NIF's plumbing and push one registration
    %% several times in a row: the 0.3 rate limits (one visible push per
    %% 3 s, 3 silent ones an hour) back to 0.2's none; phone_tests/0 has
    %% the 0.3 rules.
    {0, _} = cloudnotify_nif:set_option(Ctx, "push_visible_interval", "0"),
    {0, _} = cloudnotify_nif:set_option(Ctx, "push_silent_per_hour", "0"),
    check("strerror", is_binary(cloudnotify_nif:strerror(-509))),
    check("badarg for a non-binary stanza",
          try cloudnotify_nif:handle_app_reply(Ctx, 42), false
          catch error:badarg -> true end),

    {ok, S} = cloudnotify_nif:session_new(Ctx, ?ACC, <<"phone">>, 7),
    check("bad JID refused", cloudnotify_nif:session_new(Ctx, <<"a@b@c">>, <<"r">>, 1) =:= {error, -505}),
    {0, []} = cloudnotify_nif:session_sm_enabled(S),

    %% enable: the reply to the client and the registration come back
    {0, A1} = cloudnotify_nif:handle_client_iq(S, enable_iq(<<"e1">>, <<"n1">>)),
    [{send, client, 7, <<"alice@localhost/phone">>, Reply}] = find(fun(A) -> element(1, A) =:= send end, A1),
    check("enable answered with a result", xml_attr(<<"type">>, Reply) =:= <<"result">>),
    check("registration_added action",
          find(fun(A) -> A =:= {added, 7, ?ACC, ?PUSH, <<"n1">>, added} end, A1) =/= []),
    check("log actions carry an id",
          lists:all(fun({log, L, Id, M}) -> is_atom(L) andalso is_binary(Id) andalso is_binary(M);
                       (_) -> true end, A1)),
    check("a stanza that is not a push IQ is NOT_MINE",
          element(1, cloudnotify_nif:handle_client_iq(S, <<"<iq type='set' id='x'><query xmlns='jabber:iq:roster'/></iq>">>)) =:= -504),
    check("malformed XML is ERR_XML",
          element(1, cloudnotify_nif:handle_client_iq(S, <<"<iq">>)) =:= -502),

    %% an offline message: one publish to the app server
    {0, A2} = cloudnotify_nif:message_offline(Ctx, ?ACC, message(<<"m1">>, <<"hi">>)),
    [{send, app, ?ACC, ?PUSH, Pub}] = find(fun(A) -> element(1, A) =:= send end, A2),
    PubId = xml_attr(<<"id">>, Pub),
    check("publish id is outstanding", cloudnotify_nif:is_outstanding_id(Ctx, PubId)),
    check("a publish arms the expiry timer",
          find(fun({timer, Ms}) -> Ms > 0; (_) -> false end, A2) =/= []),

    %% a cancel error from the push service: removed at push_max_errors = 1
    Err = <<"<iq type='error' id='", PubId/binary, "' from='push.example' to='localhost'>",
            "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>">>,
    {0, A3} = cloudnotify_nif:handle_app_reply(Ctx, Err),
    check("error outcome",
          find(fun(A) -> element(1, A) =:= outcome andalso element(6, A) =:= error end, A3) =/= []),
    check("removed for errors with the cause",
          find(fun(A) -> A =:= {removed, ?ACC, ?PUSH, <<"n1">>, errors, <<"cancel">>, <<"item-not-found">>} end, A3) =/= []),
    check("the reply is consumed once", element(1, cloudnotify_nif:handle_app_reply(Ctx, Err)) =:= -504),

    %% hibernation with an unacked message: a push and the extended timeout
    {0, _} = cloudnotify_nif:handle_client_iq(S, enable_iq(<<"e2">>, <<"n2">>)),
    check("session has push", cloudnotify_nif:session_has_push(S)),
    {0, A4} = cloudnotify_nif:session_hibernated(S, []),
    check("hibernation without unacked stanzas asks for the extended timeout",
          lists:member({hibernation_timeout, 7, 600}, A4)),
    check("and pushes nothing", find(fun(A) -> element(1, A) =:= send end, A4) =:= []),
    ok = cloudnotify_nif:session_retag(S, 8),
    {0, _} = cloudnotify_nif:session_resumed(S),
    check("resuming twice is STATE", element(1, cloudnotify_nif:session_resumed(S)) =:= -512),
    {0, A5} = cloudnotify_nif:session_hibernated(S, [message(<<"m2">>, <<"queued">>)]),
    check("hibernation push for the unacked message",
          find(fun(A) -> element(1, A) =:= send andalso element(2, A) =:= app end, A5) =/= []),
    check("actions name the session by its new tag",
          [T || {hibernation_timeout, T, _} <- A5] =/= [] andalso
          lists:all(fun({hibernation_timeout, T, _}) -> T =:= 8; (_) -> true end, A5)),
    {0, TickActions} = cloudnotify_nif:tick(Ctx),
    check("tick re-arms the timer", find(fun(A) -> element(1, A) =:= timer end, TickActions) =/= []),

    %% freed sessions: calls are refused, never crash
    {0, _} = cloudnotify_nif:session_free(S),
    {0, _} = cloudnotify_nif:session_free(S),
    check("calls on a freed session give INVALID_ARGUMENT",
          element(1, cloudnotify_nif:session_sm_enabled(S)) =:= -501),
    {ok, 0} = cloudnotify_nif:counter(Ctx, 16#202),

    %% account removal
    {0, A6} = cloudnotify_nif:account_remove_all(Ctx, ?ACC),
    check("account removal reports the removal",
          find(fun(A) -> element(1, A) =:= removed andalso element(5, A) =:= account end, A6) =/= []),
    {0, _} = cloudnotify_nif:account_has_push(Ctx, ?ACC),

    %% the other triggers: archive (no archive id), bare groupchat
    {ok, S4} = cloudnotify_nif:session_new(Ctx, ?ACC, <<"tablet">>, 9),
    {0, _} = cloudnotify_nif:handle_client_iq(S4, <<"<iq type='set' id='e9' from='alice@localhost/tablet'>",
        "<enable xmlns='urn:xmpp:push:0' jid='push.example' node='n9'/></iq>">>),
    {0, _} = cloudnotify_nif:session_free(S4),
    {0, A7} = cloudnotify_nif:message_archived(Ctx, ?ACC, message(<<"m7">>, <<"archived">>), undefined),
    check("archived message pushes a registration without session",
          [X || {send, app, _, _, X} <- A7] =/= []),
    check("badarg for a non-binary archive id",
          try cloudnotify_nif:message_archived(Ctx, ?ACC, message(<<"m8">>, <<"x">>), 42), false
          catch error:badarg -> true end),
    {0, A8} = cloudnotify_nif:message_groupchat_bare(Ctx, ?ACC,
        <<"<message type='groupchat' id='g1' from='room@muc.localhost/bob' to='alice@localhost'><body>hi</body></message>">>),
    check("bare groupchat pushes", [X || {send, app, _, _, X} <- A8] =/= []),

    %% push_store: registrations survive the context (SQLite store)
    Db = filename:join(os:getenv("TMPDIR", "/tmp"), "cloudnotify-nif-smoke-" ++ os:getpid() ++ ".db"),
    file:delete(Db),
    {ok, P1} = cloudnotify_nif:ctx_new(),
    case cloudnotify_nif:set_option(P1, "push_store", "sqlite:" ++ Db) of
        {-509, _} ->
            io:format("skip push_store: this library has no SQLite store~n");
        {0, _} ->
            {ok, PS} = cloudnotify_nif:session_new(P1, ?ACC, <<"phone">>, 1),
            {0, _} = cloudnotify_nif:handle_client_iq(PS, enable_iq(<<"p1">>, <<"kept">>)),
            {ok, P2} = cloudnotify_nif:ctx_new(),
            {0, _} = cloudnotify_nif:set_option(P2, "push_store", "sqlite:" ++ Db),
            {0, A9} = cloudnotify_nif:message_offline(P2, ?ACC, message(<<"m9">>, <<"later">>)),
            check("a second context on the same SQLite file pushes the registration",
                  [X || {send, app, _, ?PUSH, X} <- A9] =/= []),
            file:delete(Db)
    end,

    %% crash safety: a process that owns a context and sessions dies; the
    %% collector frees them in whatever order, a session kept elsewhere
    %% keeps its context usable
    Self = self(),
    {Pid, Ref} = spawn_monitor(fun() ->
        {ok, C2} = cloudnotify_nif:ctx_new(),
        {ok, S2} = cloudnotify_nif:session_new(C2, ?ACC, <<"a">>, 1),
        {ok, _S3} = cloudnotify_nif:session_new(C2, ?ACC, <<"b">>, 2),
        Self ! {kept, S2},
        exit(crash)
    end),
    receive {'DOWN', Ref, process, Pid, crash} -> ok end,
    Kept = receive {kept, K} -> K end,
    erlang:garbage_collect(),
    check("a session outliving its context's owner still works",
          element(1, cloudnotify_nif:session_sm_enabled(Kept)) =:= 0),
    ok.

%% The 0.3 entry points (what phones need): each returns its actions, and
%% the library's rules show through them.
phone_tests() ->
    %% disco: urn:xmpp:push:0 first, Tigase's extensions while the option
    %% is on, ignore-unknown because the NIF answers sender_known
    {ok, D} = cloudnotify_nif:ctx_new(),
    [?NS0 | Ext] = cloudnotify_nif:disco_features(D),
    check("disco features start with urn:xmpp:push:0, then Tigase's",
          lists:member(<<"tigase:push:filter:ignore-unknown:0">>, Ext)),
    {0, _} = cloudnotify_nif:set_option(D, "push_tigase_extensions", "false"),
    check("no extension advertised with push_tigase_extensions off",
          cloudnotify_nif:disco_features(D) =:= [?NS0]),
    check("badarg for disco_features on a non-context",
          try cloudnotify_nif:disco_features(42), false catch error:badarg -> true end),

    %% counters by name, the 0.3 ones included
    Cs = cloudnotify_nif:counters(D),
    check("counters by name include the 0.3 ones",
          maps:get(suppressed_quiet, Cs) =:= 0 andalso maps:get(calls_pushed, Cs) =:= 0
          andalso maps:get(removed_client_replaced, Cs) =:= 0),
    check("counter/2 takes a name", cloudnotify_nif:counter(D, replies_transient) =:= {ok, 0}),
    check("an unknown counter name is badarg",
          try cloudnotify_nif:counter(D, no_such_counter), false catch error:badarg -> true end),

    %% session_active, session_set_client_id: codes and badarg
    {ok, S} = cloudnotify_nif:session_new(D, ?ACC, <<"desk">>, 3),
    {0, _} = cloudnotify_nif:session_active(S),
    {0, _} = cloudnotify_nif:session_set_client_id(S, <<"desk">>),
    {0, _} = cloudnotify_nif:session_set_client_id(S, undefined),
    check("an empty client id is INVALID_ARGUMENT",
          element(1, cloudnotify_nif:session_set_client_id(S, <<>>)) =:= -501),
    check("badarg for a non-binary client id",
          try cloudnotify_nif:session_set_client_id(S, 42), false catch error:badarg -> true end),
    {0, _} = cloudnotify_nif:session_free(S),
    check("session_active on a freed session is INVALID_ARGUMENT",
          element(1, cloudnotify_nif:session_active(S)) =:= -501),

    %% quiet (default on): a chat state alone pushes nothing and counts
    Q = away_phone(<<"q">>, <<"phone">>, <<>>, []),
    {0, AQ} = cloudnotify_nif:message_offline(Q, ?ACC,
        <<"<message type='chat' id='cs' from='bob@localhost/pc' to='alice@localhost'>",
          "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>">>),
    check("a chat state alone is not pushed", publishes(AQ) =:= []),
    check("and counts as suppressed_quiet", cloudnotify_nif:counter(Q, suppressed_quiet) =:= {ok, 1}),

    %% a call delivered to a live session pushes the away device at once,
    %% in either JMI namespace, once per call
    C = away_phone(<<"c">>, <<"phone">>, <<>>, []),
    Propose = fun(Ns, Id) ->
        <<"<message type='chat' id='m", Id/binary, "' from='bob@localhost/pc' to='alice@localhost/desk'>",
          "<propose xmlns='", Ns/binary, "' id='", Id/binary, "'>",
          "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>">> end,
    {0, AC1} = cloudnotify_nif:message_delivered(C, ?ACC, Propose(<<"urn:xmpp:jingle-message:1">>, <<"k1">>)),
    check("a :1 propose delivered elsewhere pushes the away device", length(publishes(AC1)) =:= 1),
    {_, AC2} = cloudnotify_nif:message_delivered(C, ?ACC, Propose(<<"urn:xmpp:jingle-message:1">>, <<"k1">>)),
    check("the same call again pushes nothing", publishes(AC2) =:= []),
    {_, AC3} = cloudnotify_nif:message_delivered(C, ?ACC, message(<<"plain">>, <<"hi">>)),
    check("a plain delivered message pushes nothing", publishes(AC3) =:= []),
    {0, AC4} = cloudnotify_nif:message_delivered(C, ?ACC, Propose(<<"urn:xmpp:jingle-message:0">>, <<"k2">>)),
    check("a :0 propose rings too", length(publishes(AC4)) =:= 1),
    check("calls_pushed counts both", cloudnotify_nif:counter(C, calls_pushed) =:= {ok, 2}),

    %% remote disable (XEP-0357 section 8) from the registration's service
    R = away_phone(<<"r">>, <<"phone">>, <<>>, []),
    Aff = fun(From) ->
        <<"<message from='", From/binary, "' to='alice@localhost'>",
          "<pubsub xmlns='http://jabber.org/protocol/pubsub'>",
          "<affiliation node='r' jid='alice@localhost' affiliation='none'/></pubsub></message>">> end,
    check("an affiliation message from someone else is NOT_MINE",
          element(1, cloudnotify_nif:handle_app_message(R, ?ACC, Aff(<<"evil.example">>))) =:= -504),
    {0, AR} = cloudnotify_nif:handle_app_message(R, ?ACC, Aff(?PUSH)),
    check("from the push service it removes the registration (reason remote)",
          [X || {removed, ?ACC, ?PUSH, <<"r">>, remote, _, _} = X <- AR] =/= []),
    check("removed_remote counts it", cloudnotify_nif:counter(R, removed_remote) =:= {ok, 1}),

    %% offline fetched with push_clear_on_fetch: a badge-clearing push
    F = away_phone(<<"f">>, <<"phone">>, <<>>, [{"push_clear_on_fetch", "true"}]),
    {0, AF} = cloudnotify_nif:offline_fetched(F, ?ACC),
    [Clear] = publishes(AF),
    check("offline fetched pushes message-count 0",
          re:run(Clear, <<"message-count[^>]*>\\s*<value>0</value>">>) =/= nomatch),
    check("badarg for a non-binary account",
          try cloudnotify_nif:offline_fetched(F, 42), false catch error:badarg -> true end),

    %% ignore-unknown: answered from the cache senders_known/3 fills
    %% (no visible window: three messages in a row, each to be pushed)
    I = away_phone(<<"i">>, <<"phone">>, <<"<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>">>,
                   [{"push_visible_interval", "0"}]),
    ok = cloudnotify_nif:senders_known(I, ?ACC, [{<<"bob@localhost">>, false}]),
    {0, AI1} = cloudnotify_nif:message_offline(I, ?ACC, message(<<"u1">>, <<"spam">>)),
    check("a sender the roster does not know is not pushed", publishes(AI1) =:= []),
    ok = cloudnotify_nif:senders_known(I, ?ACC, [{<<"bob@localhost">>, true}]),
    {0, AI2} = cloudnotify_nif:message_offline(I, ?ACC, message(<<"u2">>, <<"hello">>)),
    check("once known it is pushed", length(publishes(AI2)) =:= 1),
    {0, AI3} = cloudnotify_nif:message_offline(I, ?ACC,
        <<"<message type='chat' id='u3' from='carol@localhost/x' to='alice@localhost'><body>?</body></message>">>),
    check("a sender missing from the cache counts as known", length(publishes(AI3)) =:= 1),
    check("badarg for a malformed senders list",
          try cloudnotify_nif:senders_known(I, ?ACC, [{<<"a@b">>, maybe}]), false
          catch error:badarg -> true end),

    %% transient errors: back off, no removal, outcome transient
    T = away_phone(<<"t">>, <<"phone">>, <<>>, [{"push_max_errors", "1"}]),
    {0, AT} = cloudnotify_nif:message_offline(T, ?ACC, message(<<"t1">>, <<"x">>)),
    [TPub] = publishes(AT),
    TErr = <<"<iq type='error' id='", (xml_attr(<<"id">>, TPub))/binary,
             "' from='push.example' to='localhost'><error type='cancel'>",
             "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>">>,
    {0, AT2} = cloudnotify_nif:handle_app_reply(T, TErr),
    check("service-unavailable is outcome transient",
          [X || {outcome, _, _, _, _, transient, _, _, _} = X <- AT2] =/= []),
    check("and removes nothing at push_max_errors 1", [X || {removed, _, _, _, _, _, _} = X <- AT2] =:= []),
    ok.
