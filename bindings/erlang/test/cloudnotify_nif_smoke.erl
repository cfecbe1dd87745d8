%% Smoke test of the NIF from Erlang: every kind of action comes back from
%% the call that caused it, errors come back as codes, a freed or collected
%% session never crashes the VM.  Run by meson (suite erlang):
%%   erl -noshell -pa <build>/bindings/erlang -s cloudnotify_nif_smoke run
-module(cloudnotify_nif_smoke).
-export([run/0]).

-define(ACC, <<"alice@localhost">>).
-define(PUSH, <<"push.example">>).

run() ->
    try
        tests(),
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
    %% several pushes to one registration in a row, as 0.2 allowed
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
